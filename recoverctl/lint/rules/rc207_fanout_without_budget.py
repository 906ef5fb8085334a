"""RC207: a fan-out over many items with no failure budget written down."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps


class FanoutWithoutBudget(Rule):
    code = "RC207"
    name = "fanout-without-budget"
    severity = Severity.INFO
    summary = "a fan-out does not say how many failed items it tolerates"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in body_steps(ctx.runbook):
            fan = step.foreach
            if fan is None or fan.max_failures is not None:
                continue
            if fan.max_failure_percent is not None:
                continue
            where = "strategy" if step.on is not None else "foreach"
            yield self.at_step(
                ctx,
                step,
                f"fan-out '{step.id}' has no failure budget: the first item that fails stops "
                "it (no new item starts) and fails the step",
                key="on" if step.on is not None else "foreach",
                hint=f"say what the recovery tolerates under `{where}:`: max_failures: 0 to "
                "stop at the first, or max_failure_percent: 10 for a large fleet",
            )
