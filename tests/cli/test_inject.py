"""`run --inject`: faults in a real run, only when allowed, recorded in the journal."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def _runbook(tmp_path: Path, **top: object) -> Path:
    log = tmp_path / "log"
    return write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "promote",
                f"echo promote >> {log}",
                timeout="5s",
                rollback={"run": f"echo demote >> {log}"},
            ),
            run_step("dns", f"echo dns >> {log}", timeout="5s"),
            run_step("verify", f"echo verify >> {log}", timeout="1s"),
            **top,
        ),
    )


def test_injection_is_refused_unless_allowed_and_nothing_runs(tmp_path: Path) -> None:
    path = _runbook(tmp_path)
    result = run_cli(
        ["run", str(path), "--inject", "fail:dns"],
        env={"RECOVERCTL_STATE_DIR": str(tmp_path / "s")},
    )
    assert result.returncode == 2
    assert "refusing to inject faults" in result.stderr and "--allow-injection" in result.stderr
    assert not (tmp_path / "log").exists()


def test_injected_failure_rolls_back_and_is_journaled(tmp_path: Path) -> None:
    path = _runbook(tmp_path)
    result = run_cli(
        ["run", str(path), "--inject", "fail:dns", "--allow-injection"],
        env={"RECOVERCTL_STATE_DIR": str(tmp_path / "s")},
    )
    assert result.returncode == 1
    assert "WITH INJECTED FAULTS: fail:dns" in result.stderr
    assert (tmp_path / "log").read_text().split() == [
        "promote",
        "demote",
    ]  # dns never ran: it was injected
    (run_dir,) = (tmp_path / "s" / "runs").iterdir()
    first = json.loads((run_dir / "journal.jsonl").read_text().splitlines()[0])
    assert first["event"] == "run_started" and first["injected"] == ["fail:dns"]


def test_delay_and_timeout_faults_with_the_runbook_opting_in(tmp_path: Path) -> None:
    path = _runbook(tmp_path, allow_injection=True)
    started = time.monotonic()
    result = run_cli(
        [
            "run",
            str(path),
            "--inject",
            "delay:dns=300ms",
            "--inject",
            "timeout:verify",
            "--no-journal",
        ]
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert "verify: timed out after 1s" in result.stderr or "TIMEOUT  verify" in result.stderr
    assert (tmp_path / "log").read_text().split() == ["promote", "dns", "demote"]


def test_bad_faults_are_explained(tmp_path: Path) -> None:
    path = _runbook(tmp_path, allow_injection=True)
    for fault, message in [
        ("explode:dns", "is not a fault"),
        ("fail:dsn", "did you mean 'dns'?"),
        ("delay:dns", "a delay needs a duration"),
    ]:
        result = run_cli(["run", str(path), "--inject", fault, "--no-journal"])
        assert result.returncode == 2 and message in result.stderr, (fault, result.stderr)
