"""Faults an operator meets: the SSH session drops, a resume races a live run, a pid is reused,
the terminal closes at a prompt, the process dies during its rollback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.durable import journal_records, killed_at, run_ids, start, wait_until
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and ") Z " not in stat.read_text()


def test_sighup_stops_rolls_back_and_records_the_end(tmp_path: Path, state: dict[str, str]) -> None:
    started, undone = tmp_path / "started", tmp_path / "undone"
    pidfile = tmp_path / "pid"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("first", "true", rollback={"run": f"touch {undone}"}),
            run_step("hang", f"echo $$ > {pidfile}; touch {started}; sleep 60"),
        ),
    )
    proc = start(path, state)
    wait_until(started.exists)
    proc.send_signal(signal.SIGHUP)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert undone.exists()
    wait_until(lambda: not _alive(int(pidfile.read_text())), timeout=5)
    (run_id,) = run_ids(tmp_path)
    records = journal_records(tmp_path, run_id)
    assert records[-1]["event"] == "run_finished" and records[-1]["status"] == "interrupted"


def test_resume_of_a_live_run_is_refused_and_touches_nothing(
    tmp_path: Path, state: dict[str, str]
) -> None:
    started, done = tmp_path / "started", tmp_path / "done"
    path = write_runbook(
        tmp_path,
        runbook_data(run_step("work", f"touch {started}; sleep 3; touch {done}", idempotent=True)),
    )
    proc = start(path, state)
    wait_until(started.exists)
    (run_id,) = run_ids(tmp_path)
    refused = run_cli(["resume", run_id, "--rerun"], env=state)
    assert refused.returncode == 2
    assert "refusing to touch run" in refused.stderr and "holds the lock" in refused.stderr
    rollback = run_cli(["rollback", run_id, "--yes"], env=state)
    assert rollback.returncode == 2
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and done.exists()  # the live run was not killed
    records = journal_records(tmp_path, run_id)
    assert [r["event"] for r in records].count("run_finished") == 1


def test_resume_never_kills_a_process_that_is_not_the_runs(
    tmp_path: Path, state: dict[str, str]
) -> None:
    started = tmp_path / "started"
    path = write_runbook(
        tmp_path,
        runbook_data(run_step("work", f"touch {started}; sleep 30", idempotent=True)),
    )
    run_id = killed_at(path, state, started)
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        journal = tmp_path / "state" / "runs" / run_id / "journal.jsonl"
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        for record in records:  # a pid reused by another process: the record points at it
            if record["event"] == "process_started":
                record["pid"] = bystander.pid
        journal.write_text("".join(json.dumps(r) + "\n" for r in records))
        path.write_text(path.read_text().replace("sleep 30", "true"))
        result = run_cli(["resume", run_id, "--force"], env=state)
        assert result.returncode == 0, result.stderr
        assert "is now another process" in result.stderr
        assert bystander.poll() is None  # still alive
    finally:
        bystander.kill()
        bystander.wait()


def test_a_compensation_in_flight_at_a_crash_runs_again_without_asking(
    tmp_path: Path, state: dict[str, str]
) -> None:
    undoing, log = tmp_path / "undoing", tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "a",
                "true",
                rollback={"run": f"echo undo >> {log}; touch {undoing}; sleep 30", "timeout": "1m"},
            ),
            run_step("b", "exit 1"),
        ),
    )
    run_id = killed_at(path, state, undoing)
    path.write_text(path.read_text().replace("sleep 30", "true"))
    result = run_cli(["resume", run_id, "--force"], env=state, input="")
    assert result.returncode == 1, result.stderr  # rolled back
    assert log.read_text().split() == ["undo", "undo"]


def test_eof_at_an_approval_prompt_is_no_answer(tmp_path: Path, state: dict[str, str]) -> None:
    pexpect = pytest.importorskip("pexpect")
    marker = tmp_path / "approved"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "gate", "approval": {"prompt": "go?", "default": "approve"}, "timeout": "1m"},
            run_step("after", f"touch {marker}"),
        ),
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "run", str(path), "--no-tty"],
        env={**os.environ, **state, "NO_COLOR": "1"},
        timeout=30,
    )
    child.expect("Approve")
    time.sleep(0.2)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4  # blocked at the gate, resumable
    assert not marker.exists()
