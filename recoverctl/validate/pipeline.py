"""The one way in: path → load → schema → model → semantic checks.

Every command (validate, plan, run, lint, graph, export, test) starts here,
so a runbook means the same thing to all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.load import load_file, load_text
from recoverctl.model.source import Severity, sorted_unique
from recoverctl.validate.build import build_runbook
from recoverctl.validate.calls import check_calls
from recoverctl.validate.checked import Checked
from recoverctl.validate.durations import reference_diagnostics
from recoverctl.validate.schema_check import schema_diagnostics
from recoverctl.validate.semantics import check_semantics


def check_file(
    path: Path, *, bound: Mapping[str, Any] | None = None, text: str | None = None
) -> Checked:
    """Check `path` and everything it calls; never raises for bad input.

    `bound`: the values of the params the root's durations read (a run's, see
    validate/durations.py); `text`: the root's text when it was already read
    (a run builds its plan again from the very text it journals)."""
    return _Session(bound, text).check(path, ())


def require_valid(
    path: Path, *, bound: Mapping[str, Any] | None = None, text: str | None = None
) -> Checked:
    """Like `check_file`, but a file with errors raises `RecoverctlError`."""
    checked = check_file(path, bound=bound, text=text)
    if checked.runbook is None:
        raise RecoverctlError(checked.diagnostics)
    return checked


class _Session:
    """Memoises files checked through several `call:` paths."""

    def __init__(self, bound: Mapping[str, Any] | None, text: str | None) -> None:
        self.done: dict[Path, Checked] = {}
        self.root: tuple[Mapping[str, Any] | None, str | None] | None = (bound, text)

    def check(self, path: Path, stack: tuple[Path, ...]) -> Checked:
        key = path.resolve()
        if key in self.done:
            return self.done[key]
        result = self._check(path, stack)
        self.done[key] = result
        return result

    def _check(self, path: Path, stack: tuple[Path, ...]) -> Checked:
        bound, text = self.root or (None, None)
        self.root = None  # only the first file checked is the root; callees bind their own
        try:
            doc = load_file(path) if text is None else load_text(text, path)
        except RecoverctlError as exc:
            return Checked(path, None, list(exc.diagnostics))
        diagnostics = schema_diagnostics(doc)
        if diagnostics:
            return Checked(path, None, sorted_unique(diagnostics))
        runbook = build_runbook(doc, bound)
        diagnostics = reference_diagnostics(runbook, path) + check_semantics(runbook)
        call_diagnostics, callees = check_calls(runbook, stack, self.check)
        diagnostics += call_diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        return Checked(path, None if errors else runbook, sorted_unique(diagnostics), callees)
