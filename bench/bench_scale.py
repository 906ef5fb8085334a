"""Issue 10: whole commands on a 10,000-step runbook, and makespan on a 500-step DAG.

Run: python bench/bench_scale.py   (writes bench/results/scale.md)

Scaling: `validate`, `plan --format json` and `run --dry-run` as a user runs
them (whole process, GNU time's peak RSS), on generated runbooks of 1,000 to
10,000 steps shaped like real ones (bench/generate.py), plan cache off.

Makespan: a generated DAG of 500 `sleep` steps with random durations — a
sequence of stages, each a parallel group of single sleeps and short
sequences — run for real with the journal on. The critical path is computed
from the durations (a sequence adds, a parallel group takes its longest
member); the makespan is the engine's own run time, from its first event to
its last (`--output json`), so interpreter start-up is not counted.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, bench_env, machine, python, time_with_rss
from bench.generate import big_runbook, write

SIZES = (1_000, 5_000, 10_000)
RUNS = 3


def scaling(tmp: Path) -> list[str]:
    env = bench_env({"RECOVERCTL_NO_CACHE": "1", "RECOVERCTL_STATE_DIR": str(tmp / "state")})
    lines = [
        "## 10,000 steps: validate, plan, dry run (whole commands)",
        "",
        f"Median of {RUNS} runs, plan cache off; peak RSS of the process.",
        "",
        "| steps | `validate` | `plan --format json` | `run --dry-run` | peak RSS (dry run) |",
        "|---|---|---|---|---|",
    ]
    for size in SIZES:
        path = write(big_runbook(size), tmp / f"big{size}.yaml")
        commands = {
            "validate": [python(), "-m", "recoverctl", "validate", str(path)],
            "plan": [python(), "-m", "recoverctl", "plan", "--format", "json", str(path)],
            "dry": [python(), "-m", "recoverctl", "run", "--dry-run", "-q", str(path)],
        }
        samples: dict[str, list[tuple[float, int]]] = {k: [] for k in commands}
        for _ in range(RUNS):
            for name, argv in commands.items():
                samples[name].append(time_with_rss(argv, env))
        wall = {k: statistics.median(t for t, _ in v) for k, v in samples.items()}
        rss = max(m for _, m in samples["dry"]) / 1024
        lines.append(
            f"| {size:,} | {wall['validate']:.2f} s | {wall['plan']:.2f} s | {wall['dry']:.2f} s | {rss:.0f} MiB |"
        )
    return lines


def dag(rng: random.Random, total: int) -> tuple[dict[str, Any], float]:
    """A runbook of `total` sleep steps and its critical path in seconds."""
    steps: list[dict[str, Any]] = []
    critical = 0.0
    made = 0
    stage = 0
    while made < total:
        members: list[dict[str, Any]] = []
        longest = 0.0
        for m in range(rng.randint(5, 25)):
            if made >= total:
                break
            length = rng.choice([1, 1, 2, 3])
            seq: list[dict[str, Any]] = []
            took = 0.0
            for k in range(min(length, total - made)):
                seconds = round(rng.uniform(0.05, 0.4), 3)
                seq.append(
                    {"id": f"st{stage}_m{m}_{k}", "run": ["sleep", f"{seconds}"], "timeout": "10s"}
                )
                took += seconds
                made += 1
            members.append(seq[0] if len(seq) == 1 else {"id": f"st{stage}_m{m}", "steps": seq})
            longest = max(longest, took)
        steps.append({"id": f"st{stage}", "parallel": members})
        critical += longest
        stage += 1
    return {"version": 1, "name": "dag500", "steps": steps}, critical


def makespan(tmp: Path) -> list[str]:
    data, critical = dag(random.Random(500), 500)  # noqa: S311 - a benchmark shape
    path = write(data, tmp / "dag500.yaml")
    env = bench_env({"RECOVERCTL_STATE_DIR": str(tmp / "state")})
    spans = []
    for _ in range(RUNS):
        out = subprocess.run(
            [python(), "-m", "recoverctl", "run", "--output", "json", str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        spans.append(events[-1]["ts"] - events[0]["ts"])
    median = statistics.median(spans)
    stages = len(data["steps"])
    return [
        "",
        "## Makespan of a 500-step DAG with random sleeps",
        "",
        f"{stages} stages, each a parallel group of 5-25 members (a sleep, or 2-3 sleeps in",
        "sequence), sleeps of 0.05-0.4 s, journal on; median of "
        f"{RUNS} runs. Target: within 5% of the critical path.",
        "",
        "| steps | critical path | median makespan | over the critical path |",
        "|---|---|---|---|",
        f"| 500 | {critical:.2f} s | {median:.2f} s | **{(median - critical) / critical * 100:.1f}%** |",
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lines = [
            "# Scaling and makespan",
            "",
            f"Machine: {machine()}",
            "",
            *scaling(Path(tmp)),
            *makespan(Path(tmp)),
            "",
        ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
