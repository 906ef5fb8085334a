"""RC102: a branch with no `else` has no plan for the unknown."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import Branch
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class BranchWithoutElse(Rule):
    code = "RC102"
    name = "branch-without-else"
    severity = Severity.WARNING
    summary = "a branch has no else case"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            if isinstance(step.body, Branch) and not step.body.has_else:
                yield self.at_step(
                    ctx,
                    step,
                    f"branch '{step.id}' has no `else`: when no case matches, nothing runs",
                    key="branch",
                    hint="add `- else: [...]` that pages a human or takes the safe path",
                )
