"""RC302: a retry budget that outlasts any reasonable recovery."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.duration import format_duration
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps

MAX_ATTEMPTS = 10
MAX_WAIT = 600.0


class LargeRetryBudget(Rule):
    code = "RC302"
    name = "large-retry-budget"
    severity = Severity.WARNING
    summary = "a step retries too often or waits too long between attempts"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            retry = step.retry
            if not retry.explicit:
                continue
            waits = retry.total_wait()
            if retry.attempts > MAX_ATTEMPTS or waits > MAX_WAIT:
                yield self.at_step(
                    ctx,
                    step,
                    f"step '{step.id}' may retry {retry.attempts} times and wait {format_duration(waits)} "
                    f"between attempts (more than {MAX_ATTEMPTS} attempts or {format_duration(MAX_WAIT)} of waiting)",
                    key="retry",
                    hint="cap it with `max_delay` and fewer attempts; escalate to a human instead of waiting",
                )
