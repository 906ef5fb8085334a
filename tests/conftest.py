"""Shared test helpers: running the CLI in-process and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = ROOT / "runbooks"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = bool(os.environ.get("UPDATE_GOLDEN"))


SLOW_SUITES = (
    "tests/cli/test_crash_safety.py",  # SIGKILL torture: real runs killed and resumed
    "tests/cli/test_soak.py",  # hundreds of runs, watching descriptors and memory
    "tests/terminal/test_live_sizes.py",  # real terminals of three sizes, sampled mid-run
    "tests/cli/test_pre_commit.py",  # pre-commit builds the hooks' environment from PyPI
    "tests/remote/test_ssh_fleet.py",  # real sshd servers on 127.0.0.1, fan-out over them
    "tests/e2e/",  # real PostgreSQL, Redis and services started on 127.0.0.1
    "tests/property/test_fuzz_pipeline.py::test_generated_runbooks_never_crash_any_stage",
    "tests/property/test_fuzz_pipeline.py::test_the_generator_reaches_the_later_stages",
    "tests/journal/test_corrupted_journals.py::test_no_damaged_journal_makes_any_command_fail_internally",
    "tests/cli/test_runtime_semantics.py::test_time_to_recovery_spans_the_resume",  # real waits
)
"""Suites `.ci/run` runs as a stage of their own (`pytest -m slow`); the README's `pytest`
leaves them out so the everyday command stays quick."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW_SUITES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _private_plan_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The tests' compiled-plan cache lives in a temporary folder, never in ~/.cache; and
    their runs, locks included, never in the user's ~/.local/state: two suites at once
    (a laptop and CI, or two checkouts) would take each other's runbook locks."""
    os.environ["RECOVERCTL_CACHE_DIR"] = str(tmp_path_factory.mktemp("plan-cache"))
    os.environ["RECOVERCTL_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def invoke(args: Sequence[str], **kwargs: object):  # type: ignore[no-untyped-def]
    """Run the typer app in-process (the commands registered as in `main`)."""
    from recoverctl.cli import app, register_commands

    register_commands()

    return CliRunner().invoke(app, list(args), **kwargs)  # type: ignore[arg-type]


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m recoverctl` as a real process, as a user or CI would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "recoverctl", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )


def check_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; `UPDATE_GOLDEN=1 pytest` rewrites them."""
    if UPDATE_GOLDEN or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path.name} was missing and has been written; review it")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (UPDATE_GOLDEN=1 to accept)"
