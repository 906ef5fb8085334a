"""What the parts of a run share, so that none of them imports the engine.

The engine (engine/runner.py) wires a run from parts — the scheduler, the
attempts, the failure policy, the saga — and hands each of them the
`Services` it needs: the plan and state, the clock, the executor, the
approver, the one emit point and the template context. The parts depend on
this protocol, never on `Engine` itself, so there is no import circle and a
part can be tested with any object that offers these services.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from recoverctl.actions.hosts import Remote
from recoverctl.clock import Clock
from recoverctl.compile.plan import Plan
from recoverctl.engine.emitter import Emitter, ScopedEmitter
from recoverctl.engine.events import Event
from recoverctl.engine.executor import Executor
from recoverctl.engine.redact import Redactor
from recoverctl.engine.state import RunState
from recoverctl.model.runbook import Step
from recoverctl.validate.params import ResolvedParams


class Approver:
    """Answers approval gates; the CLI supplies one that prompts, or one for --yes."""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        raise ApprovalUnavailable(step.id, prompt)

    async def step_through(self, step: Step, preview: str) -> tuple[str, str]:
        """`run --step`: before `step`, what the operator says — run, skip, abort or rest
        (run the rest without asking) — and who said it. Without a terminal: abort."""
        return "abort", "nobody (no terminal to ask on)"


class ApproveAll(Approver):
    """Every gate approved, recorded as approved by `who` (`--yes`, a scenario test)."""

    def __init__(self, who: str) -> None:
        self.who = who

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        return True, self.who


class ApprovalUnavailable(Exception):
    """No way to ask a human (no terminal, no --yes): the run stops before the gate."""

    def __init__(self, step_id: str, prompt: str) -> None:
        super().__init__(f"step '{step_id}' needs approval ('{prompt}') but there is no terminal")
        self.step_id, self.prompt = step_id, prompt


class RunAborted(Exception):
    """A step failed for good and its on_failure stops the run."""

    def __init__(self, step_id: str, error: str, *, rollback: bool) -> None:
        super().__init__(error)
        self.step_id, self.error, self.rollback = step_id, error, rollback


@dataclass(slots=True)
class RunOptions:
    run_id: str
    params: Mapping[str, Any]
    secrets: list[str] = field(default_factory=list)
    secret_params: frozenset[str] = frozenset()
    """Names of the params that are secret (never stored for a resume)."""
    environ: Mapping[str, str] = field(default_factory=dict)
    concurrency: int | None = None
    dry_run: bool = False
    explore: bool = False
    """`run --dry-run`: a decision that reads a made-up (simulated) result is undetermined —
    shown as such, each case explored in turn — never decided on invented values. Scenario
    tests keep their scripted outcomes and decide on them."""
    seed: int | None = None
    prior: RunState | None = None
    """The replayed state of a stopped run: resume continues it."""
    injected: list[str] = field(default_factory=list)
    forced_branches: dict[str, str] = field(default_factory=dict)
    """Branch step id → case label to take regardless of the conditions (scenario tests)."""
    rerun: list[str] = field(default_factory=list)
    prior_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A stopped run's unredacted step values (journal/values.py): resume reads what it read."""
    alert: Mapping[str, Any] | None = None
    """The alert the run was started from (`run --from-alert`), as RunStarted records it."""
    forced: str | None = None
    """`--force`: the cooldown this run started despite, as RunStarted records it."""
    scenario: str | None = None
    """`run --dry-run --scenario NAME`: whose outcomes this dry run plays."""
    step_mode: bool = False
    """`run --step`: ask before each action (kept in run_started, so a resume asks too)."""
    lock: Mapping[str, Any] | None = None
    """The team lock held (coordination/): its backend (no password) and fencing token."""

    @classmethod
    def with_params(cls, run_id: str, params: ResolvedParams, **options: Any) -> RunOptions:
        """A run of `params` (checked values, secret names) in this process's environment."""
        return cls(
            run_id=run_id,
            params=params.values,
            secrets=params.secret_values(),
            secret_params=params.secrets,
            environ=dict(os.environ),
            alert=params.alert,
            **options,
        )


class ValuesSink(Protocol):
    def step(self, step_id: str, raw: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class Shared:
    """What a sub-runbook shares with its caller: the resources, and why the run is blocked."""

    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    slots: asyncio.Semaphore | None = None
    blocked: ApprovalUnavailable | None = None
    """An approval gate no one could answer, in this runbook or one it called: the run stops."""
    stepping: bool = False
    """`run --step` asks before each action, until the operator answers "run the rest"."""


class Services(Protocol):
    """The engine's services to the parts of a run (and to actions, via StepRun)."""

    plan: Plan
    options: RunOptions
    state: RunState
    clock: Clock
    executor: Executor
    approver: Approver
    redactor: Redactor
    emitter: Emitter | ScopedEmitter
    shared: Shared
    prefix: str
    failure: dict[str, Any] | None
    """What `failure` means in templates: the step being rescued, or the run's failure."""
    in_finally: bool
    resuming: bool
    remote: Remote | None
    """The host this engine's commands run on (a fan-out item of an `on:` step)."""

    def emit(self, event: Event) -> Event:
        """Through the one emit point: stamped, cleaned, journaled, reduced, then shown."""

    def note(self, level: str, message: str) -> None: ...

    def context(self, local: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def mask(self, secret: str) -> None:
        """Treat `secret` as a secret from now on, here and in every caller's events."""

    def base_environment(self) -> dict[str, str]: ...

    def runbook_environment(self) -> dict[str, str]:
        """The runbook's `env:`, rendered (what a remote command gets of it)."""

    def runbook_dir(self) -> str: ...

    def idempotency_key_for(self, step_id: str) -> str: ...

    def fencing_token(self) -> str | None: ...

    def full_id(self, step_id: str) -> str:
        """`step_id` as the run names it: under its call steps and fan-out items."""
