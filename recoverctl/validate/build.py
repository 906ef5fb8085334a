"""Schema-valid data → the frozen model, defaults applied.

This is the only place that reads `dict[str, Any]` runbook data; it trusts
the schema for shapes and types, so it is a straight translation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from recoverctl.load import LoadedDocument
from recoverctl.model.fanout import ON_TARGET_ITEMS, Foreach
from recoverctl.model.kinds import RETRIED_BY_DEFAULT
from recoverctl.model.runbook import (
    Action,
    Backoff,
    Branch,
    BranchCase,
    Cooldown,
    Expression,
    Group,
    Objectives,
    OnFailure,
    Output,
    Param,
    RetryPolicy,
    Runbook,
    Step,
    Text,
    WaitForAction,
)
from recoverctl.model.source import JsonPath, Span
from recoverctl.model.targets import HOST_LIST_KEY, Target, Transport
from recoverctl.validate.durations import DurationReader
from recoverctl.validate.kinds import build_action, duration, scalar_text
from recoverctl.validate.notify import channel

Data = dict[str, Any]


def build_runbook(doc: LoadedDocument, bound: Mapping[str, Any] | None = None) -> Runbook:
    """The model of a schema-valid document; `bound`: the values of the params its
    durations read (validate/durations.py), None to read them from the defaults."""
    return _Builder(doc, bound).runbook()


class _Builder:
    def __init__(self, doc: LoadedDocument, bound: Mapping[str, Any] | None = None) -> None:
        self.doc = doc
        self.spans = doc.source_map
        data: Data = doc.data
        self.durations = DurationReader(data.get("params", {}), self.spans, bound)
        defaults: Data = data.get("defaults", {})
        self.default_timeout = self.duration(defaults.get("timeout"), ("defaults", "timeout"))
        self.default_retry = self.retry(
            defaults.get("retry"), ("defaults", "retry"), RetryPolicy(), explicit=False
        )
        self.default_on_failure = OnFailure(defaults.get("on_failure", "rollback"))

    def runbook(self) -> Runbook:
        data: Data = self.doc.data
        objectives: Data = data.get("objectives", {})
        steps = self.steps(data["steps"], ("steps",))
        finally_steps = self.steps(data.get("finally", []), ("finally",))
        timeout = self.duration(data.get("timeout"), ("timeout",))
        return Runbook(
            path=self.doc.path,
            name=data["name"],
            version=data["version"],
            steps=steps,
            finally_steps=finally_steps,
            description=data.get("description"),
            owner=data.get("owner"),
            objectives=Objectives(
                rto=duration(objectives.get("rto")), rpo=duration(objectives.get("rpo"))
            ),
            timeout=timeout,
            params=tuple(
                self.param(name, spec, ("params", name))
                for name, spec in data.get("params", {}).items()
            ),
            env=self.env(data.get("env"), ("env",)),
            default_timeout=self.default_timeout,
            concurrency=data.get("concurrency"),
            allow_injection=data.get("allow_injection", False),
            targets=tuple(
                self.target(name, spec, ("targets", name))
                for name, spec in data.get("targets", {}).items()
            ),
            cooldown=_cooldown(data.get("cooldown")),
            notify=tuple(
                channel(name, spec, ("notify", name), self.spans)
                for name, spec in data.get("notify", {}).items()
            ),
            duration_params=tuple(self.durations.references),
            sha256=hashlib.sha256(self.doc.text.encode("utf-8")).hexdigest(),
            text=self.doc.text,
            source_map=self.spans,
            yaml11_booleans=self.doc.yaml11_booleans,
        )

    # -- pieces ---------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.doc.path.parent

    def span(self, path: JsonPath) -> Span:
        return self.spans.value_span(path)

    def duration(self, value: Any, path: JsonPath) -> float | None:
        return self.durations.read(value, path)

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
            (name, self.text(scalar_text(value), (*path, name))) for name, value in data.items()
        )

    def param(self, name: str, spec: Data, path: JsonPath) -> Param:
        default = spec.get("default")
        kind = spec.get("type") or _infer_type(default)
        choices = spec.get("choices")
        items = spec.get("items")
        if kind == "list" and items is None:
            items = _infer_type(default[0]) if isinstance(default, list) and default else "string"
        return Param(
            name=name,
            type=kind,
            span=self.spans.key_span(path),
            default=default,
            required=spec.get("required", False),
            description=spec.get("description"),
            secret=spec.get("secret", False),
            env=spec.get("env"),
            from_alert=spec.get("from_alert"),
            from_alert_span=self.spans.value_span((*path, "from_alert"))
            if "from_alert" in spec
            else None,
            choices=tuple(choices) if choices is not None else None,
            items=items,
        )

    def retry(
        self, data: Data | None, path: JsonPath, inherited: RetryPolicy, *, explicit: bool = True
    ) -> RetryPolicy:
        """A retry policy; keys the step leaves out come from `defaults.retry`."""
        if data is None:
            return inherited
        return RetryPolicy(
            attempts=data.get("attempts", inherited.attempts),
            delay=self.duration(data.get("delay"), (*path, "delay")) or inherited.delay,
            backoff=Backoff(data.get("backoff", inherited.backoff)),
            factor=float(data.get("factor", inherited.factor)),
            max_delay=self.duration(data.get("max_delay"), (*path, "max_delay"))
            or inherited.max_delay,
            jitter=data.get("jitter", inherited.jitter),
            when=self.expr(data.get("when"), (*path, "when")) or inherited.when,
            explicit=explicit,
        )

    def steps(self, items: list[Data], path: JsonPath) -> tuple[Step, ...]:
        return tuple(self.step(item, (*path, index)) for index, item in enumerate(items))

    def step(self, data: Data, path: JsonPath) -> Step:
        step_id: str = data["id"]
        own_timeout = self.duration(data.get("timeout"), (*path, "timeout"))
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
            read_only=data.get("read_only", False),
            foreach=self.fanout(data, path),
            on=data.get("on"),
        )

    def fanout(self, data: Data, path: JsonPath) -> Foreach | None:
        if "foreach" in data:
            return self.foreach(data["foreach"], (*path, "foreach"))
        if "on" in data:  # over the target's hosts, rendered when the step runs
            items = Text(ON_TARGET_ITEMS, self.spans.value_span((*path, "on")))
            return self.foreach({"as": "target", **data.get("strategy", {})}, path, items)
        return None

    def target(self, name: str, spec: Data, path: JsonPath) -> Target:
        kind, options = next(iter(spec.items()))
        transport = Transport(kind)
        at = (*path, kind)
        hosts = options.get(HOST_LIST_KEY[transport])
        listed: Text | tuple[str, ...] | None = None
        if isinstance(hosts, str):
            listed = self.text(hosts, (*at, HOST_LIST_KEY[transport]))
        elif hosts is not None:
            listed = tuple(str(h) for h in hosts)
        skip = {HOST_LIST_KEY[transport], "argv", "inventory", "group"}
        return Target(
            name=name,
            transport=transport,
            span=self.spans.key_span(path),
            hosts=listed,
            options=tuple(
                (key, self.text(str(value), (*at, key)))
                for key, value in options.items()
                if key not in skip
            ),
            argv=tuple(
                self.text(part, (*at, "argv", i)) for i, part in enumerate(options.get("argv", ()))
            ),
            inventory=self.text(options["inventory"], (*at, "inventory"))
            if "inventory" in options
            else None,
            group=options.get("group"),
        )

    def foreach(self, data: Data, path: JsonPath, items_of: Text | None = None) -> Foreach:
        items = data.get("items")
        listed: Text | tuple[object, ...]
        if items_of is not None:
            listed = items_of
        elif isinstance(items, str):
            listed = self.text(items, (*path, "items"))
        else:
            listed = tuple(items or ())
        return Foreach(
            items=listed,
            var=data.get("as", "item"),
            key=self.text(data["key"], (*path, "key")) if "key" in data else None,
            max_parallel=data.get("max_parallel"),
            batch=data.get("batch"),
            canary=data.get("canary", 0),
            max_failures=data.get("max_failures"),
            max_failure_percent=data.get("max_failure_percent"),
            stop_running=bool(data.get("stop_running", False)),
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
        own_timeout = self.duration(data.get("timeout"), (*path, "timeout"))
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
        return build_action(self, data, path)


def _cooldown(value: Any) -> Cooldown | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return Cooldown(runbook=duration(value.get("runbook")), alert=duration(value.get("alert")))
    return Cooldown(runbook=duration(value))


def _infer_type(default: Any) -> str:
    if isinstance(default, list):
        return "list"
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, int):
        return "integer"
    if isinstance(default, float):
        return "number"
    return "string"
