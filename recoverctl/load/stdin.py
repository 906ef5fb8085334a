"""A runbook read from standard input (`recoverctl validate -`): read once, named `<stdin>`.

Standard input can be read only once, yet the loader, the plan cache and the
diagnostics' source snippets each read "the file": they all ask here, and
messages say `<stdin>:3:8` rather than a temporary file's name.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

STDIN = Path("<stdin>")
"""The path a runbook read from standard input goes by."""


def named(argument: Path) -> Path:
    """`-` on the command line means standard input."""
    return STDIN if str(argument) == "-" else argument


def is_stdin(path: Path) -> bool:
    return path == STDIN


@functools.cache
def read_bytes(limit: int) -> bytes:
    """Standard input's bytes (up to `limit` + 1, so the caller can tell it was too big),
    read on the first call; every later call gets the same bytes."""
    return sys.stdin.buffer.read(limit + 1)
