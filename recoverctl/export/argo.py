"""The plan as an Argo Workflow (or WorkflowTemplate).

Shape: the main flow is one `dag` template, so every condition can read any
earlier step as `tasks['name']` (Argo scopes `tasks.` to one DAG; nesting a
template per group would hide results from later groups). Sequences chain
`depends`, parallel groups fan out from the same predecessors, branch cases
are tasks guarded by "this case and no earlier one" conditions. Each action
is a template: `run` a container (`sh -c` for shell commands), `sleep` and
`approval` a `suspend`, `http` an HTTP template, `wait_for` a recursive
poll. Rollbacks and `finally` run in the `onExit` handler: a compensation
runs when the workflow did not succeed and its step's recorded status (a
global output parameter) says it completed, last first.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.common import (
    Findings,
    References,
    all_steps,
    argo_task_name,
    condition,
    dns_label,
    note_wait_for_retry,
    whole_seconds,
)
from recoverctl.export.expressions import EXPR, Expr, Untranslatable, translate_template
from recoverctl.export.options import DEFAULT_IMAGE
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
)

STATUS_FILE = "/tmp/recoverctl-status"  # noqa: S108 - inside the step's own container
_TRACK = (
    '"$@"; rc=$?; if [ "$rc" -eq 0 ]; then s=succeeded; else s=failed; fi; '
    f'echo "$s" > {STATUS_FILE}; exit "$rc"'
)
"""Runs the step's argv and records how it ended, for the exit handler's rollback decisions."""


def to_argo(
    plan: Plan, findings: Findings, *, image: str = DEFAULT_IMAGE, template: bool = False
) -> dict[str, Any]:
    """The Workflow manifest; lost features are reported to `findings`."""
    return _ArgoExport(plan, findings, image).manifest(template=template)


class _ArgoExport:
    def __init__(self, plan: Plan, findings: Findings, image: str) -> None:
        self.plan, self.findings, self.image = plan, findings, image
        self.runbook = plan.runbook
        self.steps = all_steps(self.runbook)
        self.templates: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.tracked = {
            sid
            for sid in plan.rollback_order
            if (s := self.steps.get(sid)) is not None and s.is_action
        } | {
            s.id
            for s in self.runbook.all_steps()
            if s.is_action and s.on_failure is OnFailure.ABORT and not s.rescue
        }
        self.main_refs = References(
            EXPR,
            self.steps,
            param=lambda name: f"workflow.parameters['{name}']",
            step_field=self._task_field,
            run={"id": "workflow.name", "name": "workflow.name"},
        )
        self.exit_refs = References(
            EXPR,
            self.steps,
            param=lambda name: f"workflow.parameters['{name}']",
            step_field=_no_results_in_exit_handler,
            run={
                "id": "workflow.name",
                "name": "workflow.name",
                "status": "lower(workflow.status)",
            },
        )

    # -- the manifest ------------------------------------------------------------------------

    def manifest(self, *, template: bool) -> dict[str, Any]:
        rb = self.runbook
        main: list[dict[str, Any]] = []
        self._sequence(rb.steps, [], [], _Dag(main, self.main_refs))
        self.templates.insert(0, {"name": "main", "dag": {"tasks": main}})
        spec: dict[str, Any] = {"entrypoint": "main"}
        exit_tasks = self._exit_handler()
        if exit_tasks:
            spec["onExit"] = "exit-handler"
            self.templates.insert(1, {"name": "exit-handler", "dag": {"tasks": exit_tasks}})
        params = self._parameters()
        if params:
            spec["arguments"] = {"parameters": params}
        if rb.timeout is not None:
            spec["activeDeadlineSeconds"] = whole_seconds(
                None, self.findings, "timeout", rb.timeout, at=("timeout",)
            )
        if rb.concurrency is not None:
            spec["parallelism"] = rb.concurrency
        spec["templates"] = self.templates
        name = dns_label(rb.name)
        metadata: dict[str, Any] = {
            "labels": {"app.kubernetes.io/managed-by": "recoverctl"},
            "annotations": {
                "recoverctl.dev/runbook": rb.path.name,
                "recoverctl.dev/plan-hash": self.plan.hash,
            },
        }
        metadata["name" if template else "generateName"] = name if template else f"{name}-"
        if rb.description:
            metadata["annotations"]["workflows.argoproj.io/description"] = rb.description
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate" if template else "Workflow",
            "metadata": metadata,
            "spec": spec,
        }

    def _parameters(self) -> list[dict[str, Any]]:
        out = []
        for param in self.runbook.params:
            entry: dict[str, Any] = {"name": param.name}
            if param.default is not None:
                entry["value"] = _as_text(param.default)
            if param.description:
                entry["description"] = param.description
            if param.choices:
                entry["enum"] = [_as_text(c) for c in param.choices]
            if param.secret:
                self.findings.lost(
                    None,
                    f"secret param '{param.name}'",
                    "Argo shows parameters in its UI and API; pass secrets from a Kubernetes Secret",
                    ("params", param.name),
                )
            if param.env:
                self.findings.lost(
                    None,
                    f"param '{param.name}' read from ${param.env}",
                    "a workflow has no operator shell to read it from; set it at submit time",
                    ("params", param.name, "env"),
                )
            out.append(entry)
        return out

    # -- the main DAG ---------------------------------------------------------------------------

    def _sequence(
        self,
        steps: tuple[Step, ...],
        after: list[str],
        when: list[str],
        dag: _Dag,
    ) -> list[str]:
        for step in steps:
            after = self._step(step, after, when, dag)
        return after

    def _step(
        self,
        step: Step,
        after: list[str],
        when: list[str],
        dag: _Dag,
    ) -> list[str]:
        """Emit `step`'s tasks after `after` (depends terms); returns the terms that follow it."""
        when = list(when)
        if step.when is not None:
            when.append(self._condition(step, step.when, dag.refs))
        if isinstance(step.skip_if, Expression):
            when.append(f"!({self._condition(step, step.skip_if, dag.refs)})")
        elif isinstance(step.skip_if, Step):
            guard = self._task(step.skip_if, after, when, dag, continue_on_failure=True)
            after = [_done(guard)]
            when.append(f"tasks['{guard}'].status != 'Succeeded'")
        body = step.body
        if isinstance(body, Group):
            return self._group(step, body, after, when, dag)
        if isinstance(body, Branch):
            return self._branch(step, body, after, when, dag)
        if isinstance(body, CallAction):
            self.findings.lost(step, "`call`", "sub-runbooks are not exported; inline the steps")
            return after
        continues = step.on_failure is OnFailure.CONTINUE or bool(step.rescue)
        name = self._task(step, after, when, dag, continue_on_failure=continues)
        exits = [_accepts(name, step.on_failure is OnFailure.CONTINUE)]
        if step.rescue:
            rescued = self._sequence(step.rescue, [f"({name}.Failed || {name}.Errored)"], when, dag)
            exits = [
                f"({_accepts(name, step.on_failure is OnFailure.CONTINUE)} || {' && '.join(rescued)})"
            ]
        return exits

    def _group(
        self,
        step: Step,
        body: Group,
        after: list[str],
        when: list[str],
        dag: _Dag,
    ) -> list[str]:
        if step.timeout_explicit and step.timeout is not None:
            self.findings.lost(
                step, "a group timeout", "Argo enforces deadlines per pod, not per group of tasks"
            )
        if step.rescue:
            self.findings.lost(step, "rescue of a group", "only action steps' rescue is exported")
        if not body.parallel:
            return self._sequence(body.steps, after, when, dag)
        if body.max_parallel is not None and body.max_parallel < len(body.steps):
            self.findings.lost(
                step,
                f"max_parallel: {body.max_parallel}",
                "one DAG holds the whole run; Argo limits parallelism per template or workflow",
            )
        exits: list[str] = []
        for child in body.steps:
            exits += self._step(child, after, when, dag)
        return exits

    def _branch(
        self,
        step: Step,
        body: Branch,
        after: list[str],
        when: list[str],
        dag: _Dag,
    ) -> list[str]:
        earlier: list[str] = []
        exits: list[str] = []
        for case in body.cases:
            guard = [f"!({c})" for c in earlier]
            if case.when is not None:
                this = self._condition(step, case.when, dag.refs)
                guard.append(this)
                earlier.append(this)
            case_when = [*when, " && ".join(guard)] if guard else list(when)
            exits += self._sequence(case.steps, after, case_when, dag) if case.steps else []
        return exits or after

    def _task(
        self,
        step: Step,
        after: list[str],
        when: list[str],
        dag: _Dag,
        *,
        continue_on_failure: bool,
    ) -> str:
        name = self._name(step.id)
        task: dict[str, Any] = {"name": name, "template": name}
        if after:
            task["depends"] = " && ".join(after)
        if when:
            task["when"] = "{{=" + " && ".join(f"({w})" for w in when) + "}}"
        if continue_on_failure:
            task["continueOn"] = {"failed": True}
        dag.tasks.append(task)
        self._action_template(step, name, dag.refs)
        return name

    def _name(self, step_id: str) -> str:
        name = argo_task_name(step_id)
        owner = self.names.setdefault(name, step_id)
        if owner != step_id:
            raise Untranslatable(
                f"steps '{owner}' and '{step_id}' both become Argo name '{name}'",
                self.steps.get(step_id),
            )
        return name

    # -- templates of actions -----------------------------------------------------------------

    def _action_template(self, step: Step, name: str, refs: References) -> None:
        body = step.body
        tpl: dict[str, Any] = {"name": name}
        if isinstance(body, RunAction):
            argv, values = self._argv(step, body, refs)
            tpl["container"] = self._container(step, argv, refs, extra_env=values)
        elif isinstance(body, LogAction):
            if body.webhook is not None:
                self.findings.lost(step, "a log webhook", "the message is printed, not posted")
            env = {"RC_MESSAGE": self._text(step, body.message, refs)}
            stream = " >&2" if body.level in ("error", "warning") else ""
            argv = ["sh", "-c", f"printf '%s\\n' \"$RC_MESSAGE\"{stream}"]
            tpl["container"] = self._container(step, argv, refs, extra_env=env)
        elif isinstance(body, AssertAction):
            check = " && ".join(f"({self._condition(step, e, refs)})" for e in body.that)
            message = body.message or Text("assertion failed", step.span)
            env = {"RC_HOLDS": "{{=" + check + "}}", "RC_MESSAGE": self._text(step, message, refs)}
            script = 'test "$RC_HOLDS" = true || { printf \'%s\\n\' "$RC_MESSAGE" >&2; exit 1; }'
            tpl["container"] = self._container(step, ["sh", "-c", script], refs, extra_env=env)
        elif isinstance(body, SleepAction):
            tpl["suspend"] = {"duration": f"{body.seconds:g}s"}
        elif isinstance(body, ApprovalAction):
            tpl["suspend"] = self._approval(step, body)
        elif isinstance(body, HttpAction):
            tpl["http"] = self._http(step, body, refs)
        elif isinstance(body, WaitForAction):
            self._poll(step, name, body, refs)
            return
        self._limits(step, tpl, refs)
        self.templates.append(tpl)

    def _limits(
        self, step: Step, tpl: dict[str, Any], refs: References, *, retries: bool = True
    ) -> None:
        """Timeout, retries, locks and the recorded status of `step`, on its template."""
        if step.timeout is not None and "suspend" not in tpl:
            tpl["activeDeadlineSeconds"] = whole_seconds(
                step, self.findings, "timeout", step.timeout
            )
        retry = step.retry
        if not retries:
            note_wait_for_retry(step, self.findings)
        elif retry.attempts > 1:
            backoff: dict[str, Any] = {
                "duration": f"{retry.delay:g}s",
                "factor": _int_or_str(retry.factor if retry.backoff is Backoff.EXPONENTIAL else 1),
            }
            if retry.max_delay is not None:
                backoff["cap"] = f"{retry.max_delay:g}s"
            strategy: dict[str, Any] = {
                "limit": retry.attempts - 1,
                "retryPolicy": "Always",
                "backoff": backoff,
            }
            if retry.jitter:
                self.findings.lost(step, "retry jitter", "Argo's backoff has no jitter")
            if retry.when is not None:
                local = refs.with_local(exit_code="asInt(lastRetry.exitCode)")
                try:
                    strategy["expression"] = condition(retry.when.source, local, EXPR)
                except Untranslatable as exc:
                    self.findings.lost(
                        step,
                        f"retry.when '{retry.when.source}'",
                        f"{exc}; retried on every failure",
                    )
            tpl["retryStrategy"] = strategy
        if step.locks:
            tpl["synchronization"] = {
                "mutexes": [
                    {"name": f"{dns_label(self.runbook.name)}-{dns_label(lock)}"}
                    for lock in sorted(step.locks)
                ]
            }
        if step.id in self.tracked:
            tpl["outputs"] = {
                "parameters": [
                    {
                        "name": "status",
                        "globalName": _status_param(step.id),
                        "valueFrom": {"path": STATUS_FILE, "default": "not-run"},
                    }
                ]
            }
            container = tpl.get("container")
            if container is not None:
                container["command"] = [
                    "sh",
                    "-c",
                    _TRACK,
                    "recoverctl-step",
                    *container["command"],
                ]

    def _container(
        self,
        step: Step,
        argv: list[str],
        refs: References,
        extra_env: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        env: dict[str, str] = {}
        for key, value in (*self.runbook.env, *step.env):
            env[key] = self._text(step, value, refs)
        env.update(extra_env or {})
        container: dict[str, Any] = {"image": self.image, "command": argv}
        if env:
            container["env"] = [{"name": k, "value": v} for k, v in env.items()]
        if step.cwd is not None:
            container["workingDir"] = self._text(step, step.cwd, refs)
        return container

    def _argv(
        self, step: Step, body: RunAction, refs: References
    ) -> tuple[list[str], dict[str, str]]:
        """The container's argv, and the env carrying the values of a shell command's templates."""
        if not body.shell:
            return [self._text(step, part, refs) for part in body.command], {}
        # a template in a shell command becomes a quoted variable: one word, never code
        source, values = self._shell(step, body.command[0], refs)
        return ["sh", "-c", source], values

    def _shell(self, step: Step, text: Text, refs: References) -> tuple[str, dict[str, str]]:
        parts = self._parts(step, text, refs)
        values: dict[str, str] = {}
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                var = f"RC_VALUE_{len(values) + 1}"
                values[var] = _argo_string([part])
                out.append(f'"${{{var}}}"')
        return "".join(out), values

    def _text(self, step: Step, text: Text, refs: References) -> str:
        return _argo_string(self._parts(step, text, refs))

    def _parts(self, step: Step, text: Text, refs: References) -> list[str | Expr]:
        try:
            return translate_template(text.source, EXPR, refs)
        except Untranslatable as exc:
            self.findings.lost(step, f"the template '{text.source}'", str(exc))
            return [text.source]

    def _condition(self, step: Step, expr: Expression, refs: References) -> str:
        try:
            return condition(expr.source, refs, EXPR)
        except Untranslatable as exc:
            self.findings.lost(step, f"the condition '{expr.source}'", str(exc))
            return "true"

    def _approval(self, step: Step, body: ApprovalAction) -> dict[str, Any]:
        if step.timeout is None:
            return {}
        if body.default_approve:
            return {"duration": f"{step.timeout:g}s"}
        self.findings.lost(
            step,
            "an approval timeout that rejects",
            "an Argo suspend either waits for `argo resume` or continues at its deadline",
        )
        return {}

    def _http(self, step: Step, body: HttpAction, refs: References) -> dict[str, Any]:
        http: dict[str, Any] = {"url": self._text(step, body.url, refs), "method": body.method}
        if body.headers:
            http["headers"] = [
                {"name": k, "value": self._text(step, v, refs)} for k, v in body.headers
            ]
        if body.body is not None:
            http["body"] = self._text(step, body.body, refs)
        elif body.json is not None:
            import json

            http["body"] = json.dumps(body.json)
        if body.timeout is not None:
            http["timeoutSeconds"] = whole_seconds(
                step, self.findings, "http timeout", body.timeout
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
            self.findings.lost(step, "expect.body/expect.json", "only the status is checked")
        if body.follow_redirects:
            self.findings.lost(
                step, "follow_redirects", "Argo's HTTP template does not follow redirects"
            )
        return http

    def _poll(self, step: Step, name: str, body: WaitForAction, refs: References) -> None:
        """wait_for: a steps template that checks, pauses and calls itself, `remaining` times."""
        bound = body.timeout if body.timeout is not None else step.timeout
        if bound is None:
            self.findings.lost(step, "an unbounded wait_for", "polled at most 1000 times")
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
            done = f"{done} && ({self._condition(step, body.until, local)})"
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
        self.templates += [
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
                    "image": self.image,
                    "command": [
                        "sh",
                        "-c",
                        f"echo 'gave up waiting after {polls} checks' >&2; exit 1",
                    ],
                },
            },
        ]

    # -- the exit handler: rollbacks, then finally ---------------------------------------------

    def _exit_handler(self) -> list[dict[str, Any]]:
        dag = _Dag([], self.exit_refs)
        aborted = [
            f"workflow.outputs.parameters['{_status_param(sid)}'] == 'failed'"
            for sid in sorted(self.tracked)
            if self.steps[sid].on_failure is OnFailure.ABORT
        ]
        after: list[str] = []
        for sid in self.plan.rollback_order:
            step = self.steps[sid]
            if step.rollback is None:
                continue
            if sid not in self.tracked:
                self.findings.lost(step, "the rollback of a group", "only action steps are undone")
                continue
            completed = [
                "workflow.status != 'Succeeded'",
                f"workflow.outputs.parameters['{_status_param(sid)}'] == 'succeeded'",
                *(f"!({a})" for a in aborted),
            ]
            name = self._task(step.rollback, after, completed, dag, continue_on_failure=True)
            after = [_done(name)]
        self._sequence(self.runbook.finally_steps, after, [], dag)
        return dag.tasks

    def _task_field(self, step: Step, field: str, rest: tuple[str, ...]) -> str:
        task = f"tasks['{argo_task_name(step.id)}']"
        if not step.is_action or isinstance(step.body, CallAction):
            raise Untranslatable(f"the result of group '{step.id}' is not recorded by Argo")
        return {
            "ok": f"({task}.status == 'Succeeded')",
            "status": f"lower({task}.status)",
            "exit_code": f"asInt({task}.exitCode)",
            "stdout": f"{task}.outputs.result",
        }[field]


@dataclass(frozen=True, slots=True)
class _Dag:
    """A DAG template being filled: its tasks, and how its conditions read names."""

    tasks: list[dict[str, Any]]
    refs: References


def _no_results_in_exit_handler(step: Step, field: str, rest: tuple[str, ...]) -> str:
    raise Untranslatable("Argo's exit handler cannot read step results")


def _status_param(step_id: str) -> str:
    return f"rc-{dns_label(step_id)}-status"


def _done(task: str) -> str:
    return f"({task}.Succeeded || {task}.Skipped || {task}.Failed || {task}.Errored)"


def _accepts(task: str, failure_too: bool) -> str:
    if failure_too:
        return _done(task)
    return f"({task}.Succeeded || {task}.Skipped)"


_PARAM = re.compile(r"^workflow\.parameters\['([A-Za-z_][A-Za-z0-9_]*)'\]$")


def _argo_string(parts: list[str | Expr]) -> str:
    """Literal text and `{{...}}` tags: a lone param reads `{{workflow.parameters.x}}`."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        param = _PARAM.match(part.code)
        out.append(
            "{{workflow.parameters." + param.group(1) + "}}" if param else "{{=" + part.code + "}}"
        )
    return "".join(out)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int_or_str(value: float) -> int | str:
    return int(value) if float(value).is_integer() else f"{value:g}"
