"""RC401: nobody knows what this runbook is for or whom to ask."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity


class MissingDescriptionOrOwner(Rule):
    code = "RC401"
    name = "missing-description-or-owner"
    severity = Severity.INFO
    summary = "the runbook has no description or no owner"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        missing = [key for key in ("description", "owner") if getattr(ctx.runbook, key) is None]
        if missing:
            span = ctx.runbook.source_map.key_span(("name",))
            yield self.finding(
                ctx,
                span,
                f"runbook '{ctx.runbook.name}' has no {' and no '.join(missing)}",
                hint="say what it recovers and which team owns it: the on-call reading it may not know",
            )
