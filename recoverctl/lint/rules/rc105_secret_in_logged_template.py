"""RC105: a secret param is put into text meant to be read by people."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import reads
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import ApprovalAction, AssertAction, LogAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps


class SecretInLoggedTemplate(Rule):
    code = "RC105"
    name = "secret-in-logged-template"
    severity = Severity.ERROR
    summary = "a secret is used in a log message, approval prompt or webhook"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        secrets = {p.name for p in ctx.runbook.params if p.secret}
        if not secrets:
            return
        for step in all_steps(ctx.runbook):
            body = step.body
            places = []
            if isinstance(body, LogAction):
                places.append(("log message", body.message))
                if body.webhook is not None:
                    places.append(("webhook URL", body.webhook.url))
            elif isinstance(body, ApprovalAction):
                places.append(("approval prompt", body.prompt))
            elif isinstance(body, AssertAction) and body.message is not None:
                places.append(("assert message", body.message))
            for where, text in places:
                leaked = {
                    r.parts[1]
                    for r in reads(text.source)
                    if r.root == "params" and len(r.parts) > 1
                } & secrets
                for name in sorted(leaked):
                    yield self.finding(
                        ctx,
                        text.span,
                        f"secret param '{name}' is put into a {where} of step '{step.id}', which people and "
                        "notification systems read",
                        hint="recoverctl masks it as *** in its own output, but say what happened without the value",
                    )
