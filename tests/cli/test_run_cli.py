"""`recoverctl run` through a real subprocess: exit codes, logs, dry run, secrets, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = run_cli(["run", "runbooks/demo.yaml", "-p", f"workdir={tmp_path}/demo"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "service.state").read_text().strip() == "up"
    err = result.stderr
    assert "branch   choose → restart (steps.service_up.ok = false" in err
    assert "retry    restart_service attempt 2 in 500ms" in err
    assert "result: succeeded" in err and "RTO 2m met" in err
    assert "\x1b[" not in err


def test_demo_failure_rolls_back_and_exits_1(tmp_path: Path) -> None:
    result = run_cli(
        ["run", "runbooks/demo.yaml", "-p", f"workdir={tmp_path}/d", "-p", "fail_verify=true"],
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert (tmp_path / "d" / "service.state").read_text().strip() == "down"
    assert list((tmp_path / "d" / "cache").iterdir()) == []
    assert "ROLLBACK step 'verify' failed" in result.stderr
    assert "undoing: warm_catalog → warm_orders → warm_users → restart_service" in result.stderr
    assert "result: rolled_back" in result.stderr


def test_dry_run_executes_nothing_and_shows_the_path(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("probe", f"touch {marker}", outputs={"n": "{{ stdout | int }}"}),
            {
                "id": "pick",
                "branch": [
                    {"when": "steps.probe.ok", "steps": [run_step("fix", f"touch {marker}")]},
                    {"else": [run_step("other")]},
                ],
            },
        ),
    )
    result = run_cli(["run", str(path), "--dry-run"])
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "dry run: nothing is executed" in result.stderr
    # the probe did not run: which case a real run takes cannot be known, and is not made up
    assert (
        "branch   pick → UNDETERMINED: it reads probe, simulated in this dry run; a real run "
        "takes one of: steps.probe.ok, else (each shown in turn)" in result.stderr
    )
    assert (
        "sim      fix: simulated" in result.stderr and "sim      other: simulated" in result.stderr
    )
    assert "path: pick → UNDETERMINED" in result.stderr


def test_a_probing_dry_run_decides_on_what_the_read_only_steps_really_say(tmp_path: Path) -> None:
    marker, state = tmp_path / "touched", tmp_path / "state"
    state.write_text("down")
    data = runbook_data(
        run_step("probe", f"grep -qx up {state}", read_only=True, on_failure="continue"),
        run_step("change", f"touch {marker}"),
        {
            "id": "pick",
            "branch": [
                {"when": "steps.probe.ok", "steps": [run_step("nothing")]},
                {"when": "steps.change.ok", "steps": [run_step("fix", f"touch {marker}")]},
                {"else": [run_step("other")]},
            ],
        },
    )
    path = str(write_runbook(tmp_path, data))
    assert run_cli(["run", path, "--probe"]).returncode == 2  # only with --dry-run
    result = run_cli(["run", path, "--dry-run", "--probe"])
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    # the probe ran for real and said 'down': the first case is out; the second reads a
    # simulated step, so from there the branch is undetermined
    assert "sim      probe" not in result.stderr
    assert "skip     nothing: branch 'pick': its condition was false" in result.stderr
    assert "UNDETERMINED: it reads change" in result.stderr
    state.write_text("up")
    result = run_cli(["run", path, "--dry-run", "--probe"])
    assert "branch   pick → steps.probe.ok (steps.probe.ok = true)" in result.stderr
    assert "path: pick → steps.probe.ok" in result.stderr


@pytest.mark.parametrize(
    "payload",
    [
        "$(touch PWNED)",
        "; touch PWNED",
        "`touch PWNED`",
        "' ; touch PWNED; '",
        '" ; touch PWNED; "',
        "a\ntouch PWNED",
        "&& touch PWNED",
        "| touch PWNED",
        "$((1+1)) > PWNED",
        "{{ 7*7 }}",
    ],
)
def test_shell_injection_in_params_is_literal_text(tmp_path: Path, payload: str) -> None:
    out = tmp_path / "out"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("echo", f"printf '%s' {{{{ params.value }}}} > {out}"),
            run_step(
                "argv",
                "true",
                run=["sh", "-c", 'printf "%s" "$1" >> "$2"', "sh", "{{ params.value }}", str(out)],
            ),
            params={"value": {"type": "string"}},
        ),
    )
    result = run_cli(["run", str(path), "-p", f"value={payload}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "PWNED").exists()
    assert out.read_text() == payload * 2


def test_secrets_are_redacted_everywhere(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "leak", "echo token is {{ params.token }}; echo {{ params.token }} >&2; exit 1"
            ),
            params={"token": {"type": "string", "secret": True}},
        ),
    )
    result = run_cli(["run", str(path), "-p", "token=s3cr3t-v4lue", "-v"])
    assert result.returncode == 1
    assert "s3cr3t-v4lue" not in result.stderr + result.stdout
    assert "token is ***" in result.stderr


def test_unknown_param_is_refused_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"touch {marker}"), params={"primary": {"type": "string", "default": "x"}}
        ),
    )
    result = run_cli(["run", str(path), "-p", "primray=db-2"])
    assert result.returncode == 2
    assert "did you mean 'primary'?" in result.stderr
    assert not marker.exists()


def test_invalid_runbook_exits_2_with_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nname: x\nsteps:\n  - id: a\n    run: false\n")
    result = run_cli(["run", str(path)])
    assert result.returncode == 2
    assert f"{path}:5:10: error:" in result.stderr


def test_approval_without_a_terminal_waits_for_an_answer_until_its_timeout(tmp_path: Path) -> None:
    """No terminal: the gate waits for `recoverctl approve` from elsewhere (tests/cli/
    test_gates.py), bounded by its timeout, then takes its default (deny here)."""
    before, marker = tmp_path / "before", tmp_path / "after"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("prepare", f"touch {before}"),
            {"id": "gate", "approval": "Switch DNS?", "timeout": "1s"},
            run_step("dns", f"touch {marker}"),
        ),
    )
    result = run_cli(["run", str(path)], input="")
    assert result.returncode == 1
    assert "answer from any shell: recoverctl approve" in result.stderr
    assert "no answer within 1s: default (deny)" in result.stderr
    assert before.exists() and not marker.exists()
    result = run_cli(["run", str(path), "--yes"])
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "approved by" in result.stderr


def test_rollback_failure_exits_3(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", rollback={"run": "echo cannot undo >&2; exit 4"}), run_step("b", "exit 1")
        ),
    )
    result = run_cli(["run", str(path)])
    assert result.returncode == 3
    assert "UNDO FAILED a" in result.stderr
    assert "ROLLBACK FAILED: a human is needed" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_kills_running_steps_rolls_back_and_exits_130(
    tmp_path: Path, signum: int
) -> None:
    log = tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"echo do-a >> {log}", rollback={"run": f"echo undo-a >> {log}"}),
            run_step("hang", f"echo started >> {log}; sleep 60"),
        ),
    )
    proc = _run_until_started(path, log)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert log.read_text().split() == ["do-a", "started", "undo-a"]
    assert "run interrupted" in err


def test_second_interrupt_skips_rollback_and_says_so(tmp_path: Path) -> None:
    log = tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "a", f"echo do-a >> {log}", rollback={"run": f"echo undoing >> {log}; sleep 60"}
            ),
            run_step("hang", f"echo started >> {log}; sleep 60"),
        ),
    )
    proc = _run_until_started(path, log)
    proc.send_signal(signal.SIGINT)
    _wait_for(lambda: "undoing" in log.read_text())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "ROLLBACK skipped by a second interrupt" in err


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_second_interrupt_still_kills_a_command_that_ignores_sigterm(tmp_path: Path) -> None:
    # the second Ctrl-C stopped waiting for the kill where the step was, and the run ended
    # before the SIGKILL: the command outlived its run (and asyncio printed a traceback)
    log, pids = tmp_path / "log", tmp_path / "pids"
    script = f"trap '' TERM INT; echo $$ >> {pids}; echo started >> {log}; exec sleep 300"
    path = write_runbook(tmp_path, runbook_data(run_step("stubborn", script, timeout="5m")))
    proc = _run_until_started(path, log)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Event loop is closed" not in err
    for pid in map(int, pids.read_text().split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_params_file_and_env_sourced_params(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "show", f"echo {{{{ params.a }}}} {{{{ params.b }}}} {{{{ params.c }}}} > {out}"
            ),
            params={
                "a": {"type": "integer"},
                "b": {"type": "string", "env": "RB_B"},
                "c": {"type": "boolean"},
            },
        ),
    )
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"a": 7, "c": True}))
    result = run_cli(["run", str(path), "--params-file", str(params)], env={"RB_B": "from-env"})
    assert result.returncode == 0, result.stderr
    assert out.read_text().split() == ["7", "from-env", "true"]


def _run_until_started(path: Path, log: Path) -> subprocess.Popen[str]:
    """Start a run in the background and wait until its long step has started."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", str(path)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    _wait_for(lambda: log.exists() and "started" in log.read_text())
    return proc


def _wait_for(condition, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_a_group_the_runs_timeout_stopped_is_not_said_to_be_stopped_by_a_failure(
    tmp_path: Path,
) -> None:
    import json

    runbook = tmp_path / "rb.yaml"
    runbook.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "t",
                "timeout": "1s",
                "steps": [
                    {"id": "g", "parallel": [{"id": "slow", "run": "sleep 5", "timeout": "10s"}]}
                ],
            }
        )
    )
    result = run_cli(["run", str(runbook), "--output", "json"])
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    ended = {e["step_id"]: e for e in events if e["event"] == "step_finished"}
    assert ended["g"]["status"] == "cancelled" and ended["g"]["error"] == "cancelled"
    assert events[-1]["error"] == "the run's timeout of 1s was reached"
