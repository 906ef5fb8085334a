"""What a run *says* matches what it did: the runtime semantics real runbooks hit.

Each test runs the CLI as a user would and reads what the user reads: the
log lines, the exit code, the journal, the report, `plan`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.durable import killed_at, run_ids
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook

# 1. approvals are never retried; defaults.retry only for run and http


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_defaults_retry_neither_retries_approvals_nor_logs_nor_inflates_the_plan(
    tmp_path: Path,
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "gate", "approval": "go?", "timeout": "1m"},
            {"id": "note", "log": "hello"},
            run_step("work", "exit 1", timeout="1s"),
            defaults={"retry": {"attempts": 3, "delay": "1s"}},
        ),
    )
    plan = json.loads(run_cli(["plan", str(path), "--format", "json"]).stdout)
    nodes = {n["id"]: n for n in plan["nodes"]}
    assert nodes["gate"]["retry"]["attempts"] == 1
    assert nodes["note"]["retry"]["attempts"] == 1
    assert nodes["work"]["retry"]["attempts"] == 3
    assert nodes["gate"]["worst_case_seconds"] == 60
    result = run_cli(["run", str(path), "--yes", "--no-journal"])
    assert "attempt 2" not in result.stderr.split("start    work")[0]
    assert result.stderr.count("start    work") == 3


def test_an_explicit_retry_on_an_approval_is_refused(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "gate", "approval": "go?", "retry": {"attempts": 2}}),
    )
    result = run_cli(["validate", str(path)])
    assert result.returncode == 2
    assert "an operator's answer is final" in result.stderr
    assert f"{path}:" in result.stderr


# 2. finally runs at the end of every command, with the final status


def test_resume_runs_finally_again_with_the_final_status(
    tmp_path: Path, state: dict[str, str]
) -> None:
    said = tmp_path / "said"
    flag = tmp_path / "fixed"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("check", f"test -e {flag}", on_failure="abort"),
            **{"finally": [run_step("tell", f"echo {{{{ run.status }}}} >> {said}")]},
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    flag.touch()
    (run_id,) = run_ids(tmp_path)
    result = run_cli(["resume", run_id], env=state)
    assert result.returncode == 0, result.stderr
    assert said.read_text().split() == ["failed", "succeeded"]


# 3. the wait's own bound wins


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_the_waits_own_timeout_wins_over_defaults(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "w", "wait_for": {"run": "false", "interval": "200ms", "timeout": "1500ms"}},
            defaults={"timeout": "500ms"},
        ),
    )
    plan = json.loads(run_cli(["plan", str(path), "--format", "json"]).stdout)
    (node,) = [n for n in plan["nodes"] if n["id"] == "w"]
    assert node["timeout"] == 1.5
    started = time.monotonic()
    result = run_cli(["run", str(path), "--no-journal"])
    took = time.monotonic() - started
    assert result.returncode == 1
    assert "not ready after" in result.stderr and "last: exited with 1" in result.stderr
    assert took > 1.2, result.stderr


def test_a_step_timeout_shorter_than_the_wait_is_an_error(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "w", "wait_for": {"run": "true", "timeout": "5s"}, "timeout": "2s"}),
    )
    result = run_cli(["validate", str(path)])
    assert result.returncode == 2
    assert "wait_for.timeout is the wait's bound" in result.stderr


def test_a_hanging_poll_is_cut_at_the_waits_bound(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "w", "wait_for": {"run": "sleep 30", "timeout": "1s"}}),
    )
    started = time.monotonic()
    result = run_cli(["run", str(path), "--no-journal"])
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert "did not answer within the 1s bound" in result.stderr


# 4. time to recovery counts from the first start, across resumes


def test_time_to_recovery_spans_the_resume(tmp_path: Path, state: dict[str, str]) -> None:
    started = tmp_path / "started"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("slow", f"touch {started}; sleep 30", idempotent=True),
            objectives={"rto": "1h"},
        ),
    )
    run_id = killed_at(path, state, started)
    time.sleep(2.0)
    path.write_text(path.read_text().replace("sleep 30", "true"))
    result = run_cli(["resume", run_id, "--force"], env=state)
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "state" / "runs" / run_id / "meta.json").read_text())
    assert meta["duration"] > 2.0
    report = run_cli(["report", run_id, "--format", "json"], env=state)
    assert json.loads(report.stdout)["duration_seconds"] > 2.0
    markdown = run_cli(["report", run_id], env=state).stdout
    assert "run interrupted: the process stopped without finishing" in markdown


# 5. rolling back a succeeded run asks first


def test_rolling_back_a_succeeded_run_needs_a_yes(tmp_path: Path, state: dict[str, str]) -> None:
    undone, said = tmp_path / "undone", tmp_path / "said"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("dns", "true", rollback={"run": f"touch {undone}"}),
            **{"finally": [run_step("tell", f"echo {{{{ run.status }}}} >> {said}")]},
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 0
    (run_id,) = run_ids(tmp_path)
    refused = run_cli(["rollback", run_id], env=state, input="")
    assert refused.returncode == 2
    assert "succeeded" in refused.stderr and f"recoverctl rollback {run_id} --yes" in refused.stderr
    assert not undone.exists()
    done = run_cli(["rollback", run_id, "--yes"], env=state)
    assert done.returncode == 0, done.stderr
    assert undone.exists()
    assert said.read_text().split() == ["succeeded", "rolled_back"]


def test_rollback_of_a_destructive_step_waits_at_its_gate(
    tmp_path: Path, state: dict[str, str]
) -> None:
    undone = tmp_path / "undone"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "confirm", "approval": "switch DNS?", "timeout": "1m"},
            run_step("dns", "true", destructive=True, rollback={"run": f"touch {undone}"}),
            run_step("verify", "exit 1", on_failure="abort"),
        ),
    )
    assert run_cli(["run", str(path), "--yes"], env=state).returncode == 1
    (run_id,) = run_ids(tmp_path)
    unattended = run_cli(["rollback", run_id], env=state, input="")
    assert unattended.returncode == 3
    assert "undo not approved" in unattended.stderr and not undone.exists()


# 7. failure in finally names what ended the run, and is empty on success


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([run_step("probe", "false", on_failure="continue")], "[]"),
        ([run_step("work", "exit 2", on_failure="abort")], "[work]"),
    ],
)
def test_failure_in_finally_is_what_ended_the_run(
    tmp_path: Path, steps: list[dict[str, Any]], expected: str
) -> None:
    said = tmp_path / "said"
    path = write_runbook(
        tmp_path,
        runbook_data(
            *steps,
            **{"finally": [run_step("tell", f"echo '[{{{{ failure.step }}}}]' >> {said}")]},
        ),
    )
    run_cli(["run", str(path), "--no-journal"])
    assert said.read_text().strip() == expected


# 8. an optional param without a value is not `None`


def test_an_unset_optional_param_is_an_error_that_names_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("ok", f"echo pw=[{{{{ params.pw | default('') }}}}] > {out}"),
            run_step("bad", "echo PGPASSWORD={{ params.pw }}"),
            params={"pw": {"type": "string"}},
        ),
    )
    result = run_cli(["run", str(path), "--no-journal"])
    assert out.read_text().strip() == "pw=[]"
    assert result.returncode == 1
    assert "param 'pw' has no value" in result.stderr
    assert "None" not in result.stderr


# 9. in-flight polls run again without asking; --rerun and --yes are two consents


def test_an_in_flight_wait_runs_again_and_yes_does_not_rerun_work(
    tmp_path: Path, state: dict[str, str]
) -> None:
    marker = tmp_path / "polling"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "w",
                "wait_for": {
                    "run": f"touch {marker}; test -e {tmp_path}/ready",
                    "interval": "200ms",
                    "timeout": "60s",
                },
            },
        ),
    )
    run_id = killed_at(path, state, marker)
    (tmp_path / "ready").touch()
    result = run_cli(["resume", run_id], env=state, input="")
    assert result.returncode == 0, result.stderr


def test_resume_hint_names_rerun_not_yes(tmp_path: Path, state: dict[str, str]) -> None:
    started = tmp_path / "started"
    path = write_runbook(tmp_path, runbook_data(run_step("promote", f"touch {started}; sleep 30")))
    run_id = killed_at(path, state, started)
    refused = run_cli(["resume", run_id, "--yes"], env=state, input="")
    assert refused.returncode == 2
    assert "--rerun" in refused.stderr
    records = run_cli(
        ["resume", run_id, "--mark-done", "promote", "--reason", "by hand"], env=state
    )
    assert records.returncode == 0, records.stderr
    markdown = run_cli(["report", run_id], env=state).stdout
    assert "running again: promote" not in markdown


# 10. cwd and relative paths are the runbook's folder


def test_commands_run_in_the_runbooks_folder_and_a_missing_cwd_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "book"
    (folder / "bin").mkdir(parents=True)
    tool = folder / "bin" / "hello"
    tool.write_text("#!/bin/sh\necho hello from $(pwd)\n")
    tool.chmod(0o755)
    path = write_runbook(
        folder,
        runbook_data(
            run_step("relative", "./bin/hello"),
            run_step("dir", "echo {{ runbook.dir }}"),
            run_step("missing", "true", cwd="sub"),
        ),
    )
    result = run_cli(["run", str(path), "--no-journal", "-v"], cwd=tmp_path)
    assert f"hello from {folder}" in result.stderr
    assert f"dir | {folder}" in result.stderr
    assert f"working directory does not exist: {folder}/sub" in result.stderr
    assert "command not found" not in result.stderr


# 11. booleans print one way


def test_booleans_render_as_true_and_false_everywhere(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("probe", "echo t", outputs={"up": "{{ stdout | trim == 't' }}"}),
            run_step("show", "echo param={{ params.flag }} output={{ steps.probe.outputs.up }}"),
            params={"flag": {"type": "boolean", "default": False}},
        ),
    )
    result = run_cli(["run", str(path), "--no-journal", "-v", "--report", str(report)])
    assert "param=false output=true" in result.stderr
    assert "True" not in result.stderr and "False" not in result.stderr


# 12 + 13. rollback order as it ran; a guard that does not hold is no failure


def test_rolled_back_lists_the_order_it_ran_and_guards_are_not_failures(
    tmp_path: Path, state: dict[str, str]
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", "true", rollback={"run": "true"}, skip_if={"run": "false"}),
            run_step("b", "true", rollback={"run": "true"}),
            run_step("c", "exit 1"),
        ),
    )
    result = run_cli(["run", str(path)], env=state)
    assert "rolled back: b, a" in result.stderr
    assert "FAILED   a.skip_if" not in result.stderr
    assert "a.skip_if: not done yet → running 'a'" in result.stderr
    (run_id,) = run_ids(tmp_path)
    markdown = run_cli(["report", run_id], env=state).stdout
    assert "**Rolled back:** b, a" in markdown
    stats = run_cli(["stats"], env=state).stdout
    assert "skip_if ×" not in stats  # not among the most failing steps


# 14. zero durations


@pytest.mark.parametrize("where", ["timeout", "rto"])
def test_zero_durations_are_refused(tmp_path: Path, where: str) -> None:
    data = runbook_data(run_step("a"))
    if where == "timeout":
        data["steps"][0]["timeout"] = "0s"
    else:
        data["objectives"] = {"rto": "0s"}
    result = run_cli(["validate", str(write_runbook(tmp_path, data))])
    assert result.returncode == 2
    assert "greater than zero" in result.stderr


# 15. -q, "not recovered", empty strings


def test_quiet_prints_only_the_summary_and_a_rolled_back_run_is_not_recovered(
    tmp_path: Path,
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", "true", rollback={"run": "true"}),
            run_step("b", "exit 1"),
            objectives={"rto": "2m"},
        ),
    )
    result = run_cli(["run", str(path), "-q", "--no-journal"])
    assert result.returncode == 1
    assert "done     run" not in result.stderr and "ROLLBACK" not in result.stderr
    assert "RTO 2m not recovered" in result.stderr and "missed" not in result.stderr


def test_an_empty_string_in_a_decision_is_visible(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("probe", "true"),
            {
                "id": "pick",
                "branch": [
                    {"when": "steps.probe.stdout == 'x'", "steps": [run_step("x")]},
                    {"else": [run_step("y")]},
                ],
            },
        ),
    )
    result = run_cli(["run", str(path), "--no-journal"])
    assert 'steps.probe.stdout = ""' in result.stderr


# 16. report details: groups, approvers


def test_the_timeline_names_the_approver_and_groups_have_no_attempts(
    tmp_path: Path, state: dict[str, str]
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "gate", "approval": "go?", "timeout": "1m"},
            {"id": "g", "parallel": [run_step("a"), run_step("b")]},
        ),
    )
    assert run_cli(["run", str(path), "--yes"], env=state).returncode == 0
    (run_id,) = run_ids(tmp_path)
    markdown = run_cli(["report", run_id], env=state).stdout
    assert "gate: approved by" in markdown
    assert "0 attempt" not in markdown
    assert "| g succeeded |" in markdown
    assert "a succeeded after 1 attempt |" in markdown


# 6. a scenario applies the run's semantics to outputs


def test_a_scenario_output_that_cannot_be_computed_fails_the_step_as_a_run_would(
    tmp_path: Path,
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("lag", "echo lag", outputs={"seconds": "{{ stdout | trim | int(-1) + 'x' }}"}),
            {
                "id": "pick",
                "branch": [
                    {"when": "steps.lag.outputs.seconds < 10", "steps": [run_step("promote")]},
                    {"else": [run_step("restore")]},
                ],
            },
        ),
        name="book.yaml",
    )
    (tmp_path / "book.test.yaml").write_text(
        "version: 1\nscenarios:\n"
        "  - name: garbage from the lag probe fails the probe, as in a real run\n"
        "    steps: {lag: {stdout: 'not a number'}}\n"
        "    expect: {status: failed, statuses: {lag: failed}, not_run: [promote, restore]}\n",
        encoding="utf-8",
    )
    result = run_cli(["test", str(tmp_path / "book.test.yaml")])
    assert result.returncode == 0, result.stdout + result.stderr
    real = run_cli(["run", str(path), "--no-journal"])
    assert real.returncode == 1 and "output 'seconds' could not be computed" in real.stderr
