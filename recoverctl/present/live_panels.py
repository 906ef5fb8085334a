"""The live view's parts: the header, a step's detail, the rollback panel, an approval gate.

Each is fitted to the lines it is given (borders included) and says how many it used,
so the view can give the rest to the steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from recoverctl.compile.plan import Plan, PlanNode
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


def run_header(
    plan: Plan,
    state: RunState,
    word: str,
    injected: list[str],
    elapsed: float,
    now: float,
    width: int,
) -> RenderableType:
    """Two lines: the status, runbook and run id; elapsed time against the RTO."""
    rb = plan.runbook
    title = Text(no_wrap=True, overflow="ellipsis")
    title.append(f"● {word}", style=_run_style(word))
    title.append(f"  {rb.name}", style="bold")
    if injected:
        title.append(f"  INJECTED: {', '.join(injected)}", style="bold magenta")
    title.append(f"  run {state.run_id}", style="dim")
    rto = rb.objectives.rto
    if rto is None:
        note = Text(
            f"elapsed {format_duration(elapsed)} (no RTO declared)",
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )
        return Group(title, note)
    worst = elapsed + remaining_worst_case(plan, state, now)
    at_risk = worst > rto
    bar = ProgressBar(
        total=rto,
        completed=min(elapsed, rto),
        width=max(10, min(30, width // 4)),
        complete_style="red" if at_risk else "green",
        finished_style="red",
    )
    note = Text(f"{format_duration(elapsed)} of RTO {format_duration(rto)}")
    if math.isinf(worst):
        note.append("  worst case unbounded", style="yellow")
    elif at_risk:
        note.append(f"  worst case {format_duration(worst)}: at risk", style="bold red")
    row = Table.grid(padding=(0, 1))
    row.add_column(no_wrap=True)
    row.add_column(no_wrap=True, overflow="ellipsis")
    row.add_row(bar, note)
    return Group(title, row)


def remaining_worst_case(plan: Plan, state: RunState, now: float) -> float:
    """Seconds the steps not finished yet can still take at worst."""
    remaining = 0.0
    for node_id in plan.roots + plan.finally_roots:
        step = state.steps.get(node_id)
        node = plan.node(node_id)
        if step is None or step.status == "pending":
            remaining += node.worst_case
        elif not step.final and step.started is not None:
            remaining += max(0.0, node.worst_case - (now - step.started))
    return remaining


def step_detail(node: PlanNode, state: StepState, status: str, now: float) -> str:
    """After a step's title: how long, which attempt, why it failed or was skipped."""
    parts: list[str] = []
    attempts = node.step.retry.attempts
    if status in ("running", "retrying") and state.started is not None:
        parts.append(format_duration(max(0.0, now - state.started)))
        if state.attempts > 1 or status == "retrying":
            parts.append(f"attempt {max(state.attempts, 1)}/{attempts}")
        if status == "retrying" and state.next_retry_at is not None:
            parts.append(f"retry in {format_duration(max(0.0, state.next_retry_at - now))}")
        if state.polls:
            parts.append(f"{state.polls} polls")
    elif state.final and status not in ("skipped", "cancelled"):
        if state.duration:
            parts.append(format_duration(state.duration))
        if state.attempts > 1:
            parts.append(f"{state.attempts} attempts")
        if status in ("failed", "timed_out") and state.error:
            parts.append(clip(state.error, 60))
        if state.rescued:
            parts.append("rescued")
        if state.rollback == "rollback_failed":
            parts.append("ROLLBACK FAILED")
    elif status in ("skipped", "cancelled") and state.reason and not node.children:
        parts.append(clip(state.reason, 50))
    return ("  " + ", ".join(parts)) if parts else ""


def _run_style(word: str) -> str:
    if word in ("succeeded",):
        return "bold green"
    if word in ("running",):
        return "bold cyan"
    if word in ("rolling back", "waiting for approval", "rolled back", "interrupted"):
        return "bold yellow"
    return "bold red"
