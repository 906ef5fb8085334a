"""SIGKILL at many points of a run (and of its resume), then resume: nothing completed runs
twice, nothing is lost.

`TORTURE_RUNS=200 pytest tests/cli/test_crash_safety.py` for the long version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recoverctl.engine.state import replay
from recoverctl.journal.reader import read_journal
from tests.helpers import run_step, runbook_data, write_runbook

RUNS = int(os.environ.get("TORTURE_RUNS", "20"))


def _runbook(tmp_path: Path, *, fail: bool) -> Path:
    log = tmp_path / "effects"
    counter = tmp_path / "flaky"

    def step(sid: str, cmd: str, **extra: Any) -> dict[str, Any]:
        return run_step(
            sid,
            f"{cmd}; echo {sid} >> {log}",
            idempotent=True,
            timeout="20s",
            rollback={"run": f"sleep 0.1; echo undo-{sid} >> {log}"},
            **extra,
        )

    return write_runbook(
        tmp_path,
        runbook_data(
            step("a", "sleep 0.05"),
            {
                "id": "g",
                "parallel": [
                    step("p1", "sleep 0.15"),
                    step("p2", "sleep 0.25"),
                    step(
                        "p3",
                        f"echo x >> {counter}; [ $(wc -l < {counter}) -ge 2 ]",
                        retry={"attempts": 3, "delay": "100ms"},
                    ),
                ],
            },
            step("b", "sleep 0.2"),
            run_step("c", "exit 1" if fail else "true", idempotent=True, timeout="20s"),
            name="torture",
        ),
    )


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recoverctl", *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _kill_resume(tmp_path: Path, delay: float) -> None:
    (run,) = (tmp_path / "state" / "runs").iterdir()
    _killed_after(tmp_path, ["resume", run.name, "--rerun"], delay)


def _killed_after(tmp_path: Path, args: list[str], delay: float) -> None:
    """Start `recoverctl ARGS` and SIGKILL it `delay` seconds later."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", *args],
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _journal_path(tmp_path: Path) -> Path:
    (run,) = (tmp_path / "state" / "runs").iterdir()
    return run / "journal.jsonl"


def _kill_at(tmp_path: Path, runbook: Path, delay: float) -> None:
    _killed_after(tmp_path, ["run", "-q", str(runbook)], delay)


def _finish(tmp_path: Path) -> None:
    """Resume until the journal says the run finished (a run killed before its first event is restarted)."""
    runs = tmp_path / "state" / "runs"
    if not runs.exists() or not any(runs.iterdir()) or not _journal_path(tmp_path).stat().st_size:
        return
    for _ in range(3):
        journal = read_journal(_journal_path(tmp_path))
        state = replay(journal.events)
        if state.status not in ("running", "pending", "interrupted"):
            return
        _cli(tmp_path, "resume", next(runs.iterdir()).name, "--rerun")
    raise AssertionError("the run did not finish after 3 resumes")


def _never_rerun_after_success(events: list[dict[str, Any]]) -> None:
    done: set[str] = set()
    for record in events:
        step = record.get("step_id")
        if record["event"] == "step_started" and step in done:
            raise AssertionError(f"step {step} started again after it had succeeded")
        if record["event"] == "step_finished" and record["status"] == "succeeded":
            done.add(step)
        if record["event"] == "step_rolled_back" and record["ok"]:
            done.add(f"{step}.rollback")  # an undo recorded as done is never run again


def _final(tmp_path: Path) -> dict[str, str]:
    state = replay(read_journal(_journal_path(tmp_path)).events)
    return {sid: s.status for sid, s in state.steps.items() if "." not in sid}


def _reference(tmp_path: Path, fail: bool) -> dict[str, str]:
    ref = tmp_path / "reference"
    ref.mkdir()
    _cli(ref, "run", "-q", str(_runbook(ref, fail=fail)))
    return _final(ref)


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "rolls-back"])
def test_sigkill_anywhere_then_resume(tmp_path: Path, fail: bool) -> None:
    reference = _reference(tmp_path, fail)
    assert reference["c"] == ("failed" if fail else "succeeded")
    span = 1.6 if fail else 1.1  # a run's length, rollback included
    for index in range(RUNS):
        case = tmp_path / f"kill-{index}"
        case.mkdir()
        runbook = _runbook(case, fail=fail)
        _kill_at(case, runbook, 0.4 + span * index / RUNS)
        runs = case / "state" / "runs"
        if (
            not runs.exists()
            or not any(runs.iterdir())
            or not _journal_path(case).exists()  # killed between the folder and its journal
            or not _journal_path(case).stat().st_size
        ):
            continue  # killed before the first event: no step had started (StepStarted is fsynced first)
        if index % 2 and replay(read_journal(_journal_path(case)).events).status in (
            "running",
            "interrupted",
        ):  # and SIGKILL the first resume too, part-way
            _kill_resume(case, 0.3 + 0.6 * (index % 7) / 7)
        _finish(case)
        records = [
            json.loads(line)
            for line in _journal_path(case).read_text().splitlines()
            if line.strip()
        ]
        _never_rerun_after_success(records)
        assert _final(case) == reference, f"kill at point {index}"
        if fail:  # every completed step undone; one in flight at the kill may have run twice
            effects = (case / "effects").read_text().split()
            assert {e for e in effects if e.startswith("undo-")} == {
                "undo-a",
                "undo-p1",
                "undo-p2",
                "undo-p3",
                "undo-b",
            }
