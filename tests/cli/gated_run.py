"""A run waiting at an approval gate in the background, for the tests that answer it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


class Run:
    """A `recoverctl run` in the background, with no terminal, as from cron or a pager hook."""

    def __init__(self, tmp_path: Path, gate: dict[str, Any], *extra: str) -> None:
        self.tmp_path = tmp_path
        self.marker = tmp_path / "promoted"
        data = runbook_data(
            run_step("prepare", "true"),
            {"id": "gate", "timeout": "1m", **gate},
            run_step("promote", f"touch {self.marker}"),
        )
        path = write_runbook(tmp_path, data)
        self.env = {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recoverctl", "run", str(path), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self.run_id = self._wait_for_gate()

    def _wait_for_gate(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for journal in (self.tmp_path / "state" / "runs").glob("*/journal.jsonl"):
                if '"approval_requested"' in journal.read_text():
                    return journal.parent.name
            assert self.proc.poll() is None, self.proc.communicate()
            time.sleep(0.05)
        raise AssertionError("the run never reached its gate")

    def answer(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), env={"RECOVERCTL_STATE_DIR": str(self.tmp_path / "state")})

    def finish(self) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err

    def events(self, kind: str) -> list[dict[str, Any]]:
        journal = self.tmp_path / "state" / "runs" / self.run_id / "journal.jsonl"
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
        return [e for e in lines if e["event"] == kind]


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[Any]:
    """`gated(gate, *run args)`: a run of prepare → gate → promote, stopped at the gate."""
    started: list[Run] = []

    def start(gate: dict[str, Any], *extra: str) -> Run:
        started.append(Run(tmp_path, gate, *extra))
        return started[-1]

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.communicate()


def _run(runs: list[Run], tmp_path: Path, gate: dict[str, Any], *extra: str) -> Run:
    run = Run(tmp_path, gate, *extra)
    runs.append(run)
    return run
