"""The one emit point: nothing a run computes, and no view that breaks, can silence the record."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoverctl.clock import RealClock
from recoverctl.engine.bus import EventBus
from recoverctl.engine.emitter import Emitter, JournalLost
from recoverctl.engine.encode import MAX_TEXT, clean_event, json_safe
from recoverctl.engine.events import BranchDecided, Event, LogMessage, StepOutput, StepStarted
from recoverctl.engine.redact import Redactor
from recoverctl.engine.state import RunState
from tests.conftest import run_cli
from tests.helpers import write_runbook


class ListJournal:
    def __init__(self, fail_after: int | None = None) -> None:
        self.events: list[Event] = []
        self.fail_after = fail_after
        self.pending = False

    def sync_pending(self) -> None:
        self.pending = False

    def append(self, event: Event) -> None:
        if self.fail_after is not None and len(self.events) >= self.fail_after:
            raise OSError(28, "No space left on device")
        self.events.append(event)

    def close(self) -> None:
        pass


def _emitter(redactor: Redactor | None = None) -> tuple[Emitter, EventBus, ListJournal]:
    bus = EventBus()
    emitter = Emitter(RunState(), redactor or Redactor([]), RealClock(), bus)
    journal = ListJournal()
    emitter.journal = journal
    return emitter, bus, journal


class _Weird:
    def __repr__(self) -> str:
        raise RuntimeError("no repr either")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("comparing me raises, like StrictUndefined")

    __hash__ = object.__hash__


class _BrokenMapping(dict):  # type: ignore[type-arg]
    def items(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot iterate")


def _undefined() -> Any:
    from jinja2 import StrictUndefined

    return StrictUndefined(name="v")


HOSTILE = [
    _undefined(),
    b"\x00\xffbytes",
    math.nan,
    math.inf,
    10**5000,
    _Weird(),
    "x" * (MAX_TEXT * 3),
    {"nested": [[[[{"deep": _undefined()}]]]]},
    {1: "int key", (2, 3): "tuple key"},
    {"set": {1, 2}},
    _BrokenMapping(a=1),
]


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: type(v).__name__)
def test_any_value_is_recorded_as_bounded_json(value: Any) -> None:
    emitter, _, journal = _emitter()
    emitter.emit(
        BranchDecided(step_id="b", case_index=0, label="a", condition="x", values={"v": value})
    )
    (recorded,) = journal.events
    line = json.dumps(recorded.to_dict(), allow_nan=False)  # no default=: it must be plain JSON
    assert len(line) < MAX_TEXT + 1000


def test_an_undefined_value_is_marked_not_blank() -> None:
    assert json_safe({"v": _undefined()}, str) == {"v": "<undefined: v>"}
    assert json_safe(b"abc", str) == "<bytes: 3>"
    assert json_safe(math.nan, str) == "<nan>"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
            | st.tuples(inner, inner)
        ),
        max_leaves=30,
    )
)
def test_json_safe_always_gives_encodable_json(value: Any) -> None:
    json.dumps(json_safe(value, str), allow_nan=False)


def test_every_text_field_is_redacted_at_the_emit_point() -> None:
    secret = "S3cr3t'pw\r"
    emitter, _, journal = _emitter(Redactor([secret]))
    shell_quoted = "'S3cr3t'\"'\"'pw\r'"
    emitter.emit(StepStarted(step_id="a", attempt=1, action=f"curl -u {shell_quoted}"))
    emitter.emit(StepOutput(step_id="a", stream="stderr", text=f"bad header {secret!r}"))
    emitter.emit(
        BranchDecided(step_id="b", case_index=0, label="a", condition="c", values={"v": secret})
    )
    text = json.dumps([e.to_dict() for e in journal.events])
    assert "S3cr3t" not in text
    assert text.count("***") >= 3


def test_a_failing_view_is_replaced_and_the_journal_keeps_everything() -> None:
    emitter, bus, journal = _emitter()
    fallback_saw: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("view crashed")

    bus.subscribe(broken, "live view", fallback=lambda: fallback_saw.append)
    for index in range(3):
        emitter.emit(StepStarted(step_id=f"s{index}", attempt=1))
    kinds = [type(e).__name__ for e in journal.events]
    assert kinds == ["StepStarted", "LogMessage", "StepStarted", "StepStarted"]
    warning = journal.events[1]
    assert isinstance(warning, LogMessage) and warning.level == "warning"
    assert "live view failed" in warning.message and "view crashed" in warning.message
    assert "fallback takes over" in warning.message
    assert [getattr(e, "step_id", None) for e in fallback_saw] == [None, "s1", "s2"]
    assert emitter.state.steps["s2"].status == "running"


def test_a_journal_that_cannot_be_written_stops_side_effects() -> None:
    emitter, bus, journal = _emitter()
    journal.fail_after = 1
    shown: list[Event] = []
    bus.subscribe(shown.append)
    emitter.emit(StepStarted(step_id="a", attempt=1))
    asyncio.run(emitter.durable())
    emitter.emit(StepStarted(step_id="b", attempt=1))
    with pytest.raises(JournalLost, match="No space left"):
        asyncio.run(emitter.durable())
    assert [type(e).__name__ for e in shown] == ["StepStarted", "LogMessage", "StepStarted"]
    assert len(journal.events) == 1


def test_clean_event_keeps_a_clean_event_as_it_is() -> None:
    event = StepStarted(step_id="a", attempt=1, action="true")
    assert clean_event(event, str) is event


# -- at the level the user works: the CLI, the journal file, the JSON stream ---------------

T8 = {
    "version": 1,
    "name": "t8",
    "steps": [
        {
            "id": "probe",
            "run": "false",
            "on_failure": "continue",
            "outputs": {"v": "{{ stdout | trim }}"},
        },
        {
            "id": "decide",
            "branch": [
                {
                    "name": "a",
                    "when": "not steps.probe.ok or steps.probe.outputs.v == 'x'",
                    "steps": [{"id": "s1", "run": "echo a"}],
                },
                {"else": [{"id": "s2", "run": "echo b"}]},
            ],
        },
    ],
    "finally": [{"id": "tell", "log": "outputs {{ steps.probe.outputs }} {{ failure.step }}"}],
}

JOURNAL_ONLY = ("v", "seq", "run_id", "plan_hash")


def _journal_records(state: Path) -> list[dict[str, Any]]:
    (journal,) = state.glob("runs/*/journal.jsonl")
    return [json.loads(line) for line in journal.read_text().splitlines()]


def _as_stream(record: dict[str, Any]) -> dict[str, Any]:
    """A journal record as `--output json` prints it: without the journal's own fields."""
    import dataclasses

    from recoverctl.engine.events import EVENT_TYPES

    own = {f.name for f in dataclasses.fields(EVENT_TYPES[record["event"]])}
    return {k: v for k, v in record.items() if k not in JOURNAL_ONLY or k == "v" or k in own}


def test_a_decision_reading_a_failed_steps_output_is_recorded_to_the_end(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, T8)
    state = tmp_path / "state"
    result = run_cli(
        ["run", str(path), "--output", "json", "-q"], env={"RECOVERCTL_STATE_DIR": str(state)}
    )
    assert result.returncode == 0, result.stderr
    stream = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in stream]
    assert "branch_decided" in kinds and kinds[-1] == "run_finished"
    decided = next(e for e in stream if e["event"] == "branch_decided")
    assert decided["values"]["steps.probe.outputs.v"] == "<undefined: v>"
    records = _journal_records(state)
    assert [_as_stream(r) for r in records] == stream
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    shown = run_cli(["show", records[0]["run_id"]], env={"RECOVERCTL_STATE_DIR": str(state)})
    assert "succeeded" in shown.stdout and "running" not in shown.stdout


def test_a_crashing_view_falls_back_and_the_run_and_journal_stay_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recoverctl.present.plain_log import PlainLog
    from tests.conftest import invoke

    original = PlainLog.line
    broken_once: list[bool] = []

    def line(self: PlainLog, event: Event) -> str | None:
        if isinstance(event, BranchDecided) and not broken_once:
            broken_once.append(True)
            raise RuntimeError("broken on purpose")
        return original(self, event)

    monkeypatch.setattr(PlainLog, "line", line)
    monkeypatch.setenv("RECOVERCTL_STATE_DIR", str(tmp_path / "state"))
    path = write_runbook(tmp_path, T8)
    result = invoke(["run", str(path), "--no-tty"])
    assert result.exit_code == 0, result.output
    records = _journal_records(tmp_path / "state")
    assert records[-1]["event"] == "run_finished" and records[-1]["status"] == "succeeded"
    assert "branch_decided" in [r["event"] for r in records]
    (warning,) = [r for r in records if r["event"] == "log" and r["level"] == "warning"]
    assert "log failed (RuntimeError: broken on purpose)" in warning["message"]
    assert "fallback takes over" in warning["message"]


# -- the property: for any run, journal == stream, replay == state, last == run_finished ----

_OUTCOMES = ["ok", "ok_int", "fail", "hang"]


@st.composite
def _runbooks(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    count = draw(st.integers(2, 6))
    steps: list[dict[str, Any]] = []
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for index in range(count):
        sid = f"s{index}"
        earlier = [f"s{i}" for i in range(index)]
        outcome = draw(st.sampled_from(_OUTCOMES))
        step: dict[str, Any] = {
            "id": sid,
            "run": f"echo {sid}",
            "timeout": "5s",
            "on_failure": draw(st.sampled_from(["continue", "continue", "rollback", "abort"])),
            "outputs": {"v": draw(st.sampled_from(["{{ stdout | trim }}", "{{ stdout | int }}"]))},
        }
        if draw(st.booleans()):
            step["rollback"] = {"run": f"echo undo {sid}"}
        if earlier and draw(st.booleans()):
            other = draw(st.sampled_from(earlier))
            step["when"] = draw(
                st.sampled_from(
                    [
                        f"steps.{other}.outputs.v == 'x'",
                        f"not steps.{other}.ok or steps.{other}.outputs.v == 1",
                        f"steps.{other}.status != 'skipped'",
                    ]
                )
            )
        if earlier and draw(st.booleans()):
            other = draw(st.sampled_from(earlier))
            steps.append(
                {
                    "id": f"say{index}",
                    "log": f"saw {{{{ steps.{other}.outputs.v }}}}",
                    "on_failure": "continue",
                }
            )
        steps.append(step)
        outcomes[sid] = [
            {
                "ok": {"ok": True, "stdout": "x\n"},
                "ok_int": {"ok": True, "stdout": "1\n"},
                "fail": {"ok": False, "exit_code": 1, "stderr": "boom"},
                "hang": {"ok": False, "hang": True},
            }[outcome]
        ]
    if draw(st.booleans()):
        last = f"s{count - 1}"
        steps.append(
            {
                "id": "pick",
                "branch": [
                    {
                        "when": f"steps.{last}.outputs.v == 'x'",
                        "steps": [{"id": "p1", "run": "echo p1"}],
                    },
                    {"else": [{"id": "p2", "run": "echo p2"}]},
                ],
            }
        )
    data = {
        "version": 1,
        "name": "prop",
        "steps": steps,
        "finally": [
            {"id": "fin", "log": "{{ run.status }} {{ failure.step }} {{ steps.s0.outputs }}"}
        ],
    }
    return data, outcomes


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_runbooks())
def test_journal_stream_and_replay_agree_for_any_run(tmp_path: Path, case: Any) -> None:
    import asyncio
    import io

    from recoverctl.actions.base import AttemptResult
    from recoverctl.engine.executor import SimulatedExecutor
    from recoverctl.engine.runner import Engine, RunOptions
    from recoverctl.engine.state import replay
    from recoverctl.engine.virtual_time import VirtualClock
    from recoverctl.journal.reader import read_journal
    from recoverctl.journal.store import Store
    from recoverctl.journal.writer import JournalWriter
    from recoverctl.present.json_events import JsonLines
    from tests.helpers import build

    data, outcomes = case
    _, plan = build(tmp_path, data)
    store = Store(tmp_path / f"state-{id(case)}")
    run = store.create("prop-run", "text")
    stream = io.StringIO()
    bus = EventBus()
    bus.subscribe(JsonLines(stream), "json")
    scripted = {
        sid: [
            AttemptResult(
                ok=o["ok"],
                exit_code=o.get("exit_code", 0 if o["ok"] else None),
                stdout=o.get("stdout", ""),
                stderr=o.get("stderr", ""),
                error=None if o["ok"] else "boom",
                data={"hang": True} if o.get("hang") else {},
            )
        ]
        for sid, items in outcomes.items()
        for o in items
    }
    engine = Engine(
        plan,
        RunOptions(run_id="prop-run", params={}, environ={}, seed=0),
        bus=bus,
        executor=SimulatedExecutor(scripted),
        clock=VirtualClock(),
    )
    writer = JournalWriter(run, plan.hash)
    engine.record_to(writer)
    from recoverctl.engine.virtual_time import run_virtual

    run_virtual(engine.run())
    writer.close()
    journal = read_journal(run.journal)
    assert not journal.problems and not journal.torn_tail
    records = [_as_stream(r) for r in journal.records]
    assert records == [json.loads(line) for line in stream.getvalue().splitlines()]
    assert journal.events[-1].kind == "run_finished"
    replayed = replay(journal.events)
    live = engine.state
    assert replayed.status == live.status
    assert {k: (v.status, v.attempts, v.outputs, v.error) for k, v in replayed.steps.items()} == {
        k: (v.status, v.attempts, v.outputs, v.error) for k, v in live.steps.items()
    }
    assert [(d.step_id, d.label) for d in replayed.decisions] == [
        (d.step_id, d.label) for d in live.decisions
    ]
    del asyncio
