"""Shared benchmark plumbing: timing whole processes, medians, machine facts."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    """One line naming the machine, so figures are read against it."""
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def time_command(
    argv: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        argv,
        cwd=cwd,
        env=bench_env(env),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(before, after)


def time_with_rss(argv: Sequence[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the largest process of one run, via GNU time.

    GNU time is a fresh process, so unlike our own wait4 figures it does not
    count memory a child inherited from this (large) benchmark process.
    """
    import shutil
    import tempfile

    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        started = time.perf_counter()
        result = subprocess.run(
            [gnu_time, "-q", "-f", "%M", "-o", rss.name, *argv],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
        text = Path(rss.name).read_text().strip().splitlines()
    return elapsed, int(text[-1]) if text else 0


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment users have: bytecode caching on (pip installs compile .pyc files)."""
    env = {**os.environ, **(extra or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def median_alternating(
    commands: dict[str, Sequence[str]], runs: int, **kwargs: object
) -> dict[str, float]:
    """Median wall time of each command, runs interleaved so machine noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():
        time_command(argv, **kwargs)  # type: ignore[arg-type]  # warm-up: caches, .pyc files
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(time_command(argv, **kwargs)[0])  # type: ignore[arg-type]
    return {name: statistics.median(values) for name, values in samples.items()}


_HWM = """
import atexit, os, runpy, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(os.environ["RECOVERCTL_BENCH_HWM"], "w").write(line.split()[1])
atexit.register(report)
mode, target, *rest = sys.argv[1:]
if mode == "-c":
    sys.argv = ["-c", *rest]
    exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def peak_rss_kib(argv: Sequence[str], *, cwd: Path = ROOT) -> int:
    """Peak RSS (VmHWM) of `python -m MODULE ...`, read by the process itself as it exits.

    Not wait4's ru_maxrss: a child spawned from this benchmark process
    starts out sharing our (large) memory, and that would be counted.
    """
    import tempfile

    assert argv[0] == python() and argv[1] in ("-m", "-c"), "measures python -m/-c commands"
    with tempfile.NamedTemporaryFile(suffix=".hwm") as mark:
        subprocess.run(
            [python(), "-c", _HWM, *argv[1:]],
            cwd=cwd,
            check=True,
            env=bench_env({"RECOVERCTL_BENCH_HWM": mark.name}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(Path(mark.name).read_text() or 0)


def python() -> str:
    return sys.executable
