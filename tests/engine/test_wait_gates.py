"""wait_for as a health gate: fail fast on a failure condition, hold for N polls in a row."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.engine.harness import run_engine
from tests.helpers import runbook_data, write_runbook


def counting(tmp_path: Path) -> str:
    """A check that prints {"errors": N} with N = 1, 2, 3, … on each poll."""
    n = tmp_path / "n"
    return f"n=$(cat {n} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {n}; echo '{{\"errors\": '$n'}}'"


def gate(tmp_path: Path, **options: object) -> dict[str, object]:
    return {
        "id": "healthy",
        "wait_for": {"run": counting(tmp_path), "interval": "10ms", "timeout": "5s", **options},
    }


def test_fail_if_stops_the_wait_at_once_and_says_what_it_read(tmp_path: Path) -> None:
    data = runbook_data(
        gate(
            tmp_path,
            until="(stdout | from_json).errors < 0",
            fail_if="(stdout | from_json).errors > 2",
        )
    )
    outcome = run_engine(tmp_path, data, real=True)
    assert outcome.code == 1
    error = outcome.state.steps["healthy"].error or ""
    assert error.startswith("fail_if '(stdout | from_json).errors > 2' held at poll 3 after ")
    assert error.endswith('(last read: {"errors": 3}): stopped waiting')


def test_consecutive_needs_that_many_good_polls_in_a_row(tmp_path: Path) -> None:
    data = runbook_data(gate(tmp_path, until="(stdout | from_json).errors % 5 != 0", consecutive=3))
    outcome = run_engine(tmp_path, data, real=True)
    assert outcome.code == 0
    # polls 1-3 hold three in a row: done at 3 (4, 5 never ran)
    assert (tmp_path / "n").read_text().strip() == "3"
    data = runbook_data(gate(tmp_path, until="(stdout | from_json).errors % 3 != 0", consecutive=3))
    data["steps"][0]["wait_for"]["timeout"] = "300ms"
    (tmp_path / "n").unlink()
    outcome = run_engine(tmp_path, data, real=True)
    # 1 2 (3 breaks the run) 4 5 (6 breaks) …: never three in a row, so it gives up
    assert outcome.code == 1
    error = outcome.state.steps["healthy"].error or ""
    assert error.startswith("not ready after ") and (
        "in a row" in error or "does not hold" in error
    )


def test_exports_name_what_they_cannot_keep(tmp_path: Path) -> None:
    data = runbook_data(gate(tmp_path, fail_if="exit_code == 3", consecutive=2))
    path = str(write_runbook(tmp_path, data))
    for target, name in (("argo", "Argo Workflows"), ("step-functions", "AWS Step Functions")):
        result = run_cli(["export", path, "--to", target])
        assert result.returncode == 2
        assert f"wait_for.fail_if 'exit_code == 3' cannot be exported to {name}" in result.stderr
        assert f"wait_for.consecutive: 2 cannot be exported to {name}" in result.stderr
