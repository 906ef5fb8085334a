"""RC106: a template where recoverctl's shell quoting cannot protect it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoverctl.expr.detect import is_template
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import RunAction, Step, WaitForAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps

SHELLS = frozenset(
    {"sh", "bash", "dash", "zsh", "ksh", "ash", "/bin/sh", "/bin/bash", "/usr/bin/env"}
)
HEREDOC = re.compile(r"<<-?\s*['\"]?\w+")


class TemplateOutsideShellQuoting(Rule):
    code = "RC106"
    name = "template-outside-shell-quoting"
    severity = Severity.WARNING
    summary = "a template sits in a heredoc or in the script of an argv `sh -c`"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            action = _run_action(step)
            if action is None:
                continue
            if action.shell:
                text = action.command[0]
                heredoc = HEREDOC.search(text.source)
                if heredoc and is_template(text.source[heredoc.end() :]):
                    yield self.finding(
                        ctx,
                        text.span,
                        f"step '{step.id}' renders a template inside a heredoc, where a value's "
                        "quotes are text: a value holding $(…) or ` runs as a command",
                        hint='pass the value in env: and write "$NAME" in the heredoc',
                    )
                continue
            words = [part.source for part in action.command]
            if words and words[0].rsplit("/", 1)[-1] in {s.rsplit("/", 1)[-1] for s in SHELLS}:
                for part in action.command[1:]:
                    if is_template(part.source) and "-c" in words[: words.index(part.source)]:
                        yield self.finding(
                            ctx,
                            part.span,
                            f"step '{step.id}' puts a template into the script of "
                            f"`{words[0]} -c`: argv values are not shell-quoted, so the value "
                            "is shell code",
                            hint='write the command as a string (run: "..."), whose values '
                            "recoverctl quotes, or pass the value in env:",
                        )
                        break


def _run_action(step: Step) -> RunAction | None:
    body = step.body
    if isinstance(body, RunAction):
        return body
    if isinstance(body, WaitForAction) and isinstance(body.check, RunAction):
        return body.check
    return None
