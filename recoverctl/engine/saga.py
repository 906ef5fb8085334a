"""The saga: when a run fails, undo what it completed, last completed first.

Each compensation is a step of its own (`x.rollback`) with its own timeout
and retries; one that fails is reported and the others still run. Steps of
sub-runbooks are undone by the child engine that ran them, with its context.
A second interrupt skips what is left, and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from recoverctl.actions.base import AttemptResult
from recoverctl.engine.attempts import Attempts
from recoverctl.engine.events import (
    RetryScheduled,
    RollbackFinished,
    RollbackStarted,
    StepRolledBack,
)
from recoverctl.engine.retry import with_retries
from recoverctl.engine.services import ApprovalUnavailable, Services
from recoverctl.model.runbook import Step
from recoverctl.model.status import RunStatus, StepStatus


class SagaHost(Services, Protocol):
    """A run that can be undone: its saga, and the run (its own or a callee's) of each step."""

    saga: Saga

    def owner(self, step_id: str) -> tuple[SagaHost, str]:
        """The run that ran `step_id` (a sub-runbook's for `call/inner`), and its local id."""

    async def phase(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a phase as a task an interrupt can cancel."""


class Saga:
    def __init__(self, host: SagaHost, attempts: Attempts) -> None:
        self.host, self.attempts = host, attempts
        self.gated = False
        """Destructive compensations wait at their approval gate (`recoverctl rollback`)."""

    def order(self) -> list[str]:
        """Completed steps that declare a rollback, last completed first (each once)."""
        return self.host.state.compensable(self.host.plan.declares_rollback)

    async def run(self, reason: str, order: list[str]) -> bool | None:
        """Compensate `order`: True when all succeeded, False when one failed, None when skipped."""
        host = self.host
        host.emit(RollbackStarted(reason=reason, steps=order))
        try:
            await host.phase(self._compensate_all(order))
        except asyncio.CancelledError:
            host.emit(RollbackFinished(ok=False, skipped=True))
            return None
        failed = any(host.state.step(sid).rollback == RunStatus.ROLLBACK_FAILED for sid in order)
        host.emit(RollbackFinished(ok=not failed))
        return not failed

    def gate_before(self, step_id: str) -> str | None:
        """The approval gate the run passed last before `step_id` completed, if any."""
        state = self.host.state
        if step_id not in state.completed:
            return None
        earlier = state.completed[: state.completed.index(step_id)]
        gates = [
            sid
            for sid in earlier
            if (node := self.host.plan.nodes.get(sid)) is not None and node.kind == "approval"
        ]
        return gates[-1] if gates else None

    async def _approved(self, step_id: str) -> tuple[bool, str]:
        """Before undoing a destructive step by an operator's command: its gate, asked again."""
        owner, local = self.host.owner(step_id)
        node = owner.plan.nodes.get(local)
        gate = self.gate_before(step_id)
        if not self.gated or node is None or not node.step.destructive or gate is None:
            return True, ""
        prompt = f"Undo destructive step '{step_id}' (it ran after the gate '{gate}')?"
        try:
            return await self.host.approver.ask(node.step, prompt, False)
        except ApprovalUnavailable:
            return False, "no terminal to ask on: `recoverctl rollback RUN_ID --yes` approves it"

    async def _compensate_all(self, order: list[str]) -> None:
        host = self.host
        for sid in order:
            approved, who = await self._approved(sid)
            if not approved:
                host.emit(StepRolledBack(step_id=sid, ok=False, error=f"undo not approved ({who})"))
                continue
            owner, local = host.owner(sid)
            compensation = owner.saga.compensation(local)
            if compensation is None:  # its sub-runbook could not be made again (logged)
                unprepared = "its compensation could not be prepared: undo it by hand"
                host.emit(StepRolledBack(step_id=sid, ok=False, error=unprepared))
                continue
            result = await owner.saga.compensate(compensation)
            error = None if result.ok else (result.error or "failed")
            host.emit(StepRolledBack(step_id=sid, ok=result.ok, error=error))

    async def compensate(self, compensation: Step) -> AttemptResult:
        """One rollback action, with its own timeout and retries."""
        host, attempts = self.host, self.attempts
        started = host.clock.monotonic()
        result = await with_retries(
            compensation,
            lambda n: attempts.attempt(compensation, n),
            sleep=host.clock.sleep,
            retryable=lambda r: r.retryable,
            rng=attempts.rng,
            on_retry=lambda n, d: host.emit(
                RetryScheduled(step_id=compensation.id, next_attempt=n, delay=d)
            ),
        )
        if result.ok:
            status = StepStatus.SUCCEEDED
        else:
            status = StepStatus.TIMED_OUT if result.timed_out else StepStatus.FAILED
        count = host.state.step(compensation.id).attempts
        attempts.finish(compensation, status, count, host.clock.monotonic() - started, result)
        return result

    def compensation(self, step_id: str) -> Step | None:
        """The rollback action of `step_id` (in whichever run ran it)."""
        owner, local = self.host.owner(step_id)
        node = owner.plan.nodes.get(local)
        return node.step.rollback if node is not None else None
