"""One builder per action kind: its schema-valid data → its model value.

The builders read only the action's own key (`run:`, `http:`…); the step's
common options (timeout, retry, rescue…) are the step builder's business
(validate/build.py). BUILDERS has a row for every kind in model/kinds.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from recoverctl.model.duration import parse_duration
from recoverctl.model.runbook import (
    Action,
    ApprovalAction,
    AssertAction,
    CallAction,
    Expression,
    HttpAction,
    HttpExpect,
    LogAction,
    RunAction,
    SleepAction,
    Text,
    WaitForAction,
    Webhook,
)
from recoverctl.model.source import JsonPath, Span

Data = dict[str, Any]


class Source(Protocol):
    """Where the builders get positioned values from (the runbook builder)."""

    @property
    def folder(self) -> Path:
        """The runbook's folder: relative `call:` paths are resolved against it."""

    def text(self, value: str, path: JsonPath) -> Text: ...

    def expr(self, value: str | None, path: JsonPath) -> Expression | None: ...

    def span(self, path: JsonPath) -> Span: ...

    def duration(self, value: Any, path: JsonPath) -> float | None:
        """Seconds for the duration at `path`, a `{{ params.X }}` reference resolved."""


def run(src: Source, data: Data, path: JsonPath) -> RunAction:
    value = data["run"]
    where = (*path, "run")
    if isinstance(value, str):
        return RunAction((src.text(value, where),), shell=True)
    return RunAction(
        tuple(src.text(part, (*where, i)) for i, part in enumerate(value)), shell=False
    )


def http(src: Source, data: Data, path: JsonPath) -> HttpAction:
    spec: Data = data["http"]
    where = (*path, "http")
    return HttpAction(
        url=src.text(spec["url"], (*where, "url")),
        method=spec.get("method", "GET"),
        headers=tuple(
            (name, src.text(value, (*where, "headers", name)))
            for name, value in spec.get("headers", {}).items()
        ),
        body=src.text(spec["body"], (*where, "body")) if "body" in spec else None,
        json=spec.get("json"),
        timeout=src.duration(spec.get("timeout"), (*where, "timeout")),
        verify=spec.get("verify", True),
        follow_redirects=spec.get("follow_redirects", False),
        expect=_http_expect(spec.get("expect", {})),
        ca_bundle=src.text(spec["ca_bundle"], (*where, "ca_bundle"))
        if "ca_bundle" in spec
        else None,
        client_cert=src.text(spec["client_cert"], (*where, "client_cert"))
        if "client_cert" in spec
        else None,
        client_key=src.text(spec["client_key"], (*where, "client_key"))
        if "client_key" in spec
        else None,
    )


def wait_for(src: Source, data: Data, path: JsonPath) -> WaitForAction:
    spec: Data = data["wait_for"]
    where = (*path, "wait_for")
    check = run(src, spec, where) if "run" in spec else http(src, spec, where)
    return WaitForAction(
        check=check,
        interval=src.duration(spec.get("interval"), (*where, "interval")) or 2.0,
        timeout=src.duration(spec.get("timeout"), (*where, "timeout")),
        until=src.expr(spec.get("until"), (*where, "until")),
        fail_if=src.expr(spec.get("fail_if"), (*where, "fail_if")),
        consecutive=spec.get("consecutive", 1),
    )


def sleep(src: Source, data: Data, path: JsonPath) -> SleepAction:
    return SleepAction(src.duration(data["sleep"], (*path, "sleep")) or 0.0)


def approval(src: Source, data: Data, path: JsonPath) -> ApprovalAction:
    spec = data["approval"]
    where = (*path, "approval")
    if isinstance(spec, str):
        return ApprovalAction(src.text(spec, where))
    return ApprovalAction(
        src.text(spec["prompt"], (*where, "prompt")),
        default_approve=spec.get("default", "deny") == "approve",
        approvers=tuple(spec.get("approvers", ())),
        min_approvals=spec.get("min_approvals"),
    )


def log(src: Source, data: Data, path: JsonPath) -> LogAction:
    spec = data["log"]
    where = (*path, "log")
    if isinstance(spec, str):
        return LogAction(src.text(spec, where))
    webhook = None
    if "webhook" in spec:
        hook: Data = spec["webhook"]
        webhook = Webhook(
            url=src.text(hook["url"], (*where, "webhook", "url")),
            timeout=duration(hook.get("timeout")) or 10.0,
            required=hook.get("required", False),
        )
    return LogAction(
        src.text(spec["message"], (*where, "message")),
        level=spec.get("level", "info"),
        webhook=webhook,
    )


def assert_(src: Source, data: Data, path: JsonPath) -> AssertAction:
    spec = data["assert"]
    where: JsonPath = (*path, "assert")
    message = None
    if isinstance(spec, dict):
        if "message" in spec:
            message = src.text(spec["message"], (*where, "message"))
        spec, where = spec["that"], (*where, "that")
    items = [spec] if isinstance(spec, str) else spec
    paths = [where] if isinstance(spec, str) else [(*where, i) for i in range(len(items))]
    exprs = tuple(Expression(item, src.span(p)) for item, p in zip(items, paths, strict=True))
    return AssertAction(exprs, message)


def call(src: Source, data: Data, path: JsonPath) -> CallAction:
    spec: Data = data["call"]
    target = src.text(spec["runbook"], (*path, "call", "runbook"))
    return CallAction(
        runbook=target,
        path=(src.folder / spec["runbook"]),
        params=tuple(
            (name, src.text(scalar_text(value), (*path, "call", "params", name)))
            for name, value in spec.get("params", {}).items()
        ),
    )


BUILDERS: dict[str, Callable[[Source, Data, JsonPath], Action]] = {
    "run": run,
    "http": http,
    "wait_for": wait_for,
    "sleep": sleep,
    "approval": approval,
    "log": log,
    "assert": assert_,
    "call": call,
}
"""Step kind → builder."""


def build_action(src: Source, data: Data, path: JsonPath) -> Action:
    """The action of a step, by the kind key it holds (the schema allows exactly one)."""
    return BUILDERS[next(kind for kind in BUILDERS if kind in data)](src, data, path)


def duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


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
