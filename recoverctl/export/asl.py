"""The plan as an AWS Step Functions state machine (Amazon States Language, JSONata).

Every action step's result is kept in a workflow variable (`$s_<id>`:
status, ok, exit_code, stdout, outputs), so conditions read earlier steps
the way runbook expressions do. Step Functions scopes variables to a
Parallel branch, so each branch hands its results out as its output and the
Parallel state keeps them as `$g_<group>`; a failing branch does not fail
the Parallel state (that would lose what its siblings completed) but ends
with a marker the state after the Parallel routes on.

Commands, HTTP checks and `wait_for` checks run in a Task state on the
command runner resource (`--resource`); the runner's contract (input and
output) is in docs/export.md. Failures are caught and routed: to the step's
rescue steps, onwards (`on_failure: continue`), to the compensation chain
(`rollback`) or straight to `finally` (`abort`). The compensation chain
undoes, last first, every step whose variable says it succeeded.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.common import (
    Findings,
    References,
    all_steps,
    condition,
    join_parts,
    note_wait_for_retry,
    whole_seconds,
)
from recoverctl.export.expressions import JSONATA, Expr, Untranslatable, translate_template
from recoverctl.export.options import DEFAULT_FUNCTION, LAMBDA_INVOKE
from recoverctl.model.runbook import (
    ApprovalAction,
    AssertAction,
    Backoff,
    Branch,
    CallAction,
    Expression,
    Group,
    HttpAction,
    LogAction,
    OnFailure,
    RunAction,
    SleepAction,
    Step,
    Text,
    WaitForAction,
    walk,
)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a failure goes in the current scope: to roll back, or to stop without."""

    rollback: str
    abort: str


@dataclass(slots=True)
class _Scope:
    """The states of the whole machine or of one Parallel branch, and the groups around it."""

    states: dict[str, Any]
    chain: tuple[str, ...]
    refs: References


@dataclass(slots=True)
class _Options:
    resource: str
    function: str
    approval_function: str | None


def to_asl(
    plan: Plan,
    findings: Findings,
    *,
    resource: str = LAMBDA_INVOKE,
    function: str = DEFAULT_FUNCTION,
    approval_function: str | None = None,
) -> dict[str, Any]:
    """The state machine definition; lost features are reported to `findings`."""
    return _AslExport(plan, findings, _Options(resource, function, approval_function)).machine()


def state_name(step_id: str) -> str:
    """A state's name from a step id: generated ids (`x.rollback`) lose the dot, so every
    name keeps to the characters CloudWatch logging accepts (letters, digits, - and _)."""
    return step_id.replace(".", "-")


def var(step_id: str) -> str:
    """A step id as a variable name (`x.rollback` → `x__rollback`)."""
    return step_id.replace(".", "__")


class _AslExport:
    def __init__(self, plan: Plan, findings: Findings, options: _Options) -> None:
        self.plan, self.findings, self.options = plan, findings, options
        self.runbook = plan.runbook
        self.steps = all_steps(self.runbook)
        self.chains: dict[str, tuple[str, ...]] = {}
        self._index_chains(self.runbook.steps, ())
        self._index_chains(self.runbook.finally_steps, ())
        self.top = self._scope({}, ())
        self.names: set[str] = set()
        """Every state name used so far: ASL wants them unique across the whole machine."""
        self.rescues: dict[str, str] = {}
        """Step id → the entry of its rescue steps (emitted once, however many ways lead there)."""

    def _index_chains(self, steps: tuple[Step, ...], chain: tuple[str, ...]) -> None:
        """Which Parallel groups (outermost first) each step runs inside."""
        for step in steps:
            self.chains[step.id] = chain
            inner = chain
            if isinstance(step.body, Group) and step.body.parallel:
                inner = (*chain, step.id)
            self._index_chains(step.children(), inner)
            for extra in (*step.rescue, step.skip_if):
                if isinstance(extra, Step):
                    self.chains[extra.id] = chain
                    self._index_chains(extra.children(), chain)
            if step.rollback is not None:  # compensations run in the top-level chain
                self._index_chains((step.rollback,), ())

    def _scope(self, states: dict[str, Any], chain: tuple[str, ...]) -> _Scope:
        def step_field(step: Step, name: str, rest: tuple[str, ...]) -> str:
            if not step.is_action or isinstance(step.body, CallAction):
                raise Untranslatable(f"the result of group '{step.id}' is not recorded")
            return ".".join((self._result(step.id, chain), name, *rest))

        refs = References(
            JSONATA,
            self.steps,
            param=lambda name: f"$params.{name}",
            step_field=step_field,
            run={
                "id": "$states.context.Execution.Name",
                "name": json.dumps(self.runbook.name),
                "status": "$run_status",
            },
            stored_outputs=True,
        )
        return _Scope(states, chain, refs)

    def _result(self, step_id: str, reader: tuple[str, ...]) -> str:
        """Where a step's result lives, seen from a reader inside the groups `reader`."""
        chain = self.chains.get(step_id, ())
        common = 0
        while common < min(len(chain), len(reader)) and chain[common] == reader[common]:
            common += 1
        if common == len(chain):
            return f"$s_{var(step_id)}"
        return f"$g_{var(chain[common])}.s_{var(step_id)}"

    # -- the machine ----------------------------------------------------------------------------

    def machine(self) -> dict[str, Any]:
        rb = self.runbook
        states = self.top.states
        end = self._end_states()
        finally_entry = self._finally(end)
        self._add(
            states,
            "Run-succeeded",
            {"Type": "Pass", "Assign": {"run_status": "succeeded"}, "Next": finally_entry},
        )
        self._add(
            states,
            "Stop",
            {"Type": "Pass", "Assign": {"run_status": "failed"}, "Next": finally_entry},
        )
        rollback_entry = self._rollback_chain(finally_entry)
        first = self._sequence(rb.steps, "Run-succeeded", Route(rollback_entry, "Stop"), self.top)
        start = self._start(first)
        machine: dict[str, Any] = {
            "Comment": f"recoverctl runbook {rb.name} (plan {self.plan.hash[:12]})",
            "QueryLanguage": "JSONata",
            "StartAt": start,
            "States": states,
        }
        if rb.timeout is not None:
            machine["TimeoutSeconds"] = whole_seconds(
                None, self.findings, "timeout", rb.timeout, at=("timeout",)
            )
            self.findings.lost(
                None,
                "the run timeout's rollback",
                "Step Functions ends a timed-out execution without running the compensations",
                ("timeout",),
            )
        if rb.concurrency is not None and rb.concurrency < self.plan.max_width:
            self.findings.lost(
                None,
                f"concurrency: {rb.concurrency}",
                "Parallel states run every branch at once",
                ("concurrency",),
            )
        # states read in document order: start first
        return {**machine, "States": _reachable({start: states.pop(start), **states}, start)}

    def _start(self, first: str) -> str:
        defaults = {p.name: p.default for p in self.runbook.params if p.default is not None}
        for param in self.runbook.params:
            if param.secret:
                self.findings.lost(
                    None,
                    f"secret param '{param.name}'",
                    "execution input and variables are visible in the execution history",
                    ("params", param.name),
                )
            if param.env:
                self.findings.lost(
                    None,
                    f"param '{param.name}' read from ${param.env}",
                    "an execution has no operator shell; pass it in the input's `params`",
                    ("params", param.name, "env"),
                )
        checks = []
        for param in self.runbook.params:
            ref = f"$params.{param.name}"
            if param.required and param.default is None:
                checks.append(f"$exists({ref})")
            if param.choices:
                allowed = json.dumps(list(param.choices))
                checks.append(f"($not($exists({ref})) or {ref} in {allowed})")
        nxt = first
        if checks:
            self._add(
                self.top.states,
                "Check-params",
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + " and ".join(checks) + " %}", "Next": first}],
                    "Default": "Bad-params",
                },
            )
            self._add(
                self.top.states,
                "Bad-params",
                {
                    "Type": "Fail",
                    "Error": "Recoverctl.BadParams",
                    "Cause": "a required param is missing or a param is not one of its choices",
                },
            )
            nxt = "Check-params"
        self._add(
            self.top.states,
            "Start",
            {
                "Type": "Pass",
                "Assign": {
                    "params": "{% $merge([" + json.dumps(defaults) + ", $states.input.params]) %}",
                    "run_status": "running",
                },
                "Next": nxt,
            },
        )
        return "Start"

    def _end_states(self) -> str:
        states = self.top.states
        self._add(
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
        self._add(states, "Succeeded", {"Type": "Succeed"})
        cause = "{% $exists($failure) ? $string($failure) : 'the run failed' %}"
        for name, error in (
            ("Rolled-back", "Recoverctl.RolledBack"),
            ("Rollback-failed", "Recoverctl.RollbackFailed"),
            ("Failed", "Recoverctl.Failed"),
        ):
            self._add(states, name, {"Type": "Fail", "Error": error, "Cause": cause})
        return "End"

    def _finally(self, end: str) -> str:
        nxt = end
        for step in reversed(self.runbook.finally_steps):
            # a failed finally step is reported and the next one still runs
            nxt = self._step(step, nxt, Route(nxt, nxt), self.top)
        return nxt

    def _rollback_chain(self, after: str) -> str:
        states = self.top.states
        nxt = after
        for sid in reversed(self.plan.rollback_order):
            step = self.steps[sid]
            if step.rollback is None:
                continue
            if not step.is_action:
                self.findings.lost(step, "the rollback of a group", "only action steps are undone")
                continue
            failed = f"{state_name(step.rollback.id)}-failed"
            self._add(
                states,
                failed,
                {"Type": "Pass", "Assign": {"run_status": "rollback_failed"}, "Next": nxt},
            )
            undo = self._step(step.rollback, nxt, Route(failed, failed), self.top)
            ask = f"undo-{state_name(sid)}"
            done = f'{self._result(sid, ())}.status = "succeeded"'
            self._add(
                states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + done + " %}", "Next": undo}],
                    "Default": nxt,
                },
            )
            nxt = ask
        self._add(
            states,
            "Roll-back",
            {"Type": "Pass", "Assign": {"run_status": "rolled_back"}, "Next": nxt},
        )
        return "Roll-back"

    # -- structure ---------------------------------------------------------------------------------

    def _sequence(self, steps: tuple[Step, ...], nxt: str, route: Route, scope: _Scope) -> str:
        for step in reversed(steps):
            nxt = self._step(step, nxt, route, scope)
        return nxt

    def _step(self, step: Step, nxt: str, route: Route, scope: _Scope) -> str:
        try:
            return self._emit(step, nxt, route, scope)
        except Untranslatable as exc:
            exc.step = exc.step or step  # the innermost step names the place
            raise

    def _emit(self, step: Step, nxt: str, route: Route, scope: _Scope) -> str:
        body = step.body
        if isinstance(body, Group):
            entry = self._group(step, body, nxt, route, scope)
        elif isinstance(body, Branch):
            entry = self._branch(step, body, nxt, route, scope)
        elif isinstance(body, CallAction):
            self.findings.lost(step, "`call`", "sub-runbooks are not exported; inline the steps")
            return nxt
        else:
            entry = self._action(step, nxt, route, scope)
        entry = self._guard(step, entry, nxt, route, scope)
        if step.when is not None:
            skipped = f"{state_name(step.id)}-skipped"
            self._add(
                scope.states,
                skipped,
                {"Type": "Pass", "Assign": self._records(step, "skipped"), "Next": nxt},
            )
            ask = f"{state_name(step.id)}-when"
            self._add(
                scope.states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": self._condition(step, step.when, scope), "Next": entry}
                    ],
                    "Default": skipped,
                },
            )
            entry = ask
        return entry

    def _guard(self, step: Step, entry: str, nxt: str, route: Route, scope: _Scope) -> str:
        """skip_if: an expression (Choice) or a check (Task); when it holds the step is unchanged."""
        guard = step.skip_if
        if guard is None:
            return entry
        unchanged = f"{state_name(step.id)}-unchanged"
        self._add(
            scope.states,
            unchanged,
            {"Type": "Pass", "Assign": self._records(step, "unchanged"), "Next": nxt},
        )
        if isinstance(guard, Expression):
            ask = f"{state_name(step.id)}-done-already"
            self._add(
                scope.states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": self._condition(step, guard, scope), "Next": unchanged}
                    ],
                    "Default": entry,
                },
            )
            return ask
        failed = self._failure_target(step, nxt, route, scope)
        task = self._runner_task(guard, scope)
        task["Next"] = unchanged
        task["Catch"] = [
            # a check that timed out cannot tell whether the work is done: the step fails
            {"ErrorEquals": ["States.Timeout"], "Next": failed},
            {"ErrorEquals": ["States.ALL"], "Next": entry},
        ]
        return self._add(scope.states, guard.id, task)

    def _group(self, step: Step, body: Group, nxt: str, route: Route, scope: _Scope) -> str:
        if step.timeout_explicit and step.timeout is not None:
            self.findings.lost(
                step, "a group timeout", "Step Functions times out states, not groups"
            )
        if step.rescue:
            self.findings.lost(step, "rescue of a group", "only action steps' rescue is exported")
        if not body.parallel:
            return self._sequence(body.steps, nxt, route, scope)
        if body.max_parallel is not None and body.max_parallel < len(body.steps):
            self.findings.lost(
                step,
                f"max_parallel: {body.max_parallel}",
                "a Parallel state runs every branch at once",
            )
        self._check_locks(step, body)
        chain = (*scope.chain, step.id)
        branches = []
        for child in body.steps:
            inner = self._scope({}, chain)
            results = self._branch_results(child, chain)
            done, stop_rb, stop_ab = (
                f"{state_name(child.id)}-branch-done",
                f"{state_name(child.id)}-branch-stopped-to-roll-back",
                f"{state_name(child.id)}-branch-stopped",
            )
            for name, marker in ((done, None), (stop_rb, "rollback"), (stop_ab, "abort")):
                output = (
                    results
                    if marker is None
                    else f'$merge([{results}, {{"rc_failed": "{marker}"}}])'
                )
                try:
                    self._add(
                        inner.states,
                        name,
                        {"Type": "Pass", "Output": "{% " + output + " %}", "End": True},
                    )
                except Untranslatable as exc:
                    raise Untranslatable(str(exc), child) from None  # named after the member
            start = self._step(child, done, Route(stop_rb, stop_ab), inner)
            ordered = {start: inner.states.pop(start), **inner.states}
            branches.append({"StartAt": start, "States": _reachable(ordered, start)})
        check = f"{state_name(step.id)}-failed"
        group_var = f"$g_{var(step.id)}"
        self._add(
            scope.states,
            check,
            {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": f'{{% {group_var}.rc_failed = "rollback" %}}',
                        "Next": route.rollback,
                    },
                    {"Condition": f'{{% {group_var}.rc_failed = "abort" %}}', "Next": route.abort},
                ],
                "Default": nxt,
            },
        )
        return self._add(
            scope.states,
            step.id,
            {
                "Type": "Parallel",
                "Branches": branches,
                "Assign": {f"g_{var(step.id)}": "{% $merge($states.result) %}"},
                "Next": check,
            },
        )

    def _branch_results(self, child: Step, chain: tuple[str, ...]) -> str:
        """A branch's output: the results of every action step in it, by variable name."""
        pairs = [
            f'"s_{var(s.id)}": {self._result(s.id, chain)}'
            for s in walk((child,))
            if s.is_action
            and not isinstance(s.body, CallAction)
            and self.chains[s.id][: len(chain)] == chain
        ]
        return "{" + ", ".join(pairs) + "}"

    def _check_locks(self, step: Step, body: Group) -> None:
        """Locks only matter between steps that can run at once: siblings of a Parallel state."""
        seen: dict[str, str] = {}
        for child in body.steps:
            for lock in {lock for s in walk((child,)) for lock in s.locks}:
                if lock in seen:
                    self.findings.lost(
                        step,
                        f"lock '{lock}'",
                        f"'{seen[lock]}' and '{child.id}' would run at once: Step Functions has no locks",
                    )
                seen.setdefault(lock, child.id)

    def _branch(self, step: Step, body: Branch, nxt: str, route: Route, scope: _Scope) -> str:
        choices = []
        default = nxt
        for case in body.cases:
            entry = self._sequence(case.steps, nxt, route, scope)
            if case.when is None:
                default = entry
            else:
                choices.append(
                    {"Condition": self._condition(step, case.when, scope), "Next": entry}
                )
        if not choices:
            return default
        return self._add(
            scope.states, step.id, {"Type": "Choice", "Choices": choices, "Default": default}
        )

    # -- actions -----------------------------------------------------------------------------------

    def _action(self, step: Step, nxt: str, route: Route, scope: _Scope) -> str:
        body = step.body
        if isinstance(body, RunAction | HttpAction):
            return self._task(step, nxt, route, scope)
        if isinstance(body, WaitForAction):
            return self._wait_for(step, body, nxt, route, scope)
        if isinstance(body, SleepAction):
            seconds = whole_seconds(step, self.findings, "sleep", body.seconds)
            state = {
                "Type": "Wait",
                "Seconds": seconds,
                "Assign": self._records(step, "succeeded"),
                "Next": nxt,
            }
            return self._add(scope.states, step.id, state)
        if isinstance(body, LogAction):
            if body.webhook is not None:
                self.findings.lost(step, "a log webhook", "the message is recorded, not posted")
            message = self._text(step, body.message, scope)
            output = (
                '{"log": {"level": ' + json.dumps(body.level) + ', "message": ' + message + "}}"
            )
            state = {
                "Type": "Pass",
                "Output": "{% " + output + " %}",
                "Assign": self._records(step, "succeeded"),
                "Next": nxt,
            }
            return self._add(scope.states, step.id, state)
        if isinstance(body, AssertAction):
            return self._assert(step, body, nxt, route, scope)
        if isinstance(body, ApprovalAction):
            return self._approval(step, body, nxt, route, scope)
        raise AssertionError(f"unexpected action {body!r}")  # pragma: no cover

    def _task(self, step: Step, nxt: str, route: Route, scope: _Scope) -> str:
        task = self._runner_task(step, scope)
        result = self._runner_result()
        record = self._success_record(step, result, scope)
        task["Assign"] = {f"s_{var(step.id)}": "{% " + record + " %}"}
        task["Next"] = nxt
        retry = self._retry(step)
        if retry:
            task["Retry"] = retry
        task["Catch"] = [self._catch(step, nxt, route, scope)]
        return self._add(scope.states, step.id, task)

    def _runner_task(self, step: Step, scope: _Scope) -> dict[str, Any]:
        payload = self._payload(step, scope)
        resource = self.options.resource.replace("{kind}", step.kind).replace("{step}", step.id)
        arguments: dict[str, Any] = payload
        if resource == LAMBDA_INVOKE:
            arguments = {"FunctionName": self.options.function, "Payload": payload}
        task: dict[str, Any] = {"Type": "Task", "Resource": resource, "Arguments": arguments}
        if step.timeout is not None:
            task["TimeoutSeconds"] = whole_seconds(step, self.findings, "timeout", step.timeout)
        return task

    def _runner_result(self) -> str:
        return (
            "$states.result.Payload" if self.options.resource == LAMBDA_INVOKE else "$states.result"
        )

    def _payload(self, step: Step, scope: _Scope) -> dict[str, Any]:
        """What the command runner receives: the action with its templates evaluated."""
        body = step.body
        env = {k: self._value(step, v, scope) for k, v in (*self.runbook.env, *step.env)}
        payload: dict[str, Any] = {"step": step.id, "kind": step.kind}
        if isinstance(body, WaitForAction):
            body = body.check
            payload["kind"] = body.kind
        if isinstance(body, RunAction):
            payload["shell"] = body.shell
            if body.shell:
                source, values = self._shell(step, body.command[0], scope)
                payload["command"] = [source]
                env.update(values)
            else:
                payload["command"] = [self._value(step, part, scope) for part in body.command]
        elif isinstance(body, HttpAction):
            payload.update(self._http(step, body, scope))
        if env:
            payload["env"] = env
        if step.cwd is not None:
            payload["cwd"] = self._value(step, step.cwd, scope)
        if step.timeout is not None:
            payload["timeout"] = step.timeout
        return payload

    def _http(self, step: Step, body: HttpAction, scope: _Scope) -> dict[str, Any]:
        expect = body.expect
        http: dict[str, Any] = {
            "method": body.method,
            "url": self._value(step, body.url, scope),
            "headers": {k: self._value(step, v, scope) for k, v in body.headers},
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
            http["body"] = self._value(step, body.body, scope)
        elif body.json is not None:
            http["json"] = body.json
        if body.timeout is not None:
            http["request_timeout"] = body.timeout
        if expect.body is not None:
            http["expect"]["body"] = expect.body
        if expect.json:
            http["expect"]["json"] = dict(expect.json)
        return http

    def _success_record(self, step: Step, result: str, scope: _Scope) -> str:
        outputs = []
        local = scope.refs.with_local(stdout=f"{result}.stdout", exit_code=f"{result}.exit_code")
        for output in step.outputs:
            try:
                parts = translate_template(output.template.source, JSONATA, local)
            except Untranslatable as exc:
                self.findings.lost(step, f"output '{output.name}'", str(exc))
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

    def _catch(self, step: Step, nxt: str, route: Route, scope: _Scope) -> dict[str, Any]:
        status = '$states.errorOutput.Error = "States.Timeout" ? "timed_out" : "failed"'
        record = '{"status": ' + status + ', "ok": false, "error": $states.errorOutput.Cause}'
        failure = '{"step": ' + json.dumps(step.id) + ', "error": $states.errorOutput.Cause}'
        return {
            "ErrorEquals": ["States.ALL"],
            "Assign": {
                f"s_{var(step.id)}": "{% " + record + " %}",
                "failure": "{% " + failure + " %}",
            },
            "Next": self._failure_target(step, nxt, route, scope),
        }

    def _failure_target(self, step: Step, nxt: str, route: Route, scope: _Scope) -> str:
        """Rescue steps first; then on, to the compensations, or to the end, by on_failure."""
        if step.on_failure is OnFailure.CONTINUE:
            after = nxt
        elif step.on_failure is OnFailure.ROLLBACK:
            after = route.rollback
        else:
            after = route.abort
        if not step.rescue:
            return after
        if step.id not in self.rescues:
            rescued = self._add(
                scope.states, f"{state_name(step.id)}-rescued", {"Type": "Pass", "Next": nxt}
            )
            self.rescues[step.id] = self._sequence(step.rescue, rescued, Route(after, after), scope)
        return self.rescues[step.id]

    def _retry(self, step: Step) -> list[dict[str, Any]]:
        retry = step.retry
        if retry.attempts <= 1:
            return []
        errors = ["States.ALL"]
        if retry.when is not None:
            codes = _exit_codes(retry.when.source)
            if codes is None:
                self.findings.lost(
                    step,
                    f"retry.when '{retry.when.source}'",
                    "Step Functions retries by error name; only `exit_code == N` conditions map "
                    "to the runner's Recoverctl.ExitCode.N errors; retried on every failure",
                )
            else:
                errors = [f"Recoverctl.ExitCode.{code}" for code in codes]
        rule: dict[str, Any] = {
            "ErrorEquals": errors,
            "IntervalSeconds": whole_seconds(step, self.findings, "retry delay", retry.delay),
            "MaxAttempts": retry.attempts - 1,
            "BackoffRate": float(retry.factor) if retry.backoff is Backoff.EXPONENTIAL else 1.0,
        }
        if retry.max_delay is not None:
            rule["MaxDelaySeconds"] = whole_seconds(
                step, self.findings, "retry max_delay", retry.max_delay
            )
        if retry.jitter:
            rule["JitterStrategy"] = "FULL"
            self.findings.lost(
                step,
                "retry jitter",
                "Step Functions' FULL jitter waits 0-100% of the delay; recoverctl waits 50-100%",
            )
        return [rule]

    def _assert(self, step: Step, body: AssertAction, nxt: str, route: Route, scope: _Scope) -> str:
        holds = " and ".join(f"({self._bool(step, e, scope)})" for e in body.that)
        message = self._text(step, body.message or Text("assertion failed", step.span), scope)
        passed, failed = f"{state_name(step.id)}-holds", f"{state_name(step.id)}-does-not-hold"
        self._add(
            scope.states,
            passed,
            {"Type": "Pass", "Assign": self._records(step, "succeeded"), "Next": nxt},
        )
        record = '{"status": "failed", "ok": false, "error": ' + message + "}"
        failure = '{"step": ' + json.dumps(step.id) + ', "error": ' + message + "}"
        self._add(
            scope.states,
            failed,
            {
                "Type": "Pass",
                "Assign": {
                    f"s_{var(step.id)}": "{% " + record + " %}",
                    "failure": "{% " + failure + " %}",
                },
                "Next": self._failure_target(step, nxt, route, scope),
            },
        )
        choice = {
            "Type": "Choice",
            "Choices": [{"Condition": "{% " + holds + " %}", "Next": passed}],
            "Default": failed,
        }
        return self._add(scope.states, step.id, choice)

    def _approval(
        self, step: Step, body: ApprovalAction, nxt: str, route: Route, scope: _Scope
    ) -> str:
        function = self.options.approval_function
        if function is None:
            self.findings.lost(
                step,
                "an approval",
                "Step Functions needs a callback to ask a human (--approval-function: a Lambda "
                "that sends the prompt and answers with the task token); without one the gate "
                "is left out and the execution will not wait for anyone",
            )
            state = {
                "Type": "Pass",
                "Comment": "approval left out by export --lossy: nobody is asked",
                "Assign": self._records(step, "succeeded"),
                "Next": nxt,
            }
            return self._add(scope.states, step.id, state)
        task: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"{LAMBDA_INVOKE}.waitForTaskToken",
            "Arguments": {
                "FunctionName": function,
                "Payload": {
                    "token": "{% $states.context.Task.Token %}",
                    "step": step.id,
                    "prompt": "{% " + self._text(step, body.prompt, scope) + " %}",
                    "execution": "{% $states.context.Execution.Id %}",
                },
            },
            "Assign": self._records(step, "succeeded"),
            "Next": nxt,
        }
        catches = [self._catch(step, nxt, route, scope)]
        if step.timeout is not None:
            task["TimeoutSeconds"] = whole_seconds(
                step, self.findings, "approval timeout", step.timeout
            )
            if body.default_approve:
                approved = f"{state_name(step.id)}-approved-by-default"
                self._add(
                    scope.states,
                    approved,
                    {"Type": "Pass", "Assign": self._records(step, "succeeded"), "Next": nxt},
                )
                catches.insert(0, {"ErrorEquals": ["States.Timeout"], "Next": approved})
        task["Catch"] = catches
        return self._add(scope.states, step.id, task)

    def _wait_for(
        self, step: Step, body: WaitForAction, nxt: str, route: Route, scope: _Scope
    ) -> str:
        """Check, test `until`, wait `interval`, again — at most timeout/interval checks."""
        bound = body.timeout if body.timeout is not None else step.timeout
        if bound is None:
            self.findings.lost(step, "an unbounded wait_for", "checked at most 1000 times")
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
        note_wait_for_retry(step, self.findings)
        task = self._runner_task(step, scope)
        result = self._runner_result()
        task["Assign"] = {
            f"s_{var(step.id)}": "{% " + self._success_record(step, result, scope) + " %}"
        }
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": again}]
        task["Next"] = until
        self._add(scope.states, check, task)
        if body.until is not None:
            mine = self._result(step.id, scope.chain)
            local = scope.refs.with_local(stdout=f"{mine}.stdout", exit_code=f"{mine}.exit_code")
            try:
                holds = condition(body.until.source, local, JSONATA)
            except Untranslatable as exc:
                self.findings.lost(step, f"until '{body.until.source}'", str(exc))
                holds = "true"
            self._add(
                scope.states,
                until,
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% " + holds + " %}", "Next": nxt}],
                    "Default": again,
                },
            )
        else:
            self._add(scope.states, until, {"Type": "Pass", "Next": nxt})
        self._add(
            scope.states,
            again,
            {
                "Type": "Choice",
                "Choices": [{"Condition": f"{{% ${counter} > 1 %}}", "Next": pause}],
                "Default": gave_up,
            },
        )
        seconds = whole_seconds(step, self.findings, "wait_for interval", body.interval)
        self._add(
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
        self._add(
            scope.states,
            gave_up,
            {
                "Type": "Pass",
                "Assign": {f"s_{var(step.id)}": "{% " + record + " %}"},
                "Next": self._failure_target(step, nxt, route, scope),
            },
        )
        return self._add(
            scope.states, step.id, {"Type": "Pass", "Assign": {counter: polls}, "Next": check}
        )

    # -- values --------------------------------------------------------------------------------------

    def _records(self, step: Step, status: str) -> dict[str, Any]:
        """The same result for a step and every action inside it (skipped, unchanged...)."""
        ok = status in ("succeeded", "unchanged")
        return {
            f"s_{var(s.id)}": {"status": status, "ok": ok, "outputs": {}}
            for s in walk((step,))
            if s.is_action and self.chains.get(s.id) == self.chains.get(step.id)
        }

    def _condition(self, step: Step, expr: Expression, scope: _Scope) -> str:
        return "{% " + self._bool(step, expr, scope) + " %}"

    def _bool(self, step: Step, expr: Expression, scope: _Scope) -> str:
        try:
            return condition(expr.source, scope.refs, JSONATA)
        except Untranslatable as exc:
            self.findings.lost(step, f"the condition '{expr.source}'", str(exc))
            return "true"

    def _parts(self, step: Step, text: Text, scope: _Scope) -> list[str | Expr]:
        try:
            return translate_template(text.source, JSONATA, scope.refs)
        except Untranslatable as exc:
            self.findings.lost(step, f"the template '{text.source}'", str(exc))
            return [text.source]

    def _text(self, step: Step, text: Text, scope: _Scope) -> str:
        """A template as a JSONata string expression."""
        return join_parts(self._parts(step, text, scope), JSONATA)

    def _value(self, step: Step, text: Text, scope: _Scope) -> str:
        """A template as an Arguments value: plain text stays text."""
        parts = self._parts(step, text, scope)
        if all(isinstance(p, str) for p in parts):
            return _literal("".join(p for p in parts if isinstance(p, str)))
        return "{% " + join_parts(parts, JSONATA) + " %}"

    def _shell(self, step: Step, text: Text, scope: _Scope) -> tuple[str, dict[str, str]]:
        """A shell command whose templates become quoted variables: one word, never code."""
        values: dict[str, str] = {}
        out = []
        for part in self._parts(step, text, scope):
            if isinstance(part, str):
                out.append(part)
            else:
                name = f"RC_VALUE_{len(values) + 1}"
                values[name] = "{% " + join_parts([part], JSONATA) + " %}"
                out.append(f'"${{{name}}}"')
        return _literal("".join(out)), values

    def _add(self, states: dict[str, Any], name: str, state: dict[str, Any]) -> str:
        name = state_name(name)
        if name in self.names:
            raise Untranslatable(f"two states would be named '{name}'")
        if len(name) > 80:
            raise Untranslatable(f"the state name '{name}' is longer than 80 characters")
        self.names.add(name)
        states[name] = state
        return name


def _literal(text: str) -> str:
    """Plain text as an Arguments value; text a single-line JSONata-unaware reader would
    misread (several lines, empty, or starting like an expression) goes in as a JSONata
    string literal, which means exactly the same text."""
    if not text or "\n" in text or "\r" in text or text.startswith("{%"):
        return "{% " + json.dumps(text) + " %}"
    return text


def _reachable(states: dict[str, Any], start: str) -> dict[str, Any]:
    """Only the states a run can reach: failure exits are emitted for every step, used by few."""
    order: list[str] = []
    todo = [start]
    while todo:
        name = todo.pop()
        if name in order:
            continue
        order.append(name)
        state = states[name]
        # visited in reading order: the happy path first, failure handling last
        todo += [rule["Next"] for rule in reversed(state.get("Catch", []))]
        todo += [t for t in (state.get("Default"),) if t]
        todo += [rule["Next"] for rule in reversed(state.get("Choices", []))]
        todo += [t for t in (state.get("Next"),) if t]
    return {name: states[name] for name in order}


def _exit_codes(source: str) -> list[int] | None:
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
