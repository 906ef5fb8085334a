"""RC404: a runbook without scenario tests has recovery paths nobody has exercised."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity


class NoScenarios(Rule):
    code = "RC404"
    name = "no-scenarios"
    severity = Severity.INFO
    summary = "the runbook has no scenario file (<runbook>.test.yaml)"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        from recoverctl.load.stdin import is_stdin
        from recoverctl.model.naming import scenario_path_for

        if is_stdin(ctx.runbook.path):
            return  # read from standard input: there is no file beside it to look for
        expected = scenario_path_for(ctx.runbook.path)
        if not expected.exists():
            yield self.finding(
                ctx,
                ctx.runbook.source_map.key_span(("name",)),
                f"runbook '{ctx.runbook.name}' has no scenario tests ({expected.name} not found)",
                hint=f"start with `recoverctl test --generate {ctx.runbook.path}` and review what it writes",
            )
