"""RC403: in a long runbook, a step with only an id says too little."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps

LONG = 10


class UnnamedStepInLongRunbook(Rule):
    code = "RC403"
    name = "unnamed-step-in-long-runbook"
    severity = Severity.INFO
    summary = "a step in a long runbook has no name or description"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        steps = list(body_steps(ctx.runbook))
        if len(steps) <= LONG:
            return
        for step in steps:
            if step.name is None and step.description is None:
                yield self.at_step(
                    ctx,
                    step,
                    f"step '{step.id}' has no name or description",
                    hint="a `name:` is what the live view shows; say what the step does",
                )
