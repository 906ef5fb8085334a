"""RC206: a destructive fan-out that changes every item at once."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import Step
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps, steps_in


class FanoutAllAtOnce(Rule):
    code = "RC206"
    name = "destructive-fanout-all-at-once"
    severity = Severity.WARNING
    summary = "a destructive fan-out has no batch and no canary: every host changes at once"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in body_steps(ctx.runbook):
            fan = step.foreach
            if fan is None or not _destructive(step) or fan.batch or fan.canary:
                continue
            if fan.max_parallel == 1:
                continue  # one at a time is rolling already
            where = "strategy" if step.on is not None else "foreach"
            yield self.at_step(
                ctx,
                step,
                f"fan-out '{step.id}' is destructive and changes all its items at once; "
                "expected a canary or rolling batches, so one bad change stops before it is "
                "everywhere",
                key="on" if step.on is not None else "foreach",
                hint=f"add to `{where}:` canary: 1 and batch: N (or max_parallel: 1)",
            )


def _destructive(step: Step) -> bool:
    return any(inner.destructive for inner in steps_in((step,), extras=False))
