"""Durations read from params: `timeout: "{{ params.wait }}"`.

A runbook that waits "as long as the operator says" writes the duration as a
reference to one param. The reference is the whole value (not a template with
arithmetic) so that it can be checked before anything runs: the param must be
declared, and its value — the default when no params are bound (validate,
lint, export, plan without -p), the bound value for a run — must be a
duration. The builder reads each reference through `DurationReader`; the
pipeline reports what could not be read at the place it is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recoverctl.model.duration import parse_duration
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import DurationParam, Runbook
from recoverctl.model.source import Diagnostic, JsonPath, SourceMap

PARAM_REFERENCE = re.compile(r"\{\{ *params\.([A-Za-z_][A-Za-z0-9_]*) *\}\}\Z")
"""The whole value is one param reference (the schema's `duration_or_param`)."""

PLACEHOLDER_SECONDS = 1.0
"""What a reference that cannot be read stands for in a model that is then refused."""


def param_reference(value: Any) -> str | None:
    """The param a duration value names, or None for a plain duration."""
    if not isinstance(value, str):
        return None
    match = PARAM_REFERENCE.match(value.strip())
    return match.group(1) if match else None


class DurationReader:
    """Reads the durations of one document, resolving param references.

    `bound`: the values a run's params were bound with (None before binding);
    `declared`: the document's `params:` mapping as written."""

    def __init__(
        self,
        declared: Mapping[str, Any],
        spans: SourceMap,
        bound: Mapping[str, Any] | None = None,
    ) -> None:
        self.declared = declared
        self.spans = spans
        self.bound = bound
        self.references: list[DurationParam] = []

    def read(self, value: Any, path: JsonPath) -> float | None:
        """Seconds for the duration at `path` (None when absent)."""
        if value is None:
            return None
        name = param_reference(value)
        if name is None:
            return parse_duration(value)
        key = str(path[-1]) if path else "duration"
        reference = self._resolve(name, key, path)
        self.references.append(reference)
        if reference.problem is not None:
            return PLACEHOLDER_SECONDS
        return parse_duration(reference.value)

    def _resolve(self, name: str, key: str, path: JsonPath) -> DurationParam:
        span = self.spans.value_span(path)
        spec = self.declared.get(name)
        if not isinstance(spec, Mapping):
            known = ", ".join(sorted(self.declared)) or "no params"
            return DurationParam(
                name,
                key,
                span,
                problem=f"`{key}` reads params.{name}, which is not declared "
                f"(the runbook declares: {known})",
            )
        secret = bool(spec.get("secret"))
        if self.bound is not None and self.bound.get(name) is not None:
            value, where = self.bound[name], "the value given"
        elif spec.get("default") is not None:
            value, where = spec["default"], "its default"
        else:
            return DurationParam(
                name,
                key,
                span,
                problem=f"`{key}` reads params.{name}, which has no default; expected a "
                "default duration (what validate, lint, plan and export use when no -p is given)",
            )
        if not is_duration(value):
            shown = MASK if secret else repr(value)
            return DurationParam(
                name,
                key,
                span,
                value,
                problem=f"`{key}` reads params.{name}, which is {shown} ({where}); expected "
                "a duration greater than zero, such as 30s, 5m, 1h30m or 250ms",
            )
        return DurationParam(name, key, span, value)


def is_duration(value: Any) -> bool:
    """True for a duration greater than zero, as the format writes one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        return parse_duration(value) > 0
    except ValueError:
        return False


def reference_diagnostics(runbook: Runbook, path: Path) -> list[Diagnostic]:
    """An error for each duration reference that could not be read."""
    return [
        Diagnostic(
            path,
            ref.span,
            ref.problem,
            "params",
            hint="declare it as `type: duration` with a default, e.g. "
            f"`{ref.param}: {{type: duration, default: 5m}}`",
        )
        for ref in runbook.duration_params
        if ref.problem is not None
    ]


def bound_values(runbook: Runbook, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The values of the params `runbook`'s durations read, when they differ from what
    its model was built with (None: the model already holds them)."""
    wanted = {ref.param: values.get(ref.param) for ref in runbook.duration_params}
    built = {ref.param: ref.value for ref in runbook.duration_params}
    changed = any(v is not None and v != built.get(k) for k, v in wanted.items())
    return wanted if changed else None
