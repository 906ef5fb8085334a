"""A dry run never invents a path: what rests on a simulated step is undetermined."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def dry(tmp_path: Path, *steps: dict, probe: bool = False) -> tuple[int, str, list[dict]]:
    path = str(write_runbook(tmp_path, runbook_data(*steps)))
    args = ["run", path, "--dry-run", "--output", "json"] + (["--probe"] if probe else [])
    result = run_cli(args)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    return result.returncode, result.stderr, events


def test_when_and_skip_if_on_simulated_results_are_said_to_be_undetermined(tmp_path: Path) -> None:
    code, err, events = dry(
        tmp_path,
        run_step("check", "test -e /nonexistent"),
        run_step("fix", "true", when="not steps.check.ok"),
        run_step("again", "true", skip_if="steps.fix.ok"),
    )
    assert code == 0, err
    assert (
        "'fix' when: not steps.check.ok is undetermined (reads check, simulated): shown as if it held"
        in err
    )
    assert "'again' skip_if: steps.fix.ok is undetermined (reads fix, simulated)" in err
    finished = {e["step_id"]: e for e in events if e["event"] == "step_finished"}
    assert all(finished[s]["simulated"] for s in ("check", "fix", "again"))


def test_an_assert_on_real_values_is_checked_and_one_on_simulated_values_is_not(
    tmp_path: Path,
) -> None:
    code, err, events = dry(
        tmp_path, run_step("check", "true"), {"id": "sure", "assert": "steps.check.ok"}
    )
    assert code == 0, err
    sure = next(e for e in events if e["event"] == "step_finished" and e["step_id"] == "sure")
    assert sure["simulated"]  # it reads a made-up result: neither passed nor failed
    code, err, _ = dry(tmp_path, {"id": "never", "assert": "1 == 2", "on_failure": "abort"})
    assert code == 1  # pure logic: fails the dry run exactly as it would the run
    assert "FAILED   never: assertion failed" in err


def test_json_events_say_what_was_real_simulated_or_undetermined(tmp_path: Path) -> None:
    code, err, events = dry(
        tmp_path,
        run_step("probe", "true", read_only=True),
        run_step("act", "true"),
        {
            "id": "pick",
            "branch": [
                {"when": "steps.act.ok", "steps": [run_step("a")]},
                {"else": [run_step("b")]},
            ],
        },
        probe=True,
    )
    assert code == 0, err
    finished = {e["step_id"]: e for e in events if e["event"] == "step_finished"}
    assert finished["probe"]["simulated"] is False and finished["act"]["simulated"] is True
    (decided,) = [e for e in events if e["event"] == "branch_decided"]
    assert decided["case_index"] is None
    assert decided["undetermined"] == ["act"] and decided["explored"] == ["steps.act.ok", "else"]


def test_a_scenario_s_dry_run_shows_exactly_its_path() -> None:
    from tests.conftest import ROOT

    demo = str(ROOT / "runbooks" / "demo.yaml")
    name = "disk full → refuse to restart, nothing to undo"
    result = run_cli(["run", demo, "--dry-run", "--scenario", name, "--no-tty"])
    assert result.returncode == 1  # the scenario's run fails at `refuse`, so this one does
    assert f"(dry run: the outcomes of scenario '{name}', nothing executed)" in result.stderr
    assert "branch   choose → else" in result.stderr and "path: choose → else" in result.stderr
    missing = run_cli(["run", demo, "--dry-run", "--scenario", "disk ful"])
    assert missing.returncode == 2 and "no scenario 'disk ful' in" in missing.stderr
    assert run_cli(["run", demo, "--scenario", name]).returncode == 2  # only with --dry-run


def test_before_each_change_a_dry_run_says_what_its_failure_would_undo() -> None:
    from tests.conftest import ROOT

    result = run_cli(["run", str(ROOT / "runbooks" / "demo.yaml"), "--dry-run", "--no-tty"])
    assert result.returncode == 0, result.stderr
    assert (
        "if 'verify' fails: the rollback undoes warm_catalog → warm_orders → warm_users → "
        "restart_service" in result.stderr
    )
    assert "if 'simulate_outage' fails: the rollback undoes nothing" in result.stderr


def test_a_fan_out_over_a_simulated_list_is_undetermined_not_a_failure(tmp_path: Path) -> None:
    code, err, events = dry(
        tmp_path,
        run_step("list_shards", "echo '[\"s1\"]'", outputs={"shards": "{{ stdout | from_json }}"}),
        {
            "id": "flush",
            "foreach": {"items": "{{ steps.list_shards.outputs.shards }}", "as": "shard"},
            "steps": [run_step("one", "echo {{ shard }}")],
        },
    )
    assert code == 0, err  # it used to fail: 'gave NoneType None; expected a list'
    assert "'flush': its items are undetermined (they come from list_shards, simulated" in err
    flush = next(e for e in events if e["event"] == "step_finished" and e["step_id"] == "flush")
    assert flush["simulated"] and "items undetermined" in flush["reason"]
