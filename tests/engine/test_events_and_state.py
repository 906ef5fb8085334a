"""The bus, the event JSON form and the reducer that live runs and replays share."""

from __future__ import annotations

import json
from pathlib import Path

from recoverctl.engine.events import event_from_dict
from recoverctl.engine.state import replay
from tests.engine.harness import fail, ok, run_engine
from tests.helpers import run_step, runbook_data


def test_events_round_trip_through_json_and_replay_to_what_the_runbook_says(
    tmp_path: Path,
) -> None:
    # a and the parallel group succeed (c on its second attempt), the branch takes the
    # first case because b succeeded, then f fails: a, the only step with an undo, is
    # rolled back and the run ends rolled_back with exit 1. Written from the runbook,
    # not from the reducer: the live state and the replayed journal must both say so.
    data = runbook_data(
        run_step("a", rollback={"run": "undo"}),
        {"id": "g", "parallel": [run_step("b"), run_step("c", retry={"attempts": 2})]},
        {
            "id": "pick",
            "branch": [{"when": "steps.b.ok", "steps": [run_step("d")]}, {"else": [run_step("e")]}],
        },
        run_step("f"),
    )
    out = run_engine(tmp_path, data, outcomes={"c": [fail(), ok()], "f": [fail()]})
    expected_steps = {
        "a": ("rolled_back", 1, "rolled_back"),
        "g": ("succeeded", 1, None),
        "b": ("succeeded", 1, None),
        "c": ("succeeded", 2, None),
        "pick": ("succeeded", 1, None),
        "d": ("succeeded", 1, None),
        "e": ("skipped", 0, None),
        "f": ("failed", 1, None),
        "a.rollback": ("succeeded", 1, None),
    }
    lines = [json.dumps(e.to_dict()) for e in out.events]
    replayed = replay([event_from_dict(json.loads(line)) for line in lines])
    for state in (out.state, replayed):
        assert (state.status, state.exit_code) == ("rolled_back", 1)
        assert {k: (v.status, v.attempts, v.rollback) for k, v in state.steps.items()} == (
            expected_steps
        )
        assert [(d.step_id, d.label) for d in state.decisions] == [("pick", "steps.b.ok")]
        assert state.rolled_back() == ["a"]
