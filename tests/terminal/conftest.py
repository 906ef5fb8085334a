"""Real terminals: tmux for the live view, pexpect for prompts. CI installs both and must not skip."""

from __future__ import annotations

import os
import shutil

import pytest


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")
