"""Issue 2 benchmarks: `validate` start-up cost and validate+compile scaling to 10,000 steps.

Run: python bench/bench_validate.py   (writes bench/results/validate.md)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine, median_alternating, peak_rss_kib, python
from bench.generate import big_runbook, write

RUNS = 9
SIZES = [1000, 2000, 5000, 10000]

_MEASURE = """
import sys, time
from pathlib import Path
t = time.perf_counter()
from recoverctl.validate.pipeline import check_file
from recoverctl.compile import compile_plan
checked = check_file(Path(sys.argv[1]))
assert checked.runbook is not None, checked.diagnostics[:3]
plan = compile_plan(checked.runbook, checked.callees)
print(time.perf_counter() - t, len(plan.nodes))
"""


def startup() -> list[str]:
    times = median_alternating(
        {
            "baseline": [python(), "-c", "import yaml, jsonschema"],
            "validate": [python(), "-m", "recoverctl", "validate", "runbooks/db-failover.yaml"],
        },
        RUNS,
    )
    ratio = times["validate"] / times["baseline"]
    return [
        "## `recoverctl validate` start-up (whole process)",
        "",
        f'Median of {RUNS} alternating runs; target: within 1.5x of `python -c "import yaml, jsonschema"`.',
        "",
        "| command | median |",
        "|---|---|",
        f'| `python -c "import yaml, jsonschema"` (baseline) | {times["baseline"] * 1000:.0f} ms |',
        f"| `recoverctl validate runbooks/db-failover.yaml` | {times['validate'] * 1000:.0f} ms |",
        f"| ratio | **{ratio:.2f}x** ({'meets' if ratio <= 1.5 else 'misses'} the 1.5x target) |",
        "",
    ]


def scaling() -> list[str]:
    import statistics
    import subprocess

    lines = [
        "## validate + compile of generated runbooks (in-process, after imports)",
        "",
        "Blocks of 4 sequential steps, a 3-wide parallel group and a 2-case branch with a rollback;",
        "median of 3 runs, peak RSS of a fresh process. Target: 10,000 steps under 2 s, linear growth.",
        "",
        "| steps | plan nodes | median | per 1,000 steps | peak RSS |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            path = write(big_runbook(size), Path(tmp) / f"big-{size}.yaml")
            samples = []
            nodes = 0
            for _ in range(3):
                out = subprocess.run(
                    [python(), "-c", _MEASURE, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                ).stdout.split()
                samples.append(float(out[0]))
                nodes = int(out[1])
            median = statistics.median(samples)
            rss = peak_rss_kib([python(), "-c", _MEASURE, str(path)])
            lines.append(
                f"| {size:,} | {nodes:,} | {median:.2f} s | {median / size * 1000:.3f} s | {rss / 1024:.0f} MiB |"
            )
    return [*lines, ""]


def main() -> None:
    report = ["# validate benchmarks", "", f"Machine: {machine()}", "", *startup(), *scaling()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "validate.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
