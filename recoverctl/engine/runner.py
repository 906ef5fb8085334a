"""The scheduler: walks the Plan with asyncio and says what happens as events.

Sequences run in order; parallel groups run their members concurrently up to
`max_parallel` and the run's concurrency; `locks` serialise steps sharing a
resource; a branch runs the first case whose condition holds. A step that
fails for good runs its rescue; otherwise its `on_failure` decides: go on,
stop, or stop and roll back — running steps are cancelled (their process
groups killed) and the compensations of completed steps run last-first.
`finally` steps always run; `RunFinished` is always emitted.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from recoverctl.actions.base import AttemptResult
from recoverctl.actions.registry import OWN_TIMEOUT
from recoverctl.clock import Clock, RealClock
from recoverctl.compile.plan import Plan
from recoverctl.engine.bus import EventBus
from recoverctl.engine.emitter import Emitter, JournalLost, JournalSink, ScopedEmitter
from recoverctl.engine.ending import RunEnding
from recoverctl.engine.events import (
    AttemptFailed,
    BranchDecided,
    Event,
    FinallyStarted,
    LogMessage,
    RetryScheduled,
    RunFinished,
    RunResumed,
    RunStarted,
    StepFinished,
    StepRescued,
    StepStarted,
)
from recoverctl.engine.executor import Executor
from recoverctl.engine.redact import Redactor
from recoverctl.engine.retry import with_retries
from recoverctl.engine.saga import Saga
from recoverctl.engine.state import RunState
from recoverctl.engine.step_context import StepRun
from recoverctl.exitcodes import ExitCode
from recoverctl.expr.render import RenderError, evaluate, render, render_value
from recoverctl.model.duration import format_duration
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import Branch, Expression, Group, OnFailure, Step

TAIL = 4096
"""Characters of stdout/stderr kept in StepFinished events (the full capture stays in memory)."""


class Approver:
    """Answers approval gates; the CLI supplies one that prompts, or one for --yes."""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        raise ApprovalUnavailable(step.id, prompt)


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
    seed: int | None = None
    prior: RunState | None = None
    """The replayed state of a stopped run: resume continues it."""
    injected: list[str] = field(default_factory=list)
    forced_branches: dict[str, str] = field(default_factory=dict)
    """Branch step id → case label to take regardless of the conditions (scenario tests)."""
    rerun: list[str] = field(default_factory=list)
    prior_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A stopped run's unredacted step values (journal/values.py): resume reads what it read."""


class ValuesSink(Protocol):
    def step(self, step_id: str, raw: dict[str, Any]) -> None: ...


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
        self.children: dict[str, Engine] = {}
        self.emitter: Emitter | ScopedEmitter = (
            ScopedEmitter(parent.emitter, prefix, self.state, self.redactor)
            if parent is not None
            else Emitter(self.state, self.redactor, self.clock, bus)
        )
        self.raw: dict[str, dict[str, Any]] = dict(options.prior_raw)
        """Unredacted stdout/outputs per step, for templates only (events carry redacted copies)."""
        for step_id, raw in options.prior_raw.items():  # resumed: earlier secret outputs too
            node = plan.nodes.get(step_id)
            for output in node.step.outputs if node is not None else ():
                if output.secret and output.name in raw.get("outputs", {}):
                    self.redactor.add(str(raw["outputs"][output.name]))
        self.values: ValuesSink | None = None
        """Where the raw values go for a later resume (the run's private values store)."""
        self.failure: dict[str, Any] | None = None
        self.locks: dict[str, asyncio.Lock] = {}
        limit = options.concurrency or plan.runbook.concurrency
        self.slots = asyncio.Semaphore(limit) if limit else None
        self.rng = random.Random(options.seed)  # noqa: S311 - jitter only
        self.started = 0.0
        self.interrupts = 0
        self.phase: asyncio.Task[Any] | None = None
        self.approval_blocked: ApprovalUnavailable | None = None
        self.in_finally = False
        self._base_env: dict[str, str] | None = None
        self.saga = Saga(self)
        if parent is not None:  # a sub-runbook shares its caller's resources and clock origin
            self.locks, self.slots, self.started = parent.locks, parent.slots, parent.started

    def record_to(self, journal: JournalSink) -> None:
        """Journal every event from now on (before anything else sees it)."""
        assert isinstance(self.emitter, Emitter)  # noqa: S101 - only the root engine journals
        self.emitter.journal = journal

    # -- the run -------------------------------------------------------------------------

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
            self.emit(
                RunStarted(
                    run_id=self.options.run_id,
                    runbook=rb.name,
                    path=str(rb.path),
                    plan_hash=self.plan.hash,
                    params=self.shown_params(),
                    dry_run=self.options.dry_run,
                    rto=rb.objectives.rto,
                    worst_case=None
                    if self.plan.worst_case == float("inf")
                    else self.plan.worst_case,
                    injected=list(self.options.injected),
                )
            )
        ending = RunEnding()
        try:
            try:
                await self._phase(self._main())
            except RunAborted as aborted:
                ending.fail(aborted.error, aborted.step_id, rollback=aborted.rollback)
            except TimeoutError:
                ending.fail(f"the run's timeout of {format_duration(rb.timeout or 0)} was reached")
            except asyncio.CancelledError:
                ending.status, ending.error, ending.rollback = "interrupted", "interrupted", True
            except JournalLost as lost:
                ending.journal_lost(str(lost))
            except Exception as exc:  # still roll back and run finally: a human needs to know
                ending.fail(f"internal error: {type(exc).__name__}: {exc} (a bug in recoverctl)")
            if self.approval_blocked is not None:
                ending.status, ending.error = "blocked", str(self.approval_blocked)
                ending.failed_step, ending.rollback = self.approval_blocked.step_id, False
            await self._wind_up(ending)
        finally:
            self.finish_run(ending.status, ending.exit_code, ending.error, ending.failed_step)
        return int(ending.exit_code)

    async def _wind_up(self, ending: RunEnding) -> None:
        """After the main steps: roll back if asked, then `finally` with the final status."""
        self.failure = ending.failure()
        try:
            if ending.rollback and self.interrupts < 2 and not ending.lost:
                order = self.saga.order()
                ok = await self.saga.run(ending.error or "failure", order)
                if ok is False:
                    ending.status = "rollback_failed"
                elif ending.status == "failed" and ok is True and order:
                    ending.status = "rolled_back"
            if not ending.lost:
                await self._finally(ending.status)
        except JournalLost as lost:
            ending.journal_lost(str(lost))

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
        if self.phase is not None and not self.phase.done():
            self.phase.cancel()

    async def _phase(self, coroutine: Any) -> Any:
        """Run one phase (main, rollback, finally) as a task an interrupt can cancel."""
        self.phase = asyncio.ensure_future(coroutine)
        try:
            return await self.phase
        finally:
            self.phase = None

    async def _main(self) -> None:
        timeout = self.plan.runbook.timeout
        async with asyncio.timeout(timeout):
            await self._sequence(self.plan.runbook.steps)

    # -- structure -------------------------------------------------------------------------

    async def _sequence(self, steps: Iterable[Step]) -> None:
        for step in steps:
            await self._step(step)

    @property
    def replaying(self) -> bool:
        """Resuming outside `finally`: what the run already did is kept, not done again."""
        return self.resuming and not self.in_finally

    async def _step(self, step: Step) -> None:
        if self.replaying and self._done_before(step):
            return
        if step.when is not None:
            try:
                holds = bool(evaluate(step.when.source, self.context()))
            except RenderError as exc:
                await self._fail(
                    step, f"condition '{step.when.source}' could not be evaluated: {exc}", 0, 0.0
                )
                return
            if not holds:
                self._skip(step, f"when: {step.when.source} is false")
                return
        if await self._already_done(step):
            return
        body = step.body
        if isinstance(body, Group):
            await self._group(step, body)
        elif isinstance(body, Branch):
            await self._branch(step, body)
        elif step.kind == "call":
            from recoverctl.engine.calls import run_call

            await run_call(self, step)
        else:
            await self._action(step)

    def _done_before(self, step: Step) -> bool:
        """On resume: a step that finished for good keeps its result and is never run again."""
        state = self.state.steps.get(step.id)
        if state is None:
            return False
        if state.status in ("succeeded", "unchanged", "skipped"):
            return True  # a group that finished; an unfinished one is entered again
        if not step.is_action:
            return False
        failed = state.status in ("failed", "timed_out")
        return failed and (state.rescued or step.on_failure is OnFailure.CONTINUE)

    async def _already_done(self, step: Step) -> bool:
        """The idempotency guard: when `skip_if` holds, the step is `unchanged`."""
        guard = step.skip_if
        if guard is None:
            return False
        if isinstance(guard, Expression):
            try:
                done = bool(evaluate(guard.source, self.context()))
            except RenderError as exc:
                await self._fail(
                    step, f"skip_if '{guard.source}' could not be evaluated: {exc}", 0, 0.0
                )
                return True
            reason = f"skip_if: {guard.source} holds"
        else:
            started = self.clock.monotonic()
            self.emit(StepStarted(step_id=guard.id, attempt=1, action=self._describe(guard)))
            result = await self._attempt(guard, 1, guard_check=True)
            duration = self.clock.monotonic() - started
            if result.timed_out or (
                result.exit_code is None and not result.ok and not self.executor.simulated
            ):
                self._finish(guard, "failed", 1, duration, result)
                await self._fail(
                    step,
                    f"skip_if check could not tell whether '{step.id}' already ran: {result.error}",
                    0,
                    0.0,
                )
                return True
            # the check answered, either way: "not done yet" is no failure, it means "run it"
            answer = "already done" if result.ok else f"not done yet → running '{step.id}'"
            result.error = None
            self._finish(guard, "succeeded", 1, duration, result, reason=answer)
            done, reason = result.ok, f"skip_if check succeeded: {self._describe(guard)}"
        if done:
            self.emit(StepFinished(step_id=step.id, status="unchanged", reason=reason))
            for inner in body_steps(step.children()):
                self.emit(
                    StepFinished(
                        step_id=inner.id, status="unchanged", reason=f"'{step.id}' is already done"
                    )
                )
        return done

    async def _group(self, step: Step, body: Group) -> None:
        started = self.clock.monotonic()
        self.emit(StepStarted(step_id=step.id, attempt=1, action=body.kind))
        try:
            async with asyncio.timeout(step.timeout if step.timeout_explicit else None):
                if body.parallel:
                    await self._parallel(body)
                else:
                    await self._sequence(body.steps)
        except TimeoutError:
            self._cancel_unfinished(body.steps, "the group's timeout was reached")
            self.emit(
                StepFinished(
                    step_id=step.id,
                    status="timed_out",
                    duration=self.clock.monotonic() - started,
                    error=f"group timed out after {format_duration(step.timeout or 0)}",
                )
            )
            await self._handle_failure(
                step, f"group '{step.id}' timed out after {format_duration(step.timeout or 0)}"
            )
            return
        except (RunAborted, asyncio.CancelledError):
            self.emit(
                StepFinished(
                    step_id=step.id,
                    status="cancelled",
                    duration=self.clock.monotonic() - started,
                    error="stopped by a failure",
                )
            )
            raise
        failed = [
            s.id
            for s in body.steps
            if self.state.step(s.id).status in ("failed", "timed_out")
            and not self.state.step(s.id).rescued
        ]
        self.emit(
            StepFinished(
                step_id=step.id,
                status="succeeded",
                duration=self.clock.monotonic() - started,
                reason=f"failed and continued: {', '.join(failed)}" if failed else None,
            )
        )

    async def _parallel(self, body: Group) -> None:
        slots = asyncio.Semaphore(body.max_parallel) if body.max_parallel else None

        async def member(child: Step) -> None:
            async with AsyncExitStack() as stack:
                if slots is not None:
                    await stack.enter_async_context(slots)
                await self._step(child)

        try:
            async with asyncio.TaskGroup() as group:
                for child in body.steps:
                    group.create_task(member(child))
        except* RunAborted as aborted:
            self._cancel_unfinished(body.steps, "a sibling failed")
            raise aborted.exceptions[0] from None
        except* TimeoutError as timed_out:
            raise timed_out.exceptions[0] from None
        except* JournalLost as lost:
            raise lost.exceptions[0] from None

    async def _branch(self, step: Step, body: Branch) -> None:
        started = self.clock.monotonic()
        self.emit(StepStarted(step_id=step.id, attempt=1, action="branch"))
        earlier = next((d for d in self.state.decisions if d.step_id == step.id), None)
        if self.replaying and earlier is not None:
            # a resumed run follows the path the run had taken: no second decision
            chosen = body.cases[earlier.case_index] if earlier.case_index is not None else None
            if chosen is not None:
                await self._sequence(chosen.steps)
            duration = self.clock.monotonic() - started
            self.emit(
                StepFinished(
                    step_id=step.id,
                    status="succeeded",
                    duration=duration,
                    reason=f"took {earlier.label!r} (decided before the resume)",
                )
            )
            return
        try:
            taken, values = self._decide(body, step.id)
        except RenderError as exc:
            self.emit(StepFinished(step_id=step.id, status="failed", error=str(exc)))
            for inner in body_steps(step.children()):
                self.emit(StepFinished(step_id=inner.id, status="skipped", reason="branch failed"))
            await self._handle_failure(step, f"a branch condition could not be evaluated: {exc}")
            return
        case = body.cases[taken] if taken is not None else None
        self.emit(
            BranchDecided(
                step_id=step.id,
                case_index=taken,
                label=case.label if case else None,
                condition=case.when.source if case and case.when else None,
                values=values,
            )
        )
        why = f"branch '{step.id}' took {repr(case.label) if case else 'no case'}"
        for index, other in enumerate(body.cases):
            if index != taken:
                for inner in other.steps:
                    self._skip(inner, why)
        try:
            if case is not None:
                await self._sequence(case.steps)
        except (RunAborted, asyncio.CancelledError):
            duration = self.clock.monotonic() - started
            self.emit(StepFinished(step_id=step.id, status="cancelled", duration=duration))
            raise
        self.emit(
            StepFinished(
                step_id=step.id,
                status="succeeded",
                duration=self.clock.monotonic() - started,
                reason=f"took {case.label!r}" if case else "no case matched",
            )
        )

    def _decide(self, body: Branch, step_id: str = "") -> tuple[int | None, dict[str, Any]]:
        """The first case whose condition holds, and the values the conditions read."""
        forced = self.options.forced_branches.get(self.prefix + step_id)
        if forced is not None:
            index = next(i for i, case in enumerate(body.cases) if case.label == forced)
            return index, {"forced by scenario": forced}
        context = self.context()
        values: dict[str, Any] = {}
        for index, candidate in enumerate(body.cases):
            if candidate.when is None:
                return index, values
            values.update(_values_read(candidate.when.source, context))
            if evaluate(candidate.when.source, context):
                return index, values
        return None, values

    # -- actions -------------------------------------------------------------------------------

    async def _action(self, step: Step) -> None:
        started = self.clock.monotonic()
        async with AsyncExitStack() as stack:
            for name in sorted(step.locks):  # one global order: no deadlock between lock holders
                await stack.enter_async_context(self.locks.setdefault(name, asyncio.Lock()))
            if self.slots is not None:
                await stack.enter_async_context(self.slots)
            try:
                result = await with_retries(
                    step,
                    lambda n: self._attempt(step, n),
                    sleep=self.clock.sleep,
                    retryable=lambda r: self._retryable(step, r),
                    on_retry=lambda n, delay: self.emit(
                        RetryScheduled(step_id=step.id, next_attempt=n, delay=delay)
                    ),
                    rng=self.rng,
                )
            except asyncio.CancelledError:
                self.emit(
                    StepFinished(
                        step_id=step.id,
                        status="cancelled",
                        attempts=self.state.step(step.id).attempts,
                        duration=self.clock.monotonic() - started,
                        error="cancelled",
                    )
                )
                raise
        attempts = self.state.step(step.id).attempts
        duration = self.clock.monotonic() - started
        if result.ok:
            try:
                outputs = self._outputs(step, result)
            except RenderError as exc:
                await self._fail(step, str(exc), attempts, duration, result)
                return
            self._finish(step, "succeeded", attempts, duration, result, outputs)
            return
        await self._fail(step, result.error or "failed", attempts, duration, result)

    async def _attempt(
        self, step: Step, attempt: int, *, guard_check: bool = False
    ) -> AttemptResult:
        ctx = StepRun(self, step, attempt)
        if not guard_check:
            self.emit(StepStarted(step_id=step.id, attempt=attempt, action=self._describe(step)))
        try:
            self.emitter.require_journal()  # no side effect without its record
        except JournalLost:
            self.emit(
                StepFinished(
                    step_id=step.id,
                    status="cancelled",
                    attempts=attempt - 1,
                    error="not started: the journal could not record it",
                )
            )
            raise
        began = self.clock.monotonic()
        timeout = None if step.kind in OWN_TIMEOUT else step.timeout
        try:
            async with asyncio.timeout(timeout):
                if guard_check:
                    result = await self.executor.guard(step, ctx)
                else:
                    result = await self.executor.attempt(step, ctx, attempt)
        except TimeoutError:
            result = AttemptResult(
                ok=False, timed_out=True, error=f"timed out after {format_duration(timeout or 0)}"
            )
        except RenderError as exc:
            result = AttemptResult(ok=False, error=str(exc), retryable=False)
        except ApprovalUnavailable as exc:
            self.approval_blocked = exc
            raise asyncio.CancelledError from None
        except Exception as exc:  # a bug in one action must fail that step, not the run
            result = AttemptResult(
                ok=False,
                retryable=False,
                error=f"internal error in the {step.kind} action: {type(exc).__name__}: {exc} (a bug in recoverctl)",
            )
        if not result.ok and not guard_check:
            self.emit(
                AttemptFailed(
                    step_id=step.id,
                    attempt=attempt,
                    error=result.error or "failed",
                    exit_code=result.exit_code,
                    timed_out=result.timed_out,
                    duration=self.clock.monotonic() - began,
                )
            )
        self.raw[step.id] = {"stdout": result.stdout, "stderr": result.stderr}
        return result

    def _retryable(self, step: Step, result: AttemptResult) -> bool:
        if not result.retryable:
            return False
        condition = step.retry.when
        if condition is None:
            return True
        try:
            return bool(evaluate(condition.source, self.context(result.names())))
        except RenderError as exc:
            self.note(
                "warning", f"retry.when of '{step.id}' could not be evaluated ({exc}): not retrying"
            )
            return False

    def _outputs(self, step: Step, result: AttemptResult) -> dict[str, Any]:
        if result.outputs is not None:
            return dict(result.outputs)  # mocked by a scenario
        if not step.outputs:
            return {}
        context = self.context(result.names())
        outputs: dict[str, Any] = {}
        for output in step.outputs:
            try:
                outputs[output.name] = render_value(output.template.source, context)
                if output.secret:
                    self.mask(str(outputs[output.name]))
            except RenderError as exc:
                if result.invented:
                    outputs[output.name] = None  # a dry run has no real output to compute from
                    continue
                raise RenderError(f"output '{output.name}' could not be computed: {exc}") from None
        return outputs

    # -- outcomes --------------------------------------------------------------------------------

    def _finish(
        self,
        step: Step,
        status: str,
        attempts: int,
        duration: float,
        result: AttemptResult | None = None,
        outputs: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        raw = self.raw.setdefault(step.id, {})
        raw["outputs"] = outputs or {}
        if self.values is not None and status == "succeeded":
            self.values.step(step.id, raw)
        self.emit(
            StepFinished(
                step_id=step.id,
                status=status,
                attempts=attempts,
                duration=duration,
                exit_code=result.exit_code if result else None,
                outputs=outputs or {},
                error=result.error if result and result.error and status != "succeeded" else None,
                reason=reason,
                stdout=self.redactor.text(result.stdout)[-TAIL:]
                if result
                else "",  # mask, then cut
                stderr=self.redactor.text(result.stderr)[-TAIL:] if result else "",
            )
        )

    async def _fail(
        self,
        step: Step,
        error: str,
        attempts: int,
        duration: float,
        result: AttemptResult | None = None,
    ) -> None:
        status = "timed_out" if result is not None and result.timed_out else "failed"
        failed = result or AttemptResult(ok=False)
        failed.error = error
        self._finish(step, status, attempts, duration, failed)
        await self._handle_failure(step, self.redactor.text(error))

    async def _handle_failure(self, step: Step, error: str) -> None:
        if step.rescue:
            self.note("info", f"'{step.id}' failed: running its rescue steps")
            outer = self.failure  # `failure` in a rescue is the step it rescues, only there
            self.failure = {
                "step": step.id,
                "error": error,
                "status": self.state.step(step.id).status,
            }
            try:
                await self._sequence(step.rescue)
            except RunAborted as rescue_failed:
                self.note("error", f"rescue of '{step.id}' failed: {rescue_failed.error}")
            else:
                self.emit(StepRescued(step_id=step.id))
                return
            finally:
                self.failure = outer
        if step.on_failure is OnFailure.CONTINUE:
            return
        raise RunAborted(
            step.id,
            f"step '{step.id}' failed: {error}",
            rollback=step.on_failure is OnFailure.ROLLBACK,
        )

    def _skip(self, step: Step, reason: str) -> None:
        for inner in body_steps((step,)):
            self.emit(StepFinished(step_id=inner.id, status="skipped", reason=reason))

    def _cancel_unfinished(self, steps: Iterable[Step], reason: str) -> None:
        for step in body_steps(tuple(steps)):
            state = self.state.steps.get(step.id)
            if state is None or not state.final:
                self.emit(StepFinished(step_id=step.id, status="cancelled", reason=reason))

    # -- rollback (engine/saga.py) and finally ---------------------------------------------------

    async def rollback_only(self, reason: str, *, requested: bool = False) -> int:
        """Undo a stopped run's completed steps, nothing else (see Saga.only)."""
        return await self.saga.only(reason, requested=requested)

    async def _finally(self, status: str) -> None:
        """`finally` at the end of every session (run, resume, rollback), with its status."""
        steps = self.plan.runbook.finally_steps
        if not steps or self.interrupts >= 2:
            return
        self.emit(FinallyStarted(status=status))
        try:
            await self._phase(self._finally_steps(steps))
        except asyncio.CancelledError:
            self.note("warning", "finally steps interrupted")

    async def _finally_steps(self, steps: tuple[Step, ...]) -> None:
        """Run again on every session: they report how this one ended, they are not work done."""
        self.in_finally = True
        try:
            for step in steps:
                try:
                    await self._step(step)
                except RunAborted as aborted:
                    self.note("error", f"finally step failed: {aborted.error}")
        finally:
            self.in_finally = False

    # -- helpers -----------------------------------------------------------------------------------

    def context(self, local: Mapping[str, Any] | None = None) -> dict[str, Any]:
        from recoverctl.engine.context import build_context

        return build_context(
            params=self.options.params,
            state=self.state,
            raw=self.raw,
            runbook=self.plan.runbook,
            environ=self.options.environ,
            failure=self.failure,
            local=local,
        )

    def emit(self, event: Event) -> Event:
        """Through the one emit point: stamped, cleaned, journaled, reduced, then shown."""
        return self.emitter.emit(event)

    # -- sub-runbooks (see engine/calls.py) ----------------------------------------------------

    def child(self, plan: Plan, options: RunOptions, prefix: str) -> Engine:
        child = Engine(
            plan,
            options,
            bus=self.bus,
            executor=self.executor,
            clock=self.clock,
            approver=self.approver,
            parent=self,
            prefix=prefix,
        )
        self.children[prefix] = child
        return child

    async def run_steps(self) -> None:
        """A sub-runbook's steps, then its finally steps (no rollback of its own)."""
        try:
            await self._sequence(self.plan.runbook.steps)
        finally:
            await self._finally_steps(self.plan.runbook.finally_steps)

    async def fail_step(self, step: Step, error: str, started: float) -> None:
        await self._fail(step, error, 1, self.clock.monotonic() - started)

    def finish_call(self, step: Step, started: float, outputs: dict[str, Any]) -> None:
        self._finish(step, "succeeded", 1, self.clock.monotonic() - started, None, outputs)

    def _owner(self, step_id: str) -> tuple[Engine, str]:
        """The engine that ran `step_id` (a sub-runbook's for `call/inner`), and its local id."""
        for prefix, child in self.children.items():
            if step_id.startswith(prefix):
                return child._owner(step_id[len(prefix) :])
        return self, step_id

    def note(self, level: str, message: str) -> None:
        self.emit(LogMessage(step_id=None, level=level, message=message))

    def base_environment(self) -> dict[str, str]:
        """os.environ plus the runbook's `env:` (rendered once: it may only read params)."""
        if self._base_env is None:
            import os

            context = self.context()
            env = dict(os.environ)
            for name, value in self.plan.runbook.env:
                env[name] = render(value.source, context)
            self._base_env = env
        return self._base_env

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
        """Stable across retries and resume: the run id and the step id, hashed."""
        return hashlib.sha256(f"{self.options.run_id}/{step_id}".encode()).hexdigest()[:32]

    def _describe(self, step: Step) -> str:
        try:
            return StepRun(self, step, 0).describe()
        except RenderError:
            return step.body.describe()  # type: ignore[union-attr]

    def shown_params(self) -> dict[str, Any]:
        return {
            k: (MASK if self.redactor.text(str(v)) != str(v) else v)
            for k, v in self.options.params.items()
        }


def _values_read(source: str, context: dict[str, Any]) -> dict[str, Any]:
    """The value of every name a condition reads, for the decision record."""
    from recoverctl.expr.references import parse_expression, references

    values: dict[str, Any] = {}
    for ref in references(parse_expression(source)):
        try:
            values[str(ref)] = evaluate(str(ref), context)
        except RenderError:
            values[str(ref)] = None
    return values


def body_steps(steps: tuple[Step, ...]) -> Iterable[Step]:
    """Steps and what their groups and branches hold (not rescue, rollback or guards)."""
    for step in steps:
        yield step
        yield from body_steps(step.children())
