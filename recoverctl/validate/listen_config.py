"""`recoverctl listen`'s routes file: which alert URL starts which runbook, checked like a
runbook (every error at its line:col) and every runbook it names validated at start —
a typo must fail when the listener starts, not when the alert fires at 3 a.m."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.load import load_file
from recoverctl.model.duration import parse_duration
from recoverctl.model.source import Diagnostic, sorted_unique

DEFAULT_BIND = "127.0.0.1:9095"
DEFAULT_DEDUP = 3600.0

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "recoverctl listen routes",
    "type": "object",
    "additionalProperties": False,
    "required": ["routes"],
    "properties": {
        "bind": {
            "type": "string",
            "pattern": r"^[^\s:]+:[0-9]+$",
            "x-expected": "host:port such as 127.0.0.1:9095",
        },
        "secret_env": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
            "x-expected": "the name of the environment variable holding the shared secret",
        },
        "routes": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["runbook"],
                "properties": {
                    "runbook": {"type": "string", "minLength": 1},
                    "params": {
                        "type": "object",
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                    },
                    "dedup": {
                        "type": ["number", "string"],
                        "x-expected": "a duration such as 1h",
                        "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$",
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    runbook: Path
    params: tuple[tuple[str, str], ...] = ()
    dedup: float = DEFAULT_DEDUP


@dataclass(frozen=True, slots=True)
class ListenConfig:
    path: Path
    host: str
    port: int
    secret_env: str
    routes: dict[str, Route]


def load_listen_config(path: Path) -> ListenConfig:
    from jsonschema import Draft7Validator

    from recoverctl.validate.schema_check import explain_errors

    doc = load_file(path)
    diagnostics = explain_errors(doc, Draft7Validator(SCHEMA))
    if diagnostics:
        raise RecoverctlError(sorted_unique(diagnostics))
    data: dict[str, Any] = doc.data
    host, _, port = data.get("bind", DEFAULT_BIND).rpartition(":")
    routes: dict[str, Route] = {}
    problems: list[Diagnostic] = []
    for name, spec in data["routes"].items():
        runbook = (path.parent / spec["runbook"]).resolve()
        from recoverctl.validate.pipeline import check_file

        checked = check_file(runbook)
        if checked.runbook is None:
            span = doc.source_map.value_span(("routes", name, "runbook"))
            first = next((d for d in checked.diagnostics), None)
            why = (
                f": {first.file}:{first.span.line}:{first.span.col}: {first.message}"
                if first
                else ""
            )
            problems.append(
                Diagnostic(
                    path, span, f"route '{name}' names a runbook that is not valid{why}", "listen"
                )
            )
            continue
        routes[name] = Route(
            name,
            runbook,
            tuple((str(k), _text(v)) for k, v in spec.get("params", {}).items()),
            parse_duration(spec["dedup"]) if "dedup" in spec else DEFAULT_DEDUP,
        )
    if problems:
        raise RecoverctlError(problems)
    return ListenConfig(
        path, host, int(port), data.get("secret_env", "RECOVERCTL_LISTEN_SECRET"), routes
    )


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
