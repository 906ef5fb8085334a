"""Approval gates on a real terminal (tmux): asked inside the live view, answered by keys.

What the operator must get: the question with what led to it (failures
included), a clock that keeps running while the gate waits, keys that edit
the answer, and after the answer no frozen copy of the view left behind.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook
from tests.terminal.conftest import Tmux


def _start(tmux: Tmux, tmp_path: Path, timeout: str = "1m") -> Path:
    marker = tmp_path / "switched"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("promote", "true", timeout="5s"),
            run_step("probe_old", "echo 'db-1 still answers' >&2; exit 1", on_failure="continue"),
            {"id": "confirm", "approval": "Switch DNS to the new primary?", "timeout": timeout},
            run_step("dns", f"touch {marker}", timeout="5s"),
            objectives={"rto": "10m"},
        ),
    )
    tmux.start(f"{sys.executable} -m recoverctl run {path}", width=80, height=24)
    screen = tmux.wait_for(lambda s: "Approve? [y/N]" in s)
    assert "approval needed: confirm" in screen
    assert "Switch DNS to the new primary?" in screen
    assert "done so far: ✔ promote, ✘ probe_old" in screen  # the failure: why it is asked
    assert "next: dns" in screen
    assert "● waiting for approval" in screen
    return marker


def _elapsed(screen: str) -> str:
    found = re.search(r"(\S+) of RTO 10m", screen)
    assert found, screen
    return found.group(1)


def test_yes_approves_the_clock_runs_and_nothing_is_left_behind(tmux: Tmux, tmp_path: Path) -> None:
    marker = _start(tmux, tmp_path)
    first = _elapsed(tmux.screen())
    time.sleep(1.5)
    assert _elapsed(tmux.screen()) != first  # the header clock keeps running while it waits
    tmux.keys("n", "BSpace", "y")  # a typo corrected
    tmux.wait_for(lambda s: "[y/N] y▌" in s)
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "EXIT=" in s)
    history = tmux.history()
    assert "EXIT=0" in history and "result: succeeded" in history
    assert "approval needed" not in history  # no frozen copy of the prompt or the view
    assert history.count("● ") == 1  # one header: the final frame, never a stacked one
    assert marker.exists()


def test_no_denies_and_the_run_stops(tmux: Tmux, tmp_path: Path) -> None:
    marker = _start(tmux, tmp_path)
    tmux.keys("n", "Enter")
    history = tmux.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=1" in history and "result: failed" in history
    assert not marker.exists()


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_no_answer_takes_the_default_at_timeout(tmux: Tmux, tmp_path: Path) -> None:
    marker = _start(tmux, tmp_path, timeout="3s")
    assert "means: deny" in tmux.screen()
    history = tmux.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=1" in history and "result: failed" in history
    assert not marker.exists()


def test_ctrl_d_is_no_answer(tmux: Tmux, tmp_path: Path) -> None:
    marker = _start(tmux, tmp_path)
    tmux.keys("C-d")
    history = tmux.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=4" in history  # blocked: nobody answered, nothing past the gate ran
    assert not marker.exists()


def test_a_hostile_param_in_the_prompt_cannot_drive_the_terminal(
    tmux: Tmux, tmp_path: Path
) -> None:
    """The prompt is a rendered template: a param's escape sequences (clear the screen,
    set the title) are shown as nothing, never obeyed."""
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("promote", "true", timeout="5s"),
            {"id": "confirm", "approval": "Switch DNS to {{ params.target }}?", "timeout": "1m"},
            objectives={"rto": "10m"},
        ),
    )
    text = path.read_text().replace(
        "steps:",
        'params:\n  target:\n    type: string\n    default: "db-2\\e[2J\\e[H\\e]0;pwned\\a"\nsteps:',
        1,
    )
    path.write_text(text)
    tmux.start(f"{sys.executable} -m recoverctl run {path}", width=80, height=24)
    screen = tmux.wait_for(lambda s: "Approve? [y/N]" in s)
    assert "Switch DNS to db-2?" in screen  # the escapes are gone, the words stay
    assert screen.startswith("● waiting for approval")  # nothing cleared the view
    assert "pwned" not in tmux.run("display-message", "-p", "#{pane_title}")
    tmux.keys("n", "Enter")
    assert "EXIT=1" in tmux.wait_for(lambda s: "EXIT=" in s)


@pytest.mark.parametrize(("width", "height"), [(80, 24), (60, 20)])
def test_a_four_eyes_gate_shows_how_to_answer_and_who_said_what(
    tmux: Tmux, tmp_path: Path, width: int, height: int
) -> None:
    """A gate answered only from other shells: the view says so, with the command, and
    each answer shows up under it while the run keeps waiting."""
    state = tmp_path / "state"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("promote", "true", timeout="5s"),
            {
                "id": "confirm",
                "approval": {"prompt": "Switch DNS?", "min_approvals": 2},
                "timeout": "1m",
            },
            run_step("dns", "true", timeout="5s"),
        ),
    )
    tmux.start(
        f"RECOVERCTL_STATE_DIR={state} {sys.executable} -m recoverctl run {path}", width, height
    )
    screen = tmux.wait_for(lambda s: "  recoverctl approve" in s)
    assert "● waiting for approval" in screen
    assert "⏸ confirm waits for approval" in screen and "2 needed" in screen
    run_id = re.search(r"  recoverctl approve (\S+) confirm$", screen, re.M)
    assert run_id, screen
    env = {"RECOVERCTL_STATE_DIR": str(state)}
    mine = run_cli(["approve", run_id.group(1)], env=env)
    assert mine.returncode == 2  # the one who started it does not count
    tmux.wait_for(lambda s: "not counted" in s)
    assert run_cli(["deny", run_id.group(1), "-m", "no"], env=env).returncode == 0
    history = tmux.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=1" in history
