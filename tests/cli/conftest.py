"""Fixtures for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state(tmp_path: Path) -> dict[str, str]:
    """A private state folder for the runs of one test."""
    return {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
