"""Issue 8 benchmark: scenario tests in simulated time (target: a 10-minute runbook's scenario under 100 ms).

Run: python bench/bench_scenarios.py   (writes bench/results/scenarios.md)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine, median_alternating, python
from recoverctl.scenario.load import load_scenarios
from recoverctl.scenario.runner import run_scenario


def main() -> None:
    loaded = load_scenarios(ROOT / "runbooks" / "db-failover.test.yaml")
    assert loaded.file is not None and loaded.plan is not None, loaded.diagnostics
    per: list[float] = []
    simulated: list[float] = []
    for _ in range(5):
        for scenario in loaded.file.scenarios:
            started = time.perf_counter()
            result = run_scenario(loaded.plan, scenario)
            per.append(time.perf_counter() - started)
            simulated.append(result.state.duration or 0.0)
    whole = median_alternating(
        {"test": [python(), "-m", "recoverctl", "test", "runbooks/", "--coverage"]}, 3
    )
    report = [
        "# scenario test benchmark",
        "",
        f"Machine: {machine()}",
        "",
        f"runbooks/db-failover.test.yaml: {len(loaded.file.scenarios)} scenarios of a runbook with a 10-minute run "
        f"timeout (worst case {loaded.plan.worst_case:.0f} s), in virtual time, 5 rounds.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| median wall time per scenario | **{statistics.median(per) * 1000:.2f} ms** (target < 100 ms) |",
        f"| slowest scenario | {max(per) * 1000:.2f} ms |",
        f"| longest simulated run | {max(simulated):.0f} s |",
        f"| `recoverctl test runbooks/ --coverage` (every example, whole process, median of 3) | {whole['test']:.2f} s |",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scenarios.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
