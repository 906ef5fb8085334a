"""RC108: a decision an offline dry run cannot make: it reads a step that is not read_only."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import conditions, reads
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class DecisionUndeterminedOffline(Rule):
    code = "RC108"
    name = "decision-undetermined-offline"
    severity = Severity.INFO
    summary = "a condition reads a step that is not read_only: a dry run shows it undetermined"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        steps = {step.id: step for step in all_steps(ctx.runbook)}
        for step in all_steps(ctx.runbook):
            for condition in conditions(step):
                simulated = []
                for ref in reads(condition.source, expression=True):
                    named = ref.parts[1] if ref.root == "steps" and len(ref.parts) > 1 else ""
                    read = steps.get(named)
                    simulates = read is not None and read.is_action and not read.read_only
                    if simulates and named not in simulated:
                        simulated.append(named)
                if simulated:
                    names = ", ".join(f"'{s}'" for s in simulated)
                    yield self.finding(
                        ctx,
                        condition.span,
                        f"a dry run cannot decide '{condition.source}': it reads {names}, which "
                        "a dry run simulates (not read_only); it will show every case instead",
                        hint="if those steps only read (a health check, a query), mark them "
                        "`read_only: true` and dry-run with --probe",
                    )
