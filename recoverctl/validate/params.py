"""Run parameters: `-p key=value`, `--params-file`, `env:` sources and defaults.

Values are checked against the runbook's declarations and coerced to their
types before anything runs; a mistake names the declaration it broke.
Precedence, highest first: `-p`, `--params-file`, the alert of
`run --from-alert` (a param's `from_alert:`), the param's `env:` variable,
its `default`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recoverctl.errors import RecoverctlError
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import Param, Runbook
from recoverctl.model.source import Diagnostic, Span
from recoverctl.validate.durations import is_duration
from recoverctl.validate.suggest import did_you_mean

if TYPE_CHECKING:
    from recoverctl.load.alert import Alert

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True, slots=True)
class ResolvedParams:
    """Param values ready for templates, and the names whose values are secret."""

    values: Mapping[str, Any]
    secrets: frozenset[str]
    alert: Mapping[str, Any] | None = None
    """The alert (`run --from-alert`) some values came from: journaled with the run."""

    def secret_values(self) -> list[str]:
        """The texts to redact wherever they appear (each item of a secret list, and the
        list as templates print it)."""
        out: list[str] = []
        for name in self.secrets:
            value = self.values.get(name)
            if value in (None, "", []):
                continue
            if isinstance(value, list):
                import json

                out += [str(item) for item in value if str(item)]
                out.append(json.dumps(value))
            else:
                out.append(str(value))
        return out


def parse_assignments(items: list[str]) -> dict[str, str]:
    """`["a=1", "b=x=y"]` → `{"a": "1", "b": "x=y"}`; a missing `=` is a usage error."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise RecoverctlError(
                message=f"-p expects name=value, got '{item}'",
                hint="for example: -p primary=db-1",
            )
        out[name.strip()] = value
    return out


def load_params_file(path: Path) -> dict[str, Any]:
    """A YAML mapping of param values, loaded with the same safe loader as runbooks."""
    from recoverctl.load import load_file

    doc = load_file(path)
    if not isinstance(doc.data, dict):
        raise RecoverctlError(
            [
                Diagnostic(
                    path,
                    doc.source_map.value_span(()),
                    "a params file must be a mapping of name: value",
                    "params",
                )
            ]
        )
    return dict(doc.data)


def resolve_params(
    runbook: Runbook,
    given: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    file_values: Mapping[str, Any] | None = None,
    alert: Alert | None = None,
) -> ResolvedParams:
    """Checked and coerced values for every declared param, or every problem at once.

    Where a value comes from, first found wins: -p, --params-file, the alert
    (`from_alert`), the param's environment variable, its default."""
    problems: list[Diagnostic] = []
    declared = {p.name: p for p in runbook.params}
    alerted = alert_values(runbook, alert) if alert is not None else {}
    supplied = {**alerted, **(file_values or {}), **given}
    from_file = set(file_values or {}) - set(given)
    from_alert = set(alerted) - set(file_values or {}) - set(given)
    for name in supplied:
        if name not in declared:
            problems.append(
                _problem(
                    runbook,
                    _params_span(runbook),
                    f"unknown param '{name}'; {runbook.name} declares: {', '.join(sorted(declared)) or 'no params'}",
                    did_you_mean(name, declared),
                )
            )
    values: dict[str, Any] = {}
    for param in runbook.params:
        raw, source = _pick(param, supplied, environ)
        if param.name in from_file:
            source = "--params-file"
        elif param.name in from_alert:
            source = f"the alert's {param.from_alert}"
        if raw is None:
            if param.required:
                problems.append(
                    _problem(
                        runbook,
                        param.span,
                        f"missing required param '{param.name}'",
                        f"pass it with -p {param.name}=..."
                        + (f" or set ${param.env}" if param.env else ""),
                    )
                )
            values[param.name] = None
            continue
        try:
            value = coerce(param, raw)
        except ValueError as exc:
            problems.append(
                _problem(runbook, param.span, f"param '{param.name}' from {source}: {exc}", None)
            )
            continue
        values[param.name] = value
    if problems:
        raise RecoverctlError(problems)
    return ResolvedParams(
        values,
        frozenset(p.name for p in runbook.params if p.secret),
        alert.summary() if alert is not None else None,
    )


def alert_values(runbook: Runbook, alert: Alert) -> dict[str, Any]:
    """Each `from_alert` param's value in `alert`; a field it lacks is an error naming it
    (unless the param has a default or an `env:` to fall back on).

    A list param takes the field of every firing alert (distinct values, in order);
    any other param needs them all to agree: one run must not pick one host of three."""
    from recoverctl.load.alert import found, keys_near, lookup

    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for param in runbook.params:
        if param.from_alert is None:
            continue
        span = param.from_alert_span or param.span
        read = lookup(alert, param.from_alert)
        present = [v for v in read if found(v)]
        if not present and (param.default is not None or param.env):
            continue  # the runbook said what to use when the alert does not say: its default
        if len(present) < len(read):
            near = keys_near(alert, param.from_alert)
            missing = (
                "the alert has no"
                if len(read) == 1
                else f"{len(read) - len(present)} of the {len(read)} firing alerts have no"
            )
            problems.append(
                _problem(
                    runbook,
                    span,
                    f"param '{param.name}' reads '{param.from_alert}' from the alert "
                    f"({alert.source}, {alert.path}), but {missing} such field",
                    f"there it has: {', '.join(near)}" if near else None,
                )
            )
            continue
        distinct: list[Any] = []
        for value in present:
            for item in value if param.type == "list" and isinstance(value, list) else [value]:
                if item not in distinct:
                    distinct.append(item)
        if param.type == "list":
            values[param.name] = distinct
        elif len(distinct) > 1:
            shown = ", ".join(str(v) for v in distinct[:5]) + (", …" if len(distinct) > 5 else "")
            problems.append(
                _problem(
                    runbook,
                    span,
                    f"param '{param.name}' reads '{param.from_alert}', which differs between "
                    f"the {len(present)} firing alerts ({shown}); expected one value",
                    "make it `type: list` to act on each, or have Alertmanager send one alert "
                    f"per run (group_by: [{param.from_alert.split('.')[-1]}])",
                )
            )
        else:
            values[param.name] = distinct[0]
    if problems:
        raise RecoverctlError(problems)
    return values


def _pick(param: Param, supplied: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[Any, str]:
    if param.name in supplied:
        return supplied[param.name], f"-p {param.name}"
    if param.env and param.env in environ:
        return environ[param.env], f"${param.env}"
    return param.default, "its default"


def coerce(param: Param, raw: Any) -> Any:
    """`raw` as the param's type; ValueError says what was expected."""
    if param.type == "list":
        return _coerce_list(param, raw)
    return _coerce_one(param, param.type, raw, MASK if param.secret else repr(raw))


def _coerce_one(param: Param, kind: str, raw: Any, shown: str) -> Any:
    converter, expected = _CONVERTERS[kind]
    value = converter(raw)
    if value is None:
        raise ValueError(f"found {shown}; expected {expected}")
    if param.choices is not None and value not in param.choices:
        options = ", ".join(str(c) for c in param.choices)
        raise ValueError(f"found {shown}; expected one of: {options}")
    return value


def _coerce_list(param: Param, raw: Any) -> list[Any]:
    """A list from YAML (a params file, a default) or from text: `a,b,c` or a JSON list."""
    kind = param.items or "string"
    if isinstance(raw, str):
        raw = _split_list(raw, secret=param.secret)
    if not isinstance(raw, list | tuple):
        shown = MASK if param.secret else repr(raw)
        raise ValueError(f"found {shown}; expected a list of {kind} items (-p name=a,b,c)")  # noqa: TRY004 - reported, not raised to a caller
    items: list[Any] = []
    for index, item in enumerate(raw):
        shown = MASK if param.secret else repr(item)
        try:
            items.append(_coerce_one(param, kind, item, shown))
        except ValueError as exc:
            raise ValueError(f"item {index + 1}: {exc}") from None
    return items


def _split_list(text: str, *, secret: bool) -> list[Any]:
    """`a,b,c` → ['a', 'b', 'c'] (spaces around items dropped); `["a", 1]` as JSON.

    An empty text is an empty list; an empty item (`a,,b`, a trailing comma) is refused:
    it is a typo far more often than a wanted empty value.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        import json

        try:
            value = json.loads(stripped)
        except ValueError:
            shown = MASK if secret else repr(text)
            raise ValueError(
                f"found {shown}, which starts like a JSON list but is not one; "
                "expected a JSON list or items separated by commas"
            ) from None
        if not isinstance(value, list):
            raise ValueError("expected a JSON list")
        return value
    if not stripped:
        return []
    items = [item.strip() for item in stripped.split(",")]
    if any(item == "" for item in items):
        shown = MASK if secret else repr(text)
        raise ValueError(
            f"found {shown}, which has an empty item; expected items separated "
            "by single commas (a,b,c)"
        )
    return items


def _to_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = str(raw).lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    return None


def _to_int(raw: Any) -> int | None:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _to_number(raw: Any) -> float | int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return raw
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _to_text(raw: Any) -> str | None:
    if isinstance(raw, dict | list):
        return None
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return None if "\x00" in text else text  # no command, argument or variable can carry a NUL


def _to_duration(raw: Any) -> str | float | int | None:
    """A duration as written (`5m` stays `5m`: templates show it as the operator gave it)."""
    if isinstance(raw, str):
        raw = raw.strip()
    return raw if is_duration(raw) else None


_CONVERTERS: dict[str, tuple[Any, str]] = {
    "boolean": (_to_bool, "true or false"),
    "integer": (_to_int, "an integer"),
    "number": (_to_number, "a number"),
    "string": (_to_text, "text (without NUL bytes)"),
    "duration": (_to_duration, "a duration greater than zero, such as 30s, 5m or 1h30m"),
}


def _params_span(runbook: Runbook) -> Span:
    return runbook.source_map.key_span(("params",)) if runbook.params else Span.point(1, 1)


def _problem(runbook: Runbook, span: Span, message: str, hint: str | None) -> Diagnostic:
    return Diagnostic(runbook.path, span, message, "params", hint=hint)
