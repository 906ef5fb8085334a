"""What checking a runbook file yields: its model when valid, and every problem found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.model.runbook import Runbook
from recoverctl.model.source import Diagnostic


@dataclass(slots=True)
class Checked:
    """The result of checking one file: the model when it is valid, and the problems."""

    path: Path
    runbook: Runbook | None
    diagnostics: list[Diagnostic]
    callees: dict[Path, Runbook] = field(default_factory=dict)
    """Every runbook reachable through `call:`, by resolved path."""

    @property
    def ok(self) -> bool:
        return self.runbook is not None

    @property
    def model(self) -> Runbook:
        """The runbook of a file known to be valid (see `require_valid`)."""
        if self.runbook is None:
            raise RecoverctlError(self.diagnostics)
        return self.runbook
