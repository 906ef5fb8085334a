"""The small kinds: `sleep`, `log` and `assert`."""

from __future__ import annotations

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.expr.render import RenderError, evaluate
from recoverctl.model.runbook import AssertAction, LogAction, SleepAction


async def sleep(action: SleepAction, ctx: ActionContext) -> AttemptResult:
    await ctx.clock.sleep(action.seconds)
    return AttemptResult(ok=True)


async def log(action: LogAction, ctx: ActionContext) -> AttemptResult:
    message = ctx.render(action.message)
    ctx.log(action.level, message)
    if action.webhook is not None:
        from recoverctl.actions.http import post_webhook

        error = await post_webhook(action.webhook, message, action.level, ctx)
        if error is not None:
            if action.webhook.required:
                return AttemptResult(ok=False, stdout=message, error=error)
            ctx.log("warning", f"webhook failed (not required, run goes on): {error}")
    return AttemptResult(ok=True, stdout=message)


async def assert_(action: AssertAction, ctx: ActionContext) -> AttemptResult:
    context = ctx.context()
    for expression in action.that:
        try:
            holds = bool(evaluate(expression.source, context))
        except RenderError as exc:
            return AttemptResult(ok=False, error=f"assert '{expression.source}': {exc}")
        if not holds:
            detail = (
                ctx.render(action.message) if action.message else f"'{expression.source}' is false"
            )
            return AttemptResult(ok=False, error=f"assertion failed: {detail}")
    return AttemptResult(ok=True)
