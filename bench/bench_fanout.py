"""Issue 18: a fan-out of 3 steps over 20 hosts on local sshd servers, side by side.

Run: python bench/bench_fanout.py [--runs N] [--hosts N] [--ansible DIR]
(writes bench/results/fanout.md)

The servers are real OpenSSH daemons on 127.0.0.1 (tests/remote/sshd.py), each with
its own host key, checked strictly by every tool. The workload is the same for all:
three commands, one after the other, each on every host at once (20 at a time).

- recoverctl: a runbook of three `on: fleet` steps, journal on (every item's events
  are written and fsynced as in any run), connection reuse as shipped (ControlMaster).
- Ansible (ansible-core from PyPI, in its own virtualenv): a playbook of three `shell`
  tasks, forks = hosts, pipelining on, strategy linear, fact gathering off.
- parallel-ssh (Debian's pssh): three invocations, -p = hosts.

Runs alternate between the tools; each figure is the median of N runs, and the
ratios are of medians taken in this one run. Peak memory is the largest process of
the tool's tree (GNU time's %M), and per target that figure divided by the hosts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, bench_env, machine, time_with_rss
from tests.remote.sshd import Fleet, start_fleet

STEPS = ("true", "uname -n >/dev/null", "test -d /tmp")
BENCH_USER = "rc-bench"


def login_user() -> str | None:
    """As root, a user whose login shell is /bin/sh to log in as (made if missing).

    The commands reach each host through the user's login shell, and bash run by sshd
    reads ~/.bashrc: this machine's root has `pyenv init` there, ~150 ms per session,
    which every tool would pay for every step — a measure of that file, not of the
    tools. A plain account measures the tools. None when not root: log in as oneself.
    """
    import pwd

    if os.geteuid() != 0 or shutil.which("useradd") is None:
        return None
    try:
        pwd.getpwnam(BENCH_USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", BENCH_USER], check=True)
    subprocess.run(["usermod", "-p", "*", BENCH_USER], check=True)  # not locked: keys only
    return BENCH_USER


def recoverctl(fleet: Fleet, folder: Path, user: str | None) -> list[str]:
    import yaml

    hosts = fleet.hosts
    runbook = {
        "version": 1,
        "name": "bench-fanout",
        "targets": {"fleet": fleet.target(**({"user": user} if user else {}))},
        "steps": [
            {"id": f"s{i}", "on": "fleet", "strategy": {"max_parallel": len(hosts)},
             "run": command, "timeout": "1m"}
            for i, command in enumerate(STEPS)
        ],
    }  # fmt: skip
    path = folder / "fanout.yaml"
    path.write_text(yaml.safe_dump(runbook, sort_keys=False))
    return [sys.executable, "-m", "recoverctl", "run", "--no-tty", "-q", str(path)]


def ansible(fleet: Fleet, folder: Path, venv: Path, user: str | None) -> list[str]:
    lines = ["[fleet]"]
    login = f" ansible_user={user}" if user else ""
    for index, host in enumerate(fleet.hosts):
        port = host.rsplit(":", 1)[1]
        lines.append(
            f"h{index} ansible_host=127.0.0.1 ansible_port={port}{login} "
            "ansible_python_interpreter=/usr/bin/python3"
        )
    (folder / "inventory.ini").write_text("\n".join(lines) + "\n")
    tasks = "\n".join(f'    - shell: "{command}"' for command in STEPS)
    (folder / "play.yml").write_text(f"- hosts: fleet\n  gather_facts: false\n  tasks:\n{tasks}\n")
    (folder / "ansible.cfg").write_text(
        "[defaults]\nhost_key_checking = True\ninterpreter_python = auto_silent\n"
        f"forks = {len(fleet.hosts)}\n[ssh_connection]\npipelining = True\n"
        f"ssh_args = -o UserKnownHostsFile={fleet.known_hosts} -o ControlMaster=auto "
        "-o ControlPersist=60s -o IdentitiesOnly=yes\n"
    )
    return [
        str(venv / "bin" / "ansible-playbook"),
        "-i", str(folder / "inventory.ini"),
        "--private-key", str(fleet.identity),
        str(folder / "play.yml"),
    ]  # fmt: skip


def pssh(fleet: Fleet, folder: Path, user: str | None) -> list[str] | None:
    tool = shutil.which("parallel-ssh") or shutil.which("pssh")
    if tool is None:
        return None
    (folder / "hosts").write_text("\n".join(fleet.hosts) + "\n")
    one = (
        f"{tool} -h {folder / 'hosts'} -p {len(fleet.hosts)} -O BatchMode=yes "
        f"-O UserKnownHostsFile={fleet.known_hosts} -O IdentitiesOnly=yes "
        f"-x '-i {fleet.identity}'" + (f" -l {user}" if user else "")
    )
    return ["sh", "-c", " && ".join(f"{one} '{command}' >/dev/null" for command in STEPS)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument(
        "--ansible", type=Path, default=Path(tempfile.gettempdir()) / "ansible-venv"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rc-bench-fanout-"))
    fleet = start_fleet(folder / "sshd", args.hosts)
    try:
        state = folder / "state"
        env = bench_env(  # .pyc files on, as a pip install has them (Ansible's venv does)
            {"RECOVERCTL_STATE_DIR": str(state), "ANSIBLE_CONFIG": str(folder / "ansible.cfg")}
        )
        user = login_user()
        if user:  # sshd reads the authorized keys as the user: let it through
            for path in (folder, folder / "sshd"):
                path.chmod(0o755)
            (folder / "sshd" / "authorized_keys").chmod(0o644)
        tools: dict[str, list[str]] = {"recoverctl": recoverctl(fleet, folder, user)}
        if (args.ansible / "bin" / "ansible-playbook").exists():
            tools["Ansible"] = ansible(fleet, folder, args.ansible, user)
        found = pssh(fleet, folder, user)
        if found is not None:
            tools["parallel-ssh"] = found
        times: dict[str, list[float]] = {name: [] for name in tools}
        memory: dict[str, list[int]] = {name: [] for name in tools}
        for argv in tools.values():  # one warm-up each: first connections, caches
            time_with_rss(argv, env, cwd=folder)
        for _ in range(args.runs):
            for name, argv in tools.items():
                seconds, rss = time_with_rss(argv, env, cwd=folder)
                times[name].append(seconds)
                memory[name].append(rss)
    finally:
        fleet.close()
    user = login_user()
    medians = {name: statistics.median(values) for name, values in times.items()}
    ours = medians["recoverctl"]
    lines = [
        f"# Fan-out: 3 steps over {args.hosts} hosts on local sshd servers",
        "",
        f"Machine: {machine()}. `python bench/bench_fanout.py --runs {args.runs} "
        f"--hosts {args.hosts}`; median of {args.runs} runs per tool, alternating, after "
        "one warm-up each. Ratio: the tool's median over recoverctl's, in this run.",
        "",
        "| tool | median | min–max | vs recoverctl | peak memory | per target |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, values in times.items():
        peak = statistics.median(memory[name])
        lines.append(
            f"| {name} | {medians[name]:.2f}s | {min(values):.2f}–{max(values):.2f}s | "
            f"{medians[name] / ours:.2f}× | {peak / 1024:.0f} MiB | {peak / args.hosts:.0f} KiB |"
        )
    lines += [
        "",
        "recoverctl journals every item (each host's start, output and end is an fsynced "
        "event) and checks host keys strictly; Ansible here runs with pipelining and "
        "ControlPersist, forks = hosts; parallel-ssh is the floor: no journal, no plan.",
        "",
        f"Every tool logs in as {user or 'the user running the bench'}"
        + (
            " (a user made for this, whose login shell is /bin/sh: this machine's root has "
            "`pyenv init` in ~/.bashrc, which bash run by sshd reads — ~150 ms per session, "
            "for every tool and every step)"
            if user
            else ""
        )
        + ". Python tools run with their .pyc files, as installed.",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fanout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
