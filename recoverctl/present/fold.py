"""Fitting a run's rows into the lines a terminal has, keeping what is happening now.

The live view builds one row per line it would like to show, each with a
priority: running steps first, then the newest failure and the branch just
decided, then the groups that hold them, then older failures, then
everything else. When the rows do not fit, the least important go first and
each stretch of rows left out becomes one summary line ("✔ 12 done · … 5 to
go"), so the operator still sees how much is behind and ahead. Nothing here
knows about rich's Live; it is a pure function, tested on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.text import Text

ACTIVE = 0
"""A step running, retrying or being undone now."""
NEWEST = 1
"""The newest failure and the branch decided last."""
DETAIL = 2
"""The output line of a running step, the reason of the newest failure."""
CONTEXT = 3
"""The groups and cases that hold an active or newest row."""
FAILURE = 4
"""Older failures."""
FAILURE_DETAIL = 5
REST = 6
"""Finished, pending and skipped steps, labels."""

MAX_ANCHORS = 50
"""Rows brought back are looked for near this many shown rows at most."""

LEVELS = (REST, FAILURE_DETAIL, FAILURE, CONTEXT, DETAIL, NEWEST, ACTIVE)

FOLDS: dict[str, tuple[str, str]] = {
    "done": ("✔", "done"),
    "failed": ("✘", "failed"),
    "skipped": ("–", "skipped"),
    "cancelled": ("⊘", "cancelled"),
    "running": ("⠿", "running"),
    "undone": ("↺", "undone"),
    "waiting": ("○", "waiting"),
    "to go": ("…", "to go"),
    "not run": ("○", "not run"),
}
"""Summary words, in the order a summary line lists them."""

FOLD_OF_STATUS = {
    "succeeded": "done",
    "unchanged": "done",
    "rolled_back": "done",
    "failed": "failed",
    "timed_out": "failed",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "pending": "to go",
    "running": "running",
    "retrying": "running",
    "rolling_back": "running",
}


@dataclass(slots=True)
class Row:
    """One line the view would like to show."""

    text: Text
    priority: int
    indent: int = 0
    fold: str | None = None
    """The summary word this row counts under when folded; None for a row that is not an
    action step (groups, labels, output lines), which folds without being counted."""


def fit(rows: list[Row], budget: int) -> list[Text]:
    """At most `budget` lines: every row if they fit, else the most important and summaries."""
    if budget <= 0:
        return []
    kept = [False] * len(rows)
    for level in LEVELS:
        kept = [row.priority <= level for row in rows]
        if _count(rows, kept) <= budget:
            break
    else:
        return _only_some_active(rows, budget)
    if not all(kept):
        _fill(rows, kept, budget)
    return _render(rows, kept)


def _fill(rows: list[Row], kept: list[bool], budget: int) -> None:
    """Use the lines left: bring back rows nearest what is shown, the closest first.

    Folding by level alone would fold all 30 finished steps of an 80x24 view even
    when 15 of them fit; the rows next to the running ones (the step that just
    finished, the next to start) are the ones an operator reads.
    """
    anchors = [i for i, keep in enumerate(kept) if keep and rows[i].priority <= NEWEST]
    if not anchors:
        anchors = [i for i, row in enumerate(rows) if row.fold not in (None, "to go")][-1:]
    anchors = anchors[:MAX_ANCHORS] or [0]
    near: set[int] = set()
    for anchor in anchors:  # a window around each: a 10,000-step run stays cheap to draw
        near.update(range(max(0, anchor - 2 * budget), min(len(rows), anchor + 2 * budget)))
    candidates = sorted(
        (i for i in near if not kept[i]),
        key=lambda i: (min(abs(i - a) for a in anchors), rows[i].priority, -i),
    )
    lines = _count(rows, kept)
    for index in candidates:
        more = _added_lines(rows, kept, index)
        if lines + more <= budget:
            kept[index] = True
            lines += more


def _added_lines(rows: list[Row], kept: list[bool], index: int) -> int:
    """Lines gained by showing `index`: itself, and its gap's summary maybe split in two."""
    left = right = False
    for j in range(index - 1, -1, -1):
        if kept[j]:
            break
        if rows[j].fold is not None:
            left = True
            break
    for j in range(index + 1, len(rows)):
        if kept[j]:
            break
        if rows[j].fold is not None:
            right = True
            break
    whole = left or right or rows[index].fold is not None
    return 1 + left + right - whole


def _count(rows: list[Row], kept: list[bool]) -> int:
    """How many lines `_render` would give, without building them."""
    lines, gap = 0, False
    for row, keep in zip(rows, kept, strict=True):
        if keep:
            lines += 1 + gap
            gap = False
        elif row.fold is not None:
            gap = True
    return lines + gap


def summary(counts: Counter[str], indent: int = 0) -> Text:
    """`✔ 12 done · ✘ 1 failed · … 5 to go`."""
    text = Text("  " * indent, no_wrap=True, overflow="ellipsis")
    parts = [(FOLDS[key], counts[key]) for key in FOLDS if counts[key]]
    for index, ((glyph, word), count) in enumerate(parts):
        if index:
            text.append(" · ", style="dim")
        text.append(f"{glyph} {count} {word}", style="dim")
    return text


def _render(rows: list[Row], kept: list[bool]) -> list[Text]:
    lines: list[Text] = []
    gap: list[Row] = []
    for row, keep in zip(rows, kept, strict=True):
        if keep:
            _flush(gap, lines)
            lines.append(_indented(row))
        else:
            gap.append(row)
    _flush(gap, lines)
    return lines


def _flush(gap: list[Row], lines: list[Text]) -> None:
    counts = Counter(row.fold for row in gap if row.fold is not None)
    if counts:
        lines.append(summary(counts, min(row.indent for row in gap)))
    gap.clear()


def _only_some_active(rows: list[Row], budget: int) -> list[Text]:
    """More steps run at once than there are lines: the first of them, and a count of the rest."""
    active = [row for row in rows if row.priority == ACTIVE]
    shown = active[: budget - 1]
    counts = Counter(
        row.fold for row in rows if row.fold is not None and not any(row is s for s in shown)
    )
    more = Text(no_wrap=True, overflow="ellipsis")
    more.append("+ ", style="dim")
    more.append_text(summary(counts))
    return [_indented(row) for row in shown] + [more]


def _indented(row: Row) -> Text:
    line = Text("  " * row.indent, no_wrap=True, overflow="ellipsis")
    line.append_text(row.text)
    return line
