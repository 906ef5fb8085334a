"""Fixtures for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.gated_run import gated  # noqa: F401 - a fixture: a run waiting at its gate


@pytest.fixture
def state(tmp_path: Path) -> dict[str, str]:
    """A private state folder for the runs of one test."""
    return {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
