"""RC503: more paths or deeper nesting than a person can hold in mind."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import Branch, Step
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.status import NodeRole


class TooComplex(Rule):
    code = "RC503"
    name = "too-complex"
    severity = Severity.WARNING
    summary = "too many distinct paths, or nesting too deep"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        paths = _paths(ctx.runbook.steps)
        if paths > ctx.max_paths:
            yield self.finding(
                ctx,
                ctx.runbook.source_map.key_span(("steps",)),
                f"the runbook has {paths} distinct paths (more than {ctx.max_paths}): no one can test them all",
                hint="split it into sub-runbooks with `call:`, or simplify the branches",
            )
        for node in ctx.plan.nodes.values():
            if node.depth >= ctx.max_depth and node.role is NodeRole.MAIN:
                yield self.at_step(
                    ctx,
                    node.step,
                    f"step '{node.id}' is nested {node.depth + 1} levels deep "
                    f"(more than {ctx.max_depth})",
                    hint="move the inner part to a sub-runbook with `call:`",
                )
                return


def _paths(steps: tuple[Step, ...]) -> int:
    total = 1
    for step in steps:
        if isinstance(step.body, Branch):
            cases = sum(_paths(case.steps) for case in step.body.cases) + (
                0 if step.body.has_else else 1
            )
            total *= max(cases, 1)
        elif step.children():
            total *= _paths(step.children())
    return total
