"""Durations read from params (`timeout: "{{ params.wait }}"`), as users meet them:
`plan` shows them resolved, a run is bounded by the value given, resume keeps the run's
value, and every value that is not a duration is refused at the place it is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.durable import run_ids
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook

WAITS = {
    "wait": {"type": "duration", "default": "1h"},
    "pause": {"type": "string", "default": "1s"},
}


def _runbook(tmp_path: Path, *steps: dict[str, Any], **top: Any) -> Path:
    return write_runbook(tmp_path, runbook_data(*steps, params=WAITS, **top))


def _plan(path: Path, *params: str) -> dict[str, Any]:
    args = [part for p in params for part in ("-p", p)]
    done = run_cli(["plan", str(path), "--format", "json", *args])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plan_shows_the_durations_of_the_params_given_and_the_worst_case_follows(
    tmp_path: Path,
) -> None:
    path = _runbook(
        tmp_path,
        {
            "id": "gate",
            "wait_for": {"run": "true", "interval": "{{ params.pause }}"},
            "timeout": "{{ params.wait }}",
        },
        {"id": "nap", "sleep": "{{ params.pause }}"},
        objectives={"rto": "10m"},
    )
    assert _plan(path)["worst_case_seconds"] == 3601.0  # the defaults: 1h + 1s
    assert _plan(path, "wait=2m", "pause=5s")["worst_case_seconds"] == 125.0
    text = run_cli(["plan", str(path), "-p", "wait=2m", "-p", "pause=5s"]).stdout
    assert "every 5s" in text and "timeout 2m" in text and "sleep 5s" in text
    lint = run_cli(["lint", str(path), "--format", "json"])
    codes = {f["code"] for f in json.loads(lint.stdout)}
    assert "RC303" in codes  # the default (1h) exceeds the RTO
    assert "RC104" not in codes  # a param read as a duration is used


def test_a_run_is_bounded_by_the_duration_given(tmp_path: Path, state: dict[str, str]) -> None:
    path = _runbook(tmp_path, run_step("slow", "sleep 30", timeout="{{ params.wait }}"))
    done = run_cli(["run", str(path), "-p", "wait=300ms", "--output", "json"], env=state)
    assert done.returncode == 1, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    (finished,) = [e for e in events if e["event"] == "step_finished"]
    assert finished["status"] == "timed_out" and finished["duration"] < 10
    assert "timed out after 300ms" in finished["error"]


def test_resume_keeps_the_durations_the_run_was_given(
    tmp_path: Path, state: dict[str, str]
) -> None:
    flag = tmp_path / "fixed"
    path = _runbook(
        tmp_path,
        run_step("first", f"test -e {flag}", on_failure="abort"),
        run_step("slow", "sleep 30", timeout="{{ params.wait }}"),
    )
    assert run_cli(["run", str(path), "-p", "wait=300ms"], env=state).returncode == 1
    (run_id,) = run_ids(tmp_path)
    flag.touch()
    done = run_cli(["resume", run_id], env=state, timeout=20)
    assert done.returncode == 1, done.stderr  # bounded by 300ms again, not the default 1h
    assert "timed out after 300ms" in done.stdout + done.stderr


def test_a_value_that_is_not_a_duration_is_refused_where_it_is_read(tmp_path: Path) -> None:
    path = _runbook(tmp_path, {"id": "nap", "sleep": "{{ params.pause }}"})
    typed = run_cli(["plan", str(path), "-p", "wait=soon"])
    assert typed.returncode == 2
    assert "param 'wait' from -p wait: found 'soon'; expected a duration" in typed.stderr
    untyped = run_cli(["run", str(path), "-p", "pause=soon"])
    assert untyped.returncode == 2
    assert f"{path}:" in untyped.stderr and ":12:10:" in untyped.stderr
    assert "`sleep` reads params.pause, which is 'soon'" in untyped.stderr
    assert "Traceback" not in untyped.stderr


def test_validate_names_each_reference_that_cannot_be_read(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", "true", timeout="{{ params.missing }}"),
        run_step("b", "true", timeout="{{ params.nodefault }}"),
        run_step("c", "true", timeout="{{ params.bad }}"),
        params={"nodefault": {"type": "duration"}, "bad": {"default": "later"}},
    )
    done = run_cli(["validate", str(write_runbook(tmp_path, data))])
    assert done.returncode == 2
    assert "`timeout` reads params.missing, which is not declared" in done.stderr
    assert "params.nodefault, which has no default" in done.stderr
    assert "params.bad, which is 'later' (its default)" in done.stderr
    schema = run_cli(
        ["validate", str(write_runbook(tmp_path, runbook_data(run_step("a", timeout="{{ x }}"))))]
    )
    assert schema.returncode == 2 and '"{{ params.NAME }}"' in schema.stderr


def test_export_reports_a_duration_from_a_param_once_where_it_is_written(
    tmp_path: Path,
) -> None:
    path = _runbook(
        tmp_path,
        run_step("a"),
        run_step("b"),
        defaults={"timeout": "{{ params.wait }}"},
    )
    for target in ("argo", "step-functions"):
        strict = run_cli(["export", str(path), "--to", target])
        assert strict.returncode == 2
        assert strict.stderr.count("read from params.wait") == 1, strict.stderr
        assert "the param's default, 1h" in strict.stderr
        assert run_cli(["export", str(path), "--to", target, "--lossy"]).returncode == 0
