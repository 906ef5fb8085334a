"""Soak: many consecutive runs of the demo runbook; nothing may accumulate but the journals.

Run: python bench/soak.py [--runs 1000]   (writes bench/results/soak.md; ~1.5 s a run)

The checks are the test suite's (tests/soak.py, whose CI version is
tests/cli/test_soak.py); this script runs them long and writes the report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, machine
from tests.soak import SoakReport, cli_soak, in_process_soak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--in-process-runs", type=int, default=200)
    args = parser.parse_args()
    report = SoakReport()
    cli_soak(args.runs, report)
    in_process_soak(args.in_process_runs, report)
    first, last = report.run_bytes[:10], report.run_bytes[-10:]
    lines = [
        "# Soak: consecutive runs of the demo runbook",
        "",
        f"Machine: {machine()}",
        "",
        f"Run: `python bench/soak.py --runs {args.runs}`.",
        "",
        "| check | result |",
        "|---|---|",
        f"| `recoverctl run runbooks/demo.yaml` one after another | {report.runs} runs, "
        f"{len([f for f in report.failures if f.startswith('run ')])} failed, median {statistics.median(report.seconds):.2f} s |",
        f"| processes left behind after a run (max over all runs) | {max(report.leftovers)} |",
        f"| state folder: anything but run folders and one lock file | {len([f for f in report.failures if not f.startswith(('run ', 'in-process'))])} problems |",
        f"| bytes per run folder besides its journal, first 10 → last 10 runs | "
        f"{statistics.mean(first):.0f} → {statistics.mean(last):.0f} |",
        f"| open descriptors, {args.in_process_runs} engine runs in one process | {report.fds[0]} → {report.fds[1]} |",
        f"| resident memory over those runs | {report.rss_kib[0] / 1024:.1f} → {report.rss_kib[1] / 1024:.1f} MiB |",
        "",
    ]
    if report.failures:
        lines += ["Problems:", "", *(f"- {f}" for f in report.failures[:20]), ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
