"""The machine's frame: params in, the steps, the compensation chain, `finally`, the end states."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.asl.builder import Builder
from recoverctl.export.asl.names import Options, Route, reachable, state_name
from recoverctl.export.asl.structure import Structure
from recoverctl.export.common import (
    Findings,
)
from recoverctl.export.options import DEFAULT_FUNCTION, LAMBDA_INVOKE
from recoverctl.export.secrets import unwritten_default
from recoverctl.model.runbook import ApprovalAction, OnFailure, SleepAction, WaitForAction
from recoverctl.model.walk import all_steps


def to_asl(
    plan: Plan,
    findings: Findings,
    *,
    resource: str = LAMBDA_INVOKE,
    function: str = DEFAULT_FUNCTION,
    approval_function: str | None = None,
    secrets: str | None = None,
) -> dict[str, Any]:
    """The state machine definition; lost features are reported to `findings`."""
    return _Machine(
        Builder(plan, findings, Options(resource, function, approval_function, secrets))
    ).machine()


class _Machine:
    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.structure = Structure(builder)

    def machine(self) -> dict[str, Any]:
        rb = self.b.runbook
        states = self.b.top.states
        end = self._end_states()
        finally_entry = self._finally(end)
        self.b.add(
            states,
            "Run-succeeded",
            {"Type": "Pass", "Assign": {"run_status": "succeeded"}, "Next": finally_entry},
        )
        self.b.add(
            states,
            "Stop",
            {"Type": "Pass", "Assign": {"run_status": "failed"}, "Next": finally_entry},
        )
        rollback_entry = self._rollback_chain(finally_entry)
        # the main steps under the run's deadline (compensations and finally are not)
        self.b.deadline = rb.timeout is not None
        self.b.top.timed_out = rollback_entry if self.b.deadline else None
        try:
            first = self.structure.sequence(
                rb.steps, "Run-succeeded", Route(rollback_entry, "Stop"), self.b.top
            )
        finally:
            self.b.deadline, self.b.top.timed_out = False, None
        start = self._start(first)
        machine: dict[str, Any] = {
            "Comment": f"recoverctl runbook {rb.name} (plan {self.b.plan.hash[:12]})",
            "QueryLanguage": "JSONata",
            "StartAt": start,
            "States": states,
        }
        if rb.timeout is not None:
            self._deadline_notes(rb.timeout)
        if rb.concurrency is not None and rb.concurrency < self.b.plan.max_width:
            self.b.findings.lost(
                None,
                f"concurrency: {rb.concurrency}",
                "Parallel states run every branch at once",
                ("concurrency",),
            )
        # states read in document order: start first
        return {**machine, "States": reachable({start: states.pop(start), **states}, start)}

    def _start(self, first: str) -> str:
        defaults = {
            p.name: p.default
            for p in self.b.runbook.params
            if p.default is not None and not p.secret  # never written: export/secrets.py
        }
        for param in self.b.runbook.params:
            if param.secret and param.default is not None:
                source = (
                    f"the runner reads '{self.b.store.secret_id(param.name)}' from Secrets Manager"
                )
                self.b.findings.approximated(
                    None, *unwritten_default(param.name, "definition", source)
                )
            if param.env:
                self.b.findings.lost(
                    None,
                    f"param '{param.name}' read from ${param.env}",
                    "an execution has no operator shell; pass it in the input's `params`",
                    ("params", param.name, "env"),
                )
        checks = []
        for param in self.b.runbook.params:
            ref = f"$params.{param.name}"
            if param.required and param.default is None:
                checks.append(f"$exists({ref})")
            if param.choices and param.type == "list":
                self.b.findings.lost(
                    None,
                    f"the choices of list param '{param.name}'",
                    "the execution input's items are not checked against them",
                    ("params", param.name, "choices"),
                )
            elif param.choices:
                allowed = json.dumps(list(param.choices))
                checks.append(f"($not($exists({ref})) or {ref} in {allowed})")
        nxt = first
        if checks:
            self.b.add(
                self.b.top.states,
                "Check-params",
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + " and ".join(checks) + " %}", "Next": first}],
                    "Default": "Bad-params",
                },
            )
            self.b.add(
                self.b.top.states,
                "Bad-params",
                {
                    "Type": "Fail",
                    "Error": "Recoverctl.BadParams",
                    "Cause": "a required param is missing or a param is not one of its choices",
                },
            )
            nxt = "Check-params"
        self.b.add(
            self.b.top.states,
            "Start",
            {
                "Type": "Pass",
                "Assign": {
                    "params": "{% $merge([" + json.dumps(defaults) + ", $states.input.params]) %}",
                    "run_status": "running",
                    **self._deadline(),
                },
                "Next": nxt,
            },
        )
        return "Start"

    def _deadline(self) -> dict[str, str]:
        """`$deadline`: when the run's timeout is reached, in epoch milliseconds."""
        timeout = self.b.runbook.timeout
        if timeout is None:
            return {}
        return {"deadline": "{% $millis() + " + str(round(timeout * 1000)) + " %}"}

    def _deadline_notes(self, timeout: float) -> None:
        """The run's timeout is a deadline the runner enforces, not the machine's own
        TimeoutSeconds (which would end the execution without its compensations). What
        waits in the machine itself is not cut short at the deadline: said once."""
        waits = [
            s
            for s in all_steps(self.b.runbook)
            if isinstance(s.body, SleepAction | WaitForAction | ApprovalAction)
        ]
        if waits:
            self.b.findings.approximated(
                None,
                "the run's timeout",
                f"a sleep, wait_for pause or approval in progress at the deadline "
                f"({', '.join(repr(s.id) for s in waits[:3])}) ends first; the next command "
                "is then refused and the compensations run",
                ("timeout",),
            )

    def _end_states(self) -> str:
        states = self.b.top.states
        self.b.add(
            states,
            "End",
            {
                "Type": "Choice",
                "Choices": [
                    {"Condition": '{% $run_status = "succeeded" %}', "Next": "Succeeded"},
                    {"Condition": '{% $run_status = "rolled_back" %}', "Next": "Rolled-back"},
                    {
                        "Condition": '{% $run_status = "rollback_failed" %}',
                        "Next": "Rollback-failed",
                    },
                ],
                "Default": "Failed",
            },
        )
        self.b.add(states, "Succeeded", {"Type": "Succeed"})
        cause = "{% $exists($failure) ? $string($failure) : 'the run failed' %}"
        for name, error in (
            ("Rolled-back", "Recoverctl.RolledBack"),
            ("Rollback-failed", "Recoverctl.RollbackFailed"),
            ("Failed", "Recoverctl.Failed"),
        ):
            self.b.add(states, name, {"Type": "Fail", "Error": error, "Cause": cause})
        return "End"

    def _finally(self, end: str) -> str:
        nxt = end
        for step in reversed(self.b.runbook.finally_steps):
            # a failed finally step is reported and the next one still runs
            nxt = self.structure.step(step, nxt, Route(nxt, nxt), self.b.top)
        return nxt

    def _rollback_chain(self, after: str) -> str:
        states = self.b.top.states
        nxt = after
        for sid in reversed(self.b.plan.rollback_order):
            step = self.b.steps[sid]
            if step.rollback is None:
                continue
            if not step.is_action:
                self.b.findings.lost(
                    step, "the rollback of a group", "only action steps are undone"
                )
                continue
            failed = f"{state_name(step.rollback.id)}-failed"
            self.b.add(
                states,
                failed,
                {"Type": "Pass", "Assign": {"run_status": "rollback_failed"}, "Next": nxt},
            )
            undone = f"{state_name(step.rollback.id)}-done"
            self.b.add(
                states,
                undone,
                {
                    "Type": "Pass",
                    # rolled back once something was undone; a failed undo stays the verdict
                    "Assign": {
                        "run_status": '{% $run_status = "rollback_failed" ? "rollback_failed"'
                        ' : "rolled_back" %}'
                    },
                    "Next": nxt,
                },
            )
            # a compensation's failure is recorded, then the chain goes on (as recoverctl's
            # saga does): routed to `failed` whatever the compensation's own on_failure says
            compensation = replace(step.rollback, on_failure=OnFailure.ABORT, rescue=())
            undo = self.structure.step(compensation, undone, Route(failed, failed), self.b.top)
            ask = f"undo-{state_name(sid)}"
            done = f'{self.b.result(sid, ())}.status = "succeeded"'
            self.b.add(
                states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + done + " %}", "Next": undo}],
                    "Default": nxt,
                },
            )
            nxt = ask
        self.b.add(
            states,
            "Roll-back",
            # nothing undone yet: a run with nothing to undo ends failed, as recoverctl says
            {"Type": "Pass", "Assign": {"run_status": "failed"}, "Next": nxt},
        )
        return "Roll-back"
