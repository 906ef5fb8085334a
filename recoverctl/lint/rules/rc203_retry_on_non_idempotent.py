"""RC203: retries on a step that must not run twice."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class RetryOnNonIdempotent(Rule):
    code = "RC203"
    name = "retry-on-non-idempotent"
    severity = Severity.WARNING
    summary = "a step marked idempotent: false is retried on any failure"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            if (
                step.idempotent is False
                and step.retry.explicit
                and step.retry.attempts > 1
                and step.retry.when is None
            ):
                yield self.at_step(
                    ctx,
                    step,
                    f"step '{step.id}' is not idempotent but retries on any failure ({step.retry.attempts} "
                    "attempts): a retry after a half-done attempt may do the work twice",
                    key="retry",
                    hint="limit retries to failures that did nothing, e.g. `when: exit_code in [75]`, or add `skip_if`",
                )
