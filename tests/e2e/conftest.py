"""Real servers for the example runbooks: PostgreSQL with a streaming replica, Redis.

CI installs them (.ci/run) and must run these tests, never skip them; on a
laptop without the servers they skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def need(what: str, found: object) -> None:
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    base: Path
    bin: Path
    as_postgres: list[str]
    primary_port: int
    replica_port: int

    @property
    def primary(self) -> Path:
        return self.base / "primary"

    @property
    def replica(self) -> Path:
        return self.base / "replica"

    def pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_postgres, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def sql(self, port: int, query: str) -> str:
        result = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-Atc",
                query,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()

    def params(self) -> list[str]:
        values = {
            "primary_port": self.primary_port,
            "replica_port": self.replica_port,
            "primary_data": self.primary,
            "replica_data": self.replica,
            "pg_bin": self.bin,
            "run_as": " ".join(self.as_postgres),
        }
        return [arg for key, value in values.items() for arg in ("-p", f"{key}={value}")]

    def stop_all(self) -> None:
        for data in (self.primary, self.replica):
            if (data / "postmaster.pid").exists():
                self.pg("pg_ctl", "-D", str(data), "stop", "-m", "immediate", check=False)


def _configure(cluster: Cluster, data: Path, port: int) -> None:
    settings = (
        f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{cluster.base}'\n"
        "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nwal_keep_size = '64MB'\nfsync = off\n"
    )
    subprocess.run(
        [*cluster.as_postgres, "sh", "-c", f"cat >> {data}/postgresql.conf"],
        input=settings,
        text=True,
        check=True,
    )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binary = pg_bin()
    need("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)", binary)
    assert binary is not None
    root = os.geteuid() == 0
    need("runuser (PostgreSQL refuses to run as root)", not root or shutil.which("runuser"))
    base = Path(tempfile.mkdtemp(prefix="recoverctl-pg-", dir="/tmp"))
    base.chmod(0o755)  # pytest's tmp_path is 0700 and unreachable for the postgres user
    as_postgres: list[str] = []
    if root:
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    made = Cluster(base, binary, as_postgres, free_port(), free_port())
    try:
        made.pg("initdb", "-D", str(made.primary), "-U", "postgres", "--auth=trust", "--no-sync")
        _configure(made, made.primary, made.primary_port)
        made.pg(
            "pg_ctl", "-D", str(made.primary), "-l", str(made.base / "primary.log"), "start", "-w"
        )
        made.pg(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(made.primary_port),
            "-U",
            "postgres",
            "-D",
            str(made.replica),
            "-R",
            "-X",
            "stream",
        )
        _configure(made, made.replica, made.replica_port)
        made.pg(
            "pg_ctl", "-D", str(made.replica), "-l", str(made.base / "replica.log"), "start", "-w"
        )
        made.sql(
            made.primary_port, "create table accounts(id int); insert into accounts values (1)"
        )
        deadline = time.monotonic() + 30
        while (
            made.sql(
                made.replica_port, "select count(*) from pg_tables where tablename = 'accounts'"
            )
            != "1"
        ):
            assert time.monotonic() < deadline, "the replica never caught up"
            time.sleep(0.2)
        yield made
    finally:
        made.stop_all()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Redis:
    port: int
    process: subprocess.Popen[bytes]
    password: str = ""

    def cli(self, *args: str) -> str:
        auth = ["-a", self.password, "--no-auth-warning"] if self.password else []
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *auth, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()


def start_redis(folder: Path, password: str = "") -> Redis:
    """A redis-server on a free 127.0.0.1 port (with `requirepass` when given), answering."""
    need("redis-server", shutil.which("redis-server") and shutil.which("redis-cli"))
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(folder)]
    argv += ["--requirepass", password] if password else []
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Redis(port, process, password)
    deadline = time.monotonic() + 15
    while True:
        try:
            if server.cli("ping") == "PONG":
                return server
        except subprocess.CalledProcessError:
            pass
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = start_redis(tmp_path)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)
