"""The saga: when a run fails, undo what it completed, last completed first.

A fan-out's items are undone as wide as they ran (its batch and max_parallel), each
item's own compensations in order. Each compensation is a step of its own (`x.rollback`) with its own timeout
and retries; one that fails is reported and the others still run. Steps of
sub-runbooks are undone by the child engine that ran them, with its context.
A second interrupt skips what is left, and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
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
from recoverctl.model.fanout import item_prefix, split_item
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
        for wave in self.waves(order):
            if len(wave) == 1:
                await self._undo(wave[0])
            else:  # a fan-out's items, undone as they ran: this many at once
                await asyncio.gather(*(self._undo(unit) for unit in wave))

    def waves(self, order: list[str]) -> Iterator[list[list[str]]]:
        """The undo in waves of units (each unit's compensations in order): a fan-out's
        items as wide as it ran them — its `batch` and `max_parallel`, each item's own
        steps last first — and every other step alone. An operator's gated rollback goes
        one by one: its questions come one at a time."""
        index = 0
        while index < len(order):
            fanout = None if self.gated else self._fanout_of(order[index])
            if fanout is None:
                yield [[order[index]]]
                index += 1
                continue
            units: dict[str, list[str]] = {}
            while index < len(order) and self._fanout_of(order[index]) == fanout:
                units.setdefault(self._item_of(order[index]), []).append(order[index])
                index += 1
            listed = list(units.values())
            width = self._width(fanout) or len(listed)
            for start in range(0, len(listed), width):
                yield listed[start : start + width]

    def _fanout_of(self, step_id: str) -> str | None:
        item = split_item(step_id)
        if item is None:
            return None
        node = self.host.plan.nodes.get(item[0])
        return item[0] if node is not None and node.item is not None else None

    @staticmethod
    def _item_of(step_id: str) -> str:
        item = split_item(step_id)
        assert item is not None  # noqa: S101 - _fanout_of found it
        return item_prefix(item[0], item[1])

    def _width(self, fanout: str) -> int | None:
        fan = self.host.plan.nodes[fanout].step.foreach
        limits = [n for n in (fan.batch, fan.max_parallel) if n] if fan is not None else []
        return min(limits) if limits else None

    async def _undo(self, unit: list[str]) -> None:
        host = self.host
        for sid in unit:
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
