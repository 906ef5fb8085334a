"""RC103: a condition reads a step that may have been skipped."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import conditions, may_be_skipped, reads
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps

_SAFE_FIELDS = {"status", "ok"}


class ConditionReadsSkippableStep(Rule):
    code = "RC103"
    name = "condition-reads-skippable-step"
    severity = Severity.WARNING
    summary = "a condition reads the results of a step that may have been skipped"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        skippable = may_be_skipped(ctx.runbook)
        for step in all_steps(ctx.runbook):
            for condition in conditions(step):
                refs = reads(condition.source, expression=True)
                guarded = {
                    r.parts[1]
                    for r in refs
                    if r.root == "steps" and len(r.parts) > 2 and r.parts[2] in _SAFE_FIELDS
                }
                for ref in refs:
                    if ref.root != "steps" or len(ref.parts) < 3 or ref.parts[1] not in skippable:
                        continue
                    if ref.parts[2] in _SAFE_FIELDS or ref.parts[1] in guarded:
                        continue
                    yield self.finding(
                        ctx,
                        condition.span,
                        f"'{ref}' may not exist: step '{ref.parts[1]}' can be skipped, and then it has "
                        "no outputs or exit code",
                        hint=f"test `steps.{ref.parts[1]}.ok` (or `.status`) first, e.g. "
                        f"`steps.{ref.parts[1]}.ok and {ref}`",
                    )
