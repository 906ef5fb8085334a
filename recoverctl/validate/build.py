"""Schema-valid data → the frozen model, defaults applied.

This is the only place that reads `dict[str, Any]` runbook data; it trusts
the schema for shapes and types, so it is a straight translation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from recoverctl.load import LoadedDocument
from recoverctl.model.duration import parse_duration
from recoverctl.model.kinds import RETRIED_BY_DEFAULT
from recoverctl.model.runbook import (
    Action,
    ApprovalAction,
    AssertAction,
    Backoff,
    Branch,
    BranchCase,
    CallAction,
    Expression,
    Group,
    HttpAction,
    HttpExpect,
    LogAction,
    Objectives,
    OnFailure,
    Output,
    Param,
    RetryPolicy,
    RunAction,
    Runbook,
    SleepAction,
    Step,
    Text,
    WaitForAction,
    Webhook,
)
from recoverctl.model.source import JsonPath

Data = dict[str, Any]


def build_runbook(doc: LoadedDocument) -> Runbook:
    """The model of a schema-valid document."""
    return _Builder(doc).runbook()


class _Builder:
    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        self.spans = doc.source_map
        data: Data = doc.data
        defaults: Data = data.get("defaults", {})
        self.default_timeout = _duration(defaults.get("timeout"))
        self.default_retry = self.retry(
            defaults.get("retry"), ("defaults", "retry"), RetryPolicy(), explicit=False
        )
        self.default_on_failure = OnFailure(defaults.get("on_failure", "rollback"))

    def runbook(self) -> Runbook:
        data: Data = self.doc.data
        objectives: Data = data.get("objectives", {})
        return Runbook(
            path=self.doc.path,
            name=data["name"],
            version=data["version"],
            steps=self.steps(data["steps"], ("steps",)),
            finally_steps=self.steps(data.get("finally", []), ("finally",)),
            description=data.get("description"),
            owner=data.get("owner"),
            objectives=Objectives(
                rto=_duration(objectives.get("rto")), rpo=_duration(objectives.get("rpo"))
            ),
            timeout=_duration(data.get("timeout")),
            params=tuple(
                self.param(name, spec, ("params", name))
                for name, spec in data.get("params", {}).items()
            ),
            env=self.env(data.get("env"), ("env",)),
            default_timeout=self.default_timeout,
            concurrency=data.get("concurrency"),
            allow_injection=data.get("allow_injection", False),
            sha256=hashlib.sha256(self.doc.text.encode("utf-8")).hexdigest(),
            text=self.doc.text,
            source_map=self.spans,
            yaml11_booleans=self.doc.yaml11_booleans,
        )

    # -- pieces ---------------------------------------------------------------------

    def text(self, value: str, path: JsonPath) -> Text:
        return Text(value, self.spans.value_span(path))

    def expr(self, value: str | None, path: JsonPath) -> Expression | None:
        if value is None:
            return None
        return Expression(value, self.spans.value_span(path))

    def env(self, data: Data | None, path: JsonPath) -> tuple[tuple[str, Text], ...]:
        if not data:
            return ()
        return tuple(
            (name, self.text(_scalar_text(value), (*path, name))) for name, value in data.items()
        )

    def param(self, name: str, spec: Data, path: JsonPath) -> Param:
        default = spec.get("default")
        kind = spec.get("type") or _infer_type(default)
        choices = spec.get("choices")
        return Param(
            name=name,
            type=kind,
            span=self.spans.key_span(path),
            default=default,
            required=spec.get("required", False),
            description=spec.get("description"),
            secret=spec.get("secret", False),
            env=spec.get("env"),
            choices=tuple(choices) if choices is not None else None,
        )

    def retry(
        self, data: Data | None, path: JsonPath, inherited: RetryPolicy, *, explicit: bool = True
    ) -> RetryPolicy:
        """A retry policy; keys the step leaves out come from `defaults.retry`."""
        if data is None:
            return inherited
        return RetryPolicy(
            attempts=data.get("attempts", inherited.attempts),
            delay=_duration(data.get("delay")) or inherited.delay,
            backoff=Backoff(data.get("backoff", inherited.backoff)),
            factor=float(data.get("factor", inherited.factor)),
            max_delay=_duration(data.get("max_delay")) or inherited.max_delay,
            jitter=data.get("jitter", inherited.jitter),
            when=self.expr(data.get("when"), (*path, "when")) or inherited.when,
            explicit=explicit,
        )

    def steps(self, items: list[Data], path: JsonPath) -> tuple[Step, ...]:
        return tuple(self.step(item, (*path, index)) for index, item in enumerate(items))

    def step(self, data: Data, path: JsonPath) -> Step:
        step_id: str = data["id"]
        own_timeout = _duration(data.get("timeout"))
        body, timeout = self.bounded(self.body(data, path), own_timeout)
        inherited = self.default_retry if body.kind in RETRIED_BY_DEFAULT else RetryPolicy()
        rollback = None
        if "rollback" in data:
            rollback = self.compensation(step_id, data["rollback"], (*path, "rollback"))
        skip_if: Expression | Step | None = None
        if isinstance(data.get("skip_if"), str):
            skip_if = self.expr(data["skip_if"], (*path, "skip_if"))
        elif "skip_if" in data:
            skip_if = self.guard(step_id, data["skip_if"], (*path, "skip_if"))
        return Step(
            id=step_id,
            span=self.spans.value_span(path),
            path=path,
            body=body,
            name=data.get("name"),
            description=data.get("description"),
            when=self.expr(data.get("when"), (*path, "when")),
            timeout=timeout,
            timeout_explicit=own_timeout is not None,
            retry=self.retry(data.get("retry"), (*path, "retry"), inherited),
            on_failure=OnFailure(data.get("on_failure", self.default_on_failure)),
            rollback=rollback,
            rescue=self.steps(data.get("rescue", []), (*path, "rescue")),
            skip_if=skip_if,
            outputs=tuple(
                self.output(name, spec, (*path, "outputs", name))
                for name, spec in data.get("outputs", {}).items()
            ),
            env=self.env(data.get("env"), (*path, "env")),
            cwd=self.text(data["cwd"], (*path, "cwd")) if "cwd" in data else None,
            locks=tuple(data.get("locks", ())),
            idempotent=data.get("idempotent"),
            destructive=data.get("destructive", False),
        )

    def bounded(
        self, body: Action | Group | Branch, own_timeout: float | None
    ) -> tuple[Action | Group | Branch, float | None]:
        """The body and the step's effective timeout; a wait's own bound wins over
        `defaults.timeout` and a longer step timeout (a shorter one is a semantic error)."""
        timeout = own_timeout if own_timeout is not None else self.default_timeout
        if isinstance(body, WaitForAction):
            if body.timeout is None:
                body = replace(body, timeout=timeout)
            elif own_timeout is None or own_timeout >= body.timeout:
                timeout = body.timeout  # a longer step timeout could never fire first
        return body, timeout

    def output(self, name: str, spec: str | Data, path: JsonPath) -> Output:
        if isinstance(spec, str):
            return Output(name, self.text(spec, path))
        return Output(
            name, self.text(spec["value"], (*path, "value")), secret=spec.get("secret", False)
        )

    def compensation(self, owner: str, data: Data, path: JsonPath) -> Step:
        """A rollback action becomes a step of its own: it has attempts and a timeout."""
        return self._action_step(f"{owner}.rollback", data, path, data.get("retry"))

    def guard(self, owner: str, data: Data, path: JsonPath) -> Step:
        """A `skip_if` check: success means the step's work is already done."""
        return self._action_step(f"{owner}.skip_if", data, path, None)

    def _action_step(self, step_id: str, data: Data, path: JsonPath, retry: Data | None) -> Step:
        """A generated step around one action: its failures are reported, never fatal by themselves."""
        own_timeout = _duration(data.get("timeout"))
        body, timeout = self.bounded(self.action(data, path), own_timeout)
        return Step(
            id=step_id,
            span=self.spans.value_span(path),
            path=path,
            body=body,
            name=data.get("name"),
            timeout=timeout,
            timeout_explicit=own_timeout is not None,
            retry=self.retry(retry, (*path, "retry"), RetryPolicy()),
            on_failure=OnFailure.CONTINUE,
            env=self.env(data.get("env"), (*path, "env")),
            cwd=self.text(data["cwd"], (*path, "cwd")) if "cwd" in data else None,
        )

    def body(self, data: Data, path: JsonPath) -> Action | Group | Branch:
        if "parallel" in data:
            return Group(
                self.steps(data["parallel"], (*path, "parallel")),
                parallel=True,
                max_parallel=data.get("max_parallel"),
            )
        if "steps" in data:
            return Group(self.steps(data["steps"], (*path, "steps")), parallel=False)
        if "branch" in data:
            return Branch(
                tuple(
                    self.case(case, (*path, "branch", index))
                    for index, case in enumerate(data["branch"])
                )
            )
        return self.action(data, path)

    def case(self, data: Data, path: JsonPath) -> BranchCase:
        if "else" in data:
            return BranchCase(
                None,
                self.steps(data["else"], (*path, "else")),
                self.spans.key_span((*path, "else")),
                data.get("name"),
            )
        return BranchCase(
            self.expr(data["when"], (*path, "when")),
            self.steps(data["steps"], (*path, "steps")),
            self.spans.key_span((*path, "when")),
            data.get("name"),
        )

    def action(self, data: Data, path: JsonPath) -> Action:
        builder = ACTION_BUILDERS[next(kind for kind in ACTION_BUILDERS if kind in data)]
        return builder(self, data, path)

    def run(self, data: Data, path: JsonPath) -> RunAction:
        value = data["run"]
        where = (*path, "run")
        if isinstance(value, str):
            return RunAction((self.text(value, where),), shell=True)
        return RunAction(
            tuple(self.text(part, (*where, i)) for i, part in enumerate(value)), shell=False
        )

    def http(self, data: Data, path: JsonPath) -> HttpAction:
        spec: Data = data["http"]
        where = (*path, "http")
        return HttpAction(
            url=self.text(spec["url"], (*where, "url")),
            method=spec.get("method", "GET"),
            headers=tuple(
                (name, self.text(value, (*where, "headers", name)))
                for name, value in spec.get("headers", {}).items()
            ),
            body=self.text(spec["body"], (*where, "body")) if "body" in spec else None,
            json=spec.get("json"),
            timeout=_duration(spec.get("timeout")),
            verify=spec.get("verify", True),
            follow_redirects=spec.get("follow_redirects", False),
            expect=_http_expect(spec.get("expect", {})),
        )

    def wait_for(self, data: Data, path: JsonPath) -> WaitForAction:
        spec: Data = data["wait_for"]
        where = (*path, "wait_for")
        check = self.run(spec, where) if "run" in spec else self.http(spec, where)
        return WaitForAction(
            check=check,
            interval=_duration(spec.get("interval")) or 2.0,
            timeout=_duration(spec.get("timeout")),
            until=self.expr(spec.get("until"), (*where, "until")),
        )

    def sleep(self, data: Data, path: JsonPath) -> SleepAction:
        return SleepAction(parse_duration(data["sleep"]))

    def approval(self, data: Data, path: JsonPath) -> ApprovalAction:
        spec = data["approval"]
        where = (*path, "approval")
        if isinstance(spec, str):
            return ApprovalAction(self.text(spec, where))
        return ApprovalAction(
            self.text(spec["prompt"], (*where, "prompt")),
            default_approve=spec.get("default", "deny") == "approve",
        )

    def log(self, data: Data, path: JsonPath) -> LogAction:
        spec = data["log"]
        where = (*path, "log")
        if isinstance(spec, str):
            return LogAction(self.text(spec, where))
        webhook = None
        if "webhook" in spec:
            hook: Data = spec["webhook"]
            webhook = Webhook(
                url=self.text(hook["url"], (*where, "webhook", "url")),
                timeout=_duration(hook.get("timeout")) or 10.0,
                required=hook.get("required", False),
            )
        return LogAction(
            self.text(spec["message"], (*where, "message")),
            level=spec.get("level", "info"),
            webhook=webhook,
        )

    def assert_(self, data: Data, path: JsonPath) -> AssertAction:
        spec = data["assert"]
        where: JsonPath = (*path, "assert")
        message = None
        if isinstance(spec, dict):
            if "message" in spec:
                message = self.text(spec["message"], (*where, "message"))
            spec, where = spec["that"], (*where, "that")
        items = [spec] if isinstance(spec, str) else spec
        paths = [where] if isinstance(spec, str) else [(*where, i) for i in range(len(items))]
        exprs = tuple(
            Expression(item, self.spans.value_span(p)) for item, p in zip(items, paths, strict=True)
        )
        return AssertAction(exprs, message)

    def call(self, data: Data, path: JsonPath) -> CallAction:
        spec: Data = data["call"]
        target = self.text(spec["runbook"], (*path, "call", "runbook"))
        return CallAction(
            runbook=target,
            path=(self.doc.path.parent / spec["runbook"]),
            params=tuple(
                (name, self.text(_scalar_text(value), (*path, "call", "params", name)))
                for name, value in spec.get("params", {}).items()
            ),
        )


ACTION_BUILDERS: dict[str, Callable[[_Builder, Data, JsonPath], Action]] = {
    "run": _Builder.run,
    "http": _Builder.http,
    "wait_for": _Builder.wait_for,
    "sleep": _Builder.sleep,
    "approval": _Builder.approval,
    "log": _Builder.log,
    "assert": _Builder.assert_,
    "call": _Builder.call,
}
"""Step kind → builder: the registry of action kinds the format knows."""


def _duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _infer_type(default: Any) -> str:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    return "string"


def _http_expect(spec: Data) -> HttpExpect:
    status = spec.get("status")
    statuses: tuple[int, ...] | None = None
    status_range: tuple[int, int] | None = (200, 299)
    if isinstance(status, int):
        statuses = (status,)
    elif isinstance(status, list):
        statuses = tuple(status)
    elif isinstance(status, str):
        low, high = status.split("-")
        status_range = (int(low), int(high))
    return HttpExpect(
        statuses=statuses,
        status_range=status_range,
        body=spec.get("body"),
        json=tuple(spec.get("json", {}).items()),
    )
