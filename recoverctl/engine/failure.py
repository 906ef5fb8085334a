"""What happens when a step fails for good: its rescue, else its `on_failure`.

A rescue that succeeds makes the failure handled (`StepRescued`) and the run
goes on; inside it, `failure` names the step it rescues. Without a rescue, or
when the rescue fails too, `on_failure` decides: `continue` goes on, `stop`
and `rollback` raise `RunAborted`, which unwinds the scheduler to the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from recoverctl.actions.base import AttemptResult
from recoverctl.engine.attempts import Attempts
from recoverctl.engine.events import StepRescued
from recoverctl.engine.services import RunAborted, Services
from recoverctl.model.runbook import OnFailure, Step
from recoverctl.model.status import StepStatus


class FailurePolicy:
    def __init__(
        self,
        services: Services,
        attempts: Attempts,
        run_steps: Callable[[tuple[Step, ...]], Awaitable[None]],
    ) -> None:
        self.services, self.attempts, self.run_steps = services, attempts, run_steps

    async def fail(
        self,
        step: Step,
        error: str,
        attempts: int,
        duration: float,
        result: AttemptResult | None = None,
    ) -> None:
        """Record `step` as failed (or timed out) with `error`, then handle the failure."""
        timed_out = result is not None and result.timed_out
        failed = result or AttemptResult(ok=False)
        failed.error = error
        status = StepStatus.TIMED_OUT if timed_out else StepStatus.FAILED
        self.attempts.finish(step, status, attempts, duration, failed)
        await self.handle(step, self.services.redactor.text(error))

    async def handle(self, step: Step, error: str) -> None:
        """A recorded failure of `step`: rescue it, go on, or stop the run (`RunAborted`)."""
        run = self.services
        if step.rescue:
            run.note("info", f"'{step.id}' failed: running its rescue steps")
            outer = run.failure  # `failure` in a rescue is the step it rescues, only there
            run.failure = {
                "step": step.id,
                "error": error,
                "status": run.state.step(step.id).status,
            }
            try:
                await self.run_steps(step.rescue)
            except RunAborted as rescue_failed:
                run.note("error", f"rescue of '{step.id}' failed: {rescue_failed.error}")
            else:
                run.emit(StepRescued(step_id=step.id))
                return
            finally:
                run.failure = outer
        if step.on_failure is OnFailure.CONTINUE:
            return
        raise RunAborted(
            step.id,
            f"step '{step.id}' failed: {error}",
            rollback=step.on_failure is OnFailure.ROLLBACK,
        )
