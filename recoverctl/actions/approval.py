"""`approval`: a human gate. The step's timeout bounds the wait; then the default is taken."""

from __future__ import annotations

import asyncio

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import ApprovalAction


async def approval(action: ApprovalAction, ctx: ActionContext) -> AttemptResult:
    prompt = ctx.render(action.prompt)
    timeout = ctx.step.timeout
    try:
        async with asyncio.timeout(timeout):
            approved, who = await ctx.approve(prompt, action.default_approve)
    except TimeoutError:
        approved = action.default_approve
        who = f"no answer within {format_duration(timeout or 0)}: default ({'approve' if approved else 'deny'})"
    ctx.answered(prompt, approved, who)
    data = {"approved": approved, "approved_by": who}
    if approved:
        return AttemptResult(ok=True, stdout="approved", data=data)
    return AttemptResult(ok=False, error=f"not approved ({who})", data=data)
