"""Executors: who carries out an attempt. The scheduler is the same for all.

`RealExecutor` runs the action's plug-in. `SimulatedExecutor` runs nothing:
every action succeeds (guards report 'not done yet', so the dry run shows
the path that does the work), unless a script of outcomes says otherwise —
`--dry-run` and scenario tests are the real scheduler with this executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.registry import HANDLERS
from recoverctl.model.fanout import template_id
from recoverctl.model.runbook import AssertAction, LogAction, Step


class Executor(Protocol):
    simulated: bool

    async def attempt(self, step: Step, ctx: ActionContext, attempt: int) -> AttemptResult:
        """Carry out one attempt of an action step."""

    async def guard(self, step: Step, ctx: ActionContext) -> AttemptResult:
        """Run a `skip_if` check: ok means the work is already done."""

    async def settle(self) -> None:
        """Return when nothing an attempt started is still being stopped (end of a run)."""


class RealExecutor:
    simulated = False

    async def settle(self) -> None:
        from recoverctl.actions.remote import close_masters
        from recoverctl.actions.run import stopped

        await stopped()
        await close_masters()  # the run's ssh connections end with it

    async def attempt(self, step: Step, ctx: ActionContext, attempt: int) -> AttemptResult:
        return await HANDLERS[step.kind](step.body, ctx)

    async def guard(self, step: Step, ctx: ActionContext) -> AttemptResult:
        return await HANDLERS[step.kind](step.body, ctx)


class SimulatedExecutor:
    """Runs nothing; `outcomes` maps a step id to results per attempt (the last repeats).

    A scripted result may carry `delay` (simulated seconds the attempt takes)
    and `hang` (it never answers: the step's timeout decides) in its `data`.
    """

    simulated = True

    def __init__(
        self,
        outcomes: Mapping[str, list[AttemptResult]] | None = None,
        *,
        evaluate_asserts: bool = False,
    ) -> None:
        self.outcomes = dict(outcomes or {})
        self.evaluate_asserts = evaluate_asserts
        """Scenarios evaluate `assert` steps for real: they are pure logic over mocked results."""

    async def attempt(self, step: Step, ctx: ActionContext, attempt: int) -> AttemptResult:
        scripted = self._scripted(ctx.scripted_id)
        if scripted:
            result = replace(scripted[min(attempt, len(scripted)) - 1])  # the engine annotates it
            delay = float(result.data.get("delay", 0.0))
            if result.data.get("hang"):
                if step.timeout is None:
                    return AttemptResult(
                        ok=False, timed_out=True, error="hangs, and nothing bounds it (scenario)"
                    )
                delay = max(delay, step.timeout * 2)  # the step's timeout fires first
            if delay:
                await ctx.clock.sleep(delay)
            return result
        if isinstance(step.body, AssertAction) and self.evaluate_asserts:
            return await HANDLERS["assert"](step.body, ctx)
        if isinstance(step.body, LogAction):
            ctx.log(step.body.level, ctx.render(step.body.message))
        return AttemptResult(
            ok=True, stdout="", data={"approved": True, "approved_by": "dry run"}, invented=True
        )

    def _scripted(self, step_id: str) -> list[AttemptResult] | None:
        """This step's outcomes; for a fan-out's item without its own, the fan-out's
        (`restart: fail` fails every host, `restart[db-3]: fail` only that one)."""
        found = self.outcomes.get(step_id)
        if found is None and "[" in step_id:
            found = self.outcomes.get(template_id(step_id))
        return found

    async def guard(self, step: Step, ctx: ActionContext) -> AttemptResult:
        scripted = self._scripted(ctx.scripted_id)
        if scripted:
            return replace(scripted[0])
        return AttemptResult(ok=False, error="simulated: not done yet", invented=True)

    async def settle(self) -> None:
        return None  # nothing was started


class ProbingExecutor:
    """`run --dry-run --probe`: read-only steps (`read_only: true` — a health check, a lag
    query) run for real, so decisions rest on real values; every other step is simulated."""

    simulated = True

    def __init__(self) -> None:
        self.real, self.simulator = RealExecutor(), SimulatedExecutor()

    async def attempt(self, step: Step, ctx: ActionContext, attempt: int) -> AttemptResult:
        chosen = self.real if step.read_only else self.simulator
        return await chosen.attempt(step, ctx, attempt)

    async def guard(self, step: Step, ctx: ActionContext) -> AttemptResult:
        chosen = self.real if step.read_only else self.simulator
        return await chosen.guard(step, ctx)

    async def settle(self) -> None:
        await self.real.settle()
