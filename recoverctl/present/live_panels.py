"""The live view's panels: the rollback as it runs, and an approval gate being asked.

Each is fitted to the lines it is given (borders included) and says how many it used,
so the view can give the rest to the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from recoverctl.engine.state import RunState, StepState
from recoverctl.fit import clip
from recoverctl.model.duration import format_duration
from recoverctl.present import fold
from recoverctl.present.fold import Row


@dataclass(slots=True)
class ApprovalPrompt:
    """An approval gate asked inside the view: the clock keeps running, nothing freezes."""

    step_id: str
    question: str
    context: list[str] = field(default_factory=list)
    default: bool = False
    deadline: float | None = None
    """When the gate's timeout takes the default, on the view's clock."""
    typed: str = ""


def rollback_panel(
    run: RunState, order: list[str], spinner: str, width: int, budget: int
) -> tuple[RenderableType, int]:
    """The compensations, folded to `budget` lines (borders included)."""
    rows: list[Row] = []
    for step_id in order:
        state = run.steps.get(step_id, StepState())
        compensation = run.steps.get(f"{step_id}.rollback", StepState())
        if state.rollback == "rolled_back":
            glyph, style, note, level, word = "↺", "magenta", "undone", fold.REST, "undone"
        elif state.rollback == "rollback_failed":
            reason = clip(compensation.error or "", 60)
            glyph, style, note = "✘", "bold red", f"FAILED: {reason}"
            level, word = fold.NEWEST, "failed"
        elif compensation.status in ("running", "retrying"):
            glyph = spinner
            style, note, level, word = "bold magenta", "undoing", fold.ACTIVE, "running"
        else:
            glyph, style, note, level, word = "○", "dim", "waiting", fold.REST, "waiting"
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{glyph} ", style=style).append(step_id).append(f"  {note}", style=style)
        rows.append(Row(line, level, fold=word))
    lines = fold.fit(rows, max(budget - 2, 1))
    ok = run.rollback_ok
    if run.rolling_back:
        title, subtitle = "ROLLBACK", "Ctrl-C skips the rest"
    else:
        title = "ROLLBACK " + ("finished" if ok else "FAILED" if ok is False else "skipped")
        subtitle = None
    inner = max((line.cell_len for line in lines), default=0)
    panel = Panel(
        Group(*lines),
        title=title,
        subtitle=subtitle,
        border_style="magenta" if ok is not False else "red",
        width=min(width, max(inner, len(title), len(subtitle or "")) + 6),
    )
    return panel, len(lines) + 2


def prompt_panel(
    prompt: ApprovalPrompt, now: float, width: int, budget: int
) -> tuple[RenderableType, int]:
    """The approval question, what led here, and the answer being typed."""
    lines = [Text(prompt.question, style="bold", no_wrap=True, overflow="ellipsis")]
    if prompt.deadline is not None:
        left = format_duration(max(0.0, prompt.deadline - now))
        answer = "approve" if prompt.default else "deny"
        lines.append(Text(f"no answer in {left} means: {answer}", style="yellow"))
    lines += [Text(line, no_wrap=True, overflow="ellipsis") for line in prompt.context]
    ask = Text(f"Approve? {'[Y/n]' if prompt.default else '[y/N]'} ", style="bold")
    ask.append(prompt.typed + "▌")
    keep = max(budget - 3, 0)  # borders and the question line itself
    lines = [*lines[:keep], ask]
    panel = Panel(
        Group(*lines),
        title=f"approval needed: {prompt.step_id}",
        border_style="yellow",
        width=width,
    )
    return panel, len(lines) + 2
