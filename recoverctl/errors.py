"""Errors that reach the user: each carries its diagnostics and exit code.

The CLI catches `RecoverctlError` and prints its diagnostics; anything else
escaping is a bug in recoverctl (reported as such, never as a traceback).
"""

from __future__ import annotations

from collections.abc import Sequence

from recoverctl.exitcodes import ExitCode
from recoverctl.model.source import Diagnostic


class RecoverctlError(Exception):
    """A problem the user can fix; `diagnostics` say where and how."""

    def __init__(
        self,
        diagnostics: Sequence[Diagnostic] = (),
        *,
        message: str | None = None,
        exit_code: ExitCode = ExitCode.INVALID,
        hint: str | None = None,
    ) -> None:
        self.diagnostics = tuple(diagnostics)
        self.message = message or (diagnostics[0].message if diagnostics else "error")
        self.exit_code = exit_code
        self.hint = hint
        super().__init__(self.message)


class UsageError(RecoverctlError):
    """Bad command-line input that is not tied to a file position."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message=message, exit_code=ExitCode.INVALID, hint=hint)
