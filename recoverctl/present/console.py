"""Rich consoles that honour NO_COLOR and plain pipes."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def stdout_console() -> Console:
    """Colour on a terminal; plain text, no escape codes, when piped or NO_COLOR is set."""
    return Console(file=sys.stdout, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
