"""RC402: no recovery point objective declared."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity


class NoRpo(Rule):
    code = "RC402"
    name = "no-rpo"
    severity = Severity.INFO
    summary = "the runbook declares no objectives.rpo"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        if ctx.runbook.objectives.rpo is None:
            span = (
                ctx.runbook.source_map.key_span(("objectives",))
                if ctx.runbook.objectives.rto
                else ctx.runbook.source_map.key_span(("name",))
            )
            yield self.finding(
                ctx,
                span,
                f"runbook '{ctx.runbook.name}' declares no recovery point objective",
                hint="add `rpo:` to objectives: how much data loss is acceptable decides promote vs restore",
            )
