"""The end-of-run summary: a table of steps, the path taken, what was undone, the RTO.

What it says is built once, as rows and styled segments (no rich here); it is
drawn by rich on a terminal (`print_summary`) and written as plain aligned
text everywhere else (`write_plain_summary`: CI logs, pipes, `run -q` in a
script), which keeps rich — a sixth of a short run's start-up — off that path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from recoverctl.compile.plan import Plan
from recoverctl.engine.state import RunState, StepState
from recoverctl.fit import clip, last_line
from recoverctl.model.duration import format_duration
from recoverctl.model.fanout import is_generated

STATUS_STYLE = {
    "succeeded": "green",
    "unchanged": "green",
    "failed": "bold red",
    "timed_out": "bold red",
    "cancelled": "yellow",
    "skipped": "dim",
    "rolled_back": "magenta",
    "pending": "dim",
    "running": "cyan",
    "retrying": "yellow",
}
NARROW = 80
"""Below this many columns the table drops its box."""
COMPACT_OVER = 30
"""Past this many steps the table keeps only the notable rows."""
RUN_STYLE = {
    "succeeded": "bold green",
    "rolled_back": "bold yellow",
    "interrupted": "bold yellow",
    "blocked": "bold yellow",
    "failed": "bold red",
    "rollback_failed": "bold red",
}


if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


@dataclass(slots=True)
class Text:
    """Styled text as segments; `append` as rich's `Text.append`, so the summary's words
    are written once for both renderers."""

    segments: list[tuple[str, str]] = field(default_factory=list)

    def append(self, text: str, style: str = "") -> Text:
        self.segments.append((text, style))
        return self

    @property
    def plain(self) -> str:
        return "".join(text for text, _style in self.segments)

    def rich(self) -> object:
        from rich.text import Text as RichText

        return RichText.assemble(*self.segments)


@dataclass(frozen=True, slots=True)
class Row:
    step: str
    status: Text
    tries: str
    took: str
    note: Text


def print_summary(
    console: Console,
    plan: Plan,
    state: RunState,
    journal: str | None = None,
    undo: str | None = None,
) -> None:
    """The table of steps, then the path, what was undone and the result against the RTO.

    `undo` is the exact command that undoes what a stopped run left done (None without
    a journal: then the steps are named, to undo by hand). The lines under the table are
    not wrapped by rich but by the terminal, so a path or a command copies whole.
    """
    console.print(_table(plan, state, console.width))
    for text in _lines_under(plan, state, journal, undo):
        console.print(text.rich(), soft_wrap=True)


def write_plain_summary(
    stream: IO[str],
    plan: Plan,
    state: RunState,
    journal: str | None = None,
    undo: str | None = None,
) -> None:
    """The same summary as plain text: a title, aligned columns, one line per row."""
    rows = _rows(plan, state)
    header = Row("step", Text().append("status"), "tries", "took", Text().append("note"))
    cells = [(r.step, r.status.plain, r.tries, r.took, r.note.plain) for r in [header, *rows]]
    widths = [max(len(cell[i]) for cell in cells) for i in range(4)]
    out = [f"{plan.runbook.name} · run {state.run_id}"]
    for step, status, tries, took, note in cells:
        line = (
            f"{step.ljust(widths[0])}  {status.ljust(widths[1])}  "
            f"{tries.rjust(widths[2])}  {took.rjust(widths[3])}  {note}"
        )
        out.append(line.rstrip())
    out += [text.plain.rstrip("\n") for text in _lines_under(plan, state, journal, undo)]
    stream.write("\n".join(out) + "\n")
    stream.flush()


def _lines_under(plan: Plan, state: RunState, journal: str | None, undo: str | None) -> list[Text]:
    lines = [_outcome(plan, state, journal)]
    left = state.not_undone(plan.declares_rollback)
    if left:
        lines.append(_not_undone(left, undo))
    if state.notifications:
        lines.append(_notified(state))
    return lines


def _notified(state: RunState) -> Text:
    """`notified: 3 of 4 (not delivered: oncall/failed: gave up after 4 attempts: …)`."""
    sent = state.notifications
    lost = [n for n in sent if not n.ok]
    text = Text().append("notified: ", style="bold")
    text.append(f"{len(sent) - len(lost)} of {len(sent)}")
    if lost:
        first = lost[0]
        more = f" (and {len(lost) - 1} more: recoverctl show)" if len(lost) > 1 else ""
        text.append(" — not delivered: ", style="bold yellow")
        text.append(f"{first.channel}/{first.on}: {first.error}{more}")
    return text


def _not_undone(left: list[str], undo: str | None) -> Text:
    text = Text()
    text.append("not undone: ", style="bold yellow").append(", ".join(left) + "\n")
    if undo is not None:
        text.append("to undo them: ", style="bold").append(undo, style="bold cyan")
    else:
        text.append("no journal was kept: undo them by hand", style="bold")
    return text


def _table(plan: Plan, state: RunState, width: int = 80) -> Table:
    """Boxed on a normal terminal; below 80 columns without the box, whose borders cost
    the note the room it needs to wrap between words."""
    from rich import box
    from rich.table import Table
    from rich.text import Text as RichText

    narrow = width < NARROW
    table = Table(
        title=f"{plan.runbook.name} · run {state.run_id}",
        title_justify="left",
        expand=False,
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        show_edge=not narrow,
        pad_edge=not narrow,
        collapse_padding=narrow,
    )
    # ids, statuses and numbers never wrap (a step id split in two cannot be searched for);
    # the note wraps between words. Short headers leave the note room at 60 columns.
    for column, justify in (
        ("step", "left"),
        ("status", "left"),
        ("tries", "right"),
        ("took", "right"),
        ("note", "left"),
    ):
        table.add_column(
            column,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=column != "note",
            min_width=len(column) if column != "note" else 10,
        )
    for row in _rows(plan, state):
        table.add_row(
            RichText(row.step),  # never markup: `restart[db-2]` is an id
            row.status.rich(),  # type: ignore[arg-type]
            row.tries,
            row.took,
            row.note.rich(),  # type: ignore[arg-type]
        )
    return table


def _rows(plan: Plan, state: RunState) -> list[Row]:
    shown = [
        (step_id, step)
        for step_id, step in state.steps.items()
        if step.status != "pending" and not is_generated(step_id)
    ]  # rollback and guard actions show on their owner's row
    hidden = 0
    if len(shown) > COMPACT_OVER:
        kept = [(sid, s) for sid, s in shown if _notable(plan, sid, s)]
        hidden, shown = len(shown) - len(kept), kept
    rows = []
    for step_id, step in shown:
        depth = step_id.count("/") + step_id.count("[") + _depth(plan, step_id.split("/")[-1])
        rows.append(
            Row(
                "  " * depth + step_id,
                Text().append("simulated", "yellow")
                if step.simulated and step.status == "succeeded"
                else Text().append(step.status, STATUS_STYLE.get(step.status, "")),
                str(step.attempts) if step.attempts else "",
                format_duration(step.duration) if step.duration else "",
                Text().append(clip(_note(step), 80)),
            )
        )
    if hidden:
        rows.append(  # the words in the note column, which wraps: `step` never does
            Row(
                f"… {hidden} more",
                Text().append("succeeded", "dim"),
                "",
                "",
                Text().append("at the first attempt (recoverctl show lists them)", "dim"),
            )
        )
    return rows


def _notable(plan: Plan, step_id: str, step: StepState) -> bool:
    """In a long run, the rows worth reading: anything but a plain first-try success."""
    node = plan.nodes.get(step_id.rsplit("/", maxsplit=1)[-1])
    top_level = node is not None and node.depth == 0 and "/" not in step_id
    return (
        (top_level and len(plan.roots) <= COMPACT_OVER)
        or not (step.status in ("succeeded", "skipped") and step.attempts <= 1)
        or step.rollback is not None
    )


def _note(step: StepState) -> str:
    note = step.error or step.reason or ""
    detail = last_line(step.stderr) if step.status in ("failed", "timed_out") else ""
    if detail and detail not in note:
        note = f"{note}: {detail}"
    if step.rescued:
        note = "rescued" + (f": {note}" if note else "")
    if step.rollback == "rollback_failed":
        note = "ROLLBACK FAILED" + (f": {note}" if note else "")
    return note


def _outcome(plan: Plan, state: RunState, journal: str | None) -> Text:
    lines = Text()
    path = [
        f"{d.step_id} → "
        + (
            "UNDETERMINED"
            if d.undetermined
            else (d.label or "no case")
            if d.case_index is not None
            else "no case"
        )
        for d in state.decisions
    ]
    if path:
        lines.append("path: ", style="bold").append("; ".join(path) + "\n")
    simulated = sum(1 for s in state.steps.values() if s.simulated)
    unknown = [d for d in state.decisions if d.undetermined]
    if simulated:
        lines.append("dry run: ", style="bold yellow").append(
            f"{simulated} step{'s' * (simulated != 1)} simulated (not run)"
        )
        if unknown:
            reads = sorted({sid for d in unknown for sid in d.undetermined})
            lines.append(
                f"; {len(unknown)} decision{'s' * (len(unknown) != 1)} undetermined (they read "
                f"{', '.join(reads)}): every case was shown. Mark the steps that only read "
                "`read_only: true` and add --probe to decide on real values"
            )
        lines.append("\n")
    undone, failed_undo = state.rolled_back(), state.rollback_failures()
    if undone or failed_undo:
        lines.append("rolled back: ", style="bold").append(", ".join(undone) or "nothing")
        if failed_undo:
            lines.append("; rollback FAILED for: ", style="bold red").append(", ".join(failed_undo))
        lines.append("\n")
    lines.append("result: ", style="bold").append(
        state.status, style=RUN_STYLE.get(state.status, "bold red")
    )
    if state.duration is not None:
        lines.append(f" in {format_duration(state.duration)}")
    rto = plan.runbook.objectives.rto
    if rto is not None and state.duration is not None:
        verdict = state.rto_verdict(rto)
        lines.append(
            f"; RTO {format_duration(rto)} {verdict}",
            style="green" if verdict == "met" else "red",
        )
    if plan.runbook.objectives.rpo is not None:
        lines.append(f"; RPO {format_duration(plan.runbook.objectives.rpo)} (declared)")
    if state.error and state.status != "succeeded":
        lines.append("\nwhy: ", style="bold").append(state.error)
    if journal:
        lines.append("\njournal: ", style="bold").append(journal)
    return lines


def _depth(plan: Plan, step_id: str) -> int:
    node = plan.nodes.get(step_id)
    return node.depth if node is not None else 0
