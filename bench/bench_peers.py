"""Issue 10: recoverctl against what operators would otherwise use, side by side, in one run.

Run: python bench/bench_peers.py [--runs N] [--peers DIR]   (writes bench/results/peers.md)

Each peer is installed from PyPI into a virtual environment of its own under
DIR (default /tmp/recoverctl-peers), recoverctl too (a regular install of this
checkout, not the editable one, so start-up is what users get). For every
workload the same commands are generated for each tool. Runs alternate
between the tools, and each tool's run is paired with a bash run of the same
workload just before it: the ratio reported is the median of those pairwise
ratios, so machine noise hits both sides of a ratio alike. Wall times are
whole-process medians; peak memory is the largest process of the tool's tree
(GNU time's %M).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine, time_with_rss

PEERS = {
    "go-task": "go-task-bin",
    "just": "rust-just",
    "Chaos Toolkit": "chaostoolkit",
    "Ansible": "ansible-core",
    "Prefect": "prefect",
}
SLOW = {"Ansible": 3, "Prefect": 3}
"""Peers whose runs take minutes: fewer runs, said in the table."""


# -- workloads, one generator per tool ----------------------------------------------------------


def bash_seq(n: int, d: Path) -> list[str]:
    script = d / f"seq{n}.sh"
    script.write_text("#!/bin/bash\nset -e\n" + "/bin/true\n" * n)
    return ["bash", str(script)]


def bash_par(d: Path) -> list[str]:
    script = d / "par.sh"
    script.write_text("#!/bin/bash\nfor i in $(seq 20); do sleep 1 & done\nwait\n")
    return ["bash", str(script)]


def recoverctl_seq(n: int, d: Path, venv: Path) -> list[str]:
    steps = [{"id": f"s{i}", "run": ["/bin/true"], "timeout": "10s"} for i in range(n)]
    path = d / f"seq{n}.yaml"
    path.write_text(json.dumps({"version": 1, "name": f"seq{n}", "steps": steps}))
    return [str(venv / "bin" / "recoverctl"), "run", "-q", str(path)]


def recoverctl_par(d: Path, venv: Path) -> list[str]:
    members = [{"id": f"s{i}", "run": ["sleep", "1"], "timeout": "10s"} for i in range(20)]
    path = d / "par.yaml"
    path.write_text(
        json.dumps({"version": 1, "name": "par", "steps": [{"id": "all", "parallel": members}]})
    )
    return [str(venv / "bin" / "recoverctl"), "run", "-q", str(path)]


def task_seq(n: int, d: Path, venv: Path) -> list[str]:
    folder = d / f"task-seq{n}"
    folder.mkdir(exist_ok=True)
    cmds = "".join("      - /bin/true\n" for _ in range(n))
    (folder / "Taskfile.yml").write_text(f"version: '3'\ntasks:\n  default:\n    cmds:\n{cmds}")
    return [str(venv / "bin" / "task"), "--silent", "--dir", str(folder)]


def task_par(d: Path, venv: Path) -> list[str]:
    folder = d / "task-par"
    folder.mkdir(exist_ok=True)
    deps = "".join(f"      - s{i}\n" for i in range(20))
    tasks = "".join(f"  s{i}:\n    cmds:\n      - sleep 1\n" for i in range(20))
    (folder / "Taskfile.yml").write_text(
        f"version: '3'\ntasks:\n  default:\n    deps:\n{deps}{tasks}"
    )
    return [str(venv / "bin" / "task"), "--silent", "--dir", str(folder)]


def just_seq(n: int, d: Path, venv: Path) -> list[str]:
    path = d / f"seq{n}.just"
    path.write_text("default:\n" + "    @/bin/true\n" * n)
    return [str(venv / "bin" / "just"), "--justfile", str(path), "--working-directory", str(d)]


def just_par(d: Path, venv: Path) -> list[str]:
    path = d / "par.just"
    deps = " ".join(f"s{i}" for i in range(20))
    recipes = "".join(f"s{i}:\n    @sleep 1\n" for i in range(20))
    path.write_text(f"[parallel]\ndefault: {deps}\n{recipes}")
    return [str(venv / "bin" / "just"), "--justfile", str(path), "--working-directory", str(d)]


def chaos_experiment(d: Path, name: str, method: list[dict[str, object]]) -> Path:
    path = d / f"{name}.json"
    experiment = {"title": name, "description": name, "method": method}
    path.write_text(json.dumps(experiment))
    return path


def chaos_cmd(venv: Path, path: Path, d: Path) -> list[str]:
    return [
        str(venv / "bin" / "chaos"),
        "--no-version-check",
        "--no-log-file",
        "--settings",
        str(d / "chaos-settings.yaml"),
        "run",
        "--journal-path",
        str(d / "chaos-journal.json"),
        str(path),
    ]


def chaos_seq(n: int, d: Path, venv: Path) -> list[str]:
    method = [
        {"type": "action", "name": f"s{i}", "provider": {"type": "process", "path": "/bin/true"}}
        for i in range(n)
    ]
    return chaos_cmd(venv, chaos_experiment(d, f"chaos-seq{n}", method), d)


def chaos_par(d: Path, venv: Path) -> list[str]:
    method = [
        {
            "type": "action",
            "name": f"s{i}",
            "background": True,
            "provider": {"type": "process", "path": "sleep", "arguments": "1"},
        }
        for i in range(20)
    ]
    return chaos_cmd(venv, chaos_experiment(d, "chaos-par", method), d)


def ansible_cmd(venv: Path, playbook: Path) -> list[str]:
    return [
        str(venv / "bin" / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={venv / 'bin' / 'python'}",
        str(playbook),
    ]


def ansible_seq(n: int, d: Path, venv: Path) -> list[str]:
    tasks = "".join(f"    - name: s{i}\n      command: /bin/true\n" for i in range(n))
    path = d / f"seq{n}.play.yml"
    path.write_text(f"- hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}")
    return ansible_cmd(venv, path)


def ansible_par(d: Path, venv: Path) -> list[str]:
    path = d / "par.play.yml"
    path.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - command: sleep 1\n      loop: '{{ range(20) | list }}'\n"
        "      async: 60\n      poll: 0\n      register: jobs\n"
        "    - async_status: {jid: '{{ item.ansible_job_id }}'}\n"
        "      loop: '{{ jobs.results }}'\n      register: done\n"
        "      until: done.finished\n      retries: 60\n      delay: 0.2\n"
    )
    return ansible_cmd(venv, path)


PREFECT_SEQ = """
import subprocess, sys
from prefect import flow, task

@task
def step():
    subprocess.run(["/bin/true"], check=True)

@flow
def seq(n: int):
    for _ in range(n):
        step()

seq(int(sys.argv[1]))
"""

PREFECT_PAR = """
import subprocess
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

@task
def step():
    subprocess.run(["sleep", "1"], check=True)

@flow(task_runner=ThreadPoolTaskRunner(max_workers=20))
def par():
    futures = [step.submit() for _ in range(20)]
    for future in futures:
        future.result()

par()
"""


def prefect_seq(n: int, d: Path, venv: Path) -> list[str]:
    path = d / "prefect_seq.py"
    path.write_text(PREFECT_SEQ)
    return [str(venv / "bin" / "python"), str(path), str(n)]


def prefect_par(d: Path, venv: Path) -> list[str]:
    path = d / "prefect_par.py"
    path.write_text(PREFECT_PAR)
    return [str(venv / "bin" / "python"), str(path)]


@dataclass
class Tool:
    name: str
    seq: Callable[[int, Path, Path], list[str]]
    par: Callable[[Path, Path], list[str]]
    fixed: dict[str, list[str]] = field(default_factory=dict)


TOOLS = {
    "recoverctl": Tool("recoverctl", recoverctl_seq, recoverctl_par),
    "go-task": Tool("go-task", task_seq, task_par),
    "just": Tool("just", just_seq, just_par),
    "Chaos Toolkit": Tool("Chaos Toolkit", chaos_seq, chaos_par),
    "Ansible": Tool("Ansible", ansible_seq, ansible_par),
    "Prefect": Tool("Prefect", prefect_seq, prefect_par),
}


# -- environments -----------------------------------------------------------------------------


def ensure_venvs(peers: Path) -> dict[str, Path]:
    """A venv per tool: the peers from PyPI, recoverctl from this checkout (not editable)."""
    peers.mkdir(parents=True, exist_ok=True)
    venvs = {"recoverctl": peers / "recoverctl"}
    venvs.update({name: peers / package for name, package in PEERS.items()})
    for name, venv in venvs.items():
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        package = str(ROOT) if name == "recoverctl" else PEERS[name]
        marker = venv / ".bench-installed"
        if name == "recoverctl" or not marker.exists():
            subprocess.run(
                [
                    str(venv / "bin" / "pip"),
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    package,
                ],
                check=True,
            )
            marker.write_text(package)
    return venvs


def version(name: str, venv: Path) -> str:
    if name == "recoverctl":
        out = subprocess.run(
            [str(venv / "bin" / "recoverctl"), "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip().split()[-1]
    package = PEERS[name]
    out = subprocess.run(
        [str(venv / "bin" / "pip"), "show", package], capture_output=True, text=True, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split()[1]
    return "?"


# -- measurement ----------------------------------------------------------------------------


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the largest process of one run."""
    return time_with_rss(argv, env, cwd)


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)

    def row(self) -> tuple[float, float, float]:
        return (
            statistics.median(self.wall),
            statistics.median(self.ratio) if self.ratio else 1.0,
            max(self.rss) / 1024 if self.rss else 0.0,
        )


def run_workload(
    commands: dict[str, list[str]],
    yardstick: list[str],
    runs: dict[str, int],
    env: dict[str, str],
    cwd: Path,
) -> dict[str, Samples]:
    """Alternate the tools; each run is paired with a bash run just before it."""
    samples = {name: Samples() for name in commands}
    for argv in commands.values():  # warm-up: .pyc files, caches, the plan cache
        measure(argv, env, cwd)
    for round_ in range(max(runs.values())):
        for name, argv in commands.items():
            if round_ >= runs[name]:
                continue
            base, _ = measure(yardstick, env, cwd)
            wall, rss = measure(argv, env, cwd)
            samples[name].wall.append(wall)
            samples[name].ratio.append(wall / base)
            samples[name].rss.append(rss)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--peers", type=Path, default=Path(tempfile.gettempdir()) / "recoverctl-peers"
    )
    parser.add_argument("--only", nargs="*", default=None, help="tools to measure (default all)")
    args = parser.parse_args()
    venvs = ensure_venvs(args.peers)
    names = [n for n in TOOLS if args.only is None or n in args.only or n == "recoverctl"]
    runs = {name: min(args.runs, SLOW.get(name, args.runs)) for name in names}
    work = Path(tempfile.mkdtemp(prefix="recoverctl-peers-"))
    env = {
        **os.environ,
        "RECOVERCTL_STATE_DIR": str(work / "state"),
        "RECOVERCTL_CACHE_DIR": str(work / "plan-cache"),
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOWS": "1",
        "NO_COLOR": "1",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (work / "chaos-settings.yaml").write_text("{}\n")
    results: dict[str, dict[str, Samples]] = {}
    for n in (50, 200):
        commands = {name: TOOLS[name].seq(n, work, venvs[name]) for name in names}
        results[f"seq{n}"] = run_workload(commands, bash_seq(n, work), runs, env, work)
        print(f"seq{n} done", file=sys.stderr)
    commands = {name: TOOLS[name].par(work, venvs[name]) for name in names}
    results["par"] = run_workload(commands, bash_par(work), runs, env, work)
    print("par done", file=sys.stderr)
    fixed_runs = max(15, args.runs)
    fixed = fixed_costs(venvs["recoverctl"], venvs.get("Chaos Toolkit"), work, env, fixed_runs)
    versions = {name: version(name, venvs[name]) for name in names}
    raw = {
        "results": {w: {n: vars(x) for n, x in by.items()} for w, by in results.items()},
        "fixed": fixed,
        "versions": versions,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "peers.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    write_report(results, fixed, versions, runs, names, fixed_runs)
    shutil.rmtree(work, ignore_errors=True)


def fixed_costs(
    rc: Path, chaos: Path | None, work: Path, env: dict[str, str], runs: int
) -> dict[str, tuple[float, float, float]]:
    """`--version`, `validate` and a 1-step `run` of recoverctl (plan cache warm and off) and
    Chaos Toolkit; each run paired with a `chaos run` just before it for the ratio."""
    one = work / "one.yaml"
    one.write_text(
        json.dumps({"version": 1, "name": "one", "steps": [{"id": "s", "run": ["/bin/true"]}]})
    )
    rcbin = str(rc / "bin" / "recoverctl")
    commands = {
        "recoverctl --version": [rcbin, "--version"],
        "recoverctl validate (1 step)": [rcbin, "validate", str(one)],
        "recoverctl run (1 step, plan cached)": [rcbin, "run", "-q", str(one)],
        "recoverctl run (1 step, RECOVERCTL_NO_CACHE=1)": [
            "env",
            "RECOVERCTL_NO_CACHE=1",
            rcbin,
            "run",
            "-q",
            str(one),
        ],
    }
    if chaos is not None:
        experiment = chaos_experiment(
            work,
            "chaos-one",
            [{"type": "action", "name": "s", "provider": {"type": "process", "path": "/bin/true"}}],
        )
        commands["chaos --version"] = [str(chaos / "bin" / "chaos"), "--version"]
        commands["chaos validate (1 action)"] = [
            str(chaos / "bin" / "chaos"),
            "--no-version-check",
            "--no-log-file",
            "--settings",
            str(work / "chaos-settings.yaml"),
            "validate",
            str(experiment),
        ]
        commands["chaos run (1 action)"] = chaos_cmd(chaos, experiment, work)
    reference = commands.get("chaos run (1 action)")
    samples: dict[str, tuple[list[float], list[int], list[float]]] = {
        name: ([], [], []) for name in commands
    }
    for argv in commands.values():
        measure(argv, env, work)
    for _ in range(runs):
        for name, argv in commands.items():
            base = measure(reference, env, work)[0] if reference else 0.0
            wall, rss = measure(argv, env, work)
            samples[name][0].append(wall)
            samples[name][1].append(rss)
            if base:
                samples[name][2].append(wall / base)
    return {
        name: (
            statistics.median(w),
            max(r) / 1024,
            statistics.median(q) if q else 0.0,
        )
        for name, (w, r, q) in samples.items()
    }


def write_report(
    results: dict[str, dict[str, Samples]],
    fixed: dict[str, tuple[float, float, float]],
    versions: dict[str, str],
    runs: dict[str, int],
    names: list[str],
    fixed_runs: int,
) -> None:
    lines = [
        "# recoverctl and its peers, side by side",
        "",
        f"Machine: {machine()}",
        "",
        "Run: `python bench/bench_peers.py` (installs each tool into its own venv; about 15 minutes).",
        "Whole-process wall time, median of the runs shown; each run paired with a bash run of the",
        "same workload just before it, and the ratio is the median of those pairs. recoverctl runs",
        "with its journal on (fsync before every step) and the plan cache warm (after the warm-up",
        "run); memory is the largest process of each tool's tree.",
        "",
        "Versions: "
        + ", ".join(f"{n} {versions[n]}" for n in names)
        + ", bash "
        + subprocess.run(
            ["bash", "-c", "echo $BASH_VERSION"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "",
        "| tool | runs | 50 × `true` | 200 × `true` | 200 vs bash | per step (slope 50→200) | 20 × `sleep 1` in parallel | vs bash | peak memory (200 steps) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    bash50 = statistics.median(
        s.wall[i] / s.ratio[i] for s in results["seq50"].values() for i in range(len(s.wall))
    )
    bash200 = statistics.median(
        s.wall[i] / s.ratio[i] for s in results["seq200"].values() for i in range(len(s.wall))
    )
    bashpar = statistics.median(
        s.wall[i] / s.ratio[i] for s in results["par"].values() for i in range(len(s.wall))
    )
    lines.append(
        f"| bash (yardstick) | all pairs | {bash50 * 1000:.0f} ms | {bash200 * 1000:.0f} ms | 1.00x | "
        f"{(bash200 - bash50) / 150 * 1000:.2f} ms | {bashpar:.2f} s | 1.00x | 3 MiB |"
    )
    for name in names:
        w50, _, _ = results["seq50"][name].row()
        w200, r200, m200 = results["seq200"][name].row()
        wpar, rpar, _ = results["par"][name].row()
        bold = "**" if name == "recoverctl" else ""
        lines.append(
            f"| {bold}{name}{bold} | {runs[name]} | {w50 * 1000:.0f} ms | {w200 * 1000:.0f} ms | "
            f"{bold}{r200:.2f}x{bold} | {(w200 - w50) / 150 * 1000:.2f} ms | {wpar:.2f} s | "
            f"{bold}{rpar:.2f}x{bold} | {m200:.0f} MiB |"
        )
    lines += [
        "",
        "## Fixed cost",
        "",
        f"Median of {fixed_runs} runs, each paired with a `chaos run` of one action just before it.",
        "",
        "| command | median | vs `chaos run` | peak memory |",
        "|---|---|---|---|",
        *(
            f"| `{name}` | {wall * 1000:.0f} ms | {ratio:.2f}x | {rss:.0f} MiB |"
            for name, (wall, rss, ratio) in fixed.items()
        ),
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "peers.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
