"""`cooldown:` refuses a new run too soon after the last one; `--force` overrides, recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_from_alert import alertmanager
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def first_events(state: Path) -> list[dict[str, Any]]:
    """Each run's first event, oldest run first (two ids of one second sort by their
    random part, not by time)."""
    found = [json.loads(j.read_text().splitlines()[0]) for j in state.glob("runs/*/journal.jsonl")]
    return sorted(found, key=lambda event: event["ts"])


def test_a_second_run_within_the_cooldown_is_refused_until_forced(tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    path = str(
        write_runbook(tmp_path, runbook_data(run_step("a", f"echo x >> {marker}"), cooldown="10m"))
    )
    state = ["--state-dir", str(tmp_path / "s")]
    assert run_cli(["run", path, *state]).returncode == 0
    refused = run_cli(["run", path, *state])
    assert refused.returncode == 2
    assert "rb.yaml:3:11: error: runbook 'test' ran " in refused.stderr
    assert "its cooldown of 10m ends at" in refused.stderr and "pass --force" in refused.stderr
    assert marker.read_text().count("x") == 1
    # --no-journal is no way around it
    assert run_cli(["run", path, *state, "--no-journal"]).returncode == 2

    forced = run_cli(["run", path, *state, "--force"])
    assert forced.returncode == 0, forced.stderr
    assert marker.read_text().count("x") == 2
    started = first_events(tmp_path / "s")
    assert started[0].get("forced") is None
    assert "its cooldown of 10m ends at" in started[1]["forced"]
    assert "WITH --force, despite: runbook 'test' ran" in forced.stderr


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_the_window_counts_from_the_last_run_s_end(tmp_path: Path) -> None:
    path = str(write_runbook(tmp_path, runbook_data(run_step("a", "sleep 1.5"), cooldown="1s")))
    state = ["--state-dir", str(tmp_path / "s")]
    assert run_cli(["run", path, *state]).returncode == 0
    assert run_cli(["run", path, *state]).returncode == 2  # 1.5 s after its start, not its end
    time.sleep(1.1)
    assert run_cli(["run", path, *state]).returncode == 0


def test_a_per_alert_cooldown_refuses_the_same_alert_and_not_another(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", "true"),
        params={"host": {"type": "string", "from_alert": "labels.instance"}},
        cooldown={"alert": "1h"},
    )
    path = str(write_runbook(tmp_path, data))
    db1, db2 = tmp_path / "db1.json", tmp_path / "db2.json"
    db1.write_text(json.dumps(alertmanager("db-1")))
    other = alertmanager("db-2")
    other["alerts"][0]["fingerprint"] = "fpother"
    db2.write_text(json.dumps(other))
    state = ["--state-dir", str(tmp_path / "s")]
    assert run_cli(["run", path, "--from-alert", str(db1), *state]).returncode == 0
    assert run_cli(["run", path, "--from-alert", str(db2), *state]).returncode == 0
    again = run_cli(["run", path, "--from-alert", str(db1), *state])
    assert again.returncode == 2
    assert "for the same alert (fp00000000000000)" in again.stderr
    assert run_cli(["run", path, *state, "-p", "host=db-3"]).returncode == 0  # not from an alert


def test_a_cooldown_that_is_not_a_duration_is_positioned(tmp_path: Path) -> None:
    result = run_cli(
        ["validate", str(write_runbook(tmp_path, runbook_data(run_step("a"), cooldown="soon")))]
    )
    assert result.returncode == 2
    assert "rb.yaml:3:11: error:" in result.stderr
