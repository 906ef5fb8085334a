"""Issue 3 benchmarks: engine overhead per step, makespan against the critical path, memory.

Run: python bench/bench_engine.py   (writes bench/results/engine.md)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, bench_env, machine, median_alternating, peak_rss_kib, python
from bench.generate import sequential_runbook, write

RUNS = 7


def _seq(n: int) -> dict[str, object]:
    return sequential_runbook(n, ["/bin/true"])


def overhead(tmp: Path) -> list[str]:
    runbook = write(_seq(200), tmp / "seq200.yaml")
    script = tmp / "seq200.sh"
    script.write_text("#!/bin/bash\nset -e\n" + "/bin/true\n" * 200)
    state = {"RECOVERCTL_STATE_DIR": str(tmp / "state")}
    times = median_alternating(
        {
            "bash": ["bash", str(script)],
            "recoverctl": [python(), "-m", "recoverctl", "run", "-q", "--no-journal", str(runbook)],
            "journal": [python(), "-m", "recoverctl", "run", "-q", str(runbook)],
            "startup": [python(), "-m", "recoverctl", "--version"],
        },
        RUNS,
        env=state,
    )
    per_step = (times["recoverctl"] - times["bash"]) / 200 * 1000
    per_step_net = (times["recoverctl"] - times["startup"] - times["bash"]) / 200 * 1000
    return [
        "## Engine overhead: 200 sequential `/bin/true` steps",
        "",
        f"Whole-process wall time, median of {RUNS} alternating runs. Targets: ≤ 3 ms per step, ≤ 2x bash.",
        "",
        "| command | median |",
        "|---|---|",
        f"| bash script running `/bin/true` 200 times | {times['bash'] * 1000:.0f} ms |",
        f"| `recoverctl run -q --no-journal` of 200 steps | {times['recoverctl'] * 1000:.0f} ms |",
        f"| `recoverctl run -q` of 200 steps, journal on (fsync at each step boundary) | {times['journal'] * 1000:.0f} ms |",
        f"| `recoverctl --version` (start-up alone) | {times['startup'] * 1000:.0f} ms |",
        f"| journal on / off | **{times['journal'] / times['recoverctl']:.2f}x** (target ≤ 1.5x) |",
        f"| ratio recoverctl / bash | **{times['recoverctl'] / times['bash']:.2f}x** |",
        f"| overhead per step (total − bash) / 200 | **{per_step:.2f} ms** |",
        f"| overhead per step without start-up | {per_step_net:.2f} ms |",
        "",
    ]


_TIMED = """
import asyncio, sys, time
from pathlib import Path
from recoverctl.validate.pipeline import require_valid
from recoverctl.compile import compile_plan
from recoverctl.engine.bus import EventBus
from recoverctl.engine.executor import RealExecutor
from recoverctl.engine.runner import Engine, RunOptions
checked = require_valid(Path(sys.argv[1]))
plan = compile_plan(checked.model)
engine = Engine(plan, RunOptions(run_id="bench", params={}), bus=EventBus(), executor=RealExecutor())
t = time.monotonic()
code = asyncio.run(engine.run())
print(time.monotonic() - t, code)
"""


def makespan(tmp: Path) -> list[str]:
    import subprocess

    data = {
        "version": 1,
        "name": "dag",
        "steps": [
            {
                "id": f"wave{w}",
                "parallel": [
                    {"id": f"w{w}_{i}", "run": ["sleep", "1"], "timeout": "30s"} for i in range(50)
                ],
            }
            for w in range(2)
        ],
    }
    runbook = write(data, tmp / "dag.yaml")
    samples = []
    for _ in range(3):
        out = subprocess.run(
            [python(), "-c", _TIMED, str(runbook)],
            capture_output=True,
            text=True,
            check=True,
            env=bench_env(),
        ).stdout.split()
        samples.append(float(out[0]))
    median = statistics.median(samples)
    return [
        "## Makespan: two waves of 50 parallel `sleep 1` (critical path 2 s)",
        "",
        "Engine run time measured inside the process, median of 3. Target: within 5% of 2 s.",
        "",
        "| critical path | median makespan | over the critical path |",
        "|---|---|---|",
        f"| 2.00 s | {median:.3f} s | **{(median / 2 - 1) * 100:.1f}%** |",
        "",
    ]


def memory(tmp: Path) -> list[str]:
    thousand = write(_seq(1000), tmp / "seq1000.yaml")
    loud = write(
        {
            "version": 1,
            "name": "loud",
            "steps": [
                {
                    "id": "flood",
                    "run": "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 100000000",
                    "timeout": "60s",
                }
            ],
        },
        tmp / "loud.yaml",
    )
    base = peak_rss_kib([python(), "-m", "recoverctl", "--version"])
    rss_1000 = peak_rss_kib([python(), "-m", "recoverctl", "run", "-q", str(thousand)])
    started = time.monotonic()
    rss_loud = peak_rss_kib([python(), "-m", "recoverctl", "run", "-q", str(loud)])
    loud_time = time.monotonic() - started
    return [
        "## Memory (peak RSS of the whole process)",
        "",
        "Target: under 100 MB for a 1,000-step run and for a step printing 100 MB (bounded capture).",
        "",
        "| run | peak RSS |",
        "|---|---|",
        f"| `recoverctl --version` (interpreter + imports) | {base / 1024:.0f} MiB |",
        f"| 1,000 sequential steps | {rss_1000 / 1024:.0f} MiB |",
        f"| one step printing 100 MB of output ({loud_time:.1f} s) | {rss_loud / 1024:.0f} MiB |",
        "",
    ]


def history(tmp: Path) -> list[str]:
    """`recoverctl runs` over 1,000 stored runs: it reads index entries, never replays journals."""
    import shutil
    import subprocess

    state = tmp / "history"
    env = {"RECOVERCTL_STATE_DIR": str(state)}
    runbook = write(_seq(5), tmp / "seq5.yaml")
    subprocess.run(
        [python(), "-m", "recoverctl", "run", "-q", str(runbook)],
        env=bench_env(env),
        check=True,
        stderr=subprocess.DEVNULL,
    )
    (first,) = (state / "runs").iterdir()
    for index in range(999):
        shutil.copytree(first, state / "runs" / f"20260101T000000Z-{index:06x}")
    times = median_alternating(
        {"runs": [python(), "-m", "recoverctl", "runs", "--limit", "1000"]}, 5, env=env
    )
    return [
        "## `recoverctl runs` over 1,000 stored runs",
        "",
        "Median of 5, whole process. Target: under 1 s (it reads each run's meta.json index entry).",
        "",
        "| runs | median |",
        "|---|---|",
        f"| 1,000 | **{times['runs'] * 1000:.0f} ms** |",
        "",
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = [
            "# engine benchmarks",
            "",
            f"Machine: {machine()}",
            "",
            *overhead(Path(tmp)),
            *makespan(Path(tmp)),
            *memory(Path(tmp)),
            *history(Path(tmp)),
        ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engine.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
