"""`wait_for`: poll a check until it succeeds (and `until` holds) or time runs out."""

from __future__ import annotations

import math

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.http import http
from recoverctl.actions.run import run
from recoverctl.model.runbook import HttpAction, WaitForAction


async def wait_for(action: WaitForAction, ctx: ActionContext) -> AttemptResult:
    started = ctx.clock.monotonic()
    deadline = started + (action.timeout if action.timeout is not None else math.inf)
    polls = 0
    while True:
        polls += 1
        if isinstance(action.check, HttpAction):
            result = await http(action.check, ctx)
        else:
            result = await run(action.check, ctx)
        error = result.error
        if (
            result.ok
            and action.until is not None
            and not ctx.holds(action.until.source, result.names())
        ):
            error = f"'{action.until.source}' does not hold yet"
        elif result.ok:
            result.data["polls"] = polls
            return result
        ctx.poll(polls, error)
        if ctx.clock.monotonic() + action.interval > deadline:
            waited = ctx.clock.monotonic() - started
            return AttemptResult(
                ok=False,
                timed_out=True,
                exit_code=result.exit_code,
                stdout=result.stdout,
                stderr=result.stderr,
                error=f"not ready after {polls} polls in {waited:.0f}s; last: {error}",
                data={"polls": polls},
            )
        await ctx.clock.sleep(action.interval)
