"""RC101: a branch case after one that always matches can never run."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes

from recoverctl.expr.references import ExpressionSyntaxError, parse_expression
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import Branch
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class UnreachableBranchCase(Rule):
    code = "RC101"
    name = "unreachable-branch-case"
    severity = Severity.WARNING
    summary = "a branch case comes after a case that always matches"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            if not isinstance(step.body, Branch):
                continue
            for index, case in enumerate(step.body.cases[:-1]):
                if case.when is not None and _always_true(case.when.source):
                    later = step.body.cases[index + 1]
                    yield self.finding(
                        ctx,
                        later.span,
                        f"this case of branch '{step.id}' can never run: the case before it "
                        f"('{case.when.source}') always matches",
                        hint="remove the always-true case, or make it the `else`",
                    )
                    break


def _always_true(source: str) -> bool:
    try:
        expr = parse_expression(source)
    except ExpressionSyntaxError:
        return False
    return isinstance(expr, nodes.Const) and bool(expr.value)
