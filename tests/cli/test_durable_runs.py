"""Durable runs through the CLI: journal, runs/show/report/stats, resume, overrides, lock, rollback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.durable import journal_records as _journal
from tests.cli.durable import killed_at as _killed_at
from tests.cli.durable import run_ids as _run_ids
from tests.cli.durable import start as _start
from tests.cli.durable import wait_until as _wait_for
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def test_every_run_writes_a_private_versioned_journal(
    tmp_path: Path, state: dict[str, str]
) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("a"), run_step("b")))
    result = run_cli(["run", str(path)], env=state)
    assert result.returncode == 0, result.stderr
    (run_id,) = _run_ids(tmp_path)
    folder = tmp_path / "state" / "runs" / run_id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("journal.jsonl", "runbook.yaml", "meta.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert (folder / "runbook.yaml").read_text() == path.read_text()
    records = _journal(tmp_path, run_id)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(r["v"] == 1 and r["run_id"] == run_id and r["plan_hash"] for r in records)
    assert records[0]["event"] == "run_started" and records[-1]["event"] == "run_finished"
    assert f"recoverctl show {run_id}" in " ".join(result.stderr.split())


def test_runs_show_report_and_stats(tmp_path: Path, state: dict[str, str]) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("probe", outputs={"n": "{{ 3 }}"}),
            {
                "id": "pick",
                "branch": [
                    {
                        "when": "steps.probe.outputs.n > 1",
                        "steps": [run_step("fix", rollback={"run": "true"})],
                    },
                    {"else": [run_step("other")]},
                ],
            },
            run_step("flaky", "exit 1", retry={"attempts": 2, "delay": "10ms"}),
            objectives={"rto": "1m"},
            name="history",
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    (run_id,) = _run_ids(tmp_path)
    listing = run_cli(["runs"], env={**state, "COLUMNS": "200"})
    assert (
        run_id in listing.stdout
        and "history" in listing.stdout
        and "pick→steps.probe.outputs.n" in listing.stdout
    )
    shown = run_cli(["show", run_id[:18]], env={**state, "COLUMNS": "120"})
    assert shown.returncode == 0, shown.stderr
    assert "→ steps.probe.outputs.n > 1" in shown.stdout and "ROLLBACK" in shown.stdout
    markdown = run_cli(["report", run_id, "--format", "markdown"], env=state).stdout
    assert (
        "# Recovery report: history" in markdown
        and "decision pick → steps.probe.outputs.n > 1" in markdown
    )
    assert "flaky: retry 2 in 10ms" in markdown and "not recovered" in markdown
    data = json.loads(run_cli(["report", run_id, "--format", "json"], env=state).stdout)
    assert data["status"] == "rolled_back" and data["steps"]["flaky"]["attempts"] == 2
    stats = run_cli(["stats"], env={**state, "COLUMNS": "200"})
    assert "history" in stats.stdout and "flaky ×1" in stats.stdout and "0%" in stats.stdout


def test_prometheus_and_junit_reports_parse(tmp_path: Path, state: dict[str, str]) -> None:
    prometheus_parser = pytest.importorskip("prometheus_client.parser")
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("ok_step"), run_step("bad", "exit 3"), objectives={"rto": "1m"}, name="reports"
        ),
    )
    metrics, junit = tmp_path / "m.prom", tmp_path / "j.xml"
    run_cli(["run", str(path), "--metrics", str(metrics), "--junit", str(junit)], env=state)
    families = {
        f.name: f for f in prometheus_parser.text_string_to_metric_families(metrics.read_text())
    }
    assert families["recoverctl_run_success"].samples[0].value == 0
    steps = {s.labels["step"]: s.value for s in families["recoverctl_step_attempts"].samples}
    assert steps == {"ok_step": 1, "bad": 1}
    from junitparser import Failure, JUnitXml

    suites = list(JUnitXml.fromfile(str(junit)))  # the reader CI dashboards build on
    assert (
        [s.name for s in suites] == ["reports"] and suites[0].tests == 2 and suites[0].failures == 1
    )
    cases = {case.name: case for case in suites[0]}
    assert (
        isinstance(cases["bad"].result[0], Failure)
        and cases["bad"].result[0].message == "exited with 3"
    )
    assert cases["ok_step"].is_passed


def test_second_run_of_the_same_runbook_is_refused_while_one_is_active(
    tmp_path: Path, state: dict[str, str]
) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("hold", f"touch {tmp_path}/go; sleep 30")))
    first = _start(path, state)
    try:
        _wait_for((tmp_path / "go").exists)
        second = run_cli(["run", str(path)], env=state)
        assert second.returncode == 2
        assert f"locked by run {_run_ids(tmp_path)[0]} (pid {first.pid})" in second.stderr
    finally:
        first.kill()
        first.wait()
    # the kernel released the dead process's lock: the next run goes ahead
    (tmp_path / "go").unlink()
    path2 = write_runbook(tmp_path, runbook_data(run_step("quick"), name="test"))
    assert run_cli(["run", str(path2)], env=state).returncode == 0


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_resume_never_reruns_completed_steps(tmp_path: Path, state: dict[str, str]) -> None:
    log = tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"echo a >> {log}"),
            run_step(
                "b",
                f"echo b-start >> {log}; touch {tmp_path}/b; sleep 30; echo b-end >> {log}",
                idempotent=True,
            ),
            run_step("c", f"echo c >> {log}"),
        ),
    )
    run_id = _killed_at(path, state, tmp_path / "b")
    assert "interrupted" in run_cli(["runs"], env={**state, "COLUMNS": "200"}).stdout
    changed = path.read_text().replace("sleep 30", "sleep 0")
    assert changed != path.read_text()
    path.write_text(changed)
    refused = run_cli(["resume", run_id], env=state)
    assert (
        refused.returncode == 2 and "changed since run" in refused.stderr and "-" in refused.stderr
    )
    result = run_cli(["resume", run_id, "--force"], env=state)
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["a", "b-start", "b-start", "b-end", "c"]


def test_in_flight_non_idempotent_step_needs_confirmation(
    tmp_path: Path, state: dict[str, str]
) -> None:
    log = tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("promote", f"touch {tmp_path}/p; sleep 30", idempotent=False),
            run_step("after", f"echo after >> {log}"),
        ),
    )
    run_id = _killed_at(path, state, tmp_path / "p")
    refused = run_cli(["resume", run_id], env=state, input="")
    assert refused.returncode == 2
    assert "promote" in refused.stderr and "not marked idempotent" in refused.stderr
    done = run_cli(
        ["resume", run_id, "--mark-done", "promote", "--reason", "promoted by hand"], env=state
    )
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["after"]
    overrides = [r for r in _journal(tmp_path, run_id) if r["event"] == "operator_override"]
    assert overrides[0]["action"] == "mark_done" and overrides[0]["reason"] == "promoted by hand"
    assert overrides[0]["who"]


def test_resume_a_failed_run_with_skip_and_from(tmp_path: Path, state: dict[str, str]) -> None:
    log = tmp_path / "log"
    flag = tmp_path / "fixed"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"echo a >> {log}"),
            run_step("b", f"echo b >> {log}; test -e {flag}", on_failure="abort"),
            run_step("c", f"echo c >> {log}"),
            run_step("d", f"echo d >> {log}"),
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    (run_id,) = _run_ids(tmp_path)
    flag.touch()
    result = run_cli(["resume", run_id, "--skip", "c"], env=state)
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["a", "b", "b", "d"]
    result = run_cli(["resume", run_id, "--from", "c"], env=state)
    assert result.returncode == 2 and "already succeeded" in result.stderr
    unknown = run_cli(["resume", "nope"], env=state)
    assert unknown.returncode == 2 and "no run 'nope'" in unknown.stderr


def test_rollback_command_undoes_a_stopped_run(tmp_path: Path, state: dict[str, str]) -> None:
    log = tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"echo do-a >> {log}", rollback={"run": f"echo undo-a >> {log}"}),
            run_step("b", f"echo do-b >> {log}", rollback={"run": f"echo undo-b >> {log}"}),
            run_step("c", "exit 1", on_failure="abort"),
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    (run_id,) = _run_ids(tmp_path)
    result = run_cli(["rollback", run_id], env=state)
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["do-a", "do-b", "undo-b", "undo-a"]
    again = run_cli(["rollback", run_id], env=state)
    assert log.read_text().split() == [
        "do-a",
        "do-b",
        "undo-b",
        "undo-a",
    ]  # nothing is undone twice
    assert again.returncode == 0


def test_secrets_never_reach_the_journal_or_reports(tmp_path: Path, state: dict[str, str]) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("leak", "echo {{ params.token }}; exit 1"),
            params={"token": {"type": "string", "secret": True}},
        ),
    )
    report = tmp_path / "r.json"
    run_cli(["run", str(path), "-p", "token=hunter2-secret", "--report", str(report)], env=state)
    folder = tmp_path / "state" / "runs" / _run_ids(tmp_path)[0]
    for file in [*folder.iterdir(), report]:
        assert "hunter2-secret" not in file.read_text(), file


def test_a_full_disk_stops_the_run_with_a_clear_error_and_a_readable_journal(
    tmp_path: Path, state: dict[str, str]
) -> None:
    import resource

    from recoverctl.journal.reader import read_journal

    log = tmp_path / "ran"
    path = write_runbook(
        tmp_path,
        runbook_data(
            *[run_step(f"s{i}", f"echo s{i} >> {log}; yes x | head -c 300") for i in range(60)],
            **{"finally": [run_step("tell", f"echo finally >> {log}")]},
        ),
    )
    limit = 12_000  # bytes: the journal outgrows it part-way through the run

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "recoverctl", "run", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **state},
        preexec_fn=small_disk,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 5, proc.stderr  # ExitCode.JOURNAL_FAILED
    assert "cannot write the journal" in proc.stderr
    assert "stopped before its next step" in proc.stderr
    (run_id,) = _run_ids(tmp_path)
    journal = read_journal(tmp_path / "state" / "runs" / run_id / "journal.jsonl")
    assert journal.events and journal.events[0].kind == "run_started"
    # no side effect without its record: every step that ran has its start in the journal
    ran = log.read_text().split()
    recorded = [e.step_id for e in journal.events if e.kind == "step_started"]
    assert 0 < len(ran) < 60 and "finally" not in ran
    assert set(ran) <= set(recorded), (ran, recorded)
    meta = json.loads((tmp_path / "state" / "runs" / run_id / "meta.json").read_text())
    assert meta["status"] == "interrupted" and "journal" in meta["error"]
    assert "Traceback" not in proc.stderr


def test_resume_from_a_step_inside_a_group_reopens_the_group(
    tmp_path: Path, state: dict[str, str]
) -> None:
    log = tmp_path / "log"
    flag = tmp_path / "ok"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "lane",
                "steps": [run_step("a", f"echo a >> {log}"), run_step("b", f"echo b >> {log}")],
            },
            run_step("check", f"echo check >> {log}; test -e {flag}", on_failure="abort"),
        ),
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    (run_id,) = _run_ids(tmp_path)
    flag.touch()
    result = run_cli(
        ["resume", run_id, "--from", "b", "--reason", "b was undone by hand"], env=state
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["a", "b", "check", "b", "check"]


def test_a_run_killed_after_its_rollback_ended_is_finished_not_done_again(tmp_path: Path) -> None:
    """SIGKILL between rollback_finished and run_finished (found by the crash torture): the
    resume must finish the run as rolled back — not run its undone steps again."""
    effects = tmp_path / "effects"
    data = runbook_data(
        run_step("a", f"echo a >> {effects}", rollback={"run": f"echo undo-a >> {effects}"}),
        run_step("c", "exit 1"),
    )
    path = str(write_runbook(tmp_path, data))
    env = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
    assert run_cli(["run", path], env=env).returncode == 1
    (run,) = (tmp_path / "state" / "runs").iterdir()
    journal = run / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["event"] == "run_finished"
    journal.write_text("".join(lines[:-1]))  # as if killed right after the rollback
    resumed = run_cli(["resume", run.name], env=env)
    assert resumed.returncode == 1, resumed.stderr
    assert effects.read_text().split() == ["a", "undo-a"]  # nothing done again
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[-1]["event"] == "run_finished" and records[-1]["status"] == "rolled_back"
