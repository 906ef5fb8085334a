"""The engine: runs one compiled plan to its end, in phases, and says what happened as events.

The engine is the small core of a run. It wires the parts — the scheduler
(engine/scheduler.py: the structure walk), the attempts (engine/attempts.py:
retries, timeout, outputs), the failure policy (engine/failure.py: rescue,
`on_failure`) and the saga (engine/saga.py: rollback) — and offers them its
services (engine/services.py) instead of its internals. It owns the phases:
the main steps under the run's timeout, then the rollback when a failure or
an interrupt asks for it, then `finally` with the run's status, and the last
event of every session, `RunFinished`, emitted from a `finally`. Every event
goes through one emit point (engine/emitter.py): stamped, redacted,
journaled, reduced into the run state, and only then shown.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from typing import Any

from recoverctl.actions.hosts import Remote
from recoverctl.actions.remote import TargetError
from recoverctl.clock import Clock, RealClock
from recoverctl.compile.plan import Plan
from recoverctl.engine.attempts import TAIL, Attempts
from recoverctl.engine.bus import EventBus
from recoverctl.engine.calls import call_options
from recoverctl.engine.emitter import (
    Emitter,
    JournalLost,
    JournalSink,
    LeaseLost,
    ScopedEmitter,
)
from recoverctl.engine.ending import RunEnding, exit_code_for
from recoverctl.engine.events import (
    Event,
    FinallyStarted,
    LogMessage,
    RunFinished,
    RunResumed,
    RunStarted,
)
from recoverctl.engine.executor import Executor
from recoverctl.engine.fanout import FanoutError, remote_for
from recoverctl.engine.idempotency import idempotency_key
from recoverctl.engine.redact import Redactor
from recoverctl.engine.saga import Saga
from recoverctl.engine.scheduler import Scheduler
from recoverctl.engine.services import (
    ApprovalUnavailable,
    Approver,
    RunAborted,
    RunOptions,
    Shared,
    ValuesSink,
)
from recoverctl.engine.state import RunState
from recoverctl.errors import RecoverctlError
from recoverctl.exitcodes import ExitCode
from recoverctl.expr.render import RenderError, render
from recoverctl.model.duration import format_duration
from recoverctl.model.fanout import item_prefix, local_id, scoped_id, split_item
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import Step
from recoverctl.model.status import RunStatus

__all__ = [
    "TAIL",
    "ApprovalUnavailable",
    "Approver",
    "Engine",
    "RunAborted",
    "RunOptions",
    "ValuesSink",
]


class Engine:
    """Runs one compiled plan to the end and returns the exit code."""

    def __init__(
        self,
        plan: Plan,
        options: RunOptions,
        *,
        bus: EventBus,
        executor: Executor,
        clock: Clock | None = None,
        approver: Approver | None = None,
        parent: Engine | None = None,
        prefix: str = "",
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        self.plan, self.options, self.bus, self.executor = plan, options, bus, executor
        self.clock = clock or RealClock()
        self.approver = approver or Approver()
        self.redactor: Redactor = (
            parent.redactor.extended(options.secrets) if parent else Redactor(options.secrets)
        )
        self.state = options.prior if options.prior is not None else RunState(run_id=options.run_id)
        self.resuming = options.prior is not None
        self.parent, self.prefix = parent, prefix
        self.scope = scope
        self.remote: Remote | None = None
        self._runbook_env: dict[str, str] | None = None
        """A fan-out item's names (`as:`): its templates see the caller's context too."""
        self.children: dict[str, Engine] = {}
        self.emitter: Emitter | ScopedEmitter = (
            ScopedEmitter(parent.emitter, prefix, self.state, self.redactor)
            if parent is not None
            else Emitter(self.state, self.redactor, self.clock, bus)
        )
        for step_id, raw in options.prior_raw.items():  # resumed: earlier secret outputs too
            node = plan.nodes.get(step_id)
            for output in node.step.outputs if node is not None else ():
                if output.secret and output.name in raw.get("outputs", {}):
                    self.redactor.add(str(raw["outputs"][output.name]))
        self.failure: dict[str, Any] | None = None
        self.interrupts = 0
        self.in_finally = False
        self.started = 0.0
        self._phase_task: asyncio.Task[None] | None = None
        self._base_env: dict[str, str] | None = None
        self._unreachable: set[str] = set()
        """Call steps whose sub-runbook could not be made again for a rollback."""
        self.shared: Shared
        if parent is not None:  # a sub-runbook shares its caller's resources and clock origin
            self.shared, self.started = parent.shared, parent.started
        else:
            limit = options.concurrency or plan.runbook.concurrency
            self.shared = Shared(
                slots=asyncio.Semaphore(limit) if limit else None, stepping=options.step_mode
            )
        self.attempts = Attempts(self, dict(options.prior_raw), options.seed)
        self.scheduler = Scheduler(self, self.attempts)
        self.saga = Saga(self, self.attempts)

    @property
    def values(self) -> ValuesSink | None:
        """Where the raw values go for a later resume (the run's private values store)."""
        return self.attempts.values

    @values.setter
    def values(self, sink: ValuesSink | None) -> None:
        self.attempts.values = sink

    @property
    def approval_blocked(self) -> ApprovalUnavailable | None:
        """The approval gate no one could answer (here or in a called runbook), if any."""
        return self.shared.blocked

    def record_to(self, journal: JournalSink) -> None:
        """Journal every event from now on (before anything else sees it)."""
        assert isinstance(self.emitter, Emitter)  # noqa: S101 - only the root engine journals
        self.emitter.journal = journal

    # -- the phases of a session ---------------------------------------------------------------

    def begin(self) -> None:
        """This session of the run starts now: events' `mono` counts from here."""
        self.started = self.clock.monotonic()
        if isinstance(self.emitter, Emitter):
            self.emitter.origin = self.started

    async def run(self) -> int:
        rb = self.plan.runbook
        self.begin()
        if self.resuming:
            self.emit(
                RunResumed(
                    run_id=self.options.run_id, plan_hash=self.plan.hash, rerun=self.options.rerun
                )
            )
        else:
            worst = self.plan.worst_case
            self.emit(
                RunStarted(
                    run_id=self.options.run_id,
                    runbook=rb.name,
                    path=str(rb.path),
                    plan_hash=self.plan.hash,
                    params=self.shown_params(),
                    dry_run=self.options.dry_run,
                    rto=rb.objectives.rto,
                    worst_case=None if worst == float("inf") else worst,
                    injected=list(self.options.injected),
                    alert=dict(self.options.alert) if self.options.alert else None,
                    forced=self.options.forced,
                    scenario=self.options.scenario,
                    step_mode=self.options.step_mode,
                    lock=dict(self.options.lock) if self.options.lock else None,
                )
            )
        ending = RunEnding()
        try:
            try:
                await self.phase(self._main())
            except RunAborted as aborted:
                ending.fail(aborted.error, aborted.step_id, rollback=aborted.rollback)
            except TimeoutError:
                ending.fail(f"the run's timeout of {format_duration(rb.timeout or 0)} was reached")
            except asyncio.CancelledError:
                ending.status, ending.error = RunStatus.INTERRUPTED, "interrupted"
                ending.rollback = True
            except JournalLost as lost:
                ending.journal_lost(str(lost), lease=isinstance(lost, LeaseLost))
            except Exception as exc:  # still roll back and run finally: a human needs to know
                ending.fail(f"internal error: {type(exc).__name__}: {exc} (a bug in recoverctl)")
            if self.shared.blocked is not None:
                ending.status, ending.error = RunStatus.BLOCKED, str(self.shared.blocked)
                ending.failed_step, ending.rollback = self.shared.blocked.step_id, False
            await self._wind_up(ending)
        finally:
            try:
                await self.executor.settle()  # the record ends when the run's processes are gone
            finally:
                self.finish_run(ending.status, ending.exit_code, ending.error, ending.failed_step)
        return int(ending.exit_code)

    async def _main(self) -> None:
        async with asyncio.timeout(self.plan.runbook.timeout):
            await self.scheduler.run_steps(self.plan.runbook.steps)

    async def _wind_up(self, ending: RunEnding) -> None:
        """After the main steps: roll back if asked, then `finally` with the final status."""
        self.failure = ending.failure()
        try:
            if ending.rollback and self.interrupts < 2 and not ending.lost:
                order = self.saga.order()
                ok = await self.saga.run(ending.error or "failure", order)
                if ok is False:
                    ending.status = RunStatus.ROLLBACK_FAILED
                elif ending.status == RunStatus.FAILED and ok is True and order:
                    ending.status = RunStatus.ROLLED_BACK
            if not ending.lost:
                await self._finally(ending.status)
        except JournalLost as lost:
            ending.journal_lost(str(lost), lease=isinstance(lost, LeaseLost))

    async def rollback_only(self, reason: str, *, requested: bool = False) -> int:
        """`recoverctl rollback` (`requested`), or resuming a run stopped while it rolled back.

        Requested by an operator: a destructive step's compensation waits at the approval
        gate the step was behind, and a full undo exits 0. Continued after a crash: the
        run failed, so a full undo exits 1 as it would have. `finally` runs either way.
        """
        self.begin()
        self.emit(RunResumed(run_id=self.options.run_id, plan_hash=self.plan.hash, rollback=True))
        status, code = RunStatus.ROLLED_BACK, ExitCode.OK
        self.saga.gated = requested
        self.failure = {"step": "", "error": reason, "status": status}
        try:
            try:
                ok = await self.saga.run(reason, self.saga.order())
                if ok is False:
                    status = RunStatus.ROLLBACK_FAILED
                elif ok is None:
                    status = RunStatus.INTERRUPTED
                self.failure["status"] = status
                await self._finally(status)
            except JournalLost as lost:
                status, reason = RunStatus.INTERRUPTED, str(lost)
            ok_undo = requested and status == RunStatus.ROLLED_BACK
            code = ExitCode.OK if ok_undo else exit_code_for(status)
        finally:
            try:
                await self.executor.settle()
            finally:
                self.finish_run(status, code, reason)
        return int(code)

    async def _finally(self, status: str) -> None:
        """`finally` at the end of every session (run, resume, rollback), with its status."""
        steps = self.plan.runbook.finally_steps
        if not steps or self.interrupts >= 2:
            return
        self.emit(FinallyStarted(status=status))
        try:
            await self.phase(self._finally_steps(steps))
        except asyncio.CancelledError:
            self.note("warning", "finally steps interrupted")

    async def _finally_steps(self, steps: tuple[Step, ...]) -> None:
        """Run again on every session: they report how this one ended, they are not work done."""
        self.in_finally = True
        try:
            for step in steps:
                try:
                    await self.scheduler.step(step)
                except RunAborted as aborted:
                    self.note("error", f"finally step failed: {aborted.error}")
        finally:
            self.in_finally = False

    def finish_run(
        self, status: str, code: ExitCode, error: str | None, failed_step: str | None = None
    ) -> None:
        """The last event of every run, resume or rollback: always emitted, from a `finally`."""
        first = self.state.started
        session = self.clock.monotonic() - self.started
        self.emit(
            RunFinished(
                run_id=self.options.run_id,
                status=status,
                exit_code=int(code),
                duration=session,
                elapsed=max(session, self.clock.wall() - first) if first else session,
                error=error,
                failed_step=failed_step,
            )
        )

    def interrupt(self) -> None:
        """Ctrl-C / SIGTERM: the first stops the run and rolls back, the second skips that."""
        self.interrupts += 1
        if self.interrupts == 2:
            self.note(
                "warning", "second interrupt: skipping the remaining rollback and finally steps"
            )
        if self._phase_task is not None and not self._phase_task.done():
            self._phase_task.cancel()

    async def phase(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run one phase (main, rollback, finally) as a task an interrupt can cancel."""
        self._phase_task = asyncio.ensure_future(coroutine)
        try:
            await self._phase_task
        finally:
            self._phase_task = None

    # -- sub-runbooks (engine/calls.py) -----------------------------------------------------------

    def child(
        self,
        plan: Plan,
        options: RunOptions,
        prefix: str,
        scope: Mapping[str, Any] | None = None,
    ) -> Engine:
        child = Engine(
            plan,
            options,
            bus=self.bus,
            executor=self.executor,
            clock=self.clock,
            approver=self.approver,
            parent=self,
            prefix=prefix,
            scope=scope,
        )
        if self.attempts.values is not None:  # a resume of the caller needs the callee's too
            child.attempts.values = _PrefixedValues(self.attempts.values, prefix)
        self.children[prefix] = child
        return child

    def raw_values(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The unredacted values of the steps under `prefix`, by their ids there."""
        raw = self.attempts.raw
        return {
            sid: values
            for full, values in raw.items()
            if (sid := local_id(prefix, full)) is not None
        }

    def item_child(
        self,
        plan: Plan,
        prefix: str,
        scope: Mapping[str, Any],
        *,
        resumed: bool,
        remote: Remote | None = None,
    ) -> Engine:
        """The engine of one fan-out item (engine/fanout.py): the run's params and
        secrets, its own state (what it had done, when `resumed`), `scope` its item."""
        options = replace(
            self.options,
            prior=self.state.scoped(prefix) if resumed else None,
            prior_raw=self.raw_values(prefix) if resumed else {},
        )
        child = self.child(plan, options, prefix, scope)
        child.remote = remote or self.remote
        return child

    async def run_steps(self) -> None:
        """A sub-runbook's steps, then its finally steps (no rollback of its own)."""
        try:
            await self.scheduler.run_steps(self.plan.runbook.steps)
        finally:
            await self._finally_steps(self.plan.runbook.finally_steps)

    def owner(self, step_id: str) -> tuple[Engine, str]:
        """The engine that ran `step_id` (a sub-runbook's for `call/inner`), and its local id.

        A session that did not run the call itself (`recoverctl rollback`, a resume that
        continues a rollback) gets the sub-runbook's engine made here, continuing from
        what the journal says it did, so its steps are undone with its own context."""
        for prefix, child in self.children.items():
            inner = local_id(prefix, step_id)
            if inner is not None:
                return child.owner(inner)
        item = split_item(step_id)
        fanout = self.plan.nodes.get(item[0]) if item is not None else None
        planned = self.state.fanouts.get(item[0]) if item is not None else None
        if item is not None and fanout is not None and fanout.item is not None and planned:
            base, key, rest_of_item = item
            if key in planned.keys and fanout.step.foreach is not None:
                value = planned.values[planned.keys.index(key)]
                scope = {fanout.step.foreach.var: value}
                prefix = item_prefix(base, key)
                remote = None
                if fanout.step.on is not None:
                    try:
                        remote = remote_for(self, fanout.step, key)
                    except (TargetError, FanoutError) as exc:
                        self.note("error", f"'{prefix}' cannot be undone here: {exc}")
                        return self, step_id
                child = self.item_child(fanout.item, prefix, scope, resumed=True, remote=remote)
                return child.owner(rest_of_item.removeprefix("/"))
        call_id, sep, rest = step_id.partition("/")
        node = self.plan.nodes.get(call_id) if sep else None
        if node is not None and node.callee is not None and call_id in self.state.steps:
            try:
                options = call_options(self, node.step, node.callee, resumed=True)
            except (RenderError, RecoverctlError) as exc:
                if call_id not in self._unreachable:  # said once, not at every lookup
                    self._unreachable.add(call_id)
                    self.note(
                        "error",
                        f"the steps of sub-runbook '{call_id}' cannot be undone here: its "
                        f"params do not render now ({exc}); undo them by hand",
                    )
                return self, step_id
            return self.child(node.callee, options, f"{call_id}/").owner(rest)
        return self, step_id

    # -- services (engine/services.py) ------------------------------------------------------------

    def context(self, local: Mapping[str, Any] | None = None) -> dict[str, Any]:
        from recoverctl.engine.context import ChainedSteps, StepsView, build_context

        if self.scope is not None and self.parent is not None:  # a fan-out item
            outer = self.parent.context()
            outer["steps"] = ChainedSteps(StepsView(self.state, self.attempts.raw), outer["steps"])
            outer.update(self.scope)
            if self.failure is not None:
                outer["failure"] = self.failure
            if local:
                outer.update(local)
            return outer
        return build_context(
            params=self.options.params,
            state=self.state,
            raw=self.attempts.raw,
            runbook=self.plan.runbook,
            environ=self.options.environ,
            failure=self.failure,
            local=local,
        )

    def emit(self, event: Event) -> Event:
        """Through the one emit point: stamped, cleaned, journaled, reduced, then shown."""
        return self.emitter.emit(event)

    def note(self, level: str, message: str) -> None:
        self.emit(LogMessage(step_id=None, level=level, message=message))

    def base_environment(self) -> dict[str, str]:
        """os.environ plus the runbook's `env:` (rendered once: it may only read params)."""
        if self._base_env is None:
            self._base_env = {**os.environ, **self.runbook_environment()}
        return self._base_env

    def runbook_environment(self) -> dict[str, str]:
        if self._runbook_env is None:
            context = self.context()
            self._runbook_env = {
                name: render(value.source, context) for name, value in self.plan.runbook.env
            }
        return self._runbook_env

    def mask(self, secret: str) -> None:
        """Treat `secret` as a secret from now on, here and in every caller's events."""
        engine: Engine | None = self
        while engine is not None:
            engine.redactor.add(secret)
            engine = engine.parent

    def runbook_dir(self) -> str:
        """The folder of the runbook this engine runs (a called runbook's for a child)."""
        return str(self.plan.runbook.path.resolve().parent)

    def idempotency_key_for(self, step_id: str) -> str:
        """Stable across retries and resume: the run id and the step's full id, hashed
        (two items of a fan-out, two calls of one runbook: two keys)."""
        full = self.full_id(step_id)
        return idempotency_key(self.options.run_id, full)

    def fencing_token(self) -> str | None:
        """The team lock's fencing token (held by the run's root engine), for commands."""
        engine = self
        while engine.parent is not None:
            engine = engine.parent
        lock = engine.options.lock
        return str(lock["token"]) if lock and "token" in lock else None

    def full_id(self, step_id: str) -> str:
        engine, full = self, step_id
        while engine.parent is not None:
            full, engine = scoped_id(engine.prefix, full), engine.parent
        return full

    def shown_params(self) -> dict[str, Any]:
        return {
            k: (MASK if self.redactor.text(str(v)) != str(v) else v)
            for k, v in self.options.params.items()
        }


class _PrefixedValues:
    """A called runbook's values go to the run's store under the call step's id."""

    def __init__(self, sink: ValuesSink, prefix: str) -> None:
        self.sink, self.prefix = sink, prefix

    def step(self, step_id: str, raw: dict[str, Any]) -> None:
        self.sink.step(scoped_id(self.prefix, step_id), raw)
