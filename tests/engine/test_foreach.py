"""`foreach`: a step once per item — ids, waves, the failure budget, rollback, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recoverctl.engine.events import FanoutPlanned, StepFinished, StepStarted
from tests.conftest import invoke, run_cli
from tests.engine.harness import fail, run_engine
from tests.helpers import runbook_data, write_runbook

HOSTS = ["db-1", "db-2", "db-3", "db-4"]


def _fanout(**foreach: Any) -> dict[str, Any]:
    return {
        "id": "restart",
        "foreach": {"items": HOSTS, "as": "host", **foreach},
        "run": "systemctl restart pg # {{ host }}",
        "rollback": {"run": "systemctl start pg@previous # {{ host }}"},
        "timeout": "10s",
    }


def _items(outcome: Any, kind: type = StepFinished) -> list[str]:
    return [
        e.step_id
        for e in outcome.events
        if isinstance(e, kind) and e.step_id.startswith("restart[") and "." not in e.step_id
    ]


def test_every_item_runs_under_its_own_stable_id(tmp_path: Path) -> None:
    after = {"id": "after", "run": "echo {{ steps.restart.outputs.succeeded | join(',') }}"}
    outcome = run_engine(tmp_path, runbook_data(_fanout(), after))
    assert outcome.code == 0
    assert _items(outcome, StepStarted) == [f"restart[{h}]" for h in HOSTS]
    planned = next(e for e in outcome.events if isinstance(e, FanoutPlanned))
    assert planned.keys == HOSTS and planned.waves == [4] and planned.tolerated == 0
    assert outcome.status("restart") == "succeeded"
    assert outcome.state.steps["restart"].reason == "4 of 4 items succeeded"
    assert outcome.state.steps["restart"].outputs["succeeded"] == HOSTS


def test_the_budget_stops_new_items_and_the_completed_ones_are_undone_last_first(
    tmp_path: Path,
) -> None:
    outcome = run_engine(
        tmp_path,
        runbook_data(_fanout(batch=1, max_failures=0)),
        outcomes={"restart[db-2]": [fail()]},
    )
    assert outcome.code == 1
    assert _items(outcome, StepStarted) == ["restart[db-1]", "restart[db-2]"]
    assert outcome.status("restart[db-3]") == "cancelled"
    assert "not started: the failure budget" in (outcome.state.steps["restart[db-4]"].reason or "")
    assert outcome.status("restart") == "failed"
    error = outcome.state.steps["restart"].error or ""
    assert "1 of 4 items succeeded; failed: db-2; 2 not started" in error
    assert outcome.state.undone == [("restart[db-1]", True)]  # only the completed item
    assert outcome.status("restart[db-1].rollback") == "succeeded"


def test_a_percent_budget_tolerates_failures_and_says_which(tmp_path: Path) -> None:
    outcome = run_engine(
        tmp_path,
        runbook_data(_fanout(max_failure_percent=25)),
        outcomes={"restart[db-3]": [fail()]},
    )
    assert outcome.code == 0
    state = outcome.state.steps["restart"]
    assert state.status == "succeeded"
    assert state.reason == (
        "3 of 4 items succeeded; failed: db-3; within the failure budget (1 allowed)"
    )
    assert state.outputs["failed"] == ["db-3"]


def test_a_failed_canary_stops_the_fan_out_whatever_the_budget(tmp_path: Path) -> None:
    outcome = run_engine(
        tmp_path,
        runbook_data(_fanout(canary=1, max_failures=3)),
        outcomes={"restart[db-1]": [fail()]},
    )
    assert outcome.code == 1
    assert _items(outcome, StepStarted) == ["restart[db-1]"]
    assert "canary item 'db-1' failed" in (outcome.state.steps["restart"].error or "")


def test_waves_and_max_parallel_bound_what_runs_at_once(tmp_path: Path) -> None:
    step = _fanout(canary=1, batch=2, max_parallel=1)
    step["run"] = "sleep 0.05"
    step.pop("rollback")
    outcome = run_engine(tmp_path, runbook_data(step), real=True)
    assert outcome.code == 0
    running, widest = 0, 0
    for event in outcome.events:
        if getattr(event, "step_id", None) in {f"restart[{h}]" for h in HOSTS}:
            running += isinstance(event, StepStarted) - isinstance(event, StepFinished)
            widest = max(widest, running)
    assert widest == 1
    planned = next(e for e in outcome.events if isinstance(e, FanoutPlanned))
    assert planned.waves == [1, 2, 1]


def test_a_group_body_runs_per_item_and_its_steps_read_their_own_siblings(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    data = runbook_data(
        {
            "id": "list_shards",
            "run": 'echo \'["s1", "s2"]\'',
            "outputs": {"shards": "{{ json }}"},
        },
        {
            "id": "rebuild",
            "foreach": {"items": "{{ steps.list_shards.outputs.shards }}", "as": "shard"},
            "steps": [
                {
                    "id": "flush",
                    "run": "echo flushed-{{ shard }}",
                    "outputs": {"v": "{{ stdout }}"},
                },
                {"id": "check", "run": f"echo {{{{ steps.flush.outputs.v }}}} >> {out}"},
            ],
        },
    )
    outcome = run_engine(tmp_path, data, real=True)
    assert outcome.code == 0, outcome.state.steps
    assert sorted(out.read_text().split()) == ["flushed-s1", "flushed-s2"]
    assert outcome.status("rebuild[s1]/flush") == "succeeded"
    assert outcome.status("rebuild[s2]") == "succeeded"


def test_a_failing_inner_step_fails_its_item_not_a_cancel(tmp_path: Path) -> None:
    data = runbook_data(
        {
            "id": "rebuild",
            "foreach": {"items": ["s1", "s2"], "as": "shard", "max_failures": 1},
            "steps": [{"id": "flush", "run": "true"}, {"id": "check", "run": "true"}],
        },
    )
    outcome = run_engine(tmp_path, data, outcomes={"rebuild[s2]/flush": [fail()]})
    assert outcome.code == 0
    assert outcome.status("rebuild[s2]") == "failed"
    assert "rebuild[s2]/check" not in outcome.state.steps  # never started
    assert "flush" in (outcome.state.steps["rebuild[s2]"].error or "")


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["a", "a"], "'a' is in the list twice"),
        (["ok", "../x/y"], "holds '/'"),
        (["ok", "x]y"], "holds ']'"),
        ([{"name": "a"}], "expected `key:` to name each"),
    ],
)
def test_items_that_cannot_be_ids_fail_the_fan_out_before_anything_runs(
    tmp_path: Path, items: list[Any], expected: str
) -> None:
    step = {"id": "restart", "foreach": {"items": items}, "run": "true"}
    outcome = run_engine(tmp_path, runbook_data(step))
    assert outcome.code == 1
    assert expected in (outcome.state.steps["restart"].error or "")
    assert _items(outcome, StepStarted) == []


def test_objects_are_named_by_their_key_template(tmp_path: Path) -> None:
    step = {
        "id": "restart",
        "foreach": {
            "items": [{"name": "a", "port": 1}, {"name": "b", "port": 2}],
            "key": "{{ item.name }}",
        },
        "run": "echo {{ item.port }}",
    }
    outcome = run_engine(tmp_path, runbook_data(step))
    assert outcome.code == 0
    assert outcome.status("restart[a]") == outcome.status("restart[b]") == "succeeded"


def test_a_text_list_from_a_step_is_one_item_per_line(tmp_path: Path) -> None:
    data = runbook_data(
        {
            "id": "nodes",
            "run": "printf 'node/a\\nnode-b\\n\\n'",
            "outputs": {"names": "{{ stdout }}"},
        },
        {"id": "drain", "foreach": {"items": "{{ steps.nodes.outputs.names }}"}, "run": "true"},
    )
    outcome = run_engine(tmp_path, data, real=True)
    assert outcome.code == 1  # `node/a` cannot be an id: refused, nothing drained
    assert "item 1: item 'node/a' holds '/'" in (outcome.state.steps["drain"].error or "")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            {"id": "later", "run": "echo {{ steps.flush.ok }}"},
            "step 'flush' runs once per item of 'rebuild'",
        ),
        (
            {"id": "later", "run": "echo {{ steps.rebuild.outputs.nope }}"},
            "has no field 'nope'",
        ),
    ],
)
def test_references_into_a_fan_out_from_outside_are_refused(
    tmp_path: Path, step: dict[str, Any], expected: str
) -> None:
    fan = {"id": "rebuild", "foreach": {"items": ["a"]}, "steps": [{"id": "flush", "run": "true"}]}
    path = write_runbook(tmp_path, runbook_data(fan, step))
    result = invoke(["validate", str(path)])
    assert result.exit_code == 2
    assert expected in result.output


def test_an_item_name_that_hides_a_context_name_is_refused(tmp_path: Path) -> None:
    fan = {"id": "restart", "foreach": {"items": ["a"], "as": "params"}, "run": "true"}
    result = invoke(["validate", str(write_runbook(tmp_path, runbook_data(fan)))])
    assert result.exit_code == 2
    assert "foreach.as 'params' of step 'restart' hides a name" in result.output


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_resume_runs_only_the_items_that_did_not_complete(tmp_path: Path) -> None:
    """SIGKILL mid fan-out; the resume starts no completed item again."""
    log, gate = tmp_path / "log", tmp_path / "go"
    step = {
        "id": "restart",
        "foreach": {"items": HOSTS, "as": "host", "batch": 1},
        "run": f"echo {{{{ host }}}} >> {log}; "
        f"if [ {{{{ host }}}} = db-3 ]; then while [ ! -f {gate} ]; do sleep 0.05; done; fi",
        "timeout": "1m",
        "idempotent": True,
    }
    path = write_runbook(tmp_path, runbook_data(step))
    env = {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", "--no-tty", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while "db-3" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    gate.touch()
    run_id = next((tmp_path / "state" / "runs").iterdir()).name
    resumed = run_cli(["resume", run_id], env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert log.read_text().split() == ["db-1", "db-2", "db-3", "db-3", "db-4"]
    shown = run_cli(["show", run_id], env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")})
    assert "restart[db-4]" in shown.stdout + shown.stderr


def test_the_cli_shows_items_as_ids_not_markup(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data({**_fanout(), "run": "true"}))
    result = run_cli(
        ["run", "--no-tty", str(path)], env={"RECOVERCTL_STATE_DIR": str(tmp_path / "s")}
    )
    assert result.returncode == 0, result.stderr
    assert "items    restart: 4 items (db-1, db-2, db-3, …); no failure allowed" in result.stderr
    assert "\n  restart[db-2]  succeeded" in result.stderr  # the plain summary's row
    (run_id,) = [
        line.split()[-1].rstrip(")")
        for line in result.stderr.splitlines()
        if "(recoverctl show" in line
    ]
    shown = run_cli(["show", run_id], env={"RECOVERCTL_STATE_DIR": str(tmp_path / "s")})
    assert "│   restart[db-2] │" in shown.stdout  # rich's table row: not eaten as markup


def test_the_rollback_undoes_items_as_wide_as_they_ran_last_wave_first(tmp_path: Path) -> None:
    step = _fanout(batch=2, max_failures=0)
    step["foreach"]["items"] = ["a", "b", "c", "d", "e"]
    step["run"] = "test {{ host }} != e"
    step["rollback"] = {"run": "sleep 0.2", "timeout": "10s"}
    outcome = run_engine(tmp_path, runbook_data(step), real=True)
    assert outcome.code == 1
    starts = [
        e.step_id
        for e in outcome.events
        if isinstance(e, StepStarted) and e.step_id.endswith(".rollback")
    ]
    assert sorted(starts[:2]) == ["restart[c].rollback", "restart[d].rollback"]
    undone = [sid for sid, _ in outcome.state.undone]
    assert set(undone[:2]) == {"restart[c]", "restart[d]"}  # together: the last wave first
    assert set(undone[2:]) == {"restart[a]", "restart[b]"}
    running, widest = 0, 0
    for event in outcome.events:
        if getattr(event, "step_id", "").endswith(".rollback"):
            running += isinstance(event, StepStarted) - isinstance(event, StepFinished)
            widest = max(widest, running)
    assert widest == 2


def _stop_test_step(tmp_path: Path, seconds: float, **foreach: Any) -> dict[str, Any]:
    step = _fanout(**foreach)
    step.pop("rollback")
    step["run"] = (
        "if [ {{ host }} = db-1 ]; then sleep 0.3; exit 1; fi; "
        f"echo $$ > {tmp_path}/{{{{ host }}}}.pid; exec sleep {seconds}"
    )
    return step


def test_past_the_budget_stop_running_kills_the_items_still_running(tmp_path: Path) -> None:
    started = time.monotonic()
    step = _stop_test_step(tmp_path, 60, stop_running=True)
    outcome = run_engine(tmp_path, runbook_data(step), real=True)
    assert time.monotonic() - started < 30  # not the 60 s the others would have slept
    assert outcome.code == 1
    assert outcome.status("restart[db-1]") == "failed"
    for host in HOSTS[1:]:
        assert outcome.status(f"restart[{host}]") == "cancelled"
        pid = int((tmp_path / f"{host}.pid").read_text())
        with pytest.raises(ProcessLookupError):  # killed, not left behind
            os.kill(pid, 0)
    error = outcome.state.steps["restart"].error or ""
    assert "0 of 4 items succeeded; failed: db-1; 3 stopped while running" in error
    assert "not started" not in error
    assert outcome.state.undone == []  # nothing completed, nothing to undo


def test_by_default_the_items_still_running_finish(tmp_path: Path) -> None:
    outcome = run_engine(tmp_path, runbook_data(_stop_test_step(tmp_path, 1)), real=True)
    assert outcome.code == 1
    assert [outcome.status(f"restart[{h}]") for h in HOSTS] == ["failed"] + ["succeeded"] * 3
    error = outcome.state.steps["restart"].error or ""
    assert "3 of 4 items succeeded; failed: db-1; the failure budget" in error
