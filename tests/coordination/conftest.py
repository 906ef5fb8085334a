"""Real coordination backends on 127.0.0.1: redis-server with a password, PostgreSQL with
password (scram) logins over TCP. CI installs both (.ci/run); without them these skip
locally and fail in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port, need, pg_bin, start_redis

PASSWORD = "s3cret-Pa55"


@dataclass
class Server:
    url: str
    port: int
    stop: object

    def down(self) -> None:
        self.stop()  # type: ignore[operator]


@pytest.fixture
def redis_backend(tmp_path: Path) -> Iterator[Server]:
    redis = start_redis(tmp_path, PASSWORD)

    def stop() -> None:
        redis.process.kill()
        redis.process.wait(timeout=10)

    yield Server(f"redis://:{PASSWORD}@127.0.0.1:{redis.port}/0", redis.port, stop)
    if redis.process.poll() is None:
        stop()


@pytest.fixture
def postgres_backend() -> Iterator[Server]:
    binary = pg_bin()
    need("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)", binary)
    assert binary is not None
    root = os.geteuid() == 0
    need("runuser (PostgreSQL refuses to run as root)", not root or shutil.which("runuser"))
    base = Path(tempfile.mkdtemp(prefix="recoverctl-coord-", dir="/tmp"))
    base.chmod(0o755)
    as_postgres: list[str] = []
    if root:
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()

    def pg(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, text=True)

    pwfile = base / "pw"
    pwfile.write_text(PASSWORD)
    if root:
        shutil.chown(pwfile, "postgres", "postgres")
    pg(
        str(binary / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}",
        "--no-sync",
    )
    subprocess.run(
        [*as_postgres, "sh", "-c", f"cat >> {data}/postgresql.conf"],
        input=f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{base}'\nfsync = off\n",
        text=True,
        check=True,
    )
    pg(str(binary / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "start", "-w")

    def stop() -> None:
        subprocess.run(
            [*as_postgres, str(binary / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate"],
            capture_output=True,
            check=False,
        )

    try:
        yield Server(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres", port, stop)
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)
