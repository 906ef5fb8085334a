"""The bus, the event JSON form and the reducer that live runs and replays share."""

from __future__ import annotations

import json
from pathlib import Path

from recoverctl.engine.events import event_from_dict
from recoverctl.engine.state import replay
from tests.engine.harness import fail, run_engine
from tests.helpers import run_step, runbook_data


def test_events_round_trip_through_json_and_replay_gives_the_same_state(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", rollback={"run": "undo"}),
        {"id": "g", "parallel": [run_step("b"), run_step("c", retry={"attempts": 2})]},
        {
            "id": "pick",
            "branch": [{"when": "steps.b.ok", "steps": [run_step("d")]}, {"else": [run_step("e")]}],
        },
        run_step("f"),
    )
    out = run_engine(tmp_path, data, outcomes={"c": [fail(), fail()]})
    lines = [json.dumps(e.to_dict()) for e in out.events]
    replayed = replay([event_from_dict(json.loads(line)) for line in lines])
    live = out.state
    assert replayed.status == live.status == "rolled_back"
    assert replayed.completed == live.completed
    assert {k: (v.status, v.attempts, v.rollback) for k, v in replayed.steps.items()} == {
        k: (v.status, v.attempts, v.rollback) for k, v in live.steps.items()
    }
    assert [d.label for d in replayed.decisions] == [d.label for d in live.decisions]
