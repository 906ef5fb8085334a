"""The live view on the terminals operators have: 60x20, 80x24, 120x40, sampled mid-run.

A slow 26-step runbook fails late and rolls back slowly. Frames are sampled
from the real terminal while it runs: the failing step (while it runs and once
it failed, with its reason), the rollback panel and the header's `rolling
back` must each appear in mid-run frames, at every size; and the scrollback
must hold exactly one frame at the end (none stacked).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_step, runbook_data, write_runbook
from tests.terminal.conftest import Tmux

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _slow_failing(tmp_path: Path) -> Path:
    steps: list[dict[str, object]] = [
        run_step(f"prepare_{i}", "sleep 0.1", rollback={"run": "sleep 0.5"}, timeout="10s")
        for i in range(8)
    ]
    steps.append({"id": "warm", "parallel": [run_step(f"warm_{i}", "sleep 0.3") for i in range(6)]})
    steps += [run_step(f"check_{i}", "true") for i in range(6)]
    steps.append(
        run_step(
            "verify", "sleep 1.5; echo 'replication broken on db-2' >&2; exit 1", timeout="10s"
        )
    )
    steps += [run_step(f"after_{i}", "true") for i in range(4)]
    return write_runbook(
        tmp_path, runbook_data(*steps, name="slow-failing", objectives={"rto": "5m"})
    )


def _sample(tmux: Tmux, timeout: float = 60) -> list[str]:
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = tmux.screen()
        if "EXIT=" in screen:
            return frames
        frames.append(screen)
        time.sleep(0.05)
    raise AssertionError(f"the run never ended; last frame:\n{frames[-1]}")


@pytest.mark.parametrize(("width", "height"), [(60, 20), (80, 24), (120, 40)])
def test_what_happens_now_is_on_screen_at_every_size(
    tmux: Tmux, tmp_path: Path, width: int, height: int
) -> None:
    tmux.start(f"{sys.executable} -m recoverctl run {_slow_failing(tmp_path)}", width, height)
    frames = _sample(tmux)
    running_verify = [f for f in frames if re.search(f"^[{SPINNER}] verify", f, re.M)]
    failed_verify = [f for f in frames if "✘ verify" in f and "replication broken on db-2" in f]
    rolling = [f for f in frames if f.startswith("● rolling back") and "ROLLBACK" in f]
    undoing = [f for f in rolling if re.search(r"prepare_\d  undoing", f)]
    assert running_verify, "the failing step never showed while it ran"
    assert failed_verify, "the failure and its reason never showed"
    assert rolling and undoing, "the rollback panel never showed mid-run:\n" + "\n~~~~\n".join(
        f for f in frames if "ROLLBACK" in f
    )
    for frame in rolling:
        assert "Ctrl-C skips the rest" in frame, frame
        assert "✘ verify" in frame, frame  # the failure stays while undoing
    for frame in frames:  # the live frames (the summary after them soft-wraps on purpose)
        if frame.startswith("● ") and "slow-failing · run" not in frame:
            assert all(len(line) <= width for line in frame.splitlines()), frame
    history = tmux.history()
    assert history.count("● ") == 1, history  # one header: no frame stacked in the scrollback
    assert "EXIT=1" in history and "result: rolled_back" in history


def test_double_ctrl_c_says_what_is_left_and_how_to_undo_it(tmux: Tmux, tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            *[
                run_step(f"prepare_{i}", "true", rollback={"run": "sleep 3"}, timeout="10s")
                for i in range(3)
            ],
            run_step("long", "sleep 60", timeout="2m"),
            name="interrupted",
        ),
    )
    tmux.start(f"{sys.executable} -m recoverctl run {path}", 80, 24)
    tmux.wait_for(lambda s: re.search(f"^[{SPINNER}] long", s, re.M) is not None)
    tmux.keys("C-c")
    rolling = tmux.wait_for(lambda s: "undoing" in s)
    assert "Ctrl-C skips the rest" in rolling and rolling.startswith("● rolling back")
    tmux.keys("C-c")
    end = tmux.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=130" in end
    assert "not undone: prepare_2, prepare_1, prepare_0" in " ".join(end.split())
    command = re.search(r"to undo them: (recoverctl rollback \S+)", end)
    assert command, end
    undo = subprocess.run(
        [sys.executable, "-m", "recoverctl", *command.group(1).split()[1:]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert undo.returncode == 0, undo.stderr  # the printed command is the one that works
    assert "rolled back: prepare_2, prepare_1, prepare_0" in " ".join(undo.stderr.split())
