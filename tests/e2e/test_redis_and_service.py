"""runbooks/redis-cache-rebuild.yaml against redis-server; runbooks/service-restart.yaml against a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tests.e2e.conftest import Redis, free_port

SERVICE = Path(__file__).with_name("fake_service.py")


def test_redis_cache_rebuild_fills_every_shard(redis: Redis, tmp_path: Path) -> None:
    redis.cli("set", "users:stale", "x")
    result = run_cli(
        [
            "run",
            "runbooks/redis-cache-rebuild.yaml",
            "-p",
            f"port={redis.port}",
            "-p",
            "keys_per_shard=500",
        ],
        cwd=ROOT,
        env={"RECOVERCTL_STATE_DIR": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert redis.cli("dbsize") == "1500"
    assert redis.cli("get", "users:stale") == ""
    assert redis.cli("get", "orders:7") == "v7"
    assert "result: succeeded" in result.stderr


def test_redis_down_fails_cleanly(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli(
        ["run", "runbooks/redis-cache-rebuild.yaml", "-p", f"port={port}"],
        cwd=ROOT,
        env={"RECOVERCTL_STATE_DIR": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 1
    assert "ping" in result.stderr and "FAILED" in result.stderr


def _start_hung(tmp_path: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    pidfile = tmp_path / "service.pid"
    hung = subprocess.Popen(
        [sys.executable, str(SERVICE), "--port", str(port), "--version", "v1", "--hang"],
        start_new_session=True,
    )
    pidfile.write_text(str(hung.pid))
    return hung, pidfile


def _params(tmp_path: Path, port: int, start: str, previous: str) -> list[str]:
    return [
        "-p",
        f"start={start}",
        "-p",
        f"previous_start={previous}",
        "-p",
        f"pidfile={tmp_path / 'service.pid'}",
        "-p",
        f"log_file={tmp_path / 'service.log'}",
        "-p",
        f"health_url=http://127.0.0.1:{port}/health",
    ]


def _stop(pidfile: Path) -> None:
    """Kill the service the runbook started, and the process group it runs in.

    The runbook starts it from a step's shell, so its group is that step's
    (the pid is not a group id): kill the group, then the process itself.
    """
    with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
        pid = int(pidfile.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)


def test_service_restart_replaces_a_hung_process_and_waits_for_health(tmp_path: Path) -> None:
    import urllib.request

    port = free_port()
    hung, pidfile = _start_hung(tmp_path, port)
    start = f"exec {sys.executable} {SERVICE} --port {port} --version v2"
    try:
        result = run_cli(
            ["run", "runbooks/service-restart.yaml", *_params(tmp_path, port, start, "true")],
            cwd=ROOT,
            env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert hung.wait(timeout=10) is not None  # the hung process is gone
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.read() == b"v2"
    finally:
        hung.kill()
        _stop(pidfile)


def test_unhealthy_new_version_rolls_back_to_the_previous_one(tmp_path: Path) -> None:
    import urllib.request

    port = free_port()
    hung, pidfile = _start_hung(tmp_path, port)
    broken = f"exec {sys.executable} {SERVICE} --port {port} --version v2 --unhealthy"
    previous = f"exec {sys.executable} {SERVICE} --port {port} --version v1"
    try:
        result = run_cli(
            [
                "run",
                "runbooks/service-restart.yaml",
                *_params(tmp_path, port, broken, previous),
            ],
            cwd=ROOT,
            env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")},
            timeout=180,
        )
        assert result.returncode == 1, result.stderr
        assert "undone   start_service" in result.stderr
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health", timeout=2
                ) as response:
                    assert response.read() == b"v1"
                    break
            except OSError:
                assert time.monotonic() < deadline, "the previous version never came back"
                time.sleep(0.2)
    finally:
        hung.kill()
        _stop(pidfile)
