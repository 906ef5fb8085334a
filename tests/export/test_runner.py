"""The Step Functions command runner (`recoverctl worker`'s): one payload, run for real."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from recoverctl.engine.injection import parse_fault
from recoverctl.export.runner import execute
from tests.actions.conftest import Server
from tests.conftest import invoke


def _payload(command: str, **extra: object) -> dict[str, object]:
    return {"step": "promote", "kind": "run", "shell": True, "command": [command], **extra}


def test_a_command_gets_what_a_run_gives_it() -> None:
    outcome = execute(
        _payload(
            'echo "$RECOVERCTL_RUN_ID $RECOVERCTL_STEP $RECOVERCTL_ATTEMPT '
            '$RECOVERCTL_IDEMPOTENCY_KEY ${RC_VALUE_1}"',
            env={"RC_VALUE_1": "a b; rm -rf /"},
            run_id="exec-1",
            attempt=2,
        )
    )
    assert outcome.ok and outcome.output is not None
    key = hashlib.sha256(b"exec-1/promote").hexdigest()[:32]
    assert outcome.output["stdout"] == f"exec-1 promote 2 {key} a b; rm -rf /\n"


def test_a_fan_out_item_is_named_as_a_run_names_it() -> None:
    outcome = execute(_payload('echo "$RECOVERCTL_STEP"', item="db-2", run_id="r"))
    assert outcome.output is not None and outcome.output["stdout"] == "promote[db-2]\n"


def test_a_failing_command_fails_the_task_with_its_exit_code() -> None:
    outcome = execute(_payload("echo nope >&2; exit 75"))
    assert outcome.error == "Recoverctl.ExitCode.75"
    assert outcome.cause == "exited with 75: nope"


def test_a_missing_program_is_exit_127_not_a_crash() -> None:
    outcome = execute({"step": "s", "kind": "run", "shell": False, "command": ["/no/such/tool"]})
    assert outcome.error == "Recoverctl.ExitCode.127"


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child"
    began = time.monotonic()
    outcome = execute(_payload(f"sleep 30 & echo $! > {pid_file}; wait", timeout=0.5))
    assert outcome.error == "Recoverctl.Timeout"
    assert time.monotonic() - began < 10
    child = int(pid_file.read_text())
    time.sleep(0.1)
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        return
    status = Path(f"/proc/{child}/stat").read_text().split()[2]
    assert status == "Z", "the backgrounded child outlived the timeout"


def test_injected_faults_break_the_step_they_name() -> None:
    faults = {"promote": parse_fault("fail:promote")}
    assert execute(_payload("true"), faults).error == "Recoverctl.ExitCode.1"
    assert execute({**_payload("true"), "step": "other"}, faults).ok


def test_http_payloads_check_the_status() -> None:
    server = Server()
    try:
        request = {"step": "c", "kind": "http", "method": "GET", "expect": {"status": [200, 299]}}
        assert execute({**request, "url": f"{server.url}/health"}).ok
        missing = execute({**request, "url": f"{server.url}/missing"})
        assert missing.error == "Recoverctl.Http" and "HTTP 404" in str(missing.cause)
    finally:
        server.close()


def test_worker_refuses_faults_without_allow_injection() -> None:
    result = invoke(
        ["worker", "--activity", "arn:aws:states:us-east-1:0:activity:x", "--inject", "fail:a"]
    )
    assert result.exit_code == 2
    assert "--inject needs --allow-injection" in result.output


def test_nothing_starts_after_the_runs_deadline(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    past = (time.time() - 1) * 1000
    outcome = execute(_payload(f"touch {marker}", deadline=past, run_timeout="5m"))
    assert outcome.error == "Recoverctl.RunTimeout"
    assert outcome.cause == "the run's timeout of 5m was reached"
    assert not marker.exists()


def test_a_command_running_at_the_deadline_is_stopped_there() -> None:
    began = time.monotonic()
    soon = (time.time() + 0.5) * 1000
    outcome = execute(_payload("sleep 30", timeout=60, deadline=soon, run_timeout="2m"))
    assert outcome.error == "Recoverctl.RunTimeout"
    assert time.monotonic() - began < 10  # the deadline, not the step's 60 s


def test_a_groups_deadline_stops_the_command_with_the_groups_error() -> None:
    soon, later = (time.time() + 0.3) * 1000, (time.time() + 60) * 1000
    outcome = execute(
        _payload(
            "sleep 30",
            deadline=later,
            run_timeout="5m",
            group_deadlines=[{"group": "warm", "at": soon, "timeout": "15s"}],
        )
    )
    assert outcome.error == "Recoverctl.GroupTimeout.warm"
    assert outcome.cause == "group 'warm' timed out after 15s"
