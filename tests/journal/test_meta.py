"""meta.json read as a typed value: tolerant of damage, faithful to what it does not know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverctl.journal.meta import RunMeta, StepSummary
from recoverctl.journal.store import RunDir

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "run_id",
        "runbook",
        "path",
        "status",
        "pid",
        "started",
        "duration",
        "steps",
        "path_taken",
        "rto",
        "exit_code",
        "params",
        "other",
    ]
)


@given(st.dictionaries(KEYS, JSON))
def test_any_damage_reads_as_unknown_values_never_a_crash(data: dict[str, Any]) -> None:
    meta = RunMeta.from_dict(data, "fallback-id")
    assert isinstance(meta.run_id, str) and meta.run_id
    assert meta.pid is None or (isinstance(meta.pid, int) and not isinstance(meta.pid, bool))
    assert all(isinstance(s, StepSummary) for s in meta.steps.values())
    json.dumps(meta.to_dict(), default=str)


def test_wrong_types_read_as_unknown() -> None:
    meta = RunMeta.from_dict(
        {"pid": True, "started": "yesterday", "steps": {"a": "failed", "b": {"status": 3}}},
        "r1",
    )
    assert (meta.run_id, meta.pid, meta.started) == ("r1", None, None)
    assert meta.steps == {"b": StepSummary(status="?")}


def test_keys_this_version_does_not_know_are_written_back(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    (tmp_path / "meta.json").write_text(
        json.dumps({"v": 1, "run_id": "r1", "status": "running", "from_the_future": [1, 2]})
    )
    meta = run.meta()
    meta.status = "succeeded"
    run.write_meta(meta)
    written = json.loads((tmp_path / "meta.json").read_text())
    assert written["from_the_future"] == [1, 2]
    assert written["status"] == "succeeded" and written["v"] == 1


def test_an_unreadable_file_is_a_run_with_status_unreadable(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text("{not json")
    assert RunDir(tmp_path).meta().status == "unreadable"
    (tmp_path / "meta.json").write_text("[1, 2]")
    assert RunDir(tmp_path).meta().status == "unreadable"
