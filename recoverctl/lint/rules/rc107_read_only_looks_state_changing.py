"""RC107: a step marked read_only whose command looks like it changes something."""

from __future__ import annotations

import re
from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.runbook import HttpAction, RunAction
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.model.walk import all_steps

CHANGING = re.compile(
    r"(?ix)"
    r"(?:^|[\s;&|(`$])(?:rm|rmdir|mv|kill|pkill|killall|reboot|shutdown|halt|truncate|dd|mkfs\S*"
    r"|chmod|chown|useradd|userdel|iptables|pg_promote|pg_ctl|promote|failover|drain|cordon"
    r"|flushall|flushdb|del)(?=$|[\s;&|)])"
    r"|\bsystemctl\s+(?:start|stop|restart|reload|kill|enable|disable|mask)\b"
    r"|\bservice\s+\S+\s+(?:start|stop|restart|reload)\b"
    r"|\bkubectl\s+(?:delete|apply|patch|scale|drain|cordon|rollout\s+restart|replace|edit)\b"
    r"|\b(?:DROP|DELETE\s+FROM|TRUNCATE|UPDATE\s+\S+\s+SET|INSERT\s+INTO|ALTER|CREATE)\b"
    r"|\bdocker\s+(?:rm|stop|kill|restart)\b"
    r"|(?<![\d&>])>{1,2}\s*(?!&|/dev/null)[^\s]"
)
"""Words that change state — a heuristic, so a warning: the runbook's author knows better."""

WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ReadOnlyLooksStateChanging(Rule):
    code = "RC107"
    name = "read-only-looks-state-changing"
    severity = Severity.WARNING
    summary = "a step marked read_only runs a command that looks like it changes state"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for step in all_steps(ctx.runbook):
            if not step.read_only:
                continue
            body = step.body
            if isinstance(body, RunAction):
                text = " ".join(part.source for part in body.command)
                found = CHANGING.search(text)
                if found:
                    yield self.at_step(
                        ctx,
                        step,
                        f"step '{step.id}' is marked read_only, but its command looks like it "
                        f"changes state ('{found.group(0).strip()}'): `run --dry-run --probe` "
                        "runs read_only steps for real",
                        hint="remove `read_only: true`, or split the read from the change",
                    )
            elif isinstance(body, HttpAction) and body.method.upper() in WRITING_METHODS:
                yield self.at_step(
                    ctx,
                    step,
                    f"step '{step.id}' is marked read_only, but it sends an HTTP {body.method.upper()}: "
                    "`run --dry-run --probe` runs read_only steps for real",
                    hint="a read is a GET or a HEAD; remove `read_only: true` otherwise",
                )
