"""Real OpenSSH servers on 127.0.0.1: each its own port and host key, one client key.

Started from Debian's openssh-server (`.ci/run` installs it), as the user the tests
run as, with a config of their own: no PAM, keys only, the client's key the only one
authorized. The known_hosts file lists every server's key, so the client checks host
keys strictly, as recoverctl does by default.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def sshd_available() -> str | None:
    """Why real ssh servers cannot start here, or None."""
    if not Path(SSHD).exists():
        return f"{SSHD} is not installed (.ci/run installs openssh-server)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _free_ports(count: int) -> list[int]:
    """`count` distinct free ports: all held open while choosing, so none comes twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Fleet:
    folder: Path
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hosts(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    @property
    def identity(self) -> Path:
        return self.folder / "id"

    @property
    def known_hosts(self) -> Path:
        return self.folder / "known_hosts"

    def target(self, **extra: object) -> dict[str, object]:
        """An ssh target over the fleet, as a runbook writes it."""
        return {
            "ssh": {
                "hosts": self.hosts,
                "identity_file": str(self.identity),
                "known_hosts": str(self.known_hosts),
                **extra,
            }
        }

    def ssh(self, host: str, command: str) -> str:
        """Run `command` on `host` directly (the test's own look at the server)."""
        port = host.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                "ssh", "-T", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-i", str(self.identity), "-p", port, "127.0.0.1", command,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )  # fmt: skip
        return result.stdout

    def stop(self, index: int) -> None:
        self.procs[index].terminate()
        self.procs[index].wait(timeout=10)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_fleet(folder: Path, count: int) -> Fleet:
    folder.mkdir(parents=True, exist_ok=True)
    fleet = Fleet(folder)
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-f", str(fleet.identity)], check=True)
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{fleet.identity}.pub").read_text())
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation
    known: list[str] = []
    for index, port in enumerate(_free_ports(count)):
        key = folder / f"host_key_{index}"
        subprocess.run([*keygen, "-f", str(key)], check=True)
        config = folder / f"sshd_config_{index}"
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\n"
            f"PidFile {folder}/sshd_{index}.pid\nAuthorizedKeysFile {authorized}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "MaxStartups 200:30:400\nMaxSessions 200\nLogLevel ERROR\n"
        )
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(folder / f"sshd_{index}.log").open("wb"),
        )
        fleet.ports.append(port)
        fleet.procs.append(proc)
        public = Path(f"{key}.pub").read_text().split()
        known.append(f"[127.0.0.1]:{port} {public[0]} {public[1]}")
    fleet.known_hosts.write_text("\n".join(known) + "\n")
    deadline = time.monotonic() + 20
    for port in fleet.ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    fleet.close()
                    raise RuntimeError(f"sshd on port {port} did not start") from None
                time.sleep(0.05)
    dead = [fleet.ports[i] for i, proc in enumerate(fleet.procs) if proc.poll() is not None]
    if dead:  # a port answered, but not this server's: it could not listen
        fleet.close()
        raise RuntimeError(f"sshd on ports {dead} exited; see {folder}/sshd_*.log")
    return fleet
