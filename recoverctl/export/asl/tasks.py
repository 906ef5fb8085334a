"""Task states on the command runner: the payload it receives, retries, and the catch.

The runner's contract (input and output) is in docs/export.md; a step's
success is recorded from the runner's result, a failure is caught and sent
where the step's failure policy says (the caller decides where: `target`).
"""

from __future__ import annotations

import json
from typing import Any

from recoverctl.export.asl.builder import Builder
from recoverctl.export.asl.names import Scope, var
from recoverctl.export.common import (
    join_parts,
    whole_seconds,
)
from recoverctl.export.expressions import JSONATA, Expr, Untranslatable, translate_template
from recoverctl.export.options import LAMBDA_INVOKE
from recoverctl.export.runner import RUN_TIMEOUT, group_timeout
from recoverctl.export.secrets import Secret
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import (
    Backoff,
    HttpAction,
    RunAction,
    Step,
    WaitForAction,
)


def group_deadline(group_id: str) -> str:
    """The variable holding a group's deadline (epoch ms), set as the group starts."""
    return f"gd_{var(group_id)}"


def idempotency_key(full_id: str) -> str:
    """recoverctl's key (engine/runner.py `idempotency_key_for`): the first 32 hex digits of
    the SHA-256 of `<run id>/<step's full id>`; `full_id` is a JSONata string expression."""
    return (
        "{% $substring($hash($states.context.Execution.Name & '/' & "
        + full_id
        + ', "SHA-256"), 0, 32) %}'
    )


class Tasks:
    def __init__(self, builder: Builder) -> None:
        self.b = builder

    def runner_task(self, step: Step, scope: Scope) -> dict[str, Any]:
        payload = self.payload(step, scope)
        resource = self.b.options.resource.replace("{kind}", step.kind).replace("{step}", step.id)
        arguments: dict[str, Any] = payload
        if resource == LAMBDA_INVOKE:
            arguments = {"FunctionName": self.b.options.function, "Payload": payload}
        task: dict[str, Any] = {"Type": "Task", "Resource": resource, "Arguments": arguments}
        if step.timeout is not None:
            task["TimeoutSeconds"] = whole_seconds(step, self.b.findings, "timeout", step.timeout)
        return task

    def runner_result(self) -> str:
        return (
            "$states.result.Payload"
            if self.b.options.resource == LAMBDA_INVOKE
            else "$states.result"
        )

    def payload(self, step: Step, scope: Scope) -> dict[str, Any]:
        """What the command runner receives: the action with its templates evaluated."""
        body = step.body
        env, secrets = self.environment(step, scope)
        payload: dict[str, Any] = {
            "step": step.id,
            "kind": step.kind,
            # what recoverctl gives a command as RECOVERCTL_RUN_ID, RECOVERCTL_ATTEMPT and
            # RECOVERCTL_IDEMPOTENCY_KEY: the execution is the run, Retry counts the attempts
            "run_id": "{% $states.context.Execution.Name %}",
            "attempt": "{% $states.context.State.RetryCount + 1 %}",
            "idempotency_key": idempotency_key(json.dumps(step.id)),
        }
        if isinstance(body, WaitForAction):
            body = body.check
            payload["kind"] = body.kind
        if isinstance(body, RunAction):
            payload["shell"] = body.shell
            if body.shell:
                source, values, read = self.b.shell(step, body.command[0], scope)
                payload["command"] = [source]
                env.update(values)
                secrets.update(read)
            else:
                payload["command"] = [self.b.value(step, part, scope) for part in body.command]
        elif isinstance(body, HttpAction):
            payload.update(self.http(step, body, scope))
        if env:
            payload["env"] = env
        if secrets:  # read by the runner from Secrets Manager: never in the history
            payload["secrets"] = secrets
        if step.cwd is not None:
            payload["cwd"] = self.b.value(step, step.cwd, scope)
        if step.timeout is not None:
            payload["timeout"] = step.timeout
        if self.b.deadline and self.b.runbook.timeout is not None:
            # the run's timeout: the runner starts nothing after it and stops what runs at it
            payload["deadline"] = "{% $deadline %}"
            payload["run_timeout"] = format_duration(self.b.runbook.timeout)
        if self.b.timed_groups:  # the same for each group's timeout around the step
            payload["group_deadlines"] = [
                {
                    "group": group.id,
                    "at": "{% $" + group_deadline(group.id) + " %}",
                    "timeout": format_duration(group.timeout or 0),
                }
                for group in self.b.timed_groups
            ]
        return payload

    def environment(self, step: Step, scope: Scope) -> tuple[dict[str, str], dict[str, str]]:
        """The `env:` values, and the variables the runner reads from Secrets Manager."""
        env: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for key, text in (*self.b.runbook.env, *step.env):
            value = self.b.env_value(step, text, scope)
            if isinstance(value, Secret):
                secrets[key] = value.ref
            else:
                env[key] = value
        return env, secrets

    def deadline_catches(self, step: Step, scope: Scope) -> list[dict[str, Any]]:
        """A deadline reached in this step — the run's: straight to the compensations; a
        group's: to that group's failure handling — with no retry and no rescue of the
        step, whatever its on_failure says (as a timeout cancels what runs under it)."""
        targets: list[tuple[str, str]] = []
        if self.b.deadline and scope.timed_out is not None:
            targets.append((RUN_TIMEOUT, scope.timed_out))
        for group in self.b.timed_groups:
            if group.id in scope.group_exits:
                targets.append((group_timeout(group.id), scope.group_exits[group.id]))
        record = '{"status": "cancelled", "ok": false, "error": $states.errorOutput.Cause}'
        failure = '{"step": ' + json.dumps(step.id) + ', "error": $states.errorOutput.Cause}'
        return [
            {
                "ErrorEquals": [error],
                "Assign": {
                    f"s_{var(step.id)}": "{% " + record + " %}",
                    scope.failure: "{% " + failure + " %}",
                },
                "Next": target,
            }
            for error, target in targets
        ]

    def deadline_errors(self) -> list[str]:
        """The errors of the deadlines over the steps being built: never retried."""
        errors = [RUN_TIMEOUT] if self.b.deadline else []
        return errors + [group_timeout(g.id) for g in self.b.timed_groups]

    def http(self, step: Step, body: HttpAction, scope: Scope) -> dict[str, Any]:
        expect = body.expect
        http: dict[str, Any] = {
            "method": body.method,
            "url": self.b.value(step, body.url, scope),
            "headers": {k: self.b.value(step, v, scope) for k, v in body.headers},
            "verify": body.verify,
            "follow_redirects": body.follow_redirects,
            "expect": {
                "status": list(expect.statuses)
                if expect.statuses is not None
                else list(expect.status_range or (200, 299)),
                "status_is_range": expect.statuses is None,
            },
        }
        if body.body is not None:
            http["body"] = self.b.value(step, body.body, scope)
        elif body.json is not None:
            http["json"] = body.json
        if body.timeout is not None:
            http["request_timeout"] = body.timeout
        if expect.body is not None:
            http["expect"]["body"] = expect.body
        if expect.json:
            http["expect"]["json"] = dict(expect.json)
        return http

    def success_record(self, step: Step, result: str, scope: Scope) -> str:
        outputs = []
        local = scope.refs.with_local(stdout=f"{result}.stdout", exit_code=f"{result}.exit_code")
        for output in step.outputs:
            try:
                parts = translate_template(output.template.source, JSONATA, local)
            except Untranslatable as exc:
                self.b.findings.lost(step, f"output '{output.name}'", str(exc))
                continue
            if len(parts) == 1 and isinstance(parts[0], Expr):
                value = parts[0].code  # a lone expression keeps its type, as in a run
            else:
                value = join_parts(parts, JSONATA)
            outputs.append(f"{json.dumps(output.name)}: {value}")
        return (
            '{"status": "succeeded", "ok": true, '
            f'"exit_code": {result}.exit_code, "stdout": {result}.stdout, '
            '"outputs": {' + ", ".join(outputs) + "}}"
        )

    def catches(self, step: Step, target: str, scope: Scope) -> list[dict[str, Any]]:
        """The deadlines' errors first, then every other failure to `target`."""
        return [*self.deadline_catches(step, scope), self.catch(step, target, scope)]

    def catch(self, step: Step, target: str, scope: Scope) -> dict[str, Any]:
        status = '$states.errorOutput.Error = "States.Timeout" ? "timed_out" : "failed"'
        record = '{"status": ' + status + ', "ok": false, "error": $states.errorOutput.Cause}'
        failure = '{"step": ' + json.dumps(step.id) + ', "error": $states.errorOutput.Cause}'
        return {
            "ErrorEquals": ["States.ALL"],
            "Assign": {
                f"s_{var(step.id)}": "{% " + record + " %}",
                scope.failure: "{% " + failure + " %}",
            },
            "Next": target,
        }

    def retry(self, step: Step) -> list[dict[str, Any]]:
        retry = step.retry
        if retry.attempts <= 1:
            return []
        errors = ["States.ALL"]
        if retry.when is not None:
            codes = exit_codes(retry.when.source)
            if codes is None:
                self.b.findings.lost(
                    step,
                    f"retry.when '{retry.when.source}'",
                    "Step Functions retries by error name; only `exit_code == N` conditions map "
                    "to the runner's Recoverctl.ExitCode.N errors; retried on every failure",
                )
            else:
                errors = [f"Recoverctl.ExitCode.{code}" for code in codes]
        rule: dict[str, Any] = {
            "ErrorEquals": errors,
            "IntervalSeconds": whole_seconds(step, self.b.findings, "retry delay", retry.delay),
            "MaxAttempts": retry.attempts - 1,
            "BackoffRate": float(retry.factor) if retry.backoff is Backoff.EXPONENTIAL else 1.0,
        }
        if retry.max_delay is not None:
            rule["MaxDelaySeconds"] = whole_seconds(
                step, self.b.findings, "retry max_delay", retry.max_delay
            )
        final = self.deadline_errors()
        never = {"ErrorEquals": final, "MaxAttempts": 0}  # a deadline is final
        if retry.jitter:
            rule["JitterStrategy"] = "FULL"
            self.b.findings.approximated(
                step,
                "retry jitter",
                "Step Functions' FULL jitter waits 0-100% of the delay; recoverctl waits 50-100%",
            )
        return [never, rule] if final else [rule]


def exit_codes(source: str) -> list[int] | None:
    """`exit_code == 75 or exit_code == 111` → [75, 111]; anything else → None."""
    from jinja2 import nodes

    from recoverctl.expr.references import parse_expression

    def codes(node: nodes.Node) -> list[int] | None:
        if isinstance(node, nodes.Or):
            left, right = codes(node.left), codes(node.right)
            return None if left is None or right is None else left + right
        if (
            isinstance(node, nodes.Compare)
            and isinstance(node.expr, nodes.Name)
            and node.expr.name == "exit_code"
            and len(node.ops) == 1
            and node.ops[0].op == "eq"
            and isinstance(node.ops[0].expr, nodes.Const)
            and isinstance(node.ops[0].expr.value, int)
        ):
            return [node.ops[0].expr.value]
        return None

    return codes(parse_expression(source))
