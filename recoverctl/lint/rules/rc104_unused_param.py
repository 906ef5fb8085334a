"""RC104: a declared param nothing reads."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import conditions, fanout_texts, reads, texts
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import AssertAction, CallAction, WaitForAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class UnusedParam(Rule):
    code = "RC104"
    name = "unused-param"
    severity = Severity.WARNING
    summary = "a param is declared but never used"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        used: set[str] = {ref.param for ref in ctx.runbook.duration_params}
        sources: list[tuple[str, bool]] = [(text.source, False) for _, text in ctx.runbook.env]
        sources += [(text.source, False) for text in fanout_texts(ctx.runbook)]
        for step in all_steps(ctx.runbook):
            sources += [(text.source, False) for _, text in texts(step)]
            sources += [(c.source, True) for c in conditions(step)]
            if step.retry.when is not None:
                sources.append((step.retry.when.source, True))
            if step.cwd is not None:
                sources.append((step.cwd.source, False))
            if isinstance(step.body, AssertAction):
                sources += [(e.source, True) for e in step.body.that]
            if isinstance(step.body, WaitForAction):
                sources += [(e.source, True) for e in (step.body.until, step.body.fail_if) if e]
            if isinstance(step.body, CallAction):
                sources += [(t.source, False) for _, t in step.body.params]
        for source, expression in sources:
            for ref in reads(source, expression=expression):
                if ref.root == "params":
                    if len(ref.parts) == 1:
                        return  # the whole params mapping is read (e.g. iterated)
                    used.add(ref.parts[1])
        for param in ctx.runbook.params:
            if param.name not in used and param.env is None:
                yield self.finding(
                    ctx,
                    param.span,
                    f"param '{param.name}' is declared but never used",
                    hint="remove it, or use it as {{ params." + param.name + " }}",
                )
