"""The `recoverctl` command line: one small module per command.

`main` is the console entry point: anything that escapes a command is a bug
in recoverctl and is reported as one, never as a traceback.
"""

from __future__ import annotations

import sys

from recoverctl.cli.app import app, register_commands
from recoverctl.exitcodes import ExitCode

INTERNAL_ERROR = 70
"""EX_SOFTWARE: recoverctl itself is broken (documented in the README)."""


def main() -> None:
    """Run the CLI, turning crashes into a one-line report and exit 70."""
    register_commands(sys.argv[1:])

    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:
        sys.stderr.write(
            f"recoverctl: internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in recoverctl, not in your runbook; please report it "
            "with the command you ran (set RECOVERCTL_DEBUG=1 for the traceback)\n"
        )
        import os

        if os.environ.get("RECOVERCTL_DEBUG"):
            raise
        sys.exit(INTERNAL_ERROR)
