"""Run state, and the one reducer that builds it from events.

The live run, `show` and `resume` all feed events through `reduce`, so what a
replay says happened cannot drift from what did. The state is owned by its
reducer and updated in place (a run of 10,000 steps emits ~50,000 events;
copying the table at each would cost more than the run).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from recoverctl.engine.events import (
    ApprovalAnswered,
    ApprovalRequested,
    ApprovalVote,
    AttemptFailed,
    BranchDecided,
    Event,
    FanoutPlanned,
    FinallyStarted,
    NotificationDelivered,
    OperatorOverride,
    ProcessStarted,
    RemoteProcessStarted,
    RetryScheduled,
    RollbackFinished,
    RollbackStarted,
    RunFinished,
    RunResumed,
    RunStarted,
    StepFinished,
    StepOutput,
    StepRescued,
    StepRolledBack,
    StepStarted,
    WaitPolled,
)
from recoverctl.model.fanout import local_id
from recoverctl.model.status import FINAL_STEP_STATUSES, OK_STEP_STATUSES, RunStatus, StepStatus

FINAL_STATUSES = FINAL_STEP_STATUSES
OK_STATUSES = OK_STEP_STATUSES


@dataclass(slots=True)
class StepState:
    """What is known of one step so far."""

    status: str = StepStatus.PENDING
    attempts: int = 0
    started: float | None = None
    duration: float = 0.0
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    reason: str | None = None
    stdout: str = ""
    stderr: str = ""
    last_line: str = ""
    next_retry_at: float | None = None
    polls: int = 0
    rescued: bool = False
    rollback: str | None = None
    """None, `rolled_back` or `rollback_failed`."""
    override: str | None = None
    """An operator's decision on this step, as recorded in the journal."""
    pid: int | None = None
    """Process group of the running command (cleared when the step finishes)."""
    pid_identity: str | None = None
    """The group leader's boot and start time, recorded at spawn."""
    remote: tuple[str, int, str] | None = None
    """(host, process group, tag) of the command running on a target's host."""
    answered_by: str | None = None
    simulated: bool = False
    """A dry run made its result up (it did not run)."""
    votes: list[ApprovalVote] = field(default_factory=list)
    """The answers that counted at its gate (who, when, their comments)."""
    """Who answered an approval gate (or that its default was taken)."""

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(slots=True)
class Decision:
    step_id: str
    case_index: int | None
    label: str | None
    condition: str | None
    values: dict[str, Any]
    undetermined: list[str] = field(default_factory=list)
    """A dry run could not decide: the simulated steps its condition reads."""


@dataclass(slots=True)
class RunState:
    """Everything a view, a report or a resume needs to know about a run."""

    run_id: str = ""
    runbook: str = ""
    status: str = RunStatus.PENDING
    steps: dict[str, StepState] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    """Steps in the order they succeeded: rollback runs this backwards."""
    decisions: list[Decision] = field(default_factory=list)
    fanouts: dict[str, FanoutPlanned] = field(default_factory=dict)
    """Each fan-out's items as it read them, by the fan-out's step id."""
    waiting: dict[str, ApprovalRequested] = field(default_factory=dict)
    """Gates waiting for an answer now (asked, not yet answered)."""
    rolling_back: bool = False
    rollback_ok: bool | None = None
    started: float | None = None
    duration: float | None = None
    """Time to recovery: from the run's first start to its end, across resumes."""
    exit_code: int | None = None
    error: str | None = None
    failed_step: str | None = None
    undone: list[tuple[str, bool]] = field(default_factory=list)
    """Compensations in the order they ran: (step, ok)."""
    notifications: list[NotificationDelivered] = field(default_factory=list)
    """Every notification delivered or given up, in the order they ended."""
    events: int = 0
    dry_run: bool = False
    """Nothing was changed: no step's work needs undoing."""

    def scoped(self, prefix: str) -> RunState:
        """What a called runbook (ids under `prefix`, e.g. `reindex/`) had done, by its own
        ids: a resumed run hands it to the sub-runbook's engine, so what completed there
        is not done again either."""

        def local(step_id: str) -> str | None:
            return local_id(prefix, step_id)

        inner = RunState(run_id=self.run_id, status=self.status, started=self.started)
        inner.steps = {
            sid: copy.deepcopy(step)
            for full, step in self.steps.items()
            if (sid := local(full)) is not None
        }
        inner.completed = [sid for full in self.completed if (sid := local(full)) is not None]
        inner.decisions = [
            dataclasses.replace(d, step_id=sid)
            for d in self.decisions
            if (sid := local(d.step_id)) is not None
        ]
        inner.undone = [(sid, ok) for full, ok in self.undone if (sid := local(full)) is not None]
        inner.fanouts = {
            sid: fan for full, fan in self.fanouts.items() if (sid := local(full)) is not None
        }
        return inner

    def rolled_back(self) -> list[str]:
        """Steps undone, in the order their compensations ran."""
        return [sid for sid, ok in self.undone if ok]

    def compensable(
        self, has_rollback: Callable[[str], bool], among: Sequence[str] | None = None
    ) -> list[str]:
        """Completed steps that declare a rollback and still stand, last completed first (each
        once): the saga's order. A step whose undo failed is among them (it can be retried);
        one an operator recorded as undone by hand (`--mark-done x.rollback`) is not.
        `among`: the completed steps to consider, in completion order (default: all)."""
        order: list[str] = []
        seen: set[str] = set()
        for sid in reversed(self.completed if among is None else among):
            step = self.steps.get(sid)
            if sid in seen or step is None or step.status != StepStatus.SUCCEEDED:
                continue
            seen.add(sid)
            done = self.steps.get(f"{sid}.rollback")
            if done is not None and done.status == StepStatus.SUCCEEDED and done.override:
                continue
            if has_rollback(sid):
                order.append(sid)
        return order

    def not_undone(self, has_rollback: Callable[[str], bool]) -> list[str]:
        """What a stopped run left done that its rollback never reached: what `recoverctl
        rollback` would undo. Empty for a run that succeeded (its changes are the recovery)
        or changed nothing; undos that failed are reported as failed, not here."""
        if (
            self.status in (RunStatus.SUCCEEDED, RunStatus.RUNNING, RunStatus.PENDING)
            or self.dry_run
        ):
            return []
        return [sid for sid in self.compensable(has_rollback) if not self.steps[sid].rollback]

    def rollback_failures(self) -> list[str]:
        return [sid for sid, ok in self.undone if not ok]

    def rto_verdict(self, rto: float) -> str:
        """`met`, `missed`, or `not recovered` (a run that failed or rolled back met nothing)."""
        if self.status != RunStatus.SUCCEEDED:
            return "not recovered"
        return "met" if (self.duration or 0.0) <= rto else "missed"

    def step(self, step_id: str) -> StepState:
        state = self.steps.get(step_id)
        if state is None:
            state = self.steps[step_id] = StepState()
        return state


def reduce(state: RunState, event: Event) -> RunState:
    """Apply `event` to `state` (in place) and return it."""
    state.events += 1
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(state, event)
    return state


def replay(events: list[Event]) -> RunState:
    state = RunState()
    for event in events:
        reduce(state, event)
    return state


def _run_started(state: RunState, e: RunStarted) -> None:
    state.run_id, state.runbook, state.started = e.run_id, e.runbook, e.ts
    state.status = RunStatus.RUNNING
    state.dry_run = e.dry_run


def _run_resumed(state: RunState, e: RunResumed) -> None:
    state.status = RunStatus.RUNNING
    state.rolling_back = e.rollback
    state.rollback_ok = None  # whether this session's rollback ends well is this session's
    state.duration = state.exit_code = state.error = state.failed_step = None


def _operator_override(state: RunState, e: OperatorOverride) -> None:
    step = state.step(e.step_id)
    step.override = f"{e.action} by {e.who}" + (f": {e.reason}" if e.reason else "")
    if e.action in ("skip", "step_skip"):
        step.status, step.reason = StepStatus.SKIPPED, step.override
    elif e.action == "mark_done":
        step.status, step.reason, step.error = StepStatus.SUCCEEDED, step.override, None
        state.completed.append(e.step_id)
    elif e.action in ("reset", "from"):
        state.steps[e.step_id] = StepState(override=step.override)
        state.decisions = [d for d in state.decisions if d.step_id != e.step_id]


def _step_started(state: RunState, e: StepStarted) -> None:
    step = state.step(e.step_id)
    step.status = StepStatus.RUNNING
    step.attempts = e.attempt
    step.next_retry_at = None
    state.waiting.pop(e.step_id, None)  # a gate stopped unanswered (Ctrl-C) waits no more
    if step.started is None:
        step.started = e.mono


def _process_started(state: RunState, e: ProcessStarted) -> None:
    step = state.step(e.step_id)
    step.pid, step.pid_identity = e.pid, e.identity


def _remote_process_started(state: RunState, e: RemoteProcessStarted) -> None:
    state.step(e.step_id).remote = (e.host, e.pgid, e.tag)


def _step_output(state: RunState, e: StepOutput) -> None:
    lines = [line for line in e.text.splitlines() if line.strip()]
    if lines:
        state.step(e.step_id).last_line = lines[-1]


def _attempt_failed(state: RunState, e: AttemptFailed) -> None:
    step = state.step(e.step_id)
    step.error, step.exit_code = e.error, e.exit_code


def _wait_polled(state: RunState, e: WaitPolled) -> None:
    step = state.step(e.step_id)
    step.polls = e.polls
    if e.error:
        step.last_line = e.error


def _retry_scheduled(state: RunState, e: RetryScheduled) -> None:
    step = state.step(e.step_id)
    step.status = StepStatus.RETRYING
    step.next_retry_at = e.mono + e.delay


def _step_finished(state: RunState, e: StepFinished) -> None:
    step = state.step(e.step_id)
    step.status = e.status
    step.attempts = max(step.attempts, e.attempts)
    step.duration, step.exit_code, step.outputs = e.duration, e.exit_code, dict(e.outputs)
    step.error, step.reason, step.stdout, step.stderr = e.error, e.reason, e.stdout, e.stderr
    step.next_retry_at = None
    step.pid = step.remote = None
    step.simulated = e.simulated
    if e.status == StepStatus.SUCCEEDED:
        state.completed.append(e.step_id)


def _branch_decided(state: RunState, e: BranchDecided) -> None:
    state.decisions.append(
        Decision(
            e.step_id, e.case_index, e.label, e.condition, dict(e.values), list(e.undetermined)
        )
    )


def _fanout_planned(state: RunState, e: FanoutPlanned) -> None:
    state.fanouts[e.step_id] = e


def _approval_requested(state: RunState, e: ApprovalRequested) -> None:
    state.waiting[e.step_id] = e


def _approval_vote(state: RunState, e: ApprovalVote) -> None:
    if e.counted:
        state.step(e.step_id).votes.append(e)


def _approval_answered(state: RunState, e: ApprovalAnswered) -> None:
    state.waiting.pop(e.step_id, None)
    state.step(e.step_id).answered_by = f"{'approved' if e.approved else 'denied'} by {e.who}"


def _step_rescued(state: RunState, e: StepRescued) -> None:
    state.step(e.step_id).rescued = True


def _rollback_started(state: RunState, e: RollbackStarted) -> None:
    state.rolling_back = True


def _step_rolled_back(state: RunState, e: StepRolledBack) -> None:
    step = state.step(e.step_id)
    state.undone.append((e.step_id, e.ok))
    step.rollback = "rolled_back" if e.ok else "rollback_failed"
    if e.ok:
        step.status = StepStatus.ROLLED_BACK


def _rollback_finished(state: RunState, e: RollbackFinished) -> None:
    state.rolling_back = False
    state.rollback_ok = e.ok and not e.skipped


def _finally_started(state: RunState, e: FinallyStarted) -> None:
    if e.status:
        state.status = e.status


def _notification(state: RunState, e: NotificationDelivered) -> None:
    state.notifications.append(e)


def _run_finished(state: RunState, e: RunFinished) -> None:
    state.status, state.exit_code = e.status, e.exit_code
    state.duration = e.elapsed if e.elapsed is not None else e.duration
    state.error, state.failed_step = e.error, e.failed_step


_HANDLERS: dict[type[Event], Any] = {
    RunStarted: _run_started,
    RunResumed: _run_resumed,
    OperatorOverride: _operator_override,
    StepStarted: _step_started,
    ProcessStarted: _process_started,
    RemoteProcessStarted: _remote_process_started,
    StepOutput: _step_output,
    AttemptFailed: _attempt_failed,
    WaitPolled: _wait_polled,
    RetryScheduled: _retry_scheduled,
    StepFinished: _step_finished,
    BranchDecided: _branch_decided,
    FanoutPlanned: _fanout_planned,
    ApprovalRequested: _approval_requested,
    ApprovalVote: _approval_vote,
    ApprovalAnswered: _approval_answered,
    StepRescued: _step_rescued,
    RollbackStarted: _rollback_started,
    StepRolledBack: _step_rolled_back,
    RollbackFinished: _rollback_finished,
    FinallyStarted: _finally_started,
    RunFinished: _run_finished,
    NotificationDelivered: _notification,
}
