"""The structure walk: sequences in order, parallel groups at once, branches by condition.

For every step the scheduler decides whether it runs at all — already done
before a resume, `when` false, `skip_if` holding — and then runs its body:
a group's members, the case a branch takes, a called runbook, or an action
(engine/attempts.py). A step that fails for good goes to the failure policy
(engine/failure.py); `RunAborted` unwinds the walk, and the members that had
not finished are recorded as cancelled on the way out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any, Protocol

from recoverctl.engine.attempts import Attempts
from recoverctl.engine.calls import CallHost, run_call
from recoverctl.engine.emitter import JournalLost
from recoverctl.engine.events import BranchDecided, StepFinished, StepStarted
from recoverctl.engine.failure import FailurePolicy
from recoverctl.engine.fanout import FanoutHost, run_foreach
from recoverctl.engine.services import RunAborted
from recoverctl.engine.undetermined import simulated_reads
from recoverctl.expr.render import RenderError, evaluate
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import Branch, Expression, Group, OnFailure, Step
from recoverctl.model.status import StepStatus
from recoverctl.model.walk import dispatch, steps_in

_FAILED = (StepStatus.FAILED, StepStatus.TIMED_OUT)


class Host(CallHost, FanoutHost, Protocol):
    """What the walk needs of its engine: its services, sub-runbooks and fan-out items."""


class Scheduler:
    def __init__(self, services: Host, attempts: Attempts) -> None:
        self.services, self.attempts = services, attempts
        self.policy = FailurePolicy(services, attempts, self.run_steps)

    @property
    def replaying(self) -> bool:
        """Resuming outside `finally`: what the run already did is kept, not done again."""
        return self.services.resuming and not self.services.in_finally

    async def run_steps(self, steps: Iterable[Step]) -> None:
        """Steps in order; a failure that stops the run raises `RunAborted` out of here."""
        for step in steps:
            await self.step(step)

    async def step(self, step: Step) -> None:
        run = self.services
        if self.replaying and self._done_before(step):
            return
        if step.when is not None:
            unknown = self.simulated_reads(step.when.source)
            try:
                holds = bool(unknown) or bool(evaluate(step.when.source, run.context()))
            except RenderError as exc:
                error = f"condition '{step.when.source}' could not be evaluated: {exc}"
                await self.policy.fail(step, error, 0, 0.0)
                return
            if unknown:
                run.note(
                    "info",
                    f"'{step.id}' when: {step.when.source} is undetermined (reads "
                    f"{', '.join(unknown)}, simulated): shown as if it held",
                )
            if not holds:
                self.skip(step, f"when: {step.when.source} is false")
                return
        if step.foreach is not None:  # its guard, body and rollback are each item's
            await run_foreach(self.services, step, self.policy, self.attempts, self.replaying)
            return
        if await self._already_done(step):
            return
        await dispatch(step, self)

    # -- the kinds of step (model/walk.py StepKinds) --------------------------------------------

    async def sequence(self, step: Step, group: Group) -> None:
        await self._group(step, group)

    async def parallel(self, step: Step, group: Group) -> None:
        await self._group(step, group)

    async def branch(self, step: Step, branch: Branch) -> None:
        await self._branch(step, branch)

    async def action(self, step: Step) -> None:
        if step.kind == "call":
            await run_call(self.services, step, self.policy, self.attempts)
            return
        failed = await self.attempts.action(step)
        if failed is not None:
            await self.policy.fail(
                step, failed.error, failed.attempts, failed.duration, failed.result
            )

    def _done_before(self, step: Step) -> bool:
        """On resume: a step that finished for good keeps its result and is never run again."""
        state = self.services.state.steps.get(step.id)
        if state is None:
            return False
        if state.status in (StepStatus.SUCCEEDED, StepStatus.UNCHANGED, StepStatus.SKIPPED):
            return True  # a group that finished; an unfinished one is entered again
        if not step.is_action:
            return False
        return state.status in _FAILED and (state.rescued or step.on_failure is OnFailure.CONTINUE)

    async def _already_done(self, step: Step) -> bool:
        """The idempotency guard: when `skip_if` holds, the step is `unchanged`."""
        run = self.services
        guard = step.skip_if
        if guard is None:
            return False
        if isinstance(guard, Expression):
            unknown = self.simulated_reads(guard.source)
            if unknown:
                run.note(
                    "info",
                    f"'{step.id}' skip_if: {guard.source} is undetermined (reads "
                    f"{', '.join(unknown)}, simulated): shown as if the work were not done yet",
                )
                return False
            try:
                done = bool(evaluate(guard.source, run.context()))
            except RenderError as exc:
                error = f"skip_if '{guard.source}' could not be evaluated: {exc}"
                await self.policy.fail(step, error, 0, 0.0)
                return True
            reason = f"skip_if: {guard.source} holds"
        else:
            started = run.clock.monotonic()
            described = self.attempts.describe(guard)
            run.emit(StepStarted(step_id=guard.id, attempt=1, action=described))
            result = await self.attempts.attempt(guard, 1, guard_check=True)
            duration = run.clock.monotonic() - started
            if result.timed_out or (
                result.exit_code is None and not result.ok and not run.executor.simulated
            ):
                self.attempts.finish(guard, StepStatus.FAILED, 1, duration, result)
                error = (
                    f"skip_if check could not tell whether '{step.id}' already ran: {result.error}"
                )
                await self.policy.fail(step, error, 0, 0.0)
                return True
            # the check answered, either way: "not done yet" is no failure, it means "run it"
            answer = "already done" if result.ok else f"not done yet → running '{step.id}'"
            result.error = None
            self.attempts.finish(guard, StepStatus.SUCCEEDED, 1, duration, result, reason=answer)
            done, reason = result.ok, f"skip_if check succeeded: {described}"
        if done:
            run.emit(StepFinished(step_id=step.id, status=StepStatus.UNCHANGED, reason=reason))
            why = f"'{step.id}' is already done"
            for inner in steps_in(step.children(), extras=False):
                run.emit(StepFinished(step_id=inner.id, status=StepStatus.UNCHANGED, reason=why))
        return done

    async def _group(self, step: Step, body: Group) -> None:
        run = self.services
        started = run.clock.monotonic()
        run.emit(StepStarted(step_id=step.id, attempt=1, action=body.kind))
        try:
            async with asyncio.timeout(step.timeout if step.timeout_explicit else None):
                if body.parallel:
                    await self._parallel(body)
                else:
                    await self.run_steps(body.steps)
        except TimeoutError:
            self.cancel_unfinished(body.steps, "the group's timeout was reached")
            limit = format_duration(step.timeout or 0)
            self._ended(step, started, StepStatus.TIMED_OUT, error=f"group timed out after {limit}")
            await self.policy.handle(step, f"group '{step.id}' timed out after {limit}")
            return
        except RunAborted as aborted:
            if step.id == "":  # one item of a fan-out: it failed, with the step that did
                self._ended(step, started, StepStatus.FAILED, error=aborted.error)
            else:
                self._ended(step, started, StepStatus.CANCELLED, error="stopped by a failure")
            raise
        except asyncio.CancelledError:  # from outside: the run's timeout, Ctrl-C, a group's
            self._ended(step, started, StepStatus.CANCELLED, error="cancelled")
            raise
        failed = [
            s.id
            for s in body.steps
            if run.state.step(s.id).status in _FAILED and not run.state.step(s.id).rescued
        ]
        reason = f"failed and continued: {', '.join(failed)}" if failed else None
        self._ended(step, started, StepStatus.SUCCEEDED, reason=reason)

    async def _parallel(self, body: Group) -> None:
        slots = asyncio.Semaphore(body.max_parallel) if body.max_parallel else None

        async def member(child: Step) -> None:
            async with AsyncExitStack() as stack:
                if slots is not None:
                    await stack.enter_async_context(slots)
                await self.step(child)

        try:
            async with asyncio.TaskGroup() as group:
                for child in body.steps:
                    group.create_task(member(child))
        except* RunAborted as aborted:
            self.cancel_unfinished(body.steps, "a sibling failed")
            raise aborted.exceptions[0] from None
        except* TimeoutError as timed_out:
            raise timed_out.exceptions[0] from None
        except* JournalLost as lost:
            raise lost.exceptions[0] from None

    async def _branch(self, step: Step, body: Branch) -> None:
        run = self.services
        started = run.clock.monotonic()
        run.emit(StepStarted(step_id=step.id, attempt=1, action="branch"))
        earlier = next((d for d in run.state.decisions if d.step_id == step.id), None)
        if self.replaying and earlier is not None:
            # a resumed run follows the path the run had taken: no second decision
            chosen = body.cases[earlier.case_index] if earlier.case_index is not None else None
            if chosen is not None:
                await self.run_steps(chosen.steps)
            reason = f"took {earlier.label!r} (decided before the resume)"
            self._ended(step, started, StepStatus.SUCCEEDED, reason=reason)
            return
        try:
            taken, values, unknown = self._decide(body, step.id)
        except RenderError as exc:
            run.emit(StepFinished(step_id=step.id, status=StepStatus.FAILED, error=str(exc)))
            for inner in step.children():
                self.skip(inner, "branch failed")
            await self.policy.handle(step, f"a branch condition could not be evaluated: {exc}")
            return
        if unknown and taken is not None:
            try:
                await self._explore(step, body, taken, values, unknown)
            except asyncio.CancelledError:
                self._ended(step, started, StepStatus.CANCELLED)
                raise
            self._ended(
                step, started, StepStatus.SUCCEEDED, reason="undetermined: every case explored"
            )
            return
        case = body.cases[taken] if taken is not None else None
        run.emit(
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
                    self.skip(inner, why)
        try:
            if case is not None:
                await self.run_steps(case.steps)
        except (RunAborted, asyncio.CancelledError):
            self._ended(step, started, StepStatus.CANCELLED)
            raise
        reason = f"took {case.label!r}" if case else "no case matched"
        self._ended(step, started, StepStatus.SUCCEEDED, reason=reason)

    def _ended(self, step: Step, started: float, status: StepStatus, **fields: Any) -> None:
        """A group or branch finished: its status, how long it took, why."""
        duration = self.services.clock.monotonic() - started
        self.services.emit(
            StepFinished(step_id=step.id, status=status, duration=duration, **fields)
        )

    def _decide(self, body: Branch, step_id: str) -> tuple[int | None, dict[str, Any], list[str]]:
        """The first case whose condition holds, the values the conditions read, and — in a
        dry run — the made-up results that keep it from being known (then the index is the
        first case that might be taken)."""
        run = self.services
        forced = run.options.forced_branches.get(run.full_id(step_id))
        if forced is not None:
            index = next(i for i, case in enumerate(body.cases) if case.label == forced)
            return index, {"forced by scenario": forced}, []
        context = run.context()
        values: dict[str, Any] = {}
        for index, candidate in enumerate(body.cases):
            if candidate.when is None:
                return index, values, []
            values.update(_values_read(candidate.when.source, context))
            unknown = self.simulated_reads(candidate.when.source)
            if unknown:
                return index, values, unknown
            if evaluate(candidate.when.source, context):
                return index, values, []
        return None, values, []

    def simulated_reads(self, source: str) -> list[str]:
        return simulated_reads(self.services, source)

    async def _explore(
        self, step: Step, body: Branch, first: int, values: dict[str, Any], unknown: list[str]
    ) -> None:
        """A dry run that cannot know the case: say so, then show each case that might be
        taken, in turn. A case that would stop the run is said to, and the next is shown."""
        run = self.services
        cases = body.cases[first:]
        when = cases[0].when
        run.emit(
            BranchDecided(
                step_id=step.id,
                case_index=None,
                label=None,
                condition=when.source if when is not None else None,
                values=values,
                undetermined=unknown,
                explored=[case.label for case in cases],
            )
        )
        for skipped in body.cases[:first]:  # their conditions were false on real values
            for inner in skipped.steps:
                self.skip(inner, f"branch '{step.id}': its condition was false")
        for case in cases:
            taken_if = f" (taken if {case.when.source})" if case.when else " (taken if none held)"
            run.note("info", f"branch '{step.id}' undetermined: exploring '{case.label}'{taken_if}")
            try:
                await self.run_steps(case.steps)
            except RunAborted as aborted:
                run.note("info", f"'{case.label}' would stop the run here: {aborted.error}")
                self.cancel_unfinished(
                    case.steps, f"not explored past {aborted.step_id or 'the stop'}"
                )

    def skip(self, step: Step, reason: str) -> None:
        for inner in steps_in((step,), extras=False):
            self.services.emit(
                StepFinished(step_id=inner.id, status=StepStatus.SKIPPED, reason=reason)
            )

    def cancel_unfinished(self, steps: Iterable[Step], reason: str) -> None:
        run = self.services
        for step in steps_in(tuple(steps), extras=False):
            state = run.state.steps.get(step.id)
            if state is None or not state.final:
                run.emit(StepFinished(step_id=step.id, status=StepStatus.CANCELLED, reason=reason))


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
