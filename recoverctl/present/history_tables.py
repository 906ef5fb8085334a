"""`recoverctl runs` and `stats` as tables that read at 80 columns, and piped.

Ids, times, durations and statuses never wrap or get cut (a run id split
over two lines cannot be copied); free text (the path taken, step lists)
wraps at word boundaries, never inside a word. When the terminal is too
narrow for every column, the least needed columns are left out whole rather
than any column being cut (`--format json` has them all).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from recoverctl.journal.history import RunbookStats, RunRow
from recoverctl.model.duration import format_duration

STATUS_STYLE = {
    "succeeded": "green",
    "rolled_back": "yellow",
    "running": "cyan",
    "waiting": "bold magenta",
    "interrupted": "yellow",
    "blocked": "yellow",
    "pending": "dim",
    "failed": "red",
    "rollback_failed": "bold red",
}
GAP = 2
"""Spaces between columns."""
MAX_WORD = 30
"""A free-text column is never narrower than its longest word, up to this."""


@dataclass(slots=True)
class Column:
    header: str
    cells: list[Text]
    wraps: bool = False
    """Free text: may wrap at spaces. Other columns never wrap."""
    right: bool = False

    def need(self) -> int:
        """The narrowest this column can be without cutting a word."""
        texts = [Text(self.header), *self.cells]
        if not self.wraps:
            return max(t.cell_len for t in texts)
        words = [Text(w).cell_len for t in texts for w in t.plain.split()]
        return min(max(words, default=1), MAX_WORD)


def fitted(columns: list[Column], width: int, primary: int) -> RenderableType:
    """A table when every column fits `width`; else one record per row, nothing left out.

    A record is the `primary` columns on one line (ids, never wrapped), then the others
    as `header value` pairs on an indented line that wraps between pairs and words.
    """
    need = sum(c.need() for c in columns) + GAP * (len(columns) - 1)
    if need <= width or not columns:
        return _table(columns)
    records: list[RenderableType] = []
    rows = len(columns[0].cells)
    widths = [max(c.cells[i].cell_len for i in range(rows)) for c in columns[:primary]]
    for index in range(rows):
        head = Text()
        for number, (column, cell_width) in enumerate(zip(columns, widths, strict=False)):
            if number:
                head.append(" " * GAP)
            cell = column.cells[index]
            head.append_text(cell)
            head.append(" " * (cell_width - cell.cell_len))
        head.rstrip()
        records.append(head)
        short, free = Text(), []
        for column in columns[primary:]:
            value = column.cells[index]
            if not value.plain.strip():
                continue
            if column.wraps:  # free text: a line of its own
                free.append(Text(f"{column.header}: ", style="dim").append_text(value))
                continue
            if short.plain:
                short.append(" · ", style="dim")
            short.append(f"{column.header} ", style="dim").append_text(value)
        records += [Padding(line, (0, 0, 0, 2)) for line in [short, *free] if line.plain]
    return Group(*records)


def _table(columns: list[Column]) -> Table:
    table = Table(
        box=None,
        padding=(0, GAP // 2),
        pad_edge=False,
        header_style="bold underline",
    )
    for column in columns:
        table.add_column(
            column.header,
            no_wrap=not column.wraps,
            min_width=column.need(),
            justify="right" if column.right else "left",
            overflow="fold",
        )
    for index in range(len(columns[0].cells)):
        table.add_row(*(column.cells[index] for column in columns))
    return table


def runs_table(rows: list[RunRow], width: int) -> RenderableType:
    def cells(values: list[str]) -> list[Text]:
        return [Text(v) for v in values]

    columns = [
        Column("run id", cells([r.run_id for r in rows])),
        Column(
            "status",
            [Text(r.status, style=STATUS_STYLE.get(r.status.split()[0], "red")) for r in rows],
        ),
        Column("runbook", cells([r.runbook for r in rows])),
        Column("started", cells([_started(r.started) for r in rows])),
        Column("took", cells([_duration(r.duration, "") for r in rows]), right=True),
        Column("path taken", cells(["; ".join(r.path_taken) for r in rows]), wraps=True),
    ]
    return fitted(columns, width, primary=3)


def stats_table(found: list[RunbookStats], width: int) -> RenderableType:
    columns = [
        Column("runbook", [Text(e.runbook) for e in found]),
        Column("runs", [Text(str(e.runs)) for e in found], right=True),
        Column("ok", [Text(f"{e.success_rate:.0%}") for e in found], right=True),
        Column("p50", [Text(_duration(e.p50_recovery)) for e in found], right=True),
        Column("p95", [Text(_duration(e.p95_recovery)) for e in found], right=True),
        Column("RTO", [_rto(e) for e in found]),
        Column(
            "most failing",
            [Text(", ".join(f"{s} ×{n}" for s, n in e.most_failing) or "–") for e in found],
            wraps=True,
        ),
        Column(
            "slowest (p95)",
            [
                Text(", ".join(f"{s} {format_duration(d)}" for s, d in e.slowest) or "–")
                for e in found
            ],
            wraps=True,
        ),
    ]
    return fitted(columns, width, primary=1)


def _started(started: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(started)) if started else "?"


def _duration(seconds: float | None, missing: str = "–") -> str:
    return missing if seconds is None else format_duration(seconds)


def _rto(entry: RunbookStats) -> Text:
    if entry.rto is None:
        return Text("–")
    within = entry.p95_within_rto
    text = Text(format_duration(entry.rto))
    if within is not None:
        text.append(" met" if within else " missed", style="green" if within else "red")
    return text
