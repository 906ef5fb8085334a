"""Process exit codes: one table, shared by every command and the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What `recoverctl` tells the shell (and CI) about how it ended."""

    OK = 0
    """Everything succeeded (a run whose rescue recovered counts)."""
    FAILED = 1
    """The run failed (and was rolled back if asked), or lint found problems."""
    INVALID = 2
    """Invalid input or usage: nothing was run."""
    ROLLBACK_FAILED = 3
    """The run failed and its rollback failed too: a human is needed."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C or SIGTERM; the run can be resumed."""
