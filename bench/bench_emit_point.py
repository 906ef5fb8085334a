"""Issue 14: what the one emit point costs, side by side with the commit before it.

Every event is now cleaned (JSON-safe, bounded, redacted) and journaled before
any view sees it. This runs the same 200-step runbook with the tree before
that change (`--base`, checked out into a temporary worktree) and with this
tree, alternating, and writes bench/results/emit-point.md.

Run: python bench/bench_emit_point.py [--base REV] [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, bench_env, machine, median_alternating, python
from bench.generate import sequential_runbook, write

BASE = "2c6b0c7"
"""The last commit before the emit point."""


def _seq(n: int) -> dict[str, object]:
    return sequential_runbook(n, ["/bin/true"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        base_tree = tmp / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_tree), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            runbook = write(_seq(200), tmp / "seq200.yaml")
            commands = {}
            for name, tree in (("before", base_tree), ("after", ROOT)):
                for journal in (True, False):
                    argv = ["env", f"PYTHONPATH={tree}", python(), "-m", "recoverctl", "run", "-q"]
                    argv += [] if journal else ["--no-journal"]
                    commands[f"{name}{'' if journal else ' --no-journal'}"] = [*argv, str(runbook)]
            env = bench_env(
                {"RECOVERCTL_STATE_DIR": str(tmp / "state"), "RECOVERCTL_NO_CACHE": "1"}
            )
            times = median_alternating(commands, args.runs, env=env)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False
            )
    lines = [
        "# The one emit point: cost on 200 sequential steps",
        "",
        f"Machine: {machine()}. Median of {args.runs} alternating runs of "
        "`recoverctl run -q` on 200 `/bin/true` steps (plan cache off), "
        f"the tree at `{args.base}` (before) against this tree (after), in one run.",
        "Target: the emit point costs at most 5%.",
        "",
        "| mode | before | after | after / before |",
        "|---|---|---|---|",
    ]
    for mode in ("", " --no-journal"):
        before, after = times[f"before{mode}"], times[f"after{mode}"]
        label = "journal on" if not mode else "journal off"
        lines.append(
            f"| {label} | {before * 1000:.0f} ms | {after * 1000:.0f} ms | **{after / before:.3f}x** |"
        )
    out = RESULTS / "emit-point.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text())


if __name__ == "__main__":
    main()
