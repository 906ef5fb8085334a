"""Any value an event may carry, made safe to record: JSON, bounded, redacted.

Events carry values a run computed: an output of a failed step (Jinja's
undefined), bytes from a library, a huge string, a NaN, a number too big to
print. The record must never fail on one of them — a journal that stops at
an unencodable value goes silent while the run goes on changing systems. So
every value is turned into plain JSON here, once, at the emit point; what
JSON cannot hold is kept as a marked text (`<undefined: v>`, `<bytes: 12>`)
that says what it was, and every text is bounded and redacted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

E = TypeVar("E")

MAX_TEXT = 65_536
"""Characters kept of one text value in an event; the rest is cut, and the cut says so."""
MAX_DEPTH = 32
"""Nesting kept of one value; deeper parts are replaced by a marker."""
MAX_ITEMS = 10_000
"""Items kept of one list or mapping."""
_INT_LIMIT = 2**63


def bound(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… <cut: {len(text) - limit} more characters>"


def marked(value: object) -> str:
    """What a value JSON cannot hold reads as in the record."""
    kind = type(value)
    if any(c.__name__ == "Undefined" and c.__module__.startswith("jinja2") for c in kind.__mro__):
        name = getattr(value, "_undefined_name", None)
        return f"<undefined: {name}>" if name else "<undefined>"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<bytes: {len(value)}>"
    if isinstance(value, float):
        return f"<{value}>"  # nan, inf, -inf
    if isinstance(value, int):
        return f"<integer of {value.bit_length()} bits>"
    return f"<{kind.__name__}>"


def json_safe(value: Any, redact: Callable[[str], str], depth: int = 0) -> Any:
    """`value` as plain JSON data: str/int/float/bool/None, lists and str-keyed dicts."""
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str:
        return bound(redact(value))
    if kind is int:
        return value if -_INT_LIMIT < value < _INT_LIMIT else marked(value)
    if kind is float:
        return value if math.isfinite(value) else marked(value)
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    try:
        if isinstance(value, Mapping):
            return _mapping(value, redact, depth)
        if isinstance(value, list | tuple | set | frozenset):
            return _sequence(value, redact, depth)
    except Exception:  # a container that cannot be read (items() raises): marked, not fatal
        return marked(value)
    return _scalar_subclass(value, redact, depth)


def _sequence(value: Any, redact: Callable[[str], str], depth: int) -> list[Any]:
    items = list(value)
    cleaned = [json_safe(item, redact, depth + 1) for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        cleaned.append(f"<cut: {len(items) - MAX_ITEMS} more items>")
    return cleaned


def _mapping(value: Mapping[Any, Any], redact: Callable[[str], str], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index >= MAX_ITEMS:
            out["<cut>"] = f"{len(value) - MAX_ITEMS} more entries"
            break
        name = key if isinstance(key, str) else str(json_safe(key, redact, depth + 1))
        out[bound(redact(name), 256)] = json_safe(item, redact, depth + 1)
    return out


def _scalar_subclass(value: Any, redact: Callable[[str], str], depth: int) -> Any:
    if isinstance(value, str):  # a str subclass (StrEnum, markupsafe.Markup…)
        return bound(redact(str.__str__(value)))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # IntEnum and friends
        return json_safe(int(value), redact, depth)
    if isinstance(value, float):
        return json_safe(float(value), redact, depth)
    return marked(value)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def clean_event(event: E, redact: Callable[[str], str]) -> E:
    """The event with every field JSON-safe, bounded and redacted (the same object if it was)."""
    changes: dict[str, Any] = {}
    for name in _field_names(type(event)):  # events are dataclasses
        value = getattr(event, name)
        kind = type(value)
        if value is None or kind is bool or kind is int:
            continue
        if kind is float:
            if not math.isfinite(value):
                changes[name] = 0.0
            continue
        if kind is str:
            text = bound(redact(value))
            if text != value:
                changes[name] = text
            continue
        if (kind is dict or kind is list) and not value:
            continue
        # never compare: a value may be an object whose == raises (Jinja's StrictUndefined)
        cleaned: Any = json_safe(value, redact)
        if isinstance(value, Mapping) and not isinstance(cleaned, dict):
            cleaned = {"<unreadable>": cleaned}  # the field keeps its shape for the reducer
        changes[name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event  # type: ignore[type-var]
