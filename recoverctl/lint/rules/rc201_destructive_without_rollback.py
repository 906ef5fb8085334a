"""RC201: a destructive step with no way back and no human gate before it."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import ApprovalAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import body_steps


class DestructiveWithoutRollback(Rule):
    code = "RC201"
    name = "destructive-without-rollback"
    severity = Severity.ERROR
    summary = "a destructive step has neither a rollback nor an approval before it"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        gated = False
        for step in body_steps(ctx.runbook):
            if isinstance(step.body, ApprovalAction):
                gated = True
            if step.destructive and step.rollback is None and not gated:
                yield self.at_step(
                    ctx,
                    step,
                    f"step '{step.id}' is destructive but has no rollback and no approval before it",
                    key="destructive",
                    hint="add `rollback:` to undo it, or an `approval:` step before it so a human decides",
                )
