"""Fan-out over real sshd servers on 127.0.0.1: the rolling restart, the budget, kills
that leave nothing on the host, resume after SIGKILL, rollback of the completed hosts,
and every way a host can be unreachable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers import runbook_data, write_runbook
from tests.remote.sshd import Fleet, sshd_available, start_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    missing = sshd_available()
    if missing is not None:
        if os.environ.get("RECOVERCTL_REQUIRE_SSHD"):
            pytest.fail(missing)
        pytest.skip(missing)
    servers = start_fleet(tmp_path_factory.mktemp("sshd"), 3)
    yield servers
    servers.close()


def _run(tmp_path: Path, data: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    path = write_runbook(tmp_path, data)
    return run_cli(
        ["run", "--no-tty", str(path), *args],
        env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")},
        timeout=120,
    )


def test_a_rolling_restart_stops_at_the_failing_host_and_undoes_the_done_ones(
    fleet: Fleet, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    bad = fleet.hosts[1]
    data = runbook_data(
        {
            "id": "restart",
            "on": "db",
            "strategy": {"batch": 1, "max_failures": 0},
            "run": f"echo restart {{{{ target }}}} >> {log}; test {{{{ target }}}} != {bad}",
            "rollback": {"run": f"echo undo {{{{ target }}}} >> {log}"},
            "timeout": "30s",
        },
        targets={"db": fleet.target()},
    )
    result = _run(tmp_path, data)
    assert result.returncode == 1, result.stderr
    first, second, third = fleet.hosts
    assert log.read_text().splitlines() == [
        f"restart {first}",
        f"restart {second}",
        f"undo {first}",  # only the host that completed; the third never started
    ]
    assert f"restart[{third}]: not started: the failure budget" in result.stderr
    assert f"{second}: exited with 1" in result.stderr


def test_a_hung_remote_step_leaves_nothing_on_the_host_after_its_timeout(
    fleet: Fleet, tmp_path: Path
) -> None:
    marker = f"{3000 + os.getpid() % 5000}."  # unique durations: `sleep 3123.1` …
    data = runbook_data(
        {
            "id": "hang",
            "on": "db",
            "run": f"(sleep {marker}1 &) ; setsid sleep {marker}2 & sh -c 'sleep {marker}3' ; wait",
            "timeout": "2s",
        },
        targets={"db": fleet.target(hosts=fleet.hosts[:1])},
    )
    started = time.monotonic()
    result = _run(tmp_path, data)
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    assert "stopped process group" in result.stderr
    left = fleet.ssh(fleet.hosts[0], f"ps -eo args | grep 'sleep {marker}' | grep -v grep || true")
    assert left.strip() == "", left


def test_past_the_budget_stop_running_leaves_nothing_on_the_other_hosts(
    fleet: Fleet, tmp_path: Path
) -> None:
    marker = f"{3000 + os.getpid() % 5000}.7"  # a duration only this test sleeps
    bad = fleet.hosts[0]
    data = runbook_data(
        {
            "id": "restart",
            "on": "db",
            "strategy": {"max_failures": 0, "stop_running": True},
            "run": f"if [ {{{{ target }}}} = {bad} ]; then sleep 1; exit 1; fi; sleep {marker}",
            "timeout": "2m",
        },
        targets={"db": fleet.target()},
    )
    started = time.monotonic()
    result = _run(tmp_path, data)
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 60
    assert "0 of 3 items succeeded" in result.stderr and "2 stopped while running" in result.stderr
    for host in fleet.hosts[1:]:
        left = fleet.ssh(host, f"ps -eo args | grep 'sleep {marker}' | grep -v grep || true")
        assert left.strip() == "", (host, left)


def test_resume_after_sigkill_reruns_only_the_unfinished_hosts(
    fleet: Fleet, tmp_path: Path
) -> None:
    log, gate, once = tmp_path / "log", tmp_path / "gate", tmp_path / "once"
    second = fleet.hosts[1]
    data = runbook_data(
        {
            "id": "restart",
            "on": "db",
            "strategy": {"batch": 1},
            # the second host hangs the first time only: the run is killed there
            "run": f"echo {{{{ target }}}} >> {log}; if [ {{{{ target }}}} = {second} ] && "
            f"[ ! -f {once} ]; then touch {once}; while [ ! -f {gate} ]; do sleep 0.05; done; fi",
            "timeout": "2m",
            "idempotent": True,
        },
        targets={"db": fleet.target()},
    )
    path = write_runbook(tmp_path, data)
    state = tmp_path / "state"
    env = {**os.environ, "RECOVERCTL_STATE_DIR": str(state), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", "--no-tty", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not once.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    run_id = next((state / "runs").iterdir()).name
    resumed = run_cli(["resume", run_id], env={"RECOVERCTL_STATE_DIR": str(state)}, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    # what the killed run left waiting on the second host was stopped there first
    assert f"{second}: stopped process group" in resumed.stderr, resumed.stderr
    first, _, third = fleet.hosts
    assert log.read_text().splitlines() == [first, second, second, third]
    gate.touch()
    left = fleet.ssh(second, f"ps -eo args | grep '{gate}' | grep -v grep || true")
    assert left.strip() == "", left


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"hosts": ["127.0.0.1:1"]}, "could not connect: connection refused"),
        ({"known_hosts": "/dev/null"}, "could not connect: host key verification failed"),
        ({"identity_file": "/dev/null"}, "could not connect: permission denied"),
        ({"hosts": ["no-such-host.invalid"]}, "could not connect: unknown host name"),
    ],
)
def test_an_unreachable_host_is_a_clear_failure_of_that_host(
    fleet: Fleet, tmp_path: Path, target: dict[str, Any], expected: str
) -> None:
    settings = {"hosts": fleet.hosts[:1], **target}
    data = runbook_data(
        {"id": "hello", "on": "db", "run": "true", "timeout": "30s"},
        targets={"db": fleet.target(**settings)},
    )
    result = _run(tmp_path, data)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_hostile_hosts_are_refused_one_by_one_and_count_against_the_budget(
    fleet: Fleet, tmp_path: Path
) -> None:
    hostile = ["-oProxyCommand=touch pwned", "a;touch pwned", "a b", "ProxyCommand=x", "$(id)"]
    data = runbook_data(
        {
            "id": "hello",
            "on": "db",
            "strategy": {"max_failures": 10},
            "run": "true",
            "timeout": "30s",
        },
        params={"hosts": {"type": "list", "default": [fleet.hosts[0], *hostile]}},
        targets={"db": fleet.target(hosts="{{ params.hosts }}")},
    )
    result = _run(tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert "1 of 6 items succeeded" in result.stderr
    assert "starts with '-' (a client would read it as an option)" in result.stderr
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_the_step_environment_goes_to_the_host_and_this_machine_s_does_not(
    fleet: Fleet, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    data = runbook_data(
        {
            "id": "show",
            "on": "db",
            "env": {"COLOR": "{{ params.color }}"},
            "run": f'echo "$COLOR|$RUNBOOK_WIDE|${{LEAK:-none}}|$RECOVERCTL_STEP_ID" > {out}',
        },
        params={"color": {"type": "string", "default": 'it\'s "blue"; $(id)'}},
        env={"RUNBOOK_WIDE": "yes"},
        targets={"db": fleet.target(hosts=fleet.hosts[:1])},
    )
    path = write_runbook(tmp_path, data)
    result = run_cli(
        ["run", "--no-tty", str(path)],
        env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "LEAK": "secret"},
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().strip() == (f'it\'s "blue"; $(id)|yes|none|show[{fleet.hosts[0]}]')


def test_hosts_from_an_ansible_inventory_connect_by_their_variables(
    fleet: Fleet, tmp_path: Path
) -> None:
    lines = ["[web]"] + [
        f"web-{i} ansible_host=127.0.0.1 ansible_port={host.rsplit(':', 1)[1]}"
        for i, host in enumerate(fleet.hosts)
    ]
    (tmp_path / "inventory.ini").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    target = fleet.target(inventory="inventory.ini", group="web")
    del target["ssh"]["hosts"]  # type: ignore[attr-defined]
    data = runbook_data(
        {"id": "hello", "on": "web", "run": f"echo {{{{ target }}}} >> {out}", "timeout": "30s"},
        targets={"web": target},
    )
    result = _run(tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert sorted(out.read_text().split()) == ["web-0", "web-1", "web-2"]


def test_ctrl_c_stops_the_remote_process_group_not_only_the_local_client(
    fleet: Fleet, tmp_path: Path
) -> None:
    started, marker = tmp_path / "started", f"{4000 + os.getpid() % 5000}.5"
    data = runbook_data(
        {
            "id": "hang",
            "on": "db",
            "run": f"touch {started}; sleep {marker}",
            "timeout": "5m",
        },
        targets={"db": fleet.target(hosts=fleet.hosts[:1])},
    )
    path = write_runbook(tmp_path, data)
    env = {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", "--no-tty", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "stopped process group" in stderr, stderr
    left = fleet.ssh(fleet.hosts[0], f"ps -eo args | grep 'sleep {marker}' | grep -v grep || true")
    assert left.strip() == "", left
