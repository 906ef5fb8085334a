"""Durations as the format writes them (`250ms`, `1h30m`) and as people read them."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float) -> float:
    """Seconds for a duration the schema accepted (`30s`, `1h30m`, `2.5`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    total = 0.0
    position = 0
    for match in _PART.finditer(text):
        if match.start() != position:
            raise ValueError(f"not a duration: {value!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"not a duration: {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """A short human form: `250ms`, `42s`, `5m`, `1h30m`, `2m05s`; `unbounded` when infinite."""
    if math.isinf(seconds):
        return "unbounded"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else "")
    return f"{minutes}m" + (f"{secs:02d}s" if secs else "")
