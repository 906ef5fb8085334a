"""One run per runbook across machines: two state folders stand in for two laptops, the
lock lives in a real Redis or PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.coordination.conftest import PASSWORD, Server
from tests.helpers import run_step, runbook_data, write_runbook

pytestmark = pytest.mark.slow


def backend(request: pytest.FixtureRequest, kind: str) -> Server:
    return request.getfixturevalue(f"{kind}_backend")  # type: ignore[no-any-return]


def holding_run(
    tmp_path: Path, url: str, laptop: str, *steps: dict[str, Any]
) -> subprocess.Popen[str]:
    data = runbook_data(*steps, name="failover")
    env = {**os.environ, "RECOVERCTL_COORDINATION": url, "NO_COLOR": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recoverctl",
            "run",
            str(write_runbook(tmp_path, data)),
            "--state-dir",
            str(tmp_path / laptop),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def first_event(state: Path) -> dict[str, Any]:
    (journal,) = state.glob("runs/*/journal.jsonl")
    return json.loads(journal.read_text().splitlines()[0])  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_second_laptop_is_refused_with_who_holds_the_lock(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    server = backend(request, kind)
    started, release = tmp_path / "started", tmp_path / "release"
    first = holding_run(
        tmp_path,
        server.url,
        "laptop-a",
        run_step("hold", f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done"),
        run_step("token", f"echo $RECOVERCTL_FENCING_TOKEN > {tmp_path / 'token'}"),
    )
    try:
        wait_for(started)
        second = run_cli(
            ["run", str(tmp_path / "rb.yaml"), "--state-dir", str(tmp_path / "laptop-b")],
            env={"RECOVERCTL_COORDINATION": server.url},
        )
        assert second.returncode == 2
        assert "runbook 'failover' is locked by run " in second.stderr
        assert (
            "in the team lock at " in second.stderr
            and "one run of a runbook at a time across the team" in second.stderr
        )
        assert PASSWORD not in second.stderr and ":***@127.0.0.1" in second.stderr
        assert not (tmp_path / "laptop-b" / "runs").exists() or not list(
            (tmp_path / "laptop-b" / "runs").iterdir()
        )
    finally:
        release.touch()
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    token = int((tmp_path / "token").read_text())
    lock = first_event(tmp_path / "laptop-a")["lock"]
    assert lock["token"] == token and PASSWORD not in json.dumps(lock)

    # released at the end: the other laptop runs now, with a larger fencing token
    (tmp_path / "started").unlink()
    release.touch()
    after = run_cli(
        ["run", str(tmp_path / "rb.yaml"), "--state-dir", str(tmp_path / "laptop-b")],
        env={"RECOVERCTL_COORDINATION": server.url},
    )
    assert after.returncode == 0, after.stderr
    assert int((tmp_path / "token").read_text()) > token


def test_a_holder_killed_outright_frees_the_lock_when_its_lease_ends(
    tmp_path: Path, redis_backend: Server
) -> None:
    url = redis_backend.url + "?lease=2s"
    started = tmp_path / "started"
    first = holding_run(tmp_path, url, "laptop-a", run_step("hold", f"touch {started}; sleep 60"))
    wait_for(started)
    first.kill()  # SIGKILL: no release, only the lease
    first.communicate(timeout=30)
    again = [str(tmp_path / "rb.yaml").replace("rb.yaml", "quick.yaml")]
    write_runbook(tmp_path, runbook_data(run_step("a"), name="failover"), name="quick.yaml")
    refused = run_cli(
        ["run", *again, "--state-dir", str(tmp_path / "laptop-b")],
        env={"RECOVERCTL_COORDINATION": url},
    )
    assert refused.returncode == 2 and "is locked by run" in refused.stderr
    time.sleep(2.2)
    ran = run_cli(
        ["run", *again, "--state-dir", str(tmp_path / "laptop-b")],
        env={"RECOVERCTL_COORDINATION": url},
    )
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_backend_lost_mid_run_stops_it_before_the_next_step(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    server = backend(request, kind)
    url = server.url + "?lease=3s"
    started, after = tmp_path / "started", tmp_path / "after"
    run = holding_run(
        tmp_path,
        url,
        "laptop-a",
        run_step(
            "long", f"touch {started}; sleep 4", rollback={"run": f"touch {tmp_path / 'undone'}"}
        ),
        run_step("next", f"touch {after}"),
    )
    wait_for(started)
    server.down()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 6, err
    assert "the team lock was lost: cannot reach " in err
    assert "the run stops before its next step" in err
    assert not after.exists() and not (tmp_path / "undone").exists()  # nothing more, nothing undone
    assert PASSWORD not in err


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_backend_down_or_a_bad_password_at_start_is_a_clear_error(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    server = backend(request, kind)
    marker = tmp_path / "ran"
    path = str(write_runbook(tmp_path, runbook_data(run_step("a", f"touch {marker}"))))
    wrong = server.url.replace(PASSWORD, "not-the-password")
    refused = run_cli(
        ["run", path, "--state-dir", str(tmp_path / "s")], env={"RECOVERCTL_COORDINATION": wrong}
    )
    assert refused.returncode == 2
    assert (
        "cannot take the team lock:" in refused.stderr
        and "refused the credentials" in refused.stderr
    )
    assert "not-the-password" not in refused.stderr and "Traceback" not in refused.stderr
    server.down()
    down = run_cli(
        ["run", path, "--state-dir", str(tmp_path / "s")],
        env={"RECOVERCTL_COORDINATION": server.url},
    )
    assert down.returncode == 2
    assert "cannot take the team lock: cannot reach " in down.stderr and PASSWORD not in down.stderr
    assert not marker.exists()


def test_a_stopped_run_resumes_under_the_team_lock(tmp_path: Path, redis_backend: Server) -> None:
    url = redis_backend.url + "?lease=3s"
    fixed = tmp_path / "fixed"
    data = runbook_data(
        run_step("a"), run_step("b", f"test -e {fixed}", on_failure="abort"), name="failover"
    )
    path = str(write_runbook(tmp_path, data, name="failover.yaml"))
    env = {"RECOVERCTL_COORDINATION": url}
    first = run_cli(["run", path, "--state-dir", str(tmp_path / "s")], env=env)
    assert first.returncode == 1
    run_id = next((tmp_path / "s" / "runs").iterdir()).name
    fixed.touch()
    # a colleague's run of the same runbook holds the team lock: the resume must wait its turn
    started, release = tmp_path / "started", tmp_path / "release"
    other = holding_run(
        tmp_path,
        url,
        "laptop-b",
        run_step("hold", f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done"),
    )
    try:
        wait_for(started)
        refused = run_cli(["resume", run_id, "--state-dir", str(tmp_path / "s")], env=env)
        assert refused.returncode == 2 and "is locked by run" in refused.stderr
    finally:
        release.touch()
        other.communicate(timeout=60)
    resumed = run_cli(["resume", run_id, "--state-dir", str(tmp_path / "s")], env=env)
    assert resumed.returncode == 0, resumed.stderr
