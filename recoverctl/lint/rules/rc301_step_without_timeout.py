"""RC301: a step nothing bounds in time can hang the recovery forever."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import AssertAction, LogAction, SleepAction, WaitForAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class StepWithoutTimeout(Rule):
    code = "RC301"
    name = "step-without-timeout"
    severity = Severity.WARNING
    summary = "a step has no timeout and there is no default timeout"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            body = step.body
            if not step.is_action or step.timeout is not None:
                continue
            if isinstance(body, SleepAction | AssertAction) or (
                isinstance(body, LogAction) and body.webhook is None
            ):
                continue
            if isinstance(body, WaitForAction) and body.timeout is not None:
                continue
            yield self.at_step(
                ctx,
                step,
                f"step '{step.id}' has no timeout: if it hangs, the recovery hangs with it",
                hint="add `timeout: 30s` to the step, or `defaults: {timeout: 30s}` to the runbook",
            )
