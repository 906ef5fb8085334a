"""Fitting text into a line: what every view does to commands, errors and values."""

from __future__ import annotations

import json
import re
from typing import Any

_TERMINAL_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window title, OSC 52 clipboard writes, links
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, erasing lines
    r"|\x1b[@-Z\\-_]?"  # any other escape
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0/C1 controls but tab and newline
)


def printable(text: str) -> str:
    """Text from outside recoverctl (step output, params, errors) made safe to print.

    A step's output must not move the cursor to forge "all steps succeeded", set the
    window title or write the operator's clipboard (OSC 52): every terminal control
    sequence and control character is removed; tabs and newlines stay.
    """
    if "\x1b" not in text and text.isprintable():
        return text
    return _TERMINAL_CONTROL.sub("", text)


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
    text = printable(plain(value))
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def last_line(text: str) -> str:
    """The last non-blank line: usually the error a failed command printed."""
    lines = [line for line in printable(text).splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
