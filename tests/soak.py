"""The soak's checks: consecutive runs leave nothing behind but their journals.

Used by tests/cli/test_soak.py (a few runs) and by `python bench/soak.py --runs 1000`
(the long version, bench/results/soak.md). What is checked:
- the state folder holds only run folders (journal.jsonl, runbook.yaml, meta.json,
  values.jsonl, all 0600 in 0700 folders) and one lock file: no temporary files;
- the bytes per run folder stay the same from the first runs to the last;
- no process started by a run outlives it (every process recoverctl starts inherits
  RECOVERCTL_SOAK_MARK; none may be left);
- in one process, engine runs of the same runbook leave the open file descriptors and
  the resident memory where they were.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "runbooks" / "demo.yaml"
ALLOWED = {"journal.jsonl", "runbook.yaml", "meta.json", "values.jsonl"}


@dataclass
class SoakReport:
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    run_bytes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    leftovers: list[int] = field(default_factory=list)
    fds: tuple[int, int] = (0, 0)
    rss_kib: tuple[int, int] = (0, 0)


def marked_processes(mark: str) -> list[int]:
    """Processes (other than this one) whose environment carries the soak's mark."""
    found = []
    needle = f"RECOVERCTL_SOAK_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def check_state(state: Path) -> tuple[list[str], list[int]]:
    """Problems with the state folder, and the bytes of each run folder."""
    problems: list[str] = []
    sizes: list[int] = []
    for entry in state.iterdir():
        if entry.name not in ("runs", "locks"):
            problems.append(f"unexpected {entry}")
    locks = list((state / "locks").iterdir()) if (state / "locks").exists() else []
    if len(locks) > 1:
        problems.append(f"{len(locks)} lock files")
    for run in sorted((state / "runs").iterdir()):
        names = {p.name for p in run.iterdir()}
        if names != ALLOWED:
            problems.append(f"{run.name}: {sorted(names)}")
        if run.stat().st_mode & 0o077:
            problems.append(f"{run.name} is not private")
        for path in run.iterdir():
            if path.stat().st_mode & 0o077:
                problems.append(f"{path} is not private")
        sizes.append(sum(p.stat().st_size for p in run.iterdir() if p.name != "journal.jsonl"))
    return problems, sizes


def cli_soak(runs: int, report: SoakReport) -> None:
    mark = uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        env = {
            **os.environ,
            "RECOVERCTL_STATE_DIR": str(state),
            "RECOVERCTL_SOAK_MARK": mark,
            "NO_COLOR": "1",
        }
        workdir = Path(tmp) / "demo"
        for index in range(runs):
            started = time.perf_counter()
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "recoverctl",
                    "run",
                    "-q",
                    str(DEMO),
                    "-p",
                    f"workdir={workdir}",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            report.seconds.append(time.perf_counter() - started)
            if result.returncode != 0:
                report.failures.append(
                    f"run {index}: exit {result.returncode}: {result.stderr[-500:]}"
                )
            report.leftovers.append(len(marked_processes(mark)))
            report.runs += 1
        problems, sizes = check_state(state)
        report.failures += problems
        report.run_bytes = sizes


def in_process_soak(runs: int, report: SoakReport) -> None:
    """The engine in one process, run after run: descriptors and memory must not creep."""
    from recoverctl.cli.loading import load_plan
    from recoverctl.cli.session import RunSettings, execute, new_run_id
    from recoverctl.engine.runner import RunOptions

    with tempfile.TemporaryDirectory() as tmp:
        plan, params = load_plan(DEMO, [f"workdir={Path(tmp) / 'demo'}"], None)
        settings = RunSettings(quiet=True, no_tty=True, state_dir=Path(tmp) / "state")
        quiet = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2)

        def one() -> int:
            os.dup2(quiet, 2)  # the summary of every run: not wanted here
            try:
                options = RunOptions.with_params(new_run_id(), params)
                return asyncio.run(execute(plan, options, settings))
            finally:
                os.dup2(saved, 2)

        for _ in range(5):  # warm-up: caches, lazily imported modules
            one()
        before = (len(list(Path("/proc/self/fd").iterdir())), _rss_kib())
        for _ in range(runs):
            code = one()
            if code != 0:
                report.failures.append(f"in-process run exited {code}")
        report.fds = (before[0], len(list(Path("/proc/self/fd").iterdir())))
        report.rss_kib = (before[1], _rss_kib())


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
