"""RC304: no recovery time objective to check the runbook against."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity, Span


class NoRto(Rule):
    code = "RC304"
    name = "no-rto"
    severity = Severity.WARNING
    summary = "the runbook declares no objectives.rto"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        if ctx.runbook.objectives.rto is None:
            span = (
                ctx.runbook.source_map.key_span(("name",))
                if ctx.runbook.source_map.keys
                else Span.point(1, 1)
            )
            yield self.finding(
                ctx,
                span,
                f"runbook '{ctx.runbook.name}' declares no recovery time objective",
                hint="add `objectives: {rto: 5m}` so lint and runs can check the worst case against it",
            )
