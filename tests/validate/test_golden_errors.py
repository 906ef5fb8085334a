"""Every bad runbook gets its exact positioned message (golden files), exit 2, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, check_golden, invoke

CASES = sorted((GOLDEN / "validate").glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_validate_error_matches_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent)
    monkeypatch.setenv("NO_COLOR", "1")
    result = invoke(["validate", case.name])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    check_golden(case.with_suffix(".out"), result.stderr)
    # every diagnostic names file:line:col
    first = result.stderr.splitlines()[0]
    assert re.match(r"^[\w.-]+\.yaml:\d+:\d+: error: ", first), first
