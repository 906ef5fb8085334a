"""How a run (one session of it) ended: status, cause, exit code — decided in one place.

The cause is what `failure` means in rollback and `finally` templates: the
step and error that ended the run, empty strings when it succeeded (never
undefined, never a tolerated failure from earlier in the run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recoverctl.exitcodes import ExitCode
from recoverctl.model.status import RunStatus

EXIT_CODES: dict[str, ExitCode] = {
    RunStatus.SUCCEEDED: ExitCode.OK,
    RunStatus.FAILED: ExitCode.FAILED,
    RunStatus.ROLLED_BACK: ExitCode.FAILED,
    RunStatus.ROLLBACK_FAILED: ExitCode.ROLLBACK_FAILED,
    RunStatus.INTERRUPTED: ExitCode.INTERRUPTED,
    RunStatus.BLOCKED: ExitCode.BLOCKED,
}
"""The exit code of each way a run can end (every one of ENDED_RUN_STATUSES)."""


def exit_code_for(status: str) -> ExitCode:
    return EXIT_CODES[status]


@dataclass(slots=True)
class RunEnding:
    status: str = RunStatus.SUCCEEDED
    error: str | None = None
    failed_step: str | None = None
    rollback: bool = False
    lost: bool = False
    """The journal could not be written: nothing more may run, not even a rollback."""
    lease: bool = False
    """The team lock was lost: likewise nothing more may run here."""

    def fail(self, error: str, step: str | None = None, *, rollback: bool = True) -> None:
        self.status, self.error, self.failed_step = RunStatus.FAILED, error, step
        self.rollback = rollback

    def journal_lost(self, error: str, *, lease: bool = False) -> None:
        self.status, self.rollback, self.lost = RunStatus.INTERRUPTED, False, True
        if lease:
            self.lease = True
            self.error = (
                f"{error}: the run stopped before its next step (nothing was rolled back: "
                "another machine may hold the lock now); `recoverctl resume` continues it once "
                "the lock can be taken again"
            )
            return
        self.error = (
            f"{error}: the run stopped before its next step (nothing after the last record ran, "
            "nothing was rolled back); free the space, then `recoverctl resume` continues it"
        )

    @property
    def exit_code(self) -> ExitCode:
        if self.lease:
            return ExitCode.LOCK_LOST
        return ExitCode.JOURNAL_FAILED if self.lost else exit_code_for(self.status)

    def failure(self) -> dict[str, Any]:
        """`failure` as rollback and finally templates see it."""
        return {"step": self.failed_step or "", "error": self.error or "", "status": self.status}
