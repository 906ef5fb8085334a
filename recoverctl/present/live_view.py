"""The live terminal view of a run: a tree of the plan's steps that changes as events arrive.

It is an event subscriber like any other; it keeps its own `RunState` with
the engine's reducer and draws it with rich at a bounded refresh rate, so a
run with hundreds of steps and chatty output stays smooth. What it shows:
a header with the RTO budget, each step's glyph and colour, spinners and
elapsed time for running steps, attempts and retry countdowns, the last
line of output, branch decisions inline, and the rollback phase set apart.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.engine.events import Event, RollbackStarted, RunStarted
from recoverctl.engine.state import Decision, RunState, StepState, reduce
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import Branch
from recoverctl.model.runbook import Group as GroupBody
from recoverctl.present.fit import clip, last_line, show_value

GLYPHS: dict[str, tuple[str, str]] = {
    "pending": ("○", "dim"),
    "running": ("", "bold cyan"),
    "retrying": ("↻", "bold yellow"),
    "succeeded": ("✔", "green"),
    "failed": ("✘", "bold red"),
    "timed_out": ("⏱", "bold red"),
    "skipped": ("–", "dim"),
    "unchanged": ("=", "green"),
    "cancelled": ("⊘", "yellow"),
    "rolling_back": ("↺", "bold magenta"),
    "rolled_back": ("↺", "magenta"),
}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MAX_OUTPUT_LINES = 8
"""Past this many running steps, their last output lines are left out to keep the tree on screen."""
COLLAPSE_OVER = 40
"""Past this many visible rows, finished groups fold into one line."""


class LiveView:
    """Subscribe it to the bus; call `start()` before the run and `stop()` after."""

    def __init__(
        self,
        plan: Plan,
        console: Console,
        *,
        refresh_per_second: float = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan, self.console, self.clock = plan, console, clock
        self.state = RunState()
        self.started_at: float | None = None
        self.rollback_order: list[str] = []
        self.injected: list[str] = []
        self.show_output = True
        self.broken: Exception | None = None
        self.live = Live(
            get_renderable=self._safe_render,
            console=console,
            refresh_per_second=refresh_per_second,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __call__(self, event: Event) -> None:
        if self.broken is not None:
            raise self.broken  # drawing failed in rich's refresh thread: hand over on the bus
        if self.started_at is None:
            self.started_at = self.clock() - event.mono
        if isinstance(event, RunStarted) and event.injected:
            self.injected = list(event.injected)
        reduce(self.state, event)
        if isinstance(event, RollbackStarted):
            self.rollback_order = list(event.steps)

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def abandon(self) -> None:
        """Give the terminal up after a failure; plain lines take over from here."""
        self.broken = self.broken or RuntimeError("abandoned")
        with contextlib.suppress(Exception):  # already failing: the replacement must still start
            self.live.stop()

    def _safe_render(self) -> RenderableType:
        """A frame that cannot be drawn must not kill rich's refresh thread silently."""
        if self.broken is not None:
            return Text("")
        try:
            return self.render()
        except Exception as exc:
            self.broken = exc
            return Text("(live view failed: plain lines follow)")

    def pause(self) -> None:
        """Stop redrawing (an approval prompt needs the terminal)."""
        self.live.stop()

    def resume(self) -> None:
        self.live.start()

    # -- rendering ---------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the run started, on the events' clock."""
        return 0.0 if self.started_at is None else self.clock() - self.started_at

    def render(self) -> RenderableType:
        running = sum(
            1 for step in self.state.steps.values() if step.status in ("running", "retrying")
        )
        self.show_output = (
            running <= MAX_OUTPUT_LINES
        )  # many at once: one line each, no output lines
        parts: list[RenderableType] = [self._header(), self._tree()]
        if self.rollback_order or self.state.rolling_back:
            parts.append(self._rollback_panel())
        return Group(*parts)

    def _header(self) -> RenderableType:
        rb = self.plan.runbook
        elapsed = self.state.duration if self.state.duration is not None else self.now()
        title = Text()
        title.append(rb.name, style="bold")
        title.append(f"  run {self.state.run_id}", style="dim")
        title.append(f"  {self.state.status}", style=_run_style(self.state.status))
        if self.injected:
            title.append(f"  INJECTED: {', '.join(self.injected)}", style="bold magenta")
        rto = rb.objectives.rto
        if rto is None:
            return Group(
                title, Text(f"elapsed {format_duration(elapsed)} (no RTO declared)", style="dim")
            )
        worst = elapsed + self._remaining_worst_case()
        at_risk = worst > rto
        bar = ProgressBar(
            total=rto,
            completed=min(elapsed, rto),
            width=30,
            complete_style="red" if at_risk else "green",
            finished_style="red",
        )
        note = Text(f"{format_duration(elapsed)} of RTO {format_duration(rto)}")
        if math.isinf(worst):
            note.append("  worst case unbounded", style="yellow")
        elif at_risk:
            note.append(f"  worst case {format_duration(worst)}: at risk", style="bold red")
        row = Table.grid(padding=(0, 1))
        row.add_row(bar, note)
        return Group(title, row)

    def _remaining_worst_case(self) -> float:
        remaining = 0.0
        for node_id in self.plan.roots + self.plan.finally_roots:
            step = self.state.steps.get(node_id)
            node = self.plan.node(node_id)
            if step is None or step.status == "pending":
                remaining += node.worst_case
            elif not step.final and step.started is not None:
                remaining += max(0.0, node.worst_case - (self.now() - step.started))
        return remaining

    def _tree(self) -> RenderableType:
        tree = Tree(Text("steps", style="bold"), guide_style="dim", hide_root=True)
        collapse = len(self.state.steps) > COLLAPSE_OVER or len(self.plan.nodes) > COLLAPSE_OVER
        for node_id in self.plan.roots:
            self._add(tree, self.plan.node(node_id), collapse, "")
        if self.plan.finally_roots:
            final = tree.add(Text("finally", style="bold"))
            for node_id in self.plan.finally_roots:
                self._add(final, self.plan.node(node_id), collapse, "")
        return tree

    def _add(self, tree: Tree, node: PlanNode, collapse: bool, prefix: str) -> None:
        step_id = prefix + node.id
        state = self.state.steps.get(step_id, StepState())
        label = self._label(node, step_id, state)
        body = node.step.body
        finished = state.final and self._all_final(node, prefix)
        if collapse and node.children and (finished or state.status == "pending"):
            # a long run shows what is running: finished and not-yet-started groups fold to one line
            label.append(f"  ({len(node.children)} steps)", style="dim")
            tree.add(label)
            return
        branch = tree.add(label)
        if isinstance(body, Branch):
            decision = self._decision(step_id)
            for index, case in enumerate(body.cases):
                taken = decision is not None and decision.case_index == index
                if decision is not None and not taken and collapse:
                    continue
                style = "bold yellow" if taken else ("dim" if decision is not None else "yellow")
                label = Text("→ " if taken else "  ", style=style)
                label.append(case.label if case.when is None else f"when {case.label}", style=style)
                case_tree = branch.add(label)
                for child in case.steps:
                    self._add(case_tree, self.plan.node(child.id), collapse, prefix)
        elif isinstance(body, GroupBody):
            for child in body.steps:
                self._add(branch, self.plan.node(child.id), collapse, prefix)
        elif node.callee is not None:
            for child_id in node.callee.roots:
                self._add(branch, node.callee.node(child_id), collapse, f"{step_id}/")
        for rescue in node.step.rescue:
            rescue_state = self.state.steps.get(prefix + rescue.id)
            if rescue_state is not None and rescue_state.status != "pending":
                self._add(
                    branch.add(Text("rescue", style="cyan")),
                    self.plan.node(rescue.id),
                    collapse,
                    prefix,
                )

    def _all_final(self, node: PlanNode, prefix: str) -> bool:
        return all(
            self.state.steps.get(prefix + child, StepState()).final for child in node.children
        )

    def _decision(self, step_id: str) -> Decision | None:
        return next((d for d in self.state.decisions if d.step_id == step_id), None)

    def _label(self, node: PlanNode, step_id: str, state: StepState) -> Text:
        status = self._status(step_id, state)
        glyph, style = GLYPHS.get(status, ("?", ""))
        if status == "running":
            glyph = SPINNER[int(self.clock() * 10) % len(SPINNER)]
        text = Text()
        text.append(f"{glyph} ", style=style)
        text.append(node.step.title, style="bold" if status == "running" else "")
        if node.step.name:
            text.append(f" [{node.id}]", style="dim")
        body = node.step.body
        if isinstance(body, GroupBody):
            text.append(f"  {body.kind}", style="magenta" if body.parallel else "blue")
        elif isinstance(body, Branch):
            decision = self._decision(step_id)
            if decision is not None:
                text.append("  → ", style="yellow")
                text.append(decision.label or "no case matched", style="bold yellow")
                if decision.values:
                    seen = ", ".join(
                        f"{k} = {clip(show_value(v), 30)}" for k, v in decision.values.items()
                    )
                    text.append(f" ({seen})", style="yellow")
            else:
                text.append("  branch", style="yellow")
        text.append(
            self._detail(node, state, status), style=style if status != "running" else "dim"
        )
        if status in ("running", "retrying") and state.last_line and self.show_output:
            text.append(f"\n{clip(state.last_line, 70)}", style="dim")
        elif status in ("failed", "timed_out"):
            why = last_line(state.stderr) or last_line(state.stdout)
            if why:
                text.append(f"\n{clip(why, 70)}", style="red")
        return text

    def _status(self, step_id: str, state: StepState) -> str:
        if self.state.rolling_back and step_id in self.rollback_order and state.rollback is None:
            compensation = self.state.steps.get(f"{step_id}.rollback")
            if compensation is not None and compensation.status in ("running", "retrying"):
                return "rolling_back"
        return state.status

    def _detail(self, node: PlanNode, state: StepState, status: str) -> str:
        parts: list[str] = []
        attempts = node.step.retry.attempts
        if status in ("running", "retrying") and state.started is not None:
            parts.append(format_duration(max(0.0, self.now() - state.started)))
            if state.attempts > 1 or status == "retrying":
                parts.append(f"attempt {max(state.attempts, 1)}/{attempts}")
            if status == "retrying" and state.next_retry_at is not None:
                parts.append(
                    f"retry in {format_duration(max(0.0, state.next_retry_at - self.now()))}"
                )
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

    def _rollback_panel(self) -> RenderableType:
        table = Table.grid(padding=(0, 1))
        for step_id in self.rollback_order:
            state = self.state.steps.get(step_id, StepState())
            compensation = self.state.steps.get(f"{step_id}.rollback", StepState())
            if state.rollback == "rolled_back":
                glyph, style, note = "↺", "magenta", "undone"
            elif state.rollback == "rollback_failed":
                glyph, style, note = (
                    "✘",
                    "bold red",
                    f"FAILED: {clip(compensation.error or '', 50)}",
                )
            elif compensation.status in ("running", "retrying"):
                glyph, style, note = (
                    SPINNER[int(self.clock() * 10) % len(SPINNER)],
                    "bold magenta",
                    "undoing",
                )
            else:
                glyph, style, note = "○", "dim", "waiting"
            table.add_row(Text(glyph, style=style), Text(step_id), Text(note, style=style))
        ok = self.state.rollback_ok
        title = "ROLLBACK" + (
            " finished" if ok else " FAILED" if ok is False and not self.state.rolling_back else ""
        )
        return Panel(
            table, title=title, border_style="magenta" if ok is not False else "red", expand=False
        )


def _run_style(status: str) -> str:
    return {"succeeded": "bold green", "running": "cyan", "rolled_back": "bold yellow"}.get(
        status, "bold red" if status not in ("pending",) else "dim"
    )
