"""Approval gates on a real pseudo-terminal: yes, no, and no answer before the timeout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers import run_step, runbook_data, write_runbook
from tests.terminal.conftest import require

ANSI = r"(?:\x1b\[[0-9;]*m)*"
"""Colour codes the terminal view may put between words."""


def _spawn(tmp_path: Path, timeout: str = "1m"):  # type: ignore[no-untyped-def]
    require("true")
    pexpect = pytest.importorskip("pexpect")
    marker = tmp_path / "switched"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("promote", "true", timeout="5s"),
            {"id": "confirm", "approval": "Switch DNS to the new primary?", "timeout": timeout},
            run_step("dns", f"touch {marker}", timeout="5s"),
        ),
    )
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "run", str(path)],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 100),
    )
    child.expect("approval needed for step 'confirm': Switch DNS to the new primary")
    child.expect("done so far: promote")
    child.expect("next: dns")
    return child, marker


def test_yes_approves_and_the_run_goes_on(tmp_path: Path) -> None:
    child, marker = _spawn(tmp_path)
    child.expect(r"Approve\? \[y/N\]")
    child.sendline("y")
    child.expect(ANSI.join(["result: ", "succeeded"]))
    child.wait()
    assert child.exitstatus == 0
    assert marker.exists()


def test_no_denies_and_the_run_stops(tmp_path: Path) -> None:
    child, marker = _spawn(tmp_path)
    child.expect(r"Approve\? \[y/N\]")
    child.sendline("n")
    child.expect(ANSI.join(["result: ", "failed"]))
    child.wait()
    assert child.exitstatus == 1
    assert not marker.exists()


def test_no_answer_takes_the_default_at_timeout(tmp_path: Path) -> None:
    child, marker = _spawn(tmp_path, timeout="1s")
    child.expect("no answer within 1s")
    child.expect(ANSI.join(["result: ", "failed"]))
    child.wait()
    assert child.exitstatus == 1
    assert not marker.exists()
