"""The live terminal view of a run: what is happening now, fitted to the terminal it is on.

It is an event subscriber like any other; it keeps its own `RunState` with
the engine's reducer and draws it with rich at a bounded refresh rate. The
operator is often on an 80x24 terminal over SSH, so every frame is fitted to
the lines and columns there are (`present/fold.py`): the header (status,
elapsed against the RTO), the running steps, the newest failure with its
reason, the branch just decided, the rollback panel while it runs and the
approval prompt are always on screen; finished and pending steps fold into
one-line summaries when space is short. A frame is never taller than the
terminal, so frames never stack in the scrollback, and the last one stays.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.engine.events import (
    ApprovalVote,
    BranchDecided,
    Event,
    RollbackStarted,
    RunStarted,
    StepFinished,
)
from recoverctl.engine.state import Decision, RunState, StepState, reduce
from recoverctl.fit import clip, last_line, show_value
from recoverctl.model.fanout import item_prefix
from recoverctl.model.runbook import Branch
from recoverctl.model.runbook import Group as GroupBody
from recoverctl.present import fold
from recoverctl.present.console import terminal_size
from recoverctl.present.fold import Row
from recoverctl.present.gate_lines import waiting_lines
from recoverctl.present.live_panels import (
    ApprovalPrompt,
    prompt_panel,
    rollback_panel,
    run_header,
    step_detail,
)

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
"""Past this many running steps, their last output lines are left out."""
ACTIVE_STATUSES = ("running", "retrying", "rolling_back")


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
        self.newest_failure: str | None = None
        self.newest_decision: str | None = None
        self.last_vote: dict[str, ApprovalVote] = {}
        """Each waiting gate's latest answer, shown under it."""
        self.prompt: ApprovalPrompt | None = None
        self.show_output = True
        self.broken: Exception | None = None
        self.live = Live(
            get_renderable=self._safe_render,
            console=console,
            refresh_per_second=refresh_per_second,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
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
        elif isinstance(event, StepFinished) and event.status in ("failed", "timed_out"):
            self.newest_failure = event.step_id
        elif isinstance(event, BranchDecided):
            self.newest_decision = event.step_id
        elif isinstance(event, ApprovalVote):
            self.last_vote[event.step_id] = event

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def abandon(self) -> None:
        """Give the terminal up after a failure; plain lines take over from here."""
        self.broken = self.broken or RuntimeError("abandoned")
        with contextlib.suppress(Exception):  # already failing: the replacement must still start
            self.live.stop()

    def refresh(self) -> None:
        """Draw now (a key was typed at the prompt) rather than at the next tick."""
        with contextlib.suppress(Exception):
            self.live.refresh()

    def _safe_render(self) -> RenderableType:
        """A frame that cannot be drawn must not kill rich's refresh thread silently."""
        if self.broken is not None:
            return Text("")
        try:
            size = terminal_size(self.console.file)
            if size is not None:
                self.console.size = size  # follows a resize, whatever COLUMNS/LINES say
            return self.render()
        except Exception as exc:
            self.broken = exc
            return Text("(live view failed: plain lines follow)")

    # -- the frame ---------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the run started, on the events' clock."""
        return 0.0 if self.started_at is None else self.clock() - self.started_at

    def render(self, *, full: bool = False) -> RenderableType:
        """One frame fitted to the terminal; `full`: every row (printed once, by `show`)."""
        width, height = self.console.size
        if full:
            height = 1_000_000
        running = sum(1 for step in self.state.steps.values() if step.status in ACTIVE_STATUSES)
        self.show_output = running <= MAX_OUTPUT_LINES
        budget = max(height - 1, 4)  # a frame as tall as the terminal scrolls it: one spare line
        header = self._header(width)
        budget -= 2
        bottom: list[RenderableType] = []
        if self.prompt is not None:
            panel, used = prompt_panel(self.prompt, self.now(), width, max(budget - 1, 3))
            bottom.append(panel)
            budget -= used
        elif self.state.waiting:  # answered only from other shells: say how, and who said what
            lines = waiting_lines(self.state.waiting.values(), self.last_vote)
            bottom += [Text(line, no_wrap=True, overflow="ellipsis") for line in lines]
            budget -= len(lines)
        if self.rollback_order or self.state.rolling_back:
            panel, used = rollback_panel(
                self.state, self.rollback_order, self._spinner(), width, max(budget // 2, 3)
            )
            bottom.insert(0, panel)
            budget -= used
        steps = fold.fit(self._rows(), max(budget, 1))
        return Group(header, *steps, *bottom)

    def status_word(self) -> str:
        """running / waiting for approval / rolling back / the final status."""
        state = self.state
        if state.status not in ("running", "pending") and state.duration is not None:
            return state.status.replace("_", " ")
        if state.rolling_back:
            return "rolling back"
        if self.prompt is not None or self._waiting_gate():
            return "waiting for approval"
        if state.status not in ("running", "pending"):
            return f"{state.status.replace('_', ' ')}, running finally"
        return "running"

    def _waiting_gate(self) -> bool:
        for step_id, step in self.state.steps.items():
            if step.status == "running":
                node = self.plan.resolve(step_id)
                if node is not None and node.kind == "approval":
                    return True
        return False

    def _header(self, width: int) -> RenderableType:
        elapsed = self.state.duration if self.state.duration is not None else self.now()
        return run_header(
            self.plan, self.state, self.status_word(), self.injected, elapsed, self.now(), width
        )

    # -- the steps, as rows ------------------------------------------------------------

    def _rows(self) -> list[Row]:
        rows: list[Row] = []
        for node_id in self.plan.roots:
            self._add(rows, self.plan.node(node_id), "", 0)
        if self.plan.finally_roots:
            head = Row(Text("finally", style="bold"), fold.REST)
            rows.append(head)
            best = min(
                (self._add(rows, self.plan.node(n), "", 1) for n in self.plan.finally_roots),
                default=fold.REST,
            )
            head.priority = min(head.priority, _context(best))
        return rows

    def _add(self, rows: list[Row], node: PlanNode, prefix: str, indent: int) -> int:
        """Append `node`'s rows; return the best priority among them (for its parents)."""
        step_id = prefix + node.id
        state = self.state.steps.get(step_id, StepState())
        status = self._status(step_id, state)
        row = Row(self._label(node, step_id, state, status), self._priority(step_id, status))
        row.indent = indent
        row.fold = fold.FOLD_OF_STATUS.get(status) if not node.children else None
        if row.fold == "to go" and self.state.duration is not None:
            row.fold = "not run"  # the run is over: nothing is still to go
        rows.append(row)
        best = row.priority
        for detail in self._details(step_id, state, status, row.priority):
            rows.append(detail)
            detail.indent = indent + 1
        body = node.step.body
        if node.item is not None:  # a fan-out: one row per item under its counts
            best = min(best, self._items(rows, node, step_id, indent + 1))
        elif isinstance(body, Branch):
            best = min(best, self._cases(rows, body, step_id, prefix, indent + 1))
        elif isinstance(body, GroupBody):
            for child in body.steps:
                best = min(best, self._add(rows, self.plan.node(child.id), prefix, indent + 1))
        elif node.callee is not None:
            for child_id in node.callee.roots:
                inner = node.callee.node(child_id)
                best = min(best, self._add(rows, inner, f"{step_id}/", indent + 1))
        for rescue in node.step.rescue:
            rescue_state = self.state.steps.get(prefix + rescue.id)
            if rescue_state is not None and rescue_state.status != "pending":
                head = Row(Text("rescue", style="cyan"), fold.REST, indent + 1)
                rows.append(head)
                found = self._add(rows, self.plan.node(rescue.id), prefix, indent + 2)
                head.priority = min(head.priority, _context(found))
                best = min(best, found)
        row.priority = min(row.priority, _context(best))
        return best

    def _item_ids(self, step_id: str) -> list[str]:
        planned = self.state.fanouts.get(step_id)
        return [item_prefix(step_id, key) for key in planned.keys] if planned else []

    def _fanout_counts(self, step_id: str) -> str:
        """`3/10 done · 2 running · 1 failed`: the fan-out at a glance, on its own row."""
        items = self._item_ids(step_id)
        if not items:
            return ""
        counts: dict[str, int] = {}
        for item in items:
            word = fold.FOLD_OF_STATUS.get(
                self._status(item, self.state.steps.get(item, StepState())), "to go"
            )
            counts[word] = counts.get(word, 0) + 1
        text = f"{counts.pop('done', 0)}/{len(items)} done"
        for word in ("running", "failed", "cancelled", "skipped"):
            if counts.get(word):
                text += f" · {counts[word]} {'not started' if word == 'cancelled' else word}"
        return text

    def _items(self, rows: list[Row], node: PlanNode, step_id: str, indent: int) -> int:
        """One row per item; the fold keeps the running and failed ones on a small screen
        and counts the rest (`12 done`)."""
        assert node.item is not None  # noqa: S101 - a fan-out
        inner = node.item.node("")
        best = fold.REST
        for item_id in self._item_ids(step_id):
            state = self.state.steps.get(item_id, StepState())
            status = self._status(item_id, state)
            glyph, style = GLYPHS.get(status, ("?", ""))
            if status == "running":
                glyph = self._spinner()
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{glyph} ", style=style)
            label.append(item_id[len(step_id) :], style="bold" if status == "running" else "")
            label.append(step_detail(inner, state, status, self.now()), style="dim")
            row = Row(label, self._priority(item_id, status), indent)
            row.fold = fold.FOLD_OF_STATUS.get(status)
            rows.append(row)
            for detail in self._details(item_id, state, status, row.priority):
                detail.indent = indent + 1
                rows.append(detail)
            best = min(best, row.priority)
        return best

    def _cases(self, rows: list[Row], body: Branch, step_id: str, prefix: str, indent: int) -> int:
        decision = self._decision(step_id)
        best = fold.REST
        for index, case in enumerate(body.cases):
            taken = decision is not None and decision.case_index == index
            style = "bold yellow" if taken else ("dim" if decision is not None else "yellow")
            label = Text("→ " if taken else "  ", style=style)
            label.append(case.label if case.when is None else f"when {case.label}", style=style)
            if decision is not None and not taken:
                count = len(case.steps)
                label.append(f"  not taken ({count} step{'s' * (count != 1)})", style="dim")
                rows.append(Row(label, fold.REST, indent))
                continue
            head = Row(label, fold.REST, indent)
            rows.append(head)
            found = min(
                (self._add(rows, self.plan.node(c.id), prefix, indent + 1) for c in case.steps),
                default=fold.REST,
            )
            head.priority = min(head.priority, _context(found))
            best = min(best, found)
        return best

    def _priority(self, step_id: str, status: str) -> int:
        if status in ACTIVE_STATUSES:
            return fold.ACTIVE
        if step_id in (self.newest_failure, self.newest_decision):
            return fold.NEWEST
        if status in ("failed", "timed_out"):
            return fold.FAILURE
        return fold.REST

    def _details(self, step_id: str, state: StepState, status: str, priority: int) -> list[Row]:
        """The running step's last output line; the failed step's reason."""
        if status in ("running", "retrying") and state.last_line and self.show_output:
            return [Row(Text(clip(state.last_line, 200), style="dim"), fold.DETAIL)]
        decision = self._decision(step_id)
        if decision is not None and decision.values:
            seen = ", ".join(f"{k} = {clip(show_value(v), 30)}" for k, v in decision.values.items())
            level = fold.DETAIL if priority == fold.NEWEST else fold.REST
            return [Row(Text(f"({seen})", style="yellow"), level)]
        if status in ("failed", "timed_out"):
            why = last_line(state.stderr) or last_line(state.stdout)
            if why:
                level = fold.DETAIL if priority == fold.NEWEST else fold.FAILURE_DETAIL
                return [Row(Text(clip(why, 200), style="red"), level)]
        return []

    def _spinner(self) -> str:
        return SPINNER[int(self.clock() * 10) % len(SPINNER)]

    def _decision(self, step_id: str) -> Decision | None:
        return next((d for d in self.state.decisions if d.step_id == step_id), None)

    def _label(self, node: PlanNode, step_id: str, state: StepState, status: str) -> Text:
        glyph, style = GLYPHS.get(status, ("?", ""))
        if status == "running":
            glyph = self._spinner()
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{glyph} ", style=style)
        text.append(node.step.title, style="bold" if status == "running" else "")
        if node.step.name:
            text.append(f" [{node.id}]", style="dim")
        body = node.step.body
        if node.item is not None:
            text.append(f"  {self._fanout_counts(step_id)}", style="magenta")
        elif isinstance(body, GroupBody):
            text.append(f"  {body.kind}", style="magenta" if body.parallel else "blue")
        elif isinstance(body, Branch):
            decision = self._decision(step_id)
            if decision is not None:
                text.append("  → ", style="yellow")
                text.append(decision.label or "no case matched", style="bold yellow")
            else:
                text.append("  branch", style="yellow")
        text.append(
            step_detail(node, state, status, self.now()),
            style=style if status != "running" else "dim",
        )
        return text

    def _status(self, step_id: str, state: StepState) -> str:
        if self.state.rolling_back and step_id in self.rollback_order and state.rollback is None:
            compensation = self.state.steps.get(f"{step_id}.rollback")
            if compensation is not None and compensation.status in ("running", "retrying"):
                return "rolling_back"
        return state.status


def _context(best: int) -> int:
    """A group holding an active or newest row is shown as its context."""
    return fold.CONTEXT if best <= fold.NEWEST else fold.REST
