"""Resume policy against journals of runs stopped at the awkward moments.

Each journal is the event stream of a real (simulated) run cut where a crash
would cut it, written and read back as the journal file (a torn last line
included); the expectations are written from what an operator needs, not
recorded from the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recoverctl.engine.events import Event, RollbackStarted, StepStarted
from recoverctl.engine.state import replay
from recoverctl.errors import RecoverctlError
from recoverctl.journal.reader import read_journal
from recoverctl.journal.resumption import plan_resumption
from tests.engine.harness import fail, ok, run_engine
from tests.helpers import build, run_step, runbook_data

RUNBOOK = runbook_data(
    run_step("probe", "true", idempotent=True),
    run_step("fence", "fence db-1", rollback={"run": "unfence db-1"}),
    {
        "id": "switch",
        "parallel": [
            run_step("promote", "promote db-2", rollback={"run": "demote db-2"}),
            run_step("wait_ready", "sleep 1", idempotent=True),
        ],
    },
    run_step("verify", "verify"),
)


SLOW_PROMOTE = {"promote": [ok(data={"delay": 5})]}
"""promote takes a while: wait_ready starts while it runs (a crash then finds both in flight)."""


def _events(tmp_path: Path, outcomes: dict[str, Any] | None = None) -> list[Event]:
    return run_engine(tmp_path, RUNBOOK, outcomes={**SLOW_PROMOTE, **(outcomes or {})}).events


def _journal(tmp_path: Path, events: list[Event], *, torn: str | None = None) -> list[Event]:
    """Write `events` as a journal file (maybe with a torn last line) and read it back."""
    path = tmp_path / "journal.jsonl"
    lines = [
        json.dumps({"v": 1, "seq": i + 1, "run_id": "r", "plan_hash": "h", **e.to_dict()})
        for i, e in enumerate(events)
    ]
    text = "\n".join(lines) + "\n" + (torn or "")
    path.write_text(text)
    journal = read_journal(path)
    assert journal.torn_tail == (torn is not None)
    return journal.events


def _cut_after(events: list[Event], predicate: Any) -> list[Event]:
    index = next(i for i, e in enumerate(events) if predicate(e))
    return events[: index + 1]


def test_killed_mid_step_reruns_only_what_was_in_flight(tmp_path: Path) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    events = _cut_after(
        _events(tmp_path),
        lambda e: isinstance(e, StepStarted) and e.step_id == "wait_ready",
    )
    state = replay(_journal(tmp_path, events, torn='{"v": 1, "seq": 99, "event": "step_fin'))
    plan_ahead = plan_resumption("r", plan, state, skip=[], done=[], from_step=None)
    assert sorted(plan_ahead.in_flight) == ["promote", "wait_ready"]
    assert plan_ahead.unsafe == ["promote"]  # could promote twice; wait_ready is idempotent
    assert not plan_ahead.rolling_back and plan_ahead.overrides == []


def test_marking_the_in_flight_step_done_makes_it_safe(tmp_path: Path) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    events = _cut_after(
        _events(tmp_path), lambda e: isinstance(e, StepStarted) and e.step_id == "wait_ready"
    )
    state = replay(_journal(tmp_path, events))
    plan_ahead = plan_resumption("r", plan, state, skip=[], done=["promote"], from_step=None)
    assert plan_ahead.unsafe == [] and plan_ahead.in_flight == ["wait_ready"]
    assert plan_ahead.overrides == [("promote", "mark_done")]


def test_stopped_mid_rollback_finishes_undoing(tmp_path: Path) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    events = _cut_after(
        _events(tmp_path, {"verify": [fail(1)]}),
        lambda e: isinstance(e, StepStarted) and e.step_id == "promote.rollback",
    )
    assert any(isinstance(e, RollbackStarted) for e in events)
    state = replay(_journal(tmp_path, events))
    plan_ahead = plan_resumption("r", plan, state, skip=[], done=[], from_step=None)
    assert plan_ahead.rolling_back
    assert plan_ahead.in_flight == ["promote.rollback"]
    assert plan_ahead.unsafe == []  # a compensation is written to run twice


def test_from_resets_what_follows_and_reopens_the_groups_around(tmp_path: Path) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    state = replay(
        _journal(tmp_path, _events(tmp_path, {"verify": [fail(1)], "fence.rollback": [fail(1)]}))
    )
    assert state.status == "rollback_failed"
    plan_ahead = plan_resumption("r", plan, state, skip=[], done=[], from_step="promote")
    assert plan_ahead.overrides[0] == ("promote", "from")
    assert ("wait_ready", "reset") in plan_ahead.overrides
    assert ("verify", "reset") in plan_ahead.overrides
    assert ("switch", "reset") in plan_ahead.overrides  # the group around it reopens
    assert ("probe", "reset") not in plan_ahead.overrides


@pytest.mark.parametrize(
    ("outcomes", "why"),
    [
        ({}, "already succeeded"),
        ({"verify": [fail(1)]}, "its work was undone"),
    ],
)
def test_finished_runs_are_refused(tmp_path: Path, outcomes: dict[str, Any], why: str) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    state = replay(_journal(tmp_path, _events(tmp_path, outcomes)))
    with pytest.raises(RecoverctlError) as refused:
        plan_resumption("r", plan, state, skip=[], done=[], from_step=None)
    assert why in refused.value.message


def test_an_unknown_step_is_named_with_a_suggestion(tmp_path: Path) -> None:
    _, plan = build(tmp_path, RUNBOOK)
    events = _cut_after(
        _events(tmp_path), lambda e: isinstance(e, StepStarted) and e.step_id == "fence"
    )
    state = replay(_journal(tmp_path, events))
    with pytest.raises(RecoverctlError) as refused:
        plan_resumption("r", plan, state, skip=["promot"], done=[], from_step=None)
    assert "no step 'promot'" in refused.value.message
    assert "promote" in (refused.value.hint or "")
