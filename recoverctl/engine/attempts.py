"""One action step's attempts: locks and slots, retries with backoff, timeout, outputs.

An attempt is refused before it starts when the journal cannot record it (no
side effect without its record). A failed attempt is journaled as it
happens; whether to retry is the step's `retry` policy (and `retry.when`).
The last attempt's result becomes the step's outcome: a success is recorded
here, a failure goes back to the scheduler, which hands it to the failure
policy (rescue, `on_failure`).
"""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from recoverctl.actions.base import AttemptResult
from recoverctl.actions.registry import HANDLERS, OWN_TIMEOUT
from recoverctl.engine.emitter import JournalLost, LeaseLost
from recoverctl.engine.events import (
    AttemptFailed,
    OperatorOverride,
    RetryScheduled,
    StepFinished,
    StepStarted,
)
from recoverctl.engine.retry import with_retries
from recoverctl.engine.services import ApprovalUnavailable, RunAborted, Services, ValuesSink
from recoverctl.engine.step_context import StepRun
from recoverctl.engine.undetermined import simulated_reads
from recoverctl.expr.render import RenderError, evaluate, render_value
from recoverctl.model.actions import AssertAction
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import OnFailure, Step
from recoverctl.model.status import StepStatus

TAIL = 4096
"""Characters of stdout/stderr kept in StepFinished events (the full capture stays in memory)."""


@dataclass(slots=True)
class Failed:
    """An action that failed for good: not recorded yet, the failure policy does that."""

    error: str
    attempts: int
    duration: float
    result: AttemptResult | None = None


_CHANGING_KINDS = frozenset({"run", "http", "wait_for"})
"""The actions a dry run simulates that may change something (not log, sleep, assert, gates)."""


PREVIEW_UNDOS = 12
"""A failure preview names this many undos, then counts the rest."""


class Attempts:
    def __init__(
        self, services: Services, raw: dict[str, dict[str, Any]], seed: int | None
    ) -> None:
        self.services = services
        self.raw = raw
        """Unredacted stdout/outputs per step, for templates only (events carry redacted copies)."""
        self.values: ValuesSink | None = None
        """Where the raw values go for a later resume (the run's private values store)."""
        self.rng = random.Random(seed)  # noqa: S311 - jitter only
        self.completed_on_cancel: dict[str, AttemptResult] = {}
        """Steps whose command had exited (0) when a cancel came to stop it."""
        self._undoable: list[str] = []
        """`run --dry-run`: the completed steps that declare a rollback, kept as they complete
        (asking the whole run for each step's failure preview made a dry run quadratic)."""
        self._undoable_seen = 0

    async def action(self, step: Step) -> Failed | None:
        """Run `step` to its outcome: None when it succeeded (and is recorded), else what failed."""
        run = self.services
        self._preview_failure(step)
        if not await self._operator_says_run(step):
            return None  # skipped by the operator: recorded, and the run goes on
        started = run.clock.monotonic()
        async with AsyncExitStack() as stack:
            for name in sorted(step.locks):  # one global order: no deadlock between lock holders
                await stack.enter_async_context(run.shared.locks.setdefault(name, asyncio.Lock()))
            if run.shared.slots is not None:
                await stack.enter_async_context(run.shared.slots)
            try:
                result = await with_retries(
                    step,
                    lambda n: self.attempt(step, n),
                    sleep=run.clock.sleep,
                    retryable=lambda r: self._retryable(step, r),
                    on_retry=lambda n, delay: run.emit(
                        RetryScheduled(step_id=step.id, next_attempt=n, delay=delay)
                    ),
                    rng=self.rng,
                )
            except asyncio.CancelledError:
                # a command that had finished as the cancel came did its work: succeeded (its
                # rollback undoes it, a resume does not run it again), unless its outputs fail
                done = self.completed_on_cancel.pop(step.id, None)
                if done is not None and self._outcome(step, done, started) is None:
                    raise
                run.emit(
                    StepFinished(
                        step_id=step.id,
                        status=StepStatus.CANCELLED,
                        attempts=run.state.step(step.id).attempts,
                        duration=run.clock.monotonic() - started,
                        error="cancelled",
                    )
                )
                raise
        return self._outcome(step, result, started)

    def _outcome(self, step: Step, result: AttemptResult, started: float) -> Failed | None:
        """The step's last attempt: recorded as succeeded (None), or what failed."""
        run = self.services
        attempts = run.state.step(step.id).attempts
        duration = run.clock.monotonic() - started
        if not result.ok:
            return Failed(result.error or "failed", attempts, duration, result)
        try:
            outputs = self._outputs(step, result)
        except RenderError as exc:
            return Failed(str(exc), attempts, duration, result)
        self.finish(step, StepStatus.SUCCEEDED, attempts, duration, result, outputs)
        return None

    async def attempt(
        self, step: Step, attempt: int, *, guard_check: bool = False
    ) -> AttemptResult:
        """One try of `step` (or its `skip_if` check) under its timeout; never raises for a failure."""
        run = self.services
        ctx = StepRun(run, step, attempt)
        if not guard_check:
            run.emit(StepStarted(step_id=step.id, attempt=attempt, action=self.describe(step)))
        try:
            await run.emitter.durable()  # no side effect without its record on disk
        except JournalLost as lost:
            why = (
                "the team lock was lost"
                if isinstance(lost, LeaseLost)
                else "the journal could not record it"
            )
            run.emit(
                StepFinished(
                    step_id=step.id,
                    status=StepStatus.CANCELLED,
                    attempts=attempt - 1,
                    error=f"not started: {why}",
                )
            )
            raise
        began = run.clock.monotonic()
        timeout = None if step.kind in OWN_TIMEOUT else step.timeout
        try:
            async with asyncio.timeout(timeout):
                if guard_check:
                    result = await run.executor.guard(step, ctx)
                elif self._decidable_assert(step):
                    result = await HANDLERS["assert"](step.body, ctx)  # pure logic on real values
                else:
                    result = await run.executor.attempt(step, ctx, attempt)
        except TimeoutError:
            result = ctx.completed or AttemptResult(
                ok=False, timed_out=True, error=f"timed out after {format_duration(timeout or 0)}"
            )
        except asyncio.CancelledError:
            if ctx.completed is not None:
                self.completed_on_cancel[step.id] = ctx.completed
            raise
        except RenderError as exc:
            result = AttemptResult(ok=False, error=str(exc), retryable=False)
        except ApprovalUnavailable as exc:
            run.shared.blocked = exc
            raise asyncio.CancelledError from None
        except Exception as exc:  # a bug in one action must fail that step, not the run
            result = AttemptResult(
                ok=False,
                retryable=False,
                error=f"internal error in the {step.kind} action: {type(exc).__name__}: {exc} (a bug in recoverctl)",
            )
        if not result.ok and not guard_check:
            run.emit(
                AttemptFailed(
                    step_id=step.id,
                    attempt=attempt,
                    error=result.error or "failed",
                    exit_code=result.exit_code,
                    timed_out=result.timed_out,
                    duration=run.clock.monotonic() - began,
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
            return bool(evaluate(condition.source, self.services.context(result.names())))
        except RenderError as exc:
            self.services.note(
                "warning", f"retry.when of '{step.id}' could not be evaluated ({exc}): not retrying"
            )
            return False

    def _outputs(self, step: Step, result: AttemptResult) -> dict[str, Any]:
        if result.outputs is not None:
            return dict(result.outputs)  # mocked by a scenario
        if not step.outputs:
            return {}
        context = self.services.context(result.names())
        outputs: dict[str, Any] = {}
        for output in step.outputs:
            try:
                outputs[output.name] = render_value(output.template.source, context)
                if output.secret:
                    self.services.mask(str(outputs[output.name]))
            except RenderError as exc:
                if result.invented:
                    outputs[output.name] = None  # a dry run has no real output to compute from
                    continue
                raise RenderError(f"output '{output.name}' could not be computed: {exc}") from None
        return outputs

    def finish(
        self,
        step: Step,
        status: StepStatus,
        attempts: int,
        duration: float,
        result: AttemptResult | None = None,
        outputs: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        """Record a step's outcome: its values for a resume, then its StepFinished event."""
        raw = self.raw.setdefault(step.id, {})
        raw["outputs"] = outputs or {}
        if self.values is not None and status == StepStatus.SUCCEEDED:
            self.values.step(step.id, raw)
        text = self.services.redactor.text
        self.services.emit(
            StepFinished(
                step_id=step.id,
                status=status,
                attempts=attempts,
                duration=duration,
                simulated=bool(
                    result is not None and result.invented and self.services.options.explore
                ),
                exit_code=result.exit_code if result else None,
                outputs=outputs or {},
                error=result.error
                if result and result.error and status != StepStatus.SUCCEEDED
                else None,
                reason=reason,
                stdout=text(result.stdout)[-TAIL:] if result else "",  # mask, then cut
                stderr=text(result.stderr)[-TAIL:] if result else "",
            )
        )

    async def _operator_says_run(self, step: Step) -> bool:
        """`run --step`: show what `step` will do and ask. Every answer is journaled; skip
        leaves the step `skipped (by operator …)`, abort stops the run (nothing undone)."""
        run = self.services
        if not run.shared.stepping or "." in step.id:  # compensations follow their owner
            return True
        answer, who = await run.approver.step_through(step, self._preview(step))
        run.emit(
            OperatorOverride(step_id=step.id, action=f"step_{answer}", who=who, reason="--step")
        )
        if answer == "rest":
            run.shared.stepping = False
        elif answer == "skip":
            run.emit(
                StepFinished(
                    step_id=step.id,
                    status=StepStatus.SKIPPED,
                    reason=f"skipped (by operator {who})",
                )
            )
            return False
        elif answer == "abort":
            raise RunAborted(
                step.id,
                f"stopped by operator {who} before '{step.id}' (--step); the steps done so "
                "far were not undone",
                rollback=False,
            )
        return True

    def _preview(self, step: Step) -> str:
        """The step as it will act: the rendered command, request or wait, and where."""
        shown = self.describe(step)
        remote = getattr(self.services, "remote", None)
        where = f" on {remote.host}" if remote is not None else ""
        return f"{shown}{where}"

    def _preview_failure(self, step: Step) -> None:
        """`run --dry-run`: before a step that changes state, what its failure would set off."""
        run = self.services
        if not run.options.explore or step.read_only or step.kind not in _CHANGING_KINDS:
            return
        if "." in step.id:  # a compensation or a guard: part of its owner's story
            return
        if step.on_failure is not OnFailure.ROLLBACK or step.rescue:
            what = "its rescue steps run" if step.rescue else f"on_failure: {step.on_failure.value}"
            run.note("info", f"if '{step.id}' fails: {what}")
            return
        completed = run.state.completed
        self._undoable += [
            sid for sid in completed[self._undoable_seen :] if run.plan.declares_rollback(sid)
        ]
        self._undoable_seen = len(completed)
        order = run.state.compensable(run.plan.declares_rollback, self._undoable)
        shown = order[:PREVIEW_UNDOS] + (
            [f"… {len(order) - PREVIEW_UNDOS} more"] if len(order) > PREVIEW_UNDOS else []
        )
        undo = " → ".join(shown) if order else "nothing (no completed step declares a rollback)"
        run.note("info", f"if '{step.id}' fails: the rollback undoes {undo}")

    def _decidable_assert(self, step: Step) -> bool:
        """`run --dry-run`: an `assert` that reads no made-up result is checked for real
        (`assert false` fails a dry run as it would the run); one that does stays simulated."""
        body = step.body
        if not self.services.options.explore or not isinstance(body, AssertAction):
            return False
        return not any(simulated_reads(self.services, e.source) for e in body.that)

    def describe(self, step: Step) -> str:
        """The action as it will run (rendered), or as written when it cannot be rendered yet."""
        try:
            return StepRun(self.services, step, 0).describe()
        except RenderError:
            return step.body.describe()  # type: ignore[union-attr]
