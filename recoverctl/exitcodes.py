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
    BLOCKED = 4
    """The run stopped at an approval gate nobody could answer; `resume` continues it."""
    JOURNAL_FAILED = 5
    """The journal could not be written (disk full, I/O error): the run stopped before its
    next step, nothing after the last record ran; free the space and `resume`."""
    LOCK_LOST = 6
    """The team lock (a coordination backend) was lost mid-run: its lease expired or the
    backend went away. The run stopped before its next step, nothing was rolled back;
    `resume` when the lock can be taken again."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C, SIGTERM or SIGHUP; the run can be resumed."""
    INTERNAL = 70
    """A bug in recoverctl (never a traceback; RECOVERCTL_DEBUG=1 shows it)."""
