"""Step Functions exports executed for real: LocalStack's interpreter against `recoverctl run`.

Each case is a runbook whose commands append their name to a log file, and a
set of injected faults. The same runbook is run by `recoverctl run --inject`
and exported (`export --to step-functions --resource ACTIVITY`), then executed
by LocalStack's Step Functions interpreter with `recoverctl worker --inject`
running its commands. The two must agree on how the run ended and on what ran,
in what order: the path, the retries and the compensations.

Needs a virtualenv with LocalStack (tools/localstack_sfn.py says which); .ci/run
makes it and sets RECOVERCTL_REQUIRE_LOCALSTACK, so CI never passes by skipping.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.actions.conftest import Server
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

LOCALSTACK_PYTHON = Path(
    os.environ.get("RECOVERCTL_LOCALSTACK_PYTHON")
    or ROOT / ".ci" / "cache" / "localstack" / "bin" / "python"
)
CASES = Path(__file__).parent / "sfn_cases"
ENDS = {
    "Recoverctl.Failed": "failed",
    "Recoverctl.RolledBack": "rolled_back",
    "Recoverctl.RollbackFailed": "rollback_failed",
}


@dataclass(frozen=True)
class Case:
    runbook: str
    faults: tuple[str, ...] = ()
    status: str = "succeeded"
    ordered: bool = True
    """False where parallel branches make the order of their lines free."""
    params: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()
    """Secret params: `-p` for the run, Secrets Manager for the exported machine."""
    why: str | None = None
    """Text both the run's error and the execution's cause must hold."""


CASES_RUN = [
    Case("saga.yaml"),
    Case("saga.yaml", ("fail:c",), "rolled_back"),
    Case("saga.yaml", ("fail:a",), "failed"),
    Case("saga.yaml", ("fail:c", "fail:b.rollback"), "rollback_failed"),
    Case("fanin.yaml", ordered=False),
    # a member that fails once its sibling has finished (a local run cancels a sibling still
    # running, an exported machine lets it finish: docs/export.md)
    Case("fanin.yaml", (), "rolled_back", ordered=False, params=(("y", "broken"),)),
    Case("fanin.yaml", ("fail:w",), "rolled_back", ordered=False),
    Case("reads.yaml"),
    Case("reads.yaml", ("fail:probe",), "failed"),
    Case("rescue.yaml"),
    Case("rescue.yaml", ("fail:fix",), "rolled_back"),
    Case("retry.yaml"),
    Case("branch.yaml"),
    Case("branch.yaml", ("fail:probe",)),
    Case("secret.yaml", secrets=(("token", "s3cr3t value; $(id)"),)),
    Case("limited.yaml"),
    Case("limited.yaml", ("fail:b",), "rolled_back"),
    # the run's timeout: the running step is stopped, what completed is undone
    Case("deadline.yaml", (), "rolled_back", ordered=False, why="the run's timeout of 3s"),
    # a group's timeout: its running members are stopped, the group fails by its on_failure
    Case("group_deadline.yaml", (), "rolled_back", ordered=False, why="'g' timed out after 3s"),
    Case("group_continue.yaml"),
    # finally reads how the run ended; abort undoes nothing; a check that holds skips
    Case("final.yaml"),
    Case("final.yaml", ("fail:b",), "rolled_back"),
    Case("abort.yaml", ("fail:b",), "failed"),
    Case("guard.yaml"),
    Case("guard.yaml", params=(("done", "yes"),)),
    # a fan-out over a list param, one item at a time; a failed item stops it
    Case("items.yaml"),
    Case("items.yaml", (), "rolled_back", params=(("bad", "y"),)),
    Case("wait.yaml"),
    Case("outputs.yaml"),
    # lanes of sequences: a failure deep in one is rescued, or rolls back both lanes
    Case("nested.yaml", ordered=False),
    Case("nested.yaml", ordered=False, params=(("l2", "bad"),)),
    Case("nested.yaml", ("fail:l2_fix",), "rolled_back", ordered=False, params=(("l2", "bad"),)),
    # an http step the worker makes, against a server on 127.0.0.1 ({server})
    Case("http.yaml", params=(("url", "{server}/health"),)),
    Case("http.yaml", (), "rolled_back", params=(("url", "{server}/missing"),)),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not LOCALSTACK_PYTHON.exists():
        if os.environ.get("RECOVERCTL_REQUIRE_LOCALSTACK"):
            pytest.fail(f"LocalStack is required but {LOCALSTACK_PYTHON} is missing")
        pytest.skip(f"no LocalStack virtualenv at {LOCALSTACK_PYTHON}")
    port = _free_port()
    data = tmp_path_factory.mktemp("localstack")
    log = (data / "localstack.log").open("wb")
    server = subprocess.Popen(
        [
            str(LOCALSTACK_PYTHON),
            str(ROOT / "tools" / "localstack_sfn.py"),
            *("--port", str(port), "--data", str(data / "volume")),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while b"Ready." not in (data / "localstack.log").read_bytes():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("LocalStack did not start:\n" + (data / "localstack.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def web() -> Iterator[Server]:
    """An HTTP server on 127.0.0.1 for the http steps (/health answers 200)."""
    instance = Server()
    yield instance
    instance.close()


def _aws_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }


@pytest.fixture(scope="module")
def client(endpoint: str) -> Any:
    boto3 = pytest.importorskip("boto3")
    env = _aws_env(endpoint)
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=env["AWS_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _secrets_manager(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recoverctl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _local(case: Case, log: Path, state: Path) -> tuple[str, str]:
    inject = [arg for fault in case.faults for arg in ("--inject", fault)]
    given = (*case.params, *case.secrets)
    params = [arg for name, value in given for arg in ("-p", f"{name}={value}")]
    done = _cli(
        "run",
        str(CASES / case.runbook),
        "-p",
        f"log={log}",
        *params,
        "--output",
        "json",
        *inject,
        *(["--allow-injection"] if inject else []),
        env={**os.environ, "RECOVERCTL_STATE_DIR": str(state)},
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["event"] == "run_finished"]
    assert finished, done.stderr
    return str(finished[-1]["status"]), str(finished[-1].get("error") or "")


def _exported(case: Case, log: Path, endpoint: str, client: Any, folder: Path) -> tuple[str, str]:
    name = f"rc-{uuid.uuid4().hex[:12]}"
    activity = client.create_activity(name=name)["activityArn"]
    prefix = f"{name}/"
    for secret, value in case.secrets:
        _secrets_manager(endpoint).create_secret(Name=prefix + secret, SecretString=value)
    machine_file = folder / "machine.json"
    exported = _cli(
        "export",
        str(CASES / case.runbook),
        "--to",
        "step-functions",
        "--resource",
        activity,
        "--secrets",
        prefix,
        "-o",
        str(machine_file),
    )
    assert exported.returncode == 0, exported.stderr
    machine = client.create_state_machine(
        name=name,
        definition=machine_file.read_text(),
        roleArn="arn:aws:iam::000000000000:role/recoverctl",
    )["stateMachineArn"]
    inject = [arg for fault in case.faults for arg in ("--inject", fault)]
    worker_log = (folder / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "worker", "--activity", activity, "--pollers", "4"]
        + inject
        + (["--allow-injection"] if inject else []),
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        env=_aws_env(endpoint),
    )
    try:
        # a task's TimeoutSeconds counts from when it is scheduled, worker or not: start
        # the execution once the worker serves (its start-up is seconds on a loaded CI)
        deadline = time.monotonic() + 60
        while b"serving" not in (folder / "worker.log").read_bytes():
            assert worker.poll() is None, (folder / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        execution = client.start_execution(
            stateMachineArn=machine,
            input=json.dumps({"params": {"log": str(log), **dict(case.params)}}),
        )["executionArn"]
        deadline = time.monotonic() + 90
        while True:
            described = client.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, (folder / "worker.log").read_text()
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        worker_log.close()
    history = json.dumps(client.get_execution_history(executionArn=execution), default=str)
    definition = machine_file.read_text()
    for _, value in case.secrets:  # the machine and its history never hold a secret
        assert json.dumps(value)[1:-1] not in history and value not in definition
    if described["status"] == "SUCCEEDED":
        return "succeeded", ""
    error = described.get("error", "")
    assert error in ENDS, (
        f"{described['status']}: {error}: {described.get('cause')}\n"
        + (folder / "worker.log").read_text()
    )
    return ENDS[error], str(described.get("cause") or "")


def _lines(log: Path, ordered: bool) -> list[str]:
    lines = log.read_text().split() if log.exists() else []
    return lines if ordered else sorted(lines)


@pytest.mark.parametrize(
    "case",
    CASES_RUN,
    ids=[
        f"{c.runbook}-{'+'.join(c.faults + tuple(f'{k}={v}' for k, v in c.params)) or 'ok'}"
        for c in CASES_RUN
    ],
)
def test_the_exported_machine_does_what_the_run_does(
    case: Case, endpoint: str, client: Any, tmp_path: Path, web: Server
) -> None:
    params = tuple((k, v.replace("{server}", web.url)) for k, v in case.params)
    case = replace(case, params=params)
    local_log, remote_log = tmp_path / "local.log", tmp_path / "exported.log"
    local, local_error = _local(case, local_log, tmp_path / "state")
    assert local == case.status
    exported, cause = _exported(case, remote_log, endpoint, client, tmp_path)
    assert exported == local, f"{cause}\n" + (tmp_path / "worker.log").read_text()
    assert _lines(remote_log, case.ordered) == _lines(local_log, case.ordered)
    if case.why is not None:
        assert case.why in local_error and case.why in cause


def test_the_runner_gives_commands_the_run_id_attempt_and_idempotency_key(
    endpoint: str, client: Any, tmp_path: Path
) -> None:
    """What a command reads (RECOVERCTL_*) is what the machine computed for that attempt."""
    case = Case("retry.yaml")
    log = tmp_path / "exported.log"
    assert _exported(case, log, endpoint, client, tmp_path)[0] == "succeeded"
    ids = (tmp_path / "exported.log.ids").read_text().split()
    attempts = [line.split(",") for line in ids]
    assert [a[2] for a in attempts] == ["1", "2"]  # one attempt failed with 75 and was retried
    assert len({a[0] for a in attempts}) == 1 and len({a[3] for a in attempts}) == 1
    run_id, step, _, key = attempts[0]
    assert step == "flaky"
    assert key == hashlib.sha256(f"{run_id}/flaky".encode()).hexdigest()[:32]  # as a run has it
