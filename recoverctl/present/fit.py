"""Fitting text into a line: what every view does to commands, errors and values."""

from __future__ import annotations

import json
from typing import Any


def plain(value: Any) -> str:
    """A value as text, one spelling everywhere: `true`/`false`, `null`, JSON for containers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def show_value(value: Any) -> str:
    """A value a decision read: like `plain`, and a string quoted, so `""` is visible and
    the string "true" is not mistaken for the boolean."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return plain(value)


def clip(value: Any, limit: int) -> str:
    """One line, whitespace collapsed, cut to `limit` characters with an ellipsis."""
    text = plain(value)
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def last_line(text: str) -> str:
    """The last non-blank line: usually the error a failed command printed."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
