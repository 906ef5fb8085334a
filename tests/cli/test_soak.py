"""The soak's short version: consecutive demo runs leave nothing behind but their journals.

`python bench/soak.py --runs 1000` is the long one (bench/results/soak.md).
"""

from __future__ import annotations

import os

from tests.soak import SoakReport, cli_soak, in_process_soak

RUNS = int(os.environ.get("SOAK_RUNS", "5"))


def test_consecutive_runs_leave_only_journals_and_no_processes() -> None:
    report = SoakReport()
    cli_soak(RUNS, report)
    assert report.failures == []
    assert report.runs == RUNS
    assert max(report.leftovers) == 0
    assert len(report.run_bytes) == RUNS
    assert max(report.run_bytes) - min(report.run_bytes) < 64  # only ids and times differ


def test_engine_runs_in_one_process_do_not_leak_descriptors_or_memory() -> None:
    report = SoakReport()
    in_process_soak(max(RUNS, 10), report)
    assert report.failures == []
    before, after = report.fds
    assert after <= before
    rss_before, rss_after = report.rss_kib
    assert rss_after - rss_before < 8 * 1024, report.rss_kib
