"""The runbook as frozen values: what every later stage reads.

Built once by `recoverctl.validate.build` from schema-valid data. Defaults
are already applied (a step's `timeout`, `retry` and `on_failure` are the
effective ones) and the `explicit` flags keep what the author wrote, which
lint needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from recoverctl.model.actions import (
    Action,
    ApprovalAction,
    AssertAction,
    CallAction,
    HttpAction,
    HttpExpect,
    LogAction,
    RunAction,
    SleepAction,
    WaitForAction,
    Webhook,
)
from recoverctl.model.fanout import Foreach
from recoverctl.model.notify import Channel
from recoverctl.model.source import JsonPath, SourceMap, Span
from recoverctl.model.targets import Target
from recoverctl.model.text import Expression, Text

__all__ = [
    "Action",
    "ApprovalAction",
    "AssertAction",
    "Backoff",
    "Branch",
    "BranchCase",
    "CallAction",
    "Expression",
    "Foreach",
    "Group",
    "HttpAction",
    "HttpExpect",
    "LogAction",
    "Objectives",
    "OnFailure",
    "Output",
    "Param",
    "RetryPolicy",
    "RunAction",
    "Runbook",
    "SleepAction",
    "Step",
    "Text",
    "WaitForAction",
    "Webhook",
    "action_templates",
]


class OnFailure(StrEnum):
    """What a step's failure does once retries and rescue are exhausted."""

    ABORT = "abort"
    CONTINUE = "continue"
    ROLLBACK = "rollback"


class Backoff(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry; a pure value, decisions live in the engine."""

    attempts: int = 1
    delay: float = 1.0
    backoff: Backoff = Backoff.FIXED
    factor: float = 2.0
    max_delay: float | None = None
    jitter: bool = False
    when: Expression | None = None
    explicit: bool = False
    """Written on the step itself rather than inherited from `defaults`."""

    def wait_before_retry(self, retry: int) -> float:
        """Upper bound of the wait before retry number `retry` (1-based), jitter aside."""
        wait = self.delay
        if self.backoff is Backoff.EXPONENTIAL:
            wait = self.delay * self.factor ** (retry - 1)
        if self.max_delay is not None:
            wait = min(wait, self.max_delay)
        return wait

    def total_wait(self) -> float:
        """The most time spent waiting between all attempts."""
        return sum(self.wait_before_retry(n) for n in range(1, self.attempts))


# -- groups ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """Children run in order, or at once when `parallel` (up to `max_parallel`)."""

    steps: tuple[Step, ...]
    parallel: bool
    max_parallel: int | None = None

    @property
    def kind(self) -> str:
        return "parallel" if self.parallel else "steps"


@dataclass(frozen=True, slots=True)
class BranchCase:
    """One case of a branch; `when` is None for `else`."""

    when: Expression | None
    steps: tuple[Step, ...]
    span: Span
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or ("else" if self.when is None else self.when.source)


@dataclass(frozen=True, slots=True)
class Branch:
    kind: ClassVar[str] = "branch"
    cases: tuple[BranchCase, ...]

    @property
    def has_else(self) -> bool:
        return any(case.when is None for case in self.cases)


@dataclass(frozen=True, slots=True)
class Output:
    name: str
    template: Text
    secret: bool = False
    """A credential a step fetched: its value is masked everywhere, like a secret param."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the runbook, with its effective (defaulted) options."""

    id: str
    span: Span
    path: JsonPath
    body: Action | Group | Branch
    name: str | None = None
    description: str | None = None
    when: Expression | None = None
    timeout: float | None = None
    timeout_explicit: bool = False
    retry: RetryPolicy = RetryPolicy()
    on_failure: OnFailure = OnFailure.ROLLBACK
    rollback: Step | None = None
    rescue: tuple[Step, ...] = ()
    skip_if: Expression | Step | None = None
    outputs: tuple[Output, ...] = ()
    env: tuple[tuple[str, Text], ...] = ()
    cwd: Text | None = None
    locks: tuple[str, ...] = ()
    idempotent: bool | None = None
    destructive: bool = False
    read_only: bool = False
    """It only reads (a health check, a lag query): `run --dry-run --probe` runs it for real."""
    foreach: Foreach | None = None
    on: str | None = None
    """The target whose hosts this step fans out over (`foreach` holds its strategy);
    the item's actions run on its host."""
    """Run once per item: the body, guard, retries, timeout, rescue and rollback are
    each item's; `when` and `on_failure` are the fan-out's (engine/fanout.py)."""

    @property
    def kind(self) -> str:
        return self.body.kind

    @property
    def is_action(self) -> bool:
        return not isinstance(self.body, Group | Branch)

    @property
    def title(self) -> str:
        return self.name or self.id

    def children(self) -> tuple[Step, ...]:
        """Steps nested in this one's body (group members, all branch cases)."""
        if isinstance(self.body, Group):
            return self.body.steps
        if isinstance(self.body, Branch):
            return tuple(step for case in self.body.cases for step in case.steps)
        return ()


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str
    span: Span
    default: Any = None
    required: bool = False
    description: str | None = None
    secret: bool = False
    env: str | None = None
    choices: tuple[Any, ...] | None = None
    """The values allowed (for a `list`, the values each item may take)."""
    items: str | None = None
    """A `list` param's item type: string, integer, number or boolean."""
    from_alert: str | None = None
    """Where `run --from-alert` finds the value: a dotted path such as `labels.instance`."""
    from_alert_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Objectives:
    rto: float | None = None
    rpo: float | None = None


@dataclass(frozen=True, slots=True)
class Cooldown:
    """No new run within `runbook` seconds of the last one's end, nor within `alert`
    seconds of the last run started from the same alert (fingerprint): a remediation
    that keeps firing is a loop, not a recovery."""

    runbook: float | None = None
    alert: float | None = None

    @property
    def horizon(self) -> float:
        return max(self.runbook or 0.0, self.alert or 0.0)


@dataclass(frozen=True, slots=True)
class DurationParam:
    """A duration written as `{{ params.NAME }}` (`timeout: "{{ params.wait }}"`).

    The model holds it in seconds, read from the value the params were bound
    with (compile/binding.py builds the plan again for the values of a run) or,
    before any binding (validate, lint, export), from the param's default."""

    param: str
    key: str
    """The key that holds it, for messages: `timeout`, `interval`, `delay`…"""
    span: Span
    value: Any = None
    """The value it was read from; None when there was none."""
    problem: str | None = None
    """Why it could not be read (the pipeline reports it at `span`)."""


@dataclass(frozen=True, slots=True)
class Runbook:
    """A validated runbook file."""

    path: Path
    name: str
    version: int
    steps: tuple[Step, ...]
    finally_steps: tuple[Step, ...] = ()
    description: str | None = None
    owner: str | None = None
    objectives: Objectives = Objectives()
    timeout: float | None = None
    params: tuple[Param, ...] = ()
    env: tuple[tuple[str, Text], ...] = ()
    default_timeout: float | None = None
    concurrency: int | None = None
    allow_injection: bool = False
    targets: tuple[Target, ...] = ()
    notify: tuple[Channel, ...] = ()
    cooldown: Cooldown | None = None
    duration_params: tuple[DurationParam, ...] = ()
    """Every duration read from a param, in file order."""
    sha256: str = ""
    text: str = field(default="", repr=False, compare=False)
    source_map: SourceMap = field(default_factory=SourceMap, repr=False, compare=False)
    yaml11_booleans: dict[JsonPath, str] = field(default_factory=dict, repr=False, compare=False)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def target(self, name: str) -> Target | None:
        return next((t for t in self.targets if t.name == name), None)


def action_templates(body: Action | Group | Branch) -> Iterator[tuple[str, Text, bool]]:
    """Every template an action renders (none for groups and branches: their steps hold theirs)."""
    return iter(()) if isinstance(body, Group | Branch) else body.templates()
