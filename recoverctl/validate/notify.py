"""`notify:` channels, from a schema-valid mapping (a runbook's, or a config file's)."""

from __future__ import annotations

from typing import Any

from recoverctl.model.duration import parse_duration
from recoverctl.model.notify import (
    DEFAULT_ATTEMPTS,
    DEFAULT_TIMEOUT,
    NOTIFY_KINDS,
    Channel,
    NotifyEvent,
)
from recoverctl.model.source import JsonPath, SourceMap
from recoverctl.model.text import Text


def channel(
    name: str, spec: dict[str, Any], path: JsonPath, spans: SourceMap, origin: str = "runbook"
) -> Channel:
    kind = next(key for key in NOTIFY_KINDS if key in spec)
    at = (*path, kind)
    body = spec[kind]

    def text(value: Any, where: JsonPath) -> Text:
        return Text(str(value), spans.value_span(where))

    options: tuple[tuple[str, Text], ...] = ()
    headers: tuple[tuple[str, Text], ...] = ()
    argv: tuple[Text, ...] = ()
    if kind == "command":
        argv = tuple(text(part, (*at, i)) for i, part in enumerate(body))
    else:
        options = tuple(
            (key, text(value, (*at, key))) for key, value in body.items() if key != "headers"
        )
        headers = tuple(
            (key, text(value, (*at, "headers", key)))
            for key, value in body.get("headers", {}).items()
        )
    return Channel(
        name=name,
        kind=kind,
        span=spans.key_span(path),
        on=tuple(NotifyEvent(e) for e in spec.get("on", ())) or tuple(NotifyEvent),
        options=options,
        headers=headers,
        argv=argv,
        timeout=parse_duration(spec["timeout"]) if "timeout" in spec else DEFAULT_TIMEOUT,
        attempts=spec.get("attempts", DEFAULT_ATTEMPTS),
        origin=origin,
    )
