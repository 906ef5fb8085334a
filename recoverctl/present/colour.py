"""Whether to colour: one answer for every output (no-color.org, FORCE_COLOR).

Kept apart from present/console.py so that asking does not import rich: plain
commands (`validate`, `--version`) stay fast to start.
"""

from __future__ import annotations

import os
from typing import IO


def no_color() -> bool:
    """NO_COLOR set to anything but empty: no colour and no live view (no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def wants_color(stream: IO[str]) -> bool:
    """Colour only for a terminal, or when FORCE_COLOR asks; never when NO_COLOR is set."""
    if no_color():
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
