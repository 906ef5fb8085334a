"""`runs` and `stats`: whole ids and words at 80 columns and in a pipe, and their JSON forms."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.cli.durable import run_ids
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook
from tests.terminal.conftest import Tmux


@pytest.fixture
def history(tmp_path: Path, state: dict[str, str]) -> dict[str, str]:
    """Four runs of two runbooks with long step names: one succeeds, three fail."""
    good = write_runbook(
        tmp_path,
        runbook_data(
            run_step("check_replication_lag_on_every_replica", "true"),
            {
                "id": "choose_the_recovery_path",
                "branch": [
                    {
                        "name": "promote_the_healthiest_replica",
                        "when": "true",
                        "steps": [run_step("promote_replica", "true")],
                    },
                    {"else": [run_step("restore_from_backup", "true")]},
                ],
            },
            name="postgres-primary-failover-with-a-long-name",
            objectives={"rto": "5m"},
        ),
        name="good.yaml",
    )
    bad = write_runbook(
        tmp_path,
        runbook_data(
            run_step("flush_every_cache_shard_in_the_fleet", "exit 1"),
            name="cache",
            objectives={"rto": "1m"},
        ),
        name="bad.yaml",
    )
    run_cli(["run", str(good)], env=state)
    for _ in range(3):
        run_cli(["run", str(bad)], env=state)
    return state


def _whole(text: str, ids: list[str], words: list[str]) -> None:
    for run_id in ids:
        assert re.search(rf"(^|\s){re.escape(run_id)}(\s|$)", text, re.M), text
    for word in words:
        assert word in text, f"{word!r} was split or cut:\n{text}"


def test_piped_listings_keep_every_id_and_word_whole(
    tmp_path: Path, history: dict[str, str]
) -> None:
    ids = run_ids(tmp_path)
    runs = run_cli(["runs"], env=history)
    assert runs.returncode == 0, runs.stderr
    _whole(
        runs.stdout,
        ids,
        [
            "postgres-primary-failover-with-a-long-name",
            "choose_the_recovery_path→promote_the_healthiest_replica",
        ],
    )
    stats = run_cli(["stats"], env=history).stdout
    _whole(
        stats,
        [],
        ["flush_every_cache_shard_in_the_fleet", "postgres-primary-failover-with-a-long-name"],
    )


@pytest.mark.parametrize("width", [80, 60])
def test_listings_on_a_narrow_terminal_never_split_an_id_or_a_word(
    tmp_path: Path, history: dict[str, str], width: int
) -> None:
    ids = run_ids(tmp_path)
    tmux = Tmux(tmp_path)
    try:
        where = history["RECOVERCTL_STATE_DIR"]
        tmux.start(
            f"env RECOVERCTL_STATE_DIR={where} {sys.executable} -m recoverctl runs"
            f" && env RECOVERCTL_STATE_DIR={where} {sys.executable} -m recoverctl stats",
            width=width,
            height=50,
        )
        screen = tmux.wait_for(lambda s: "EXIT=" in s)
    finally:
        tmux.close()
    assert "EXIT=0" in screen
    table_lines = [line for line in screen.splitlines() if not line.startswith("runs in ")]
    assert all(len(line) <= width for line in table_lines)  # the path alone may soft-wrap
    _whole(screen, ids, ["flush_every_cache_shard_in_the_fleet ×3"])
    for line in screen.splitlines():
        assert not re.search(r"\S…", line), f"a cut word: {line!r}"


def test_json_listings(tmp_path: Path, history: dict[str, str]) -> None:
    runs = json.loads(run_cli(["runs", "--format", "json"], env=history).stdout)
    assert [r["run_id"] for r in runs] == sorted(run_ids(tmp_path), reverse=True)
    assert {r["status"] for r in runs} == {"succeeded", "failed"}
    good = next(r for r in runs if r["status"] == "succeeded")
    assert good["path_taken"] == ["choose_the_recovery_path→promote_the_healthiest_replica"]
    assert isinstance(good["started"], float) and good["duration"] > 0
    stats = {
        s["runbook"]: s
        for s in json.loads(run_cli(["stats", "--format", "json"], env=history).stdout)
    }
    assert stats["cache"]["runs"] == 3 and stats["cache"]["succeeded"] == 0
    assert stats["cache"]["most_failing"] == [
        {"step": "flush_every_cache_shard_in_the_fleet", "failed_runs": 3}
    ]
    long = stats["postgres-primary-failover-with-a-long-name"]
    assert long["success_rate"] == 1.0 and long["p95_within_rto"] is True
    empty = run_cli(["runs", "--format", "json", "--runbook", "nothing"], env=history)
    assert json.loads(empty.stdout) == []
