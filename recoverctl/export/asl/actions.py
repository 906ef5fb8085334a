"""One state (or a few) per action kind: run/http tasks, sleep, log, assert, approval, wait_for."""

from __future__ import annotations

import json
import math
from typing import Any

from recoverctl.export.asl.builder import Builder
from recoverctl.export.asl.names import FailTo, Scope, state_name, var
from recoverctl.export.asl.tasks import Tasks
from recoverctl.export.common import (
    condition,
    note_wait_for_retry,
    unexpressed,
    whole_seconds,
)
from recoverctl.export.expressions import JSONATA, Untranslatable
from recoverctl.export.options import LAMBDA_INVOKE
from recoverctl.model.runbook import (
    ApprovalAction,
    AssertAction,
    HttpAction,
    LogAction,
    RunAction,
    SleepAction,
    Step,
    Text,
    WaitForAction,
)


class Actions:
    def __init__(self, builder: Builder, tasks: Tasks) -> None:
        self.b, self.tasks = builder, tasks

    def action(self, step: Step, nxt: str, fail_to: FailTo, scope: Scope) -> str:
        body = step.body
        unexpressed(step, self.b.findings, "AWS Step Functions")
        if isinstance(body, RunAction | HttpAction):
            return self._task(step, nxt, fail_to, scope)
        if isinstance(body, WaitForAction):
            return self._wait_for(step, body, nxt, fail_to, scope)
        if isinstance(body, SleepAction):
            seconds = whole_seconds(step, self.b.findings, "sleep", body.seconds)
            state = {
                "Type": "Wait",
                "Seconds": seconds,
                "Assign": self.b.records(step, "succeeded"),
                "Next": nxt,
            }
            return self.b.add(scope.states, step.id, state)
        if isinstance(body, LogAction):
            if body.webhook is not None:
                self.b.findings.lost(step, "a log webhook", "the message is recorded, not posted")
            message = self.b.text(step, body.message, scope)
            output = (
                '{"log": {"level": ' + json.dumps(body.level) + ', "message": ' + message + "}}"
            )
            state = {
                "Type": "Pass",
                "Output": "{% " + output + " %}",
                "Assign": self.b.records(step, "succeeded"),
                "Next": nxt,
            }
            return self.b.add(scope.states, step.id, state)
        if isinstance(body, AssertAction):
            return self._assert(step, body, nxt, fail_to, scope)
        if isinstance(body, ApprovalAction):
            return self._approval(step, body, nxt, fail_to, scope)
        raise AssertionError(f"unexpected action {body!r}")  # pragma: no cover

    def _task(self, step: Step, nxt: str, fail_to: FailTo, scope: Scope) -> str:
        task = self.tasks.runner_task(step, scope)
        result = self.tasks.runner_result()
        record = self.tasks.success_record(step, result, scope)
        task["Assign"] = {f"s_{var(step.id)}": "{% " + record + " %}"}
        task["Next"] = nxt
        retry = self.tasks.retry(step)
        if retry:
            task["Retry"] = retry
        task["Catch"] = self.tasks.catches(step, fail_to(), scope)
        return self.b.add(scope.states, step.id, task)

    def _assert(
        self, step: Step, body: AssertAction, nxt: str, fail_to: FailTo, scope: Scope
    ) -> str:
        holds = " and ".join(f"({self.b.boolean(step, e, scope)})" for e in body.that)
        message = self.b.text(step, body.message or Text("assertion failed", step.span), scope)
        passed, failed = f"{state_name(step.id)}-holds", f"{state_name(step.id)}-does-not-hold"
        self.b.add(
            scope.states,
            passed,
            {"Type": "Pass", "Assign": self.b.records(step, "succeeded"), "Next": nxt},
        )
        record = '{"status": "failed", "ok": false, "error": ' + message + "}"
        failure = '{"step": ' + json.dumps(step.id) + ', "error": ' + message + "}"
        self.b.add(
            scope.states,
            failed,
            {
                "Type": "Pass",
                "Assign": {
                    f"s_{var(step.id)}": "{% " + record + " %}",
                    scope.failure: "{% " + failure + " %}",
                },
                "Next": fail_to(),
            },
        )
        choice = {
            "Type": "Choice",
            "Choices": [{"Condition": "{% " + holds + " %}", "Next": passed}],
            "Default": failed,
        }
        entry = self.b.add(scope.states, step.id, choice)
        return self.b.outputs_present(step, list(body.that), entry, fail_to, scope)

    def _approval(
        self, step: Step, body: ApprovalAction, nxt: str, fail_to: FailTo, scope: Scope
    ) -> str:
        function = self.b.options.approval_function
        if function is None:
            self.b.findings.lost(
                step,
                "an approval",
                "Step Functions needs a callback to ask a human (--approval-function: a Lambda "
                "that sends the prompt and answers with the task token); without one the gate "
                "is left out and the execution will not wait for anyone",
            )
            state = {
                "Type": "Pass",
                "Comment": "approval left out by export --lossy: nobody is asked",
                "Assign": self.b.records(step, "succeeded"),
                "Next": nxt,
            }
            return self.b.add(scope.states, step.id, state)
        task: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"{LAMBDA_INVOKE}.waitForTaskToken",
            "Arguments": {
                "FunctionName": function,
                "Payload": {
                    "token": "{% $states.context.Task.Token %}",
                    "step": step.id,
                    "prompt": "{% " + self.b.text(step, body.prompt, scope) + " %}",
                    "execution": "{% $states.context.Execution.Id %}",
                },
            },
            "Assign": self.b.records(step, "succeeded"),
            "Next": nxt,
        }
        catches = [self.tasks.catch(step, fail_to(), scope)]
        if step.timeout is not None:
            task["TimeoutSeconds"] = whole_seconds(
                step, self.b.findings, "approval timeout", step.timeout
            )
            if body.default_approve:
                approved = f"{state_name(step.id)}-approved-by-default"
                self.b.add(
                    scope.states,
                    approved,
                    {"Type": "Pass", "Assign": self.b.records(step, "succeeded"), "Next": nxt},
                )
                catches.insert(0, {"ErrorEquals": ["States.Timeout"], "Next": approved})
        task["Catch"] = catches
        return self.b.add(scope.states, step.id, task)

    def _wait_for(
        self, step: Step, body: WaitForAction, nxt: str, fail_to: FailTo, scope: Scope
    ) -> str:
        """Check, test `until`, wait `interval`, again — at most timeout/interval checks."""
        bound = body.timeout if body.timeout is not None else step.timeout
        if bound is None:
            self.b.findings.lost(step, "an unbounded wait_for", "checked at most 1000 times")
            polls = 1000
        else:
            polls = max(1, math.ceil(bound / body.interval))
        counter = f"w_{var(step.id)}"
        check, until, again, pause, gave_up = (
            f"{state_name(step.id)}-check",
            f"{state_name(step.id)}-until",
            f"{state_name(step.id)}-again",
            f"{state_name(step.id)}-pause",
            f"{state_name(step.id)}-gave-up",
        )
        note_wait_for_retry(step, self.b.findings)
        task = self.tasks.runner_task(step, scope)
        result = self.tasks.runner_result()
        task["Assign"] = {
            f"s_{var(step.id)}": "{% " + self.tasks.success_record(step, result, scope) + " %}"
        }
        task["Catch"] = [
            *self.tasks.deadline_catches(step, scope),
            {"ErrorEquals": ["States.ALL"], "Next": again},
        ]
        task["Next"] = until
        self.b.add(scope.states, check, task)
        if body.until is not None:
            mine = self.b.result(step.id, scope.chain)
            local = scope.refs.with_local(stdout=f"{mine}.stdout", exit_code=f"{mine}.exit_code")
            try:
                holds = condition(body.until.source, local, JSONATA)
            except Untranslatable as exc:
                self.b.findings.lost(step, f"until '{body.until.source}'", str(exc))
                holds = "true"
            self.b.add(
                scope.states,
                until,
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + holds + " %}", "Next": nxt}],
                    "Default": again,
                },
            )
        else:
            self.b.add(scope.states, until, {"Type": "Pass", "Next": nxt})
        self.b.add(
            scope.states,
            again,
            {
                "Type": "Choice",
                "Choices": [{"Condition": f"{{% ${counter} > 1 %}}", "Next": pause}],
                "Default": gave_up,
            },
        )
        seconds = whole_seconds(step, self.b.findings, "wait_for interval", body.interval)
        self.b.add(
            scope.states,
            pause,
            {
                "Type": "Wait",
                "Seconds": seconds,
                "Assign": {counter: f"{{% ${counter} - 1 %}}"},
                "Next": check,
            },
        )
        record = (
            '{"status": "failed", "ok": false, "error": "gave up waiting after '
            + str(polls)
            + ' checks"}'
        )
        self.b.add(
            scope.states,
            gave_up,
            {
                "Type": "Pass",
                "Assign": {f"s_{var(step.id)}": "{% " + record + " %}"},
                "Next": fail_to(),
            },
        )
        return self.b.add(
            scope.states, step.id, {"Type": "Pass", "Assign": {counter: polls}, "Next": check}
        )
