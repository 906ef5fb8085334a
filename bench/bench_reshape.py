"""Issue 17: the reshaped code against the code before it, side by side in one run.

Run: python bench/bench_reshape.py [--runs 9]   (writes bench/results/reshape.md)

Each baseline commit is checked out into a temporary git worktree and every
command runs once per version in turn (alternating, so machine noise hits all
alike), each version on its own PYTHONPATH. Reported: the median wall time of
each command per version and the ratio of this tree to each baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, bench_env, machine, python, time_command
from bench.generate import sequential_runbook, write

BASELINES = {
    "before issue 17 (e62c778)": "e62c778",
    "start of this session (7b015e5)": "7b015e5",
}


def _seq(n: int) -> dict[str, object]:
    return sequential_runbook(n, ["/bin/true"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        trees = {"this tree": ROOT}
        for label, commit in BASELINES.items():
            tree = tmp / commit
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                check=True,
                capture_output=True,
            )
            trees[label] = tree
        try:
            rows = _measure(trees, tmp, args.runs)
        finally:
            for label, tree in trees.items():
                if label != "this tree":
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                        check=False,
                        capture_output=True,
                    )
    _report(rows, list(trees), args.runs)


def _measure(trees: dict[str, Path], tmp: Path, runs: int) -> dict[str, dict[str, float]]:
    seq = write(_seq(200), tmp / "seq200.yaml")
    demo = ROOT / "runbooks" / "demo.yaml"
    commands = {
        "`run -q --no-journal`, 200 sequential steps": ["run", "-q", "--no-journal", str(seq)],
        "`run -q`, 200 steps, journal on": ["run", "-q", str(seq)],
        "`run --dry-run -q` of the demo": ["run", "--dry-run", "-q", str(demo)],
        "`validate` of the demo": ["validate", str(demo)],
        "`--version` (start-up)": ["--version"],
    }
    samples: dict[str, dict[str, list[float]]] = {
        c: {label: [] for label in trees} for c in commands
    }

    def argv(tree: Path, rest: list[str]) -> list[str]:
        return ["env", f"PYTHONPATH={tree}", python(), "-m", "recoverctl", *rest]

    env = {"RECOVERCTL_STATE_DIR": str(tmp / "state"), "NO_COLOR": "1"}
    for rest in commands.values():  # warm-up: .pyc files, plan caches
        for tree in trees.values():
            time_command(argv(tree, rest), cwd=tmp, env=env)
    for _ in range(runs):
        for command, rest in commands.items():
            for label, tree in trees.items():
                samples[command][label].append(time_command(argv(tree, rest), cwd=tmp, env=env)[0])
    rows = {
        c: {label: statistics.median(v) for label, v in by.items()} for c, by in samples.items()
    }
    in_process: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(max(3, runs // 3)):  # after imports: the work itself, less start-up noise
        for label, tree in trees.items():
            out = subprocess.run(
                ["env", f"PYTHONPATH={tree}", python(), "-c", _IN_PROCESS, str(demo)],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
                env=bench_env(),
            )
            in_process[label].append(float(out.stdout))
    rows["validate + compile of the demo, in process (after imports)"] = {
        label: statistics.median(v) for label, v in in_process.items()
    }
    return rows


_IN_PROCESS = """
import sys, time
from pathlib import Path
from recoverctl.compile import compile_plan
from recoverctl.validate.pipeline import check_file
path = Path(sys.argv[1])
check_file(path)
started = time.perf_counter()
for _ in range(50):
    checked = check_file(path)
    compile_plan(checked.model, checked.callees)
print((time.perf_counter() - started) / 50)
"""


def _report(rows: dict[str, dict[str, float]], labels: list[str], runs: int) -> None:
    baselines = [label for label in labels if label != "this tree"]
    head = (
        "| command | "
        + " | ".join(labels)
        + " | "
        + " | ".join(f"ratio to {b.split(' (')[0]}" for b in baselines)
        + " |"
    )
    lines = [
        "# Issue 17: the reshaped tree against the code before it",
        "",
        f"Machine: {machine()}",
        "",
        f"Run: `python bench/bench_reshape.py --runs {runs}` — whole processes, median of {runs} "
        "alternating runs per version, each version from its own git worktree. Target: within 3%.",
        "",
        head,
        "|---" * (1 + len(labels) + len(baselines)) + "|",
    ]
    for command, by in rows.items():
        times = " | ".join(f"{by[label] * 1000:.1f} ms" for label in labels)
        ratios = " | ".join(f"**{by['this tree'] / by[b]:.3f}x**" for b in baselines)
        lines.append(f"| {command} | {times} | {ratios} |")
    lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reshape.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
