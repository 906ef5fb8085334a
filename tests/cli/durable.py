"""Helpers for tests of durable runs: the state folder, journals, and runs killed mid-step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_ids(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "state" / "runs").iterdir())


def journal_records(tmp_path: Path, run_id: str) -> list[dict[str, Any]]:
    text = (tmp_path / "state" / "runs" / run_id / "journal.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def start(path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **env},
    )


def killed_at(path: Path, state: dict[str, str], marker: Path) -> str:
    """Start a run, SIGKILL it once `marker` exists (a step is in flight), return its run id."""
    proc = start(path, state)
    wait_until(marker.exists)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run_id,) = run_ids(marker.parent)
    return run_id


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
