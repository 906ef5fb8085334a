"""Issues 10 and 15's hardening figures: the long versions of the CI's fault and hostile-input tests.

Run: python bench/hardening.py [--fuzz 10000] [--torture 200]   (writes bench/results/hardening.md)

Each line runs a test file of the suite with the long setting and records its outcome,
its size and how long it took; CI runs the same tests with the short settings.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine


def pytest(target: str, env: dict[str, str]) -> tuple[bool, str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:warnings",
            target,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    return result.returncode == 0, re.sub(r"=+", "", summary).strip(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fuzz", type=int, default=10_000)
    parser.add_argument("--torture", type=int, default=200)
    parser.add_argument("--journals", type=int, default=1000)
    args = parser.parse_args()
    from tests.property.test_injection_corpus import CORPUS

    corpus = len(CORPUS)
    checks = [
        (
            f"Fuzzing: {args.fuzz:,} generated and mutated runbooks through validate, lint, plan, "
            "dry run and export (CI: 500)",
            "tests/property/test_fuzz_pipeline.py",
            {"FUZZ_CASES": str(args.fuzz)},
        ),
        (
            f"SIGKILL at {args.torture} points of a run with a parallel group, retries and "
            f"rollbacks, × 2 (succeeding, rolling back), each resumed to the end (CI: 20)",
            "tests/cli/test_crash_safety.py",
            {"TORTURE_RUNS": str(args.torture)},
        ),
        (
            f"Injection: {corpus} shell, template and YAML payloads in params, outputs, env and argv",
            "tests/property/test_injection_corpus.py",
            {},
        ),
        (
            "Full disk while journaling (RLIMIT_FSIZE), journals and state folder private "
            "(0700/0600), durable runs",
            "tests/cli/test_durable_runs.py",
            {},
        ),
        (
            f"Damaged journals: {args.journals:,} journals spoiled every way (flips, cuts, "
            "dropped/swapped lines, wrong types, future records) through show, report ×4, "
            "resume, rollback, runs, stats: no internal error (CI: 60)",
            "tests/journal/test_corrupted_journals.py",
            {"RECOVERCTL_FUZZ_JOURNALS": str(args.journals)},
        ),
        (
            "Faults and hostile users: SIGHUP mid-step, resume racing a live run, a reused pid, "
            "EOF at a prompt, SIGKILL during a rollback, template bombs, terminal escapes, "
            "foreign state folders and caches, escaping children, NUL bytes, nesting limits, "
            "alias bombs, secrets on command lines",
            "tests/cli/test_hardening.py",
            {},
        ),
        (
            "Secrets in every spelling (header control characters, URLs, missing commands, "
            "Jinja errors) through stderr, JSON events, journal, meta.json, reports",
            "tests/cli/test_secrets.py",
            {},
        ),
    ]
    lines = [
        "# Hardening: the long runs",
        "",
        f"Machine: {machine()}",
        "",
        f"Run: `python bench/hardening.py --fuzz {args.fuzz} --torture {args.torture} "
        f"--journals {args.journals}`. The torture kills the run at each point and, at every "
        "other point, its first resume as well.",
        "",
        "| check | result | time |",
        "|---|---|---|",
    ]
    ok = True
    for title, target, env in checks:
        passed, summary, seconds = pytest(target, env)
        ok &= passed
        verdict = "passed" if passed else "**FAILED**"
        lines.append(f"| {title} | {verdict}: {summary} | {seconds / 60:.1f} min |")
        print(lines[-1], flush=True)
    lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hardening.md").write_text("\n".join(lines), encoding="utf-8")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
