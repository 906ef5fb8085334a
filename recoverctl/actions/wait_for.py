"""`wait_for`: poll a check until it succeeds (and `until` holds) or its bound runs out.

The wait applies its own bound (`wait_for.timeout`, else the step's): each
poll gets only the time that is left, so a check that hangs still ends the
wait on time, and a wait that gives up says what it last saw.
"""

from __future__ import annotations

import asyncio
import math

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.http import http
from recoverctl.actions.run import run
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import HttpAction, WaitForAction


async def wait_for(action: WaitForAction, ctx: ActionContext) -> AttemptResult:
    started = ctx.clock.monotonic()
    bound = action.timeout if action.timeout is not None else math.inf
    deadline = started + bound
    polls = in_a_row = 0
    error: str | None = None
    result = AttemptResult(ok=False)
    while True:
        polls += 1
        left = deadline - ctx.clock.monotonic()
        try:
            async with asyncio.timeout(None if math.isinf(left) else max(left, 0.0)):
                if isinstance(action.check, HttpAction):
                    result = await http(action.check, ctx)
                else:
                    result = await run(action.check, ctx)
        except TimeoutError:
            return _gave_up(
                polls,
                ctx.clock.monotonic() - started,
                f"{error}; then a poll did not answer within the {format_duration(bound)} bound",
                result,
            )
        error = result.error
        if action.fail_if is not None and ctx.holds(action.fail_if.source, result.names()):
            return _failed_fast(action, polls, ctx.clock.monotonic() - started, result)
        if (
            result.ok
            and action.until is not None
            and not ctx.holds(action.until.source, result.names())
        ):
            error = f"'{action.until.source}' does not hold yet{_saw(result)}"
            in_a_row = 0
        elif result.ok:
            in_a_row += 1
            if in_a_row >= action.consecutive:
                result.data["polls"] = polls
                return result
            error = f"held {in_a_row} of {action.consecutive} polls in a row"
        else:
            in_a_row = 0
        ctx.poll(polls, error)
        if ctx.clock.monotonic() + action.interval > deadline:
            return _gave_up(polls, ctx.clock.monotonic() - started, error, result)
        await ctx.clock.sleep(action.interval)


def _saw(result: AttemptResult) -> str:
    """What the poll last read, for the record of a wait that gives up."""
    text = (result.stdout or "").strip().splitlines()
    last = text[-1] if text else ""
    return f" (last read: {last[:120]})" if last else ""


def _failed_fast(
    action: WaitForAction, polls: int, waited: float, result: AttemptResult
) -> AttemptResult:
    assert action.fail_if is not None  # noqa: S101 - only called when it holds
    return AttemptResult(
        ok=False,
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        error=f"fail_if '{action.fail_if.source}' held at poll {polls} after "
        f"{format_duration(waited)}{_saw(result)}: stopped waiting",
        data={"polls": polls},
    )


def _gave_up(polls: int, waited: float, last: str | None, result: AttemptResult) -> AttemptResult:
    return AttemptResult(
        ok=False,
        timed_out=True,
        exit_code=result.exit_code,
        stdout=result.stdout,
        stderr=result.stderr,
        error=f"not ready after {polls} polls in {format_duration(waited)}; last: {last}",
        data={"polls": polls},
    )
