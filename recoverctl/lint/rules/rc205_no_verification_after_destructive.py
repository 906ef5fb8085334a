"""RC205: nothing checks the system after the last destructive step."""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import AssertAction, HttpAction, Step, WaitForAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps

_VERIFY = re.compile(r"verif|check|health|probe|assert|smoke|confirm|test", re.I)


class NoVerificationAfterDestructive(Rule):
    code = "RC205"
    name = "no-verification-after-destructive"
    severity = Severity.WARNING
    summary = "no verification step follows the last destructive step"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        steps = [s for s in body_steps(ctx.runbook) if s.is_action]
        last = max((i for i, s in enumerate(steps) if s.destructive), default=None)
        if last is None:
            return
        if not any(_verifies(s) for s in steps[last + 1 :]):
            step = steps[last]
            yield self.at_step(
                ctx,
                step,
                f"nothing verifies the system after destructive step '{step.id}'",
                hint="add a step after it that checks the result: `wait_for`, `http` with `expect`, or `assert`",
            )


def _verifies(step: Step) -> bool:
    if isinstance(step.body, AssertAction | WaitForAction | HttpAction):
        return True
    return bool(_VERIFY.search(step.id) or _VERIFY.search(step.name or ""))
