"""RC303: the worst case of the run does not fit its recovery time objective."""

from __future__ import annotations

import math
from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.duration import format_duration
from recoverctl.model.source import Diagnostic, Severity


class WorstCaseExceedsRto(Rule):
    code = "RC303"
    name = "worst-case-exceeds-rto"
    severity = Severity.ERROR
    summary = "the static worst case is longer than objectives.rto"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        rto = ctx.runbook.objectives.rto
        plan = ctx.plan
        if rto is None or plan.worst_case <= rto:
            return
        span = ctx.runbook.source_map.key_span(("objectives", "rto"))
        if math.isinf(plan.worst_case):
            unbounded = [
                n.id for n in plan.nodes.values() if n.step.is_action and math.isinf(n.worst_case)
            ]
            yield self.finding(
                ctx,
                span,
                f"the worst case cannot be bounded (no timeout on: {', '.join(unbounded[:5])}), so the "
                f"RTO of {format_duration(rto)} cannot be guaranteed",
                hint="give those steps timeouts, or set the run's `timeout:`",
            )
            return
        path = " + ".join(
            f"{sid} {format_duration(plan.node(sid).worst_case)}"
            for sid in plan.critical_path
            if plan.node(sid).worst_case > 0
        )
        yield self.finding(
            ctx,
            span,
            f"worst case {format_duration(plan.worst_case)} exceeds the RTO of {format_duration(rto)} by "
            f"{format_duration(plan.worst_case - rto)}; critical path: {path}",
            hint="shorten timeouts or retries on the critical path, run steps in parallel, or revisit the RTO",
        )
