"""The live view in a real terminal (tmux): what the operator sees mid-run and at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_step, runbook_data, write_runbook
from tests.terminal.conftest import Tmux


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_live_view_shows_parallel_branch_retry_and_rollback(tmux: Tmux, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "probe",
                "parallel": [
                    run_step("slow_check", "sleep 1", timeout="10s"),
                    run_step(
                        "lag", "echo 5", outputs={"n": "{{ stdout | trim | int }}"}, timeout="10s"
                    ),
                ],
            },
            {
                "id": "choose",
                "branch": [
                    {
                        "name": "repair",
                        "when": "steps.lag.outputs.n > 3",
                        "steps": [
                            run_step(
                                "repair",
                                f"echo x >> {counter}; [ $(wc -l < {counter}) -ge 2 ] || exit 75",
                                retry={"attempts": 3, "delay": "2s"},
                                rollback={"run": "sleep 1"},
                                timeout="10s",
                            ),
                        ],
                    },
                    {"else": [run_step("restore", timeout="10s")]},
                ],
            },
            run_step("verify", "sleep 0.5; echo 'still broken' >&2; exit 1", timeout="10s"),
            name="tmux-demo",
            objectives={"rto": "1m"},
        ),
    )
    tmux.start(f"{sys.executable} -m recoverctl run {path}")
    mid = tmux.wait_for(lambda s: "retry in" in s)
    assert "↻ repair" in mid and "attempt 1/3" in mid
    assert "→ repair" in mid and "(steps.lag.outputs.n = 5)" in mid
    assert "✔ slow_check" in mid and "✔ lag" in mid
    assert "of RTO 1m" in mid
    rolling = tmux.wait_for(lambda s: "ROLLBACK" in s)
    assert "repair" in rolling
    end = tmux.wait_for(lambda s: "result:" in s)
    assert "ROLLBACK finished" in end
    assert "result: rolled_back" in end
    assert "verify" in end and "still broken" in end


def test_piped_output_has_no_escape_codes(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("a", "echo hi"), run_step("b", "exit 1")))
    result = subprocess.run(
        [sys.executable, "-m", "recoverctl", "run", str(path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        check=False,
    )
    assert result.returncode == 1
    assert "\x1b" not in result.stderr + result.stdout
    assert "FAILED   b: exited with 1" in result.stderr
