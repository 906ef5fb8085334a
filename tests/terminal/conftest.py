"""Real terminals: tmux for the live view, pexpect for prompts. CI installs both and must not skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")


class Tmux:
    def __init__(self, tmp_path: Path) -> None:
        require("tmux")
        self.socket = f"recoverctl-test-{uuid.uuid4().hex[:8]}"
        self.tmp_path = tmp_path

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def start(self, command: str, width: int = 100, height: int = 40) -> None:
        """Run `command` in a detached terminal of that size; `EXIT=<code>` follows its end."""
        env = f"env -u NO_COLOR -u CI TERM=xterm-256color PYTHONPATH={ROOT}"
        self.run(
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            f"{env} {command}; echo EXIT=$?; sleep 120",
        )

    def screen(self) -> str:
        """The screen once it holds still: two captures 20 ms apart agree.

        A frame larger than the pty's buffer reaches tmux in pieces, so a single
        capture can catch a redraw half done (the top new, the rest erased): no
        operator sees that for longer than a blink, and no assertion should.
        """
        screen = self.run("capture-pane", "-p", "-J")
        for _ in range(50):
            time.sleep(0.02)
            again = self.run("capture-pane", "-p", "-J")
            if again == screen:
                return screen
            screen = again
        return screen

    def history(self) -> str:
        """Everything the terminal printed, the scrollback included."""
        return self.run("capture-pane", "-p", "-J", "-S", "-")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(tmp_path)
    yield session
    session.close()
