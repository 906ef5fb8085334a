"""The engine's language: typed, immutable events.

The engine only ever emits these; the terminal view, the journal and the
reports are built from them, and replaying them through `reduce` rebuilds a
run's state exactly. Textual fields are already redacted (no secret value
ever reaches an event). `to_dict`/`from_dict` give the versioned JSON form
used by `--output json` and the journal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

EVENT_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events: `ts` is wall-clock seconds, `mono` monotonic seconds since run start."""

    kind: ClassVar[str] = "event"
    ts: float = 0.0
    mono: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"event": self.kind, **data}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    """The run began: what runs, with which params (secrets masked), against which RTO."""

    kind: ClassVar[str] = "run_started"
    run_id: str
    runbook: str
    path: str
    plan_hash: str
    params: dict[str, Any]
    dry_run: bool = False
    rto: float | None = None
    worst_case: float | None = None
    injected: list[str] = field(default_factory=list)
    """Faults injected into this run (`run --inject`), empty for a normal run."""
    alert: dict[str, Any] | None = None
    """The alert it was started from (`run --from-alert`): source, file, status, fingerprints."""
    forced: str | None = None
    """Started with `--force` despite this: the cooldown it overrode."""
    scenario: str | None = None
    """`run --dry-run --scenario`: the scenario whose outcomes the dry run plays."""
    step_mode: bool = False
    """`run --step`: an operator is asked before each action."""
    lock: dict[str, Any] | None = None
    """The team lock it holds (a coordination backend): `backend` (its URL without the
    password) and the fencing `token` every command gets as RECOVERCTL_FENCING_TOKEN."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResumed(Event):
    """A stopped run continues: completed steps keep their results and are not run again."""

    kind: ClassVar[str] = "run_resumed"
    run_id: str
    plan_hash: str
    rerun: list[str] = field(default_factory=list)
    """Steps that were in flight when the run stopped and will run again."""
    rollback: bool = False
    """This session only undoes (`recoverctl rollback`, or a rollback a crash cut short): a
    crash of it must resume undoing, never redo the work."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorOverride(Event):
    """An operator's decision on a stopped run, with who, when and why."""

    kind: ClassVar[str] = "operator_override"
    step_id: str
    action: str
    """`skip`, `mark_done` or `from` (forget this step and all after it), on resume; `run
    --step`'s answers before a step: `step_run`, `step_skip`, `step_abort`, `step_rest`."""
    who: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(Event):
    """An attempt of a step began (groups and branches start once, attempt 1)."""

    kind: ClassVar[str] = "step_started"
    step_id: str
    attempt: int
    action: str = ""
    """What runs, rendered and redacted (the command line, the URL…)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessStarted(Event):
    """A step's command started, as the leader of its own process group `pid`."""

    kind: ClassVar[str] = "process_started"
    step_id: str
    pid: int
    identity: str | None = None
    """`<boot id>:<start time>` of the leader: a resume kills the group only if it matches."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteProcessStarted(Event):
    """A step's command started on a target's host, as process group `pgid` there. A
    resume stops that group first (a killed recoverctl leaves it running there)."""

    kind: ClassVar[str] = "remote_process_started"
    step_id: str
    host: str
    pgid: int
    tag: str
    """The attempt's tag: processes that left the group but carry it are stopped too."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutput(Event):
    """A chunk of a running step's output (whole lines, bounded per attempt)."""

    kind: ClassVar[str] = "step_output"
    step_id: str
    stream: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFailed(Event):
    """One attempt failed; a retry may follow."""

    kind: ClassVar[str] = "attempt_failed"
    step_id: str
    attempt: int
    error: str
    exit_code: int | None = None
    timed_out: bool = False
    duration: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitPolled(Event):
    """One poll of a `wait_for` that did not succeed yet."""

    kind: ClassVar[str] = "wait_polled"
    step_id: str
    polls: int
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(Event):
    """The next attempt will start after `delay` seconds."""

    kind: ClassVar[str] = "retry_scheduled"
    step_id: str
    next_attempt: int
    delay: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFinished(Event):
    """A step reached a final status: succeeded, failed, timed_out, skipped, unchanged, cancelled."""

    kind: ClassVar[str] = "step_finished"
    step_id: str
    status: str
    attempts: int = 0
    duration: float = 0.0
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    reason: str | None = None
    """Why a step was skipped or left unchanged."""
    stdout: str = ""
    stderr: str = ""
    """The tail of the captured output (bounded), for expressions and reports."""
    simulated: bool = False
    """A dry run did not run it: its result is made up, and no decision may rest on it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchDecided(Event):
    """A branch chose its case, with the values its conditions read."""

    kind: ClassVar[str] = "branch_decided"
    step_id: str
    case_index: int | None
    """Index of the case taken; None when no case matched and there is no else."""
    label: str | None
    condition: str | None
    values: dict[str, Any] = field(default_factory=dict)
    """The values the conditions read, e.g. {"steps.replica_ok.ok": false}."""
    undetermined: list[str] = field(default_factory=list)
    """A dry run: the simulated steps a condition reads. Which case a real run takes cannot
    be known; `case_index` is None and `explored` lists the cases shown, each in turn."""
    explored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class FanoutPlanned(Event):
    """A fan-out read its list: the items' keys (`step[key]` are their ids) and values,
    in the order they start, in waves. A resume runs these items, never a list read again."""

    kind: ClassVar[str] = "fanout_planned"
    step_id: str
    keys: list[str]
    values: list[Any] = field(default_factory=list)
    waves: list[int] = field(default_factory=list)
    """The sizes of the waves: the canary first, then each batch."""
    max_parallel: int | None = None
    tolerated: int = 0
    """How many items may fail before no new one starts and the fan-out fails."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested(Event):
    """A gate is waiting for an answer: who may give it, how many, and how
    (`answer_with`: the command that answers it from another shell)."""

    kind: ClassVar[str] = "approval_requested"
    step_id: str
    prompt: str = ""
    approvers: list[str] = field(default_factory=list)
    min_approvals: int = 1
    four_eyes: bool = False
    owner: str = ""
    """The OS user the run runs as: without approvers, the only one who may answer."""
    timeout: float | None = None
    answer_with: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalVote(Event):
    """One answer given to a waiting gate, counted or not (and why)."""

    kind: ClassVar[str] = "approval_vote"
    step_id: str
    approved: bool
    user: str
    """The OS user of the process that answered, as the kernel says (not as it claims)."""
    as_name: str = ""
    comment: str = ""
    counted: bool = False
    message: str = ""
    host: str = ""
    """Set when the answer came from another machine through the coordination backend:
    that machine's name, and `user` is then its OS user as that machine says."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalAnswered(Event):
    """An approval gate was answered: by whom (or by its timeout's default), and how."""

    kind: ClassVar[str] = "approval_answered"
    step_id: str
    approved: bool
    who: str
    prompt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRescued(Event):
    """A failed step's rescue steps succeeded: the run goes on."""

    kind: ClassVar[str] = "step_rescued"
    step_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackStarted(Event):
    """The run failed and completed steps are being undone, in `steps` order."""

    kind: ClassVar[str] = "rollback_started"
    reason: str
    steps: list[str] = field(default_factory=list)
    """The steps to roll back, in the order their compensations will run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRolledBack(Event):
    """A completed step's compensation finished (`ok` false: it failed)."""

    kind: ClassVar[str] = "step_rolled_back"
    step_id: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackFinished(Event):
    """All compensations ran (or a second interrupt skipped the rest)."""

    kind: ClassVar[str] = "rollback_finished"
    ok: bool
    skipped: bool = False
    """True when a second interrupt skipped the remaining compensations."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FinallyStarted(Event):
    """The `finally` steps are starting."""

    kind: ClassVar[str] = "finally_started"
    status: str = ""
    """The run's status as `finally` sees it (`run.status`): how the run ended."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogMessage(Event):
    """A `log` step's message, or a note from the engine (step_id None)."""

    kind: ClassVar[str] = "log"
    step_id: str | None
    level: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationDelivered(Event):
    """A notification reached its channel (`ok`), or was given up (`error` says why).
    Delivered in the background: it never changes the run's course or status."""

    kind: ClassVar[str] = "notification"
    channel: str
    """The channel's name under `notify:` (never its URL or key: those are secrets)."""
    channel_kind: str
    """webhook, slack, pagerduty or command."""
    on: str
    """The run event it told of: started, waiting_for_approval, failed, …"""
    ok: bool
    attempts: int
    seconds: float
    error: str | None = None
    step_id: str | None = None
    """The gate waiting, or the step that failed, when the notice was about one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    """The run ended: the last event of the run's own. Only the deliveries of the
    notifications its ending sent (`NotificationDelivered`) may follow it."""

    kind: ClassVar[str] = "run_finished"
    run_id: str
    status: str
    """succeeded, failed, rolled_back, rollback_failed or interrupted."""
    exit_code: int
    duration: float
    """Seconds this session (run, resume or rollback) took."""
    elapsed: float | None = None
    """Seconds since the run first started, across resumes: the time to recovery."""
    error: str | None = None
    failed_step: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        NotificationDelivered,
        RunStarted,
        RunResumed,
        OperatorOverride,
        StepStarted,
        ProcessStarted,
        RemoteProcessStarted,
        StepOutput,
        AttemptFailed,
        WaitPolled,
        RetryScheduled,
        StepFinished,
        BranchDecided,
        FanoutPlanned,
        ApprovalRequested,
        ApprovalVote,
        ApprovalAnswered,
        StepRescued,
        RollbackStarted,
        StepRolledBack,
        RollbackFinished,
        FinallyStarted,
        LogMessage,
        RunFinished,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """The inverse of `Event.to_dict` (journal replay); unknown fields are ignored."""
    cls = EVENT_TYPES[data["event"]]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
