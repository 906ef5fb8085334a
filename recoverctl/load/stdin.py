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

MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest runbook read, from a file or stdin: 10,000 steps are about 1 MiB; anything
this big is a mistake. (Here rather than in the loader so every reader of stdin uses the
same bound without importing YAML.)"""


def named(argument: Path) -> Path:
    """`-` on the command line means standard input."""
    return STDIN if str(argument) == "-" else argument


def is_stdin(path: Path) -> bool:
    return path == STDIN


@functools.cache
def read_bytes() -> bytes:
    """Standard input's bytes, read on the first call (up to MAX_FILE_BYTES + 1, so the
    loader can tell it was too big); every later call gets the same bytes."""
    return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
