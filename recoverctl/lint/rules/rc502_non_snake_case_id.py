"""RC502: ids that are not snake_case."""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class NonSnakeCaseId(Rule):
    code = "RC502"
    name = "non-snake-case-id"
    severity = Severity.INFO
    summary = "a step id is not snake_case"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in body_steps(ctx.runbook):
            if not SNAKE.match(step.id):
                suggestion = re.sub(r"(?<!^)(?=[A-Z])", "_", step.id).lower().strip("_")
                yield self.at_step(
                    ctx,
                    step,
                    f"step id '{step.id}' is not snake_case",
                    hint=f"ids are typed in expressions and on the command line: '{suggestion}'",
                )
