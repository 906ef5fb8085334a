"""The saga: when a run fails, undo what it completed, last completed first.

Each compensation is a step of its own (`x.rollback`) with its own timeout
and retries; one that fails is reported and the others still run. Steps of
sub-runbooks are undone by the child engine that ran them, with its context.
A second interrupt skips what is left, and says so.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from recoverctl.actions.base import AttemptResult
from recoverctl.engine.emitter import JournalLost
from recoverctl.engine.ending import exit_code_for
from recoverctl.engine.events import (
    RetryScheduled,
    RollbackFinished,
    RollbackStarted,
    RunResumed,
    StepRolledBack,
)
from recoverctl.engine.retry import with_retries
from recoverctl.exitcodes import ExitCode
from recoverctl.model.runbook import Step

if TYPE_CHECKING:
    from recoverctl.engine.runner import Engine


class Saga:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gated = False
        """Destructive compensations wait at their approval gate (`recoverctl rollback`)."""

    def order(self) -> list[str]:
        """Completed steps that declare a rollback, last completed first (each once)."""
        return self.engine.state.compensable(lambda sid: self.compensation(sid) is not None)

    async def run(self, reason: str, order: list[str]) -> bool | None:
        """Compensate `order`: True when all succeeded, False when one failed, None when skipped."""
        engine = self.engine
        engine.emit(RollbackStarted(reason=reason, steps=order))
        try:
            await engine._phase(self._compensate_all(order))
        except asyncio.CancelledError:
            engine.emit(RollbackFinished(ok=False, skipped=True))
            return None
        failed = any(engine.state.step(sid).rollback == "rollback_failed" for sid in order)
        engine.emit(RollbackFinished(ok=not failed))
        return not failed

    async def only(self, reason: str, *, requested: bool = False) -> int:
        """`recoverctl rollback` (`requested`), or resuming a run stopped while it rolled back.

        Requested by an operator: a destructive step's compensation waits at the approval
        gate the step was behind, and a full undo exits 0. Continued after a crash: the
        run failed, so a full undo exits 1 as it would have. `finally` runs either way.
        """
        engine = self.engine
        engine.begin()
        engine.emit(
            RunResumed(run_id=engine.options.run_id, plan_hash=engine.plan.hash, rollback=True)
        )
        status, code = "rolled_back", ExitCode.OK
        self.gated = requested
        engine.failure = {"step": "", "error": reason, "status": "rolled_back"}
        try:
            try:
                ok = await self.run(reason, self.order())
                if ok is False:
                    status = "rollback_failed"
                elif ok is None:
                    status = "interrupted"
                engine.failure["status"] = status
                await engine._finally(status)
            except JournalLost as lost:
                status, reason = "interrupted", str(lost)
            code = ExitCode.OK if requested and status == "rolled_back" else exit_code_for(status)
        finally:
            engine.finish_run(status, code, reason)
        return int(code)

    def gate_before(self, step_id: str) -> str | None:
        """The approval gate the run passed last before `step_id` completed, if any."""
        state = self.engine.state
        if step_id not in state.completed:
            return None
        earlier = state.completed[: state.completed.index(step_id)]
        gates = [
            sid
            for sid in earlier
            if (node := self.engine.plan.nodes.get(sid)) is not None and node.kind == "approval"
        ]
        return gates[-1] if gates else None

    async def _approved(self, step_id: str) -> tuple[bool, str]:
        """Before undoing a destructive step by an operator's command: its gate, asked again."""
        engine = self.engine
        owner, local = engine._owner(step_id)
        node = owner.plan.nodes.get(local)
        gate = self.gate_before(step_id)
        if not self.gated or node is None or not node.step.destructive or gate is None:
            return True, ""
        prompt = f"Undo destructive step '{step_id}' (it ran after the gate '{gate}')?"
        from recoverctl.engine.runner import ApprovalUnavailable

        try:
            return await engine.approver.ask(node.step, prompt, False)
        except ApprovalUnavailable:
            return False, "no terminal to ask on: `recoverctl rollback RUN_ID --yes` approves it"

    async def _compensate_all(self, order: list[str]) -> None:
        engine = self.engine
        for sid in order:
            approved, who = await self._approved(sid)
            if not approved:
                engine.emit(
                    StepRolledBack(step_id=sid, ok=False, error=f"undo not approved ({who})")
                )
                continue
            owner, local = engine._owner(sid)
            compensation = owner.saga.compensation(local)
            assert compensation is not None  # noqa: S101 - order() keeps only steps that have one
            result = await owner.saga.compensate(compensation)
            error = None if result.ok else (result.error or "failed")
            engine.emit(StepRolledBack(step_id=sid, ok=result.ok, error=error))

    async def compensate(self, compensation: Step) -> AttemptResult:
        """One rollback action, with its own timeout and retries."""
        engine = self.engine
        started = engine.clock.monotonic()
        result = await with_retries(
            compensation,
            lambda n: engine._attempt(compensation, n),
            sleep=engine.clock.sleep,
            retryable=lambda r: r.retryable,
            rng=engine.rng,
            on_retry=lambda n, d: engine.emit(
                RetryScheduled(step_id=compensation.id, next_attempt=n, delay=d)
            ),
        )
        status = "succeeded" if result.ok else ("timed_out" if result.timed_out else "failed")
        attempts = engine.state.step(compensation.id).attempts
        engine._finish(compensation, status, attempts, engine.clock.monotonic() - started, result)
        return result

    def compensation(self, step_id: str) -> Step | None:
        """The rollback action of `step_id` (in whichever engine ran it)."""
        owner, local = self.engine._owner(step_id)
        node = owner.plan.nodes.get(local)
        return node.step.rollback if node is not None else None
