"""Rich consoles that honour NO_COLOR and plain pipes, sized by the terminal itself."""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console

from recoverctl.present.colour import no_color


def stdout_console() -> Console:
    """Colour on a terminal; plain text, no escape codes, when piped or NO_COLOR is set."""
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def terminal_size(stream: IO[str]) -> tuple[int, int] | None:
    """The size of the terminal `stream` writes to, asked of the terminal; None when piped.

    Rich prefers `COLUMNS`/`LINES` from the environment to the terminal's answer, and
    those are often stale (exported once, then the window was resized, or inherited from
    another terminal): a view fitted to them wraps and scrolls on the real one.
    """
    try:
        if not stream.isatty():
            return None
        columns, lines = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return (columns, lines) if columns > 0 and lines > 0 else None


def _console(stream: IO[str]) -> Console:
    size = terminal_size(stream)
    return Console(
        file=stream,
        no_color=no_color(),
        highlight=False,
        width=size[0] if size else None,
        height=size[1] if size else None,
    )
