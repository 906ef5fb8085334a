"""Fitting text into a line: what every view does to commands, errors and values."""

from __future__ import annotations

from typing import Any


def clip(value: Any, limit: int) -> str:
    """One line, whitespace collapsed, cut to `limit` characters with an ellipsis."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def last_line(text: str) -> str:
    """The last non-blank line: usually the error a failed command printed."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
