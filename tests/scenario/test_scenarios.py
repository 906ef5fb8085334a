"""`recoverctl test`: scenarios pass and fail with readable diffs, coverage counts what it should."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from recoverctl.scenario.load import load_scenarios
from recoverctl.scenario.runner import run_scenario
from tests.conftest import ROOT, run_cli
from tests.helpers import run_step, runbook_data, write_runbook

FAILOVER = runbook_data(
    run_step(
        "primary_up", "pg_isready", on_failure="continue", timeout="5s", retry={"attempts": 1}
    ),
    run_step("lag", "./lag", timeout="5s", outputs={"seconds": "{{ stdout | trim | int }}"}),
    {
        "id": "choose",
        "branch": [
            {
                "name": "promote",
                "when": "not steps.primary_up.ok and steps.lag.outputs.seconds < 10",
                "steps": [
                    run_step("fence", "./fence", timeout="30s", rollback={"run": "./unfence"}),
                    run_step(
                        "promote",
                        "./promote",
                        timeout="1m",
                        rollback={"run": "./demote"},
                        retry={"attempts": 3, "delay": "10s", "backoff": "exponential"},
                    ),
                ],
            },
            {
                "name": "healthy",
                "when": "steps.primary_up.ok",
                "steps": [{"id": "noop", "log": "primary is fine"}],
            },
            {"else": [run_step("restore", "./restore", timeout="5m")]},
        ],
    },
    run_step("verify", "./verify", timeout="30s", rescue=[{"id": "page", "log": "paging"}]),
    name="failover",
    objectives={"rto": "10m"},
)


def _files(tmp_path: Path, scenarios: str) -> Path:
    write_runbook(tmp_path, FAILOVER, "failover.yaml")
    path = tmp_path / "failover.test.yaml"
    path.write_text("version: 1\nscenarios:\n" + scenarios)
    return path


PROMOTE = """
- name: dead primary, small lag → promote after two retries
  steps:
    primary_up: fail
    lag: {stdout: "3\\n"}
    promote: [fail, fail, ok]
  expect:
    status: succeeded
    exit_code: 0
    branches: {choose: promote}
    attempts: {promote: 3}
    ran: [fence, promote, verify]
    skipped: [restore, noop]
    rolled_back: []
    max_duration: 10m
"""


def test_a_scenario_passes_in_simulated_time(tmp_path: Path) -> None:
    loaded = load_scenarios(_files(tmp_path, PROMOTE))
    assert loaded.file is not None and loaded.plan is not None, loaded.diagnostics
    started = time.perf_counter()
    result = run_scenario(loaded.plan, loaded.file.scenarios[0])
    elapsed = time.perf_counter() - started
    assert result.passed, result.differences
    # two backoff waits (10 s, 20 s) happened in simulated time only
    assert result.state.duration == pytest.approx(30.0)
    assert elapsed < 2.0


def test_timeouts_and_delays_use_the_steps_own_timeouts(tmp_path: Path) -> None:
    scenario = """
- name: verify hangs → times out, rescue pages
  steps:
    verify: timeout
    fence: {delay: 20s}
    primary_up: fail
    lag: {outputs: {seconds: 1}}
  expect:
    status: succeeded
    statuses: {verify: timed_out, page: succeeded}
    max_duration: 51s
"""
    loaded = load_scenarios(_files(tmp_path, scenario))
    assert loaded.file is not None and loaded.plan is not None
    result = run_scenario(loaded.plan, loaded.file.scenarios[0])
    assert result.passed, result.differences
    assert result.state.duration == pytest.approx(50.0)  # fence 20 s + verify's 30 s timeout


def test_a_failing_scenario_shows_a_useful_diff_and_exits_1(tmp_path: Path) -> None:
    wrong = PROMOTE.replace("branches: {choose: promote}", "branches: {choose: healthy}").replace(
        "attempts: {promote: 3}", "attempts: {promote: 1}"
    )
    path = _files(tmp_path, wrong)
    result = run_cli(["test", str(path)])
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL  dead primary, small lag → promote after two retries" in out
    assert f"({path}:4:3)" in out
    assert "- branch choose: expected 'healthy', got 'promote'" in out
    assert "- promote: expected 1 attempt(s), got 3" in out
    assert "what the run did:" in out and "promote: succeeded after 3 attempts" in out
    assert out.strip().endswith("0 passed, 1 failed")


def test_rollback_order_is_checked(tmp_path: Path) -> None:
    scenario = """
- name: verify fails, rescue fails → roll back promote then fence
  steps:
    primary_up: fail
    lag: {stdout: "1"}
    verify: fail
    page: fail
  expect:
    status: rolled_back
    exit_code: 1
    rolled_back: [promote, fence]
"""
    assert run_cli(["test", str(_files(tmp_path, scenario))]).returncode == 0
    reversed_order = scenario.replace("[promote, fence]", "[fence, promote]")
    result = run_cli(["test", str(_files(tmp_path, reversed_order))])
    assert "rolled back: expected ['fence', 'promote'], got ['promote', 'fence']" in result.stdout


def test_bad_scenario_files_get_positioned_errors(tmp_path: Path) -> None:
    bad = """
- name: typos
  steps:
    promte: fail
    choose: ok
  force: {choose: promot}
  expect:
    status: maybe
"""
    path = _files(tmp_path, bad)
    result = run_cli(["test", str(path)])
    assert result.returncode == 2
    assert f"{path}:10:13: error: found 'maybe'" in result.stderr
    fixed = bad.replace("status: maybe", "status: failed")
    result = run_cli(["test", str(_files(tmp_path, fixed))])
    assert result.returncode == 2
    err = result.stderr
    assert "unknown step 'promte' in failover" in err and "did you mean 'promote'?" in err
    assert "'choose' is a group or a branch: only action steps have outcomes" in err
    assert "branch 'choose' has no case 'promot'" in err


def test_coverage_counts_cases_rollbacks_retries_rescues(tmp_path: Path) -> None:
    path = _files(tmp_path, PROMOTE)
    result = run_cli(["test", str(path), "--coverage", "--coverage-format", "json"])
    data = json.loads(result.stdout)
    (report,) = data["runbooks"]
    assert report["by_kind"] == {
        "branch": {"covered": 1, "total": 3},
        "rollback": {"covered": 0, "total": 2},
        "retry": {"covered": 1, "total": 1},
        "rescue": {"covered": 0, "total": 1},
    }
    assert round(report["percent"], 1) == round(100 * 2 / 7, 1)
    uncovered = {u["item"] for u in report["uncovered"]}
    assert {
        "choose → healthy",
        "choose → else",
        "rollback of fence",
        "rescue of verify",
    } <= uncovered
    below = run_cli(["test", str(path), "--fail-under", "90"])
    assert below.returncode == 1 and "under --fail-under 90" in below.stderr


def test_generate_writes_scenarios_with_full_coverage_and_refuses_to_overwrite(
    tmp_path: Path,
) -> None:
    runbook = write_runbook(tmp_path, FAILOVER, "failover.yaml")
    assert run_cli(["test", "--generate", str(runbook)]).returncode == 0
    result = run_cli(["test", str(runbook), "--coverage", "--fail-under", "100"])
    assert result.returncode == 0, result.stdout + result.stderr
    again = run_cli(["test", "--generate", str(runbook)])
    assert again.returncode == 2 and "not overwriting" in again.stderr
    # a change to the runbook that alters a path makes a generated scenario fail
    changed = runbook.read_text().replace("attempts: 3", "attempts: 1")  # promote no longer retries
    assert changed != runbook.read_text()
    runbook.write_text(changed)
    assert run_cli(["test", str(runbook)]).returncode == 1


def test_junit_and_folders(tmp_path: Path) -> None:
    _files(tmp_path, PROMOTE)
    junit = tmp_path / "scenarios.xml"
    result = run_cli(["test", str(tmp_path), "--junit", str(junit)])
    assert result.returncode == 0
    from junitparser import JUnitXml

    (suite,) = list(JUnitXml.fromfile(str(junit)))
    assert suite.name == "failover" and suite.tests == 1 and suite.failures == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["test", str(empty)]).returncode == 2


def test_every_example_runbook_is_fully_covered() -> None:
    result = run_cli(["test", "runbooks/", "--coverage", "--fail-under", "100"], cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "total coverage 100.0%" in result.stdout
