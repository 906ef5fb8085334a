"""`recoverctl approve` from another machine, through the team's backend: the second
machine has its own state folder and its own gate-socket folder, so only the backend
joins them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.coordination.conftest import Server
from tests.helpers import run_step, runbook_data, write_runbook

pytestmark = pytest.mark.slow


class Machine:
    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        (root / "tmp").mkdir(parents=True)
        self.env = {
            "RECOVERCTL_COORDINATION": url,
            "TMPDIR": str(root / "tmp"),
            "RECOVERCTL_STATE_DIR": str(root / "state"),
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), env=self.env)


def waiting_run(
    tmp_path: Path, machine: Machine, gate: dict[str, Any]
) -> tuple[subprocess.Popen[str], str]:
    marker = tmp_path / "promoted"
    data = runbook_data(
        {"id": "gate", "timeout": "1m", "approval": {"prompt": "promote?", **gate}},
        run_step("promote", f"touch {marker}"),
        name="failover",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", str(write_runbook(tmp_path, data))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **machine.env, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for journal in (machine.root / "state" / "runs").glob("*/journal.jsonl"):
            if '"approval_requested"' in journal.read_text():
                return proc, journal.parent.name
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.communicate())


def votes(machine: Machine) -> list[dict[str, Any]]:
    (journal,) = (machine.root / "state" / "runs").glob("*/journal.jsonl")
    return [
        e
        for e in map(json.loads, journal.read_text().splitlines())
        if e["event"] == "approval_vote"
    ]


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_gate_is_approved_from_another_machine(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    server: Server = request.getfixturevalue(f"{kind}_backend")
    here, there = Machine(tmp_path / "a", server.url), Machine(tmp_path / "b", server.url)
    proc, run_id = waiting_run(tmp_path, here, {})
    try:
        answered = there.cli("approve", run_id, "gate", "-m", "from laptop b", "--as", "Ana")
        assert answered.returncode == 0, answered.stderr
        assert (
            f"run {run_id} (through the team backend), gate 'gate': approved by" in answered.stdout
        )
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert (tmp_path / "promoted").exists()
    (vote,) = votes(here)
    assert vote["counted"] and vote["comment"] == "from laptop b" and vote["as_name"] == "Ana"
    assert vote["host"]  # the machine it came from is recorded
    assert "via the team backend" in err

    late = there.cli("approve", run_id, "gate")
    assert late.returncode == 2
    assert "is waiting at a gate on this machine" in late.stderr


def test_the_rules_hold_across_machines(tmp_path: Path, redis_backend: Server) -> None:
    here, there = (
        Machine(tmp_path / "a", redis_backend.url),
        Machine(tmp_path / "b", redis_backend.url),
    )
    proc, run_id = waiting_run(tmp_path, here, {"min_approvals": 1})  # four eyes
    try:
        own = there.cli("approve", run_id)
        assert own.returncode == 2
        assert "started this run: their approval does not count (four-eyes rule)" in own.stderr
        denied = there.cli("deny", run_id, "-m", "lag too high")
        assert denied.returncode == 0, denied.stderr
        _, err = proc.communicate(timeout=60)
        assert "denied by" in err, err
    finally:
        proc.kill()
    assert proc.returncode == 1 and not (tmp_path / "promoted").exists()
    assert [v["counted"] for v in votes(here)] == [False, True]


def test_an_unreachable_backend_is_a_clear_answer(tmp_path: Path, redis_backend: Server) -> None:
    there = Machine(tmp_path / "b", redis_backend.url)
    redis_backend.down()
    result = there.cli("approve", "20261204T000000Z-abcdef")
    assert result.returncode == 2
    assert "the team backend cannot be asked: cannot reach" in result.stderr
    assert "Traceback" not in result.stderr
