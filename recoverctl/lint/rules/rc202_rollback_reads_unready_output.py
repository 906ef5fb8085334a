"""RC202: a rollback reads a step that may not have run when the rollback runs."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import may_be_skipped, reads, texts
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps
from recoverctl.validate.visibility import Visibility


class RollbackReadsUnreadyOutput(Rule):
    code = "RC202"
    name = "rollback-reads-unready-output"
    severity = Severity.WARNING
    summary = "a rollback reads outputs of a step that may not have run"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        skippable = may_be_skipped(ctx.runbook)
        visibility = Visibility(ctx.runbook)
        for step in all_steps(ctx.runbook):
            if step.rollback is None:
                continue
            for _, text in texts(step.rollback):
                for ref in reads(text.source):
                    if (
                        ref.root != "steps"
                        or len(ref.parts) < 3
                        or ref.parts[2] in ("status", "ok")
                    ):
                        continue
                    other = ref.parts[1]
                    if other == step.id:
                        continue
                    if other in skippable or visibility.problem(other, step.id) is not None:
                        yield self.finding(
                            ctx,
                            text.span,
                            f"the rollback of '{step.id}' reads '{ref}', but step '{other}' may not have run "
                            "when the rollback runs",
                            hint=f"undo with what '{step.id}' itself produced, or test `steps.{other}.ok` first",
                        )
