"""Fault injection for game days: `run --inject fail:promote --inject delay:dns=30s --inject timeout:verify`.

The real executor still runs every other step; an injected step fails,
waits, or hangs until its timeout, and the journal and the view say it was
injected. The CLI refuses injection unless `--allow-injection` or the runbook
sets `allow_injection: true`, so it cannot happen by accident in production.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.engine.executor import Executor
from recoverctl.model.duration import format_duration, parse_duration
from recoverctl.model.runbook import Step

KINDS = ("fail", "timeout", "delay")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    step_id: str
    delay: float = 0.0

    def __str__(self) -> str:
        extra = f"={format_duration(self.delay)}" if self.kind == "delay" else ""
        return f"{self.kind}:{self.step_id}{extra}"


def parse_fault(text: str) -> Fault:
    """`fail:STEP`, `timeout:STEP` or `delay:STEP=DURATION`; ValueError says what was expected."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in KINDS or not rest:
        raise ValueError(
            f"'{text}' is not a fault; expected fail:STEP, timeout:STEP or delay:STEP=30s"
        )
    if kind == "delay":
        step_id, eq, duration = rest.partition("=")
        if not eq:
            raise ValueError(f"'{text}': a delay needs a duration, e.g. delay:{step_id}=30s")
        return Fault(kind, step_id, parse_duration(duration))
    return Fault(kind, rest)


class InjectingExecutor:
    """Wraps the real executor; steps with a fault misbehave as asked."""

    def __init__(self, inner: Executor, faults: list[Fault]) -> None:
        self.inner = inner
        self.simulated = inner.simulated
        self.faults = {fault.step_id: fault for fault in faults}

    async def attempt(self, step: Step, ctx: ActionContext, attempt: int) -> AttemptResult:
        fault = self.faults.get(ctx.scripted_id)
        if fault is None:
            return await self.inner.attempt(step, ctx, attempt)
        ctx.log("warning", f"fault injected: {fault}")
        if fault.kind == "fail":
            return AttemptResult(ok=False, exit_code=1, error="injected failure")
        if fault.kind == "timeout":
            if step.timeout is None:
                return AttemptResult(
                    ok=False, timed_out=True, error="injected hang (the step has no timeout)"
                )
            await asyncio.sleep(step.timeout + 60)  # the step's timeout fires first
        await ctx.clock.sleep(fault.delay)
        return await self.inner.attempt(step, ctx, attempt)

    async def guard(self, step: Step, ctx: ActionContext) -> AttemptResult:
        return await self.inner.guard(step, ctx)

    async def settle(self) -> None:
        await self.inner.settle()
