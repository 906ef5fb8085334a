"""Issue 6 benchmark: lint 1,000 runbook files in one call (target: under 5 s).

Run: python bench/bench_lint.py   (writes bench/results/lint.md)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine, median_alternating, python


def main() -> None:
    examples = sorted(
        p for p in (ROOT / "runbooks").glob("*.yaml") if not p.name.endswith(".test.yaml")
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runbooks"
        folder.mkdir()
        for index in range(1000):
            source = examples[index % len(examples)]
            shutil.copy(source, folder / f"{index:04d}-{source.name}")
        times = median_alternating(
            {
                "lint": [python(), "-m", "recoverctl", "lint", str(folder), "--format", "json"],
                "validate": [python(), "-m", "recoverctl", "validate", "-q", str(folder)],
            },
            3,
        )
    report = [
        "# lint benchmark",
        "",
        f"Machine: {machine()}",
        "",
        "1,000 runbook files (copies of the four examples), one call, median of 3 whole-process runs.",
        "Target: lint under 5 s. Files are linted in a process per core past 16 files.",
        "",
        "| command | median |",
        "|---|---|",
        f"| `recoverctl lint` 1,000 files | **{times['lint']:.2f} s** |",
        f"| `recoverctl validate` 1,000 files (one process, for comparison) | {times['validate']:.2f} s |",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lint.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
