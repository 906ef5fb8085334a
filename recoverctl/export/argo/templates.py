"""One template per action: containers for run/log/assert, suspend, http, and wait_for's poll loop.

A step whose completion the exit handler needs (it has a rollback, or stops
the run) has its argv wrapped to record how it ended in a global output
parameter; its retries, deadline and locks go on the template.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from recoverctl.export.argo.context import (
    Context,
    EnvValue,
    env_entry,
    int_or_str,
    status_param,
)
from recoverctl.export.common import (
    References,
    condition,
    dns_label,
    note_wait_for_retry,
    unexpressed,
    whole_seconds,
)
from recoverctl.export.expressions import EXPR, Untranslatable
from recoverctl.model.runbook import (
    ApprovalAction,
    AssertAction,
    Backoff,
    HttpAction,
    LogAction,
    RunAction,
    SleepAction,
    Step,
    Text,
    WaitForAction,
)

STATUS_FILE = "/tmp/recoverctl-status"  # noqa: S108 - inside the step's own container
TRACK = (
    '"$@"; rc=$?; if [ "$rc" -eq 0 ]; then s=succeeded; else s=failed; fi; '
    f'echo "$s" > {STATUS_FILE}; exit "$rc"'
)
"""Runs the step's argv and records how it ended, for the exit handler's rollback decisions."""


class Templates:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def action_template(self, step: Step, name: str, refs: References) -> None:
        body = step.body
        tpl: dict[str, Any] = {"name": name}
        if isinstance(body, RunAction):
            argv, values = self._argv(step, body, refs)
            tpl["container"] = self._container(step, argv, refs, extra_env=values)
        elif isinstance(body, LogAction):
            if body.webhook is not None:
                self.ctx.findings.lost(step, "a log webhook", "the message is printed, not posted")
            env = {"RC_MESSAGE": self.ctx.text(step, body.message, refs)}
            stream = " >&2" if body.level in ("error", "warning") else ""
            argv = ["sh", "-c", f"printf '%s\\n' \"$RC_MESSAGE\"{stream}"]
            tpl["container"] = self._container(step, argv, refs, extra_env=env)
        elif isinstance(body, AssertAction):
            check = " && ".join(f"({self.ctx.condition(step, e, refs)})" for e in body.that)
            message = body.message or Text("assertion failed", step.span)
            env = {
                "RC_HOLDS": "{{=" + check + "}}",
                "RC_MESSAGE": self.ctx.text(step, message, refs),
            }
            script = 'test "$RC_HOLDS" = true || { printf \'%s\\n\' "$RC_MESSAGE" >&2; exit 1; }'
            tpl["container"] = self._container(step, ["sh", "-c", script], refs, extra_env=env)
        elif isinstance(body, SleepAction):
            tpl["suspend"] = {"duration": f"{body.seconds:g}s"}
        elif isinstance(body, ApprovalAction):
            tpl["suspend"] = self._approval(step, body)
        elif isinstance(body, HttpAction):
            tpl["http"] = self._http(step, body, refs)
        unexpressed(step, self.ctx.findings, "Argo Workflows")
        if isinstance(body, WaitForAction):
            self._poll(step, name, body, refs)
            return
        self._limits(step, tpl, refs)
        self.ctx.templates.append(tpl)

    def _limits(
        self, step: Step, tpl: dict[str, Any], refs: References, *, retries: bool = True
    ) -> None:
        """Timeout, retries, locks and the recorded status of `step`, on its template."""
        if step.timeout is not None and "suspend" not in tpl:
            tpl["activeDeadlineSeconds"] = whole_seconds(
                step, self.ctx.findings, "timeout", step.timeout
            )
        retry = step.retry
        if not retries:
            note_wait_for_retry(step, self.ctx.findings)
        elif retry.attempts > 1:
            backoff: dict[str, Any] = {
                "duration": f"{retry.delay:g}s",
                "factor": int_or_str(retry.factor if retry.backoff is Backoff.EXPONENTIAL else 1),
            }
            if retry.max_delay is not None:
                backoff["cap"] = f"{retry.max_delay:g}s"
            strategy: dict[str, Any] = {
                "limit": retry.attempts - 1,
                "retryPolicy": "Always",
                "backoff": backoff,
            }
            if retry.jitter:
                self.ctx.findings.approximated(
                    step, "retry jitter", "Argo's backoff has no jitter: retries wait the delay"
                )
            if retry.when is not None:
                local = refs.with_local(exit_code="asInt(lastRetry.exitCode)")
                try:
                    strategy["expression"] = condition(retry.when.source, local, EXPR)
                except Untranslatable as exc:
                    self.ctx.findings.lost(
                        step,
                        f"retry.when '{retry.when.source}'",
                        f"{exc}; retried on every failure",
                    )
            tpl["retryStrategy"] = strategy
        if step.locks:
            tpl["synchronization"] = {
                "mutexes": [
                    {"name": f"{dns_label(self.ctx.runbook.name)}-{dns_label(lock)}"}
                    for lock in sorted(step.locks)
                ]
            }
        if step.id in self.ctx.tracked:
            tpl["outputs"] = {
                "parameters": [
                    {
                        "name": "status",
                        "globalName": status_param(step.id),
                        "valueFrom": {"path": STATUS_FILE, "default": "not-run"},
                    }
                ]
            }
            container = tpl.get("container")
            if container is not None:
                container["command"] = [
                    "sh",
                    "-c",
                    TRACK,
                    "recoverctl-step",
                    *container["command"],
                ]

    def _container(
        self,
        step: Step,
        argv: list[str],
        refs: References,
        extra_env: Mapping[str, str | EnvValue] | None = None,
    ) -> dict[str, Any]:
        env: dict[str, str | EnvValue] = {}
        for key, value in (*self.ctx.runbook.env, *step.env):
            env[key] = self.ctx.env_value(step, value, refs)
        env.update(extra_env or {})
        container: dict[str, Any] = {"image": self.ctx.image, "command": argv}
        if env:
            container["env"] = [env_entry(k, v) for k, v in env.items()]
        if step.cwd is not None:
            container["workingDir"] = self.ctx.text(step, step.cwd, refs)
        return container

    def _argv(
        self, step: Step, body: RunAction, refs: References
    ) -> tuple[list[str], dict[str, str | EnvValue]]:
        """The container's argv, and the env carrying the values of a shell command's templates."""
        if not body.shell:
            return [self.ctx.text(step, part, refs) for part in body.command], {}
        # a template in a shell command becomes a quoted variable: one word, never code
        source, values = self.ctx.shell(step, body.command[0], refs)
        return ["sh", "-c", source], values

    def _approval(self, step: Step, body: ApprovalAction) -> dict[str, Any]:
        if step.timeout is None:
            return {}
        if body.default_approve:
            return {"duration": f"{step.timeout:g}s"}
        self.ctx.findings.lost(
            step,
            "an approval timeout that rejects",
            "an Argo suspend either waits for `argo resume` or continues at its deadline",
        )
        return {}

    def _http(self, step: Step, body: HttpAction, refs: References) -> dict[str, Any]:
        http: dict[str, Any] = {"url": self.ctx.text(step, body.url, refs), "method": body.method}
        if body.headers:
            http["headers"] = [
                {"name": k, "value": self.ctx.text(step, v, refs)} for k, v in body.headers
            ]
        if body.body is not None:
            http["body"] = self.ctx.text(step, body.body, refs)
        elif body.json is not None:
            import json

            http["body"] = json.dumps(body.json)
        if body.timeout is not None:
            http["timeoutSeconds"] = whole_seconds(
                step, self.ctx.findings, "http timeout", body.timeout
            )
        if not body.verify:
            http["insecureSkipVerify"] = True
        expect = body.expect
        if expect.statuses is not None:
            http["successCondition"] = " || ".join(
                f"response.statusCode == {s}" for s in expect.statuses
            )
        else:
            low, high = expect.status_range or (200, 299)
            http["successCondition"] = (
                f"response.statusCode >= {low} && response.statusCode <= {high}"
            )
        if expect.body is not None or expect.json:
            self.ctx.findings.lost(step, "expect.body/expect.json", "only the status is checked")
        if body.follow_redirects:
            self.ctx.findings.lost(
                step, "follow_redirects", "Argo's HTTP template does not follow redirects"
            )
        return http

    def _poll(self, step: Step, name: str, body: WaitForAction, refs: References) -> None:
        """wait_for: a steps template that checks, pauses and calls itself, `remaining` times."""
        bound = body.timeout if body.timeout is not None else step.timeout
        if bound is None:
            self.ctx.findings.lost(step, "an unbounded wait_for", "polled at most 1000 times")
            polls = 1000
        else:
            polls = max(1, math.ceil(bound / body.interval))
        check = f"{name}-check"
        done = "steps['check'].status == 'Succeeded'"
        if body.until is not None:
            local = refs.with_local(
                stdout="steps['check'].outputs.result",
                exit_code="asInt(steps['check'].exitCode)",
            )
            done = f"{done} && ({self.ctx.condition(step, body.until, local)})"
        remaining = "asInt(inputs.parameters.remaining)"
        again = "{{=!(" + done + f") && {remaining} > 1" + "}}"
        give_up = "{{=!(" + done + f") && {remaining} <= 1" + "}}"
        check_tpl: dict[str, Any] = {"name": check}
        if isinstance(body.check, HttpAction):
            check_tpl["http"] = self._http(step, body.check, refs)
        else:
            argv, values = self._argv(step, body.check, refs)
            check_tpl["container"] = self._container(step, argv, refs, extra_env=values)
        self._limits(step, check_tpl, refs, retries=False)  # the poll itself is the retry loop
        self.ctx.templates += [
            {
                "name": name,
                "inputs": {"parameters": [{"name": "remaining", "value": str(polls)}]},
                "steps": [
                    [{"name": "check", "template": check, "continueOn": {"failed": True}}],
                    [{"name": "pause", "template": f"{name}-pause", "when": again}],
                    [
                        {
                            "name": "again",
                            "template": name,
                            "when": again,
                            "arguments": {
                                "parameters": [
                                    {"name": "remaining", "value": "{{=" + remaining + " - 1}}"}
                                ]
                            },
                        }
                    ],
                    [{"name": "give-up", "template": f"{name}-give-up", "when": give_up}],
                ],
            },
            check_tpl,
            {"name": f"{name}-pause", "suspend": {"duration": f"{body.interval:g}s"}},
            {
                "name": f"{name}-give-up",
                "container": {
                    "image": self.ctx.image,
                    "command": [
                        "sh",
                        "-c",
                        f"echo 'gave up waiting after {polls} checks' >&2; exit 1",
                    ],
                },
            },
        ]
