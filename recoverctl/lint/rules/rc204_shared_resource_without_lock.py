"""RC204: parallel steps touch a declared resource, not all of them under its lock."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.facts import texts
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import Group
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps, steps_in


class SharedResourceWithoutLock(Rule):
    code = "RC204"
    name = "shared-resource-without-lock"
    severity = Severity.WARNING
    summary = "parallel steps use a locked resource without holding its lock"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        resources = {name for step in all_steps(ctx.runbook) for name in step.locks}
        if not resources:
            return
        for group in all_steps(ctx.runbook):
            if not (isinstance(group.body, Group) and group.body.parallel):
                continue
            for resource in sorted(resources):
                users = [
                    s
                    for member in group.body.steps
                    for s in steps_in((member,))
                    if any(resource in t.source for _, t in texts(s)) or resource in s.locks
                ]
                holders = [s for s in users if resource in s.locks]
                if len(users) > 1 and holders:
                    for step in users:
                        if resource not in step.locks:
                            yield self.at_step(
                                ctx,
                                step,
                                f"step '{step.id}' uses '{resource}' in parallel with "
                                f"{', '.join(repr(h.id) for h in holders)}, which lock it, but does not take the lock",
                                hint=f"add `locks: [{resource}]` so they never run at the same time",
                            )
