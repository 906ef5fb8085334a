"""The journal reader against journals as crashes, disks and hands leave them.

`tests/golden/journal/rolled_back.jsonl` is a real run's journal, checked in:
the format cannot drift without this test noticing, and every damaged
variant below is made from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recoverctl.engine.state import replay
from recoverctl.errors import RecoverctlError
from recoverctl.journal.reader import read_journal
from recoverctl.journal.store import Store
from recoverctl.journal.writer import JournalWriter
from tests.conftest import GOLDEN

GOLDEN_JOURNAL = GOLDEN / "journal" / "rolled_back.jsonl"


def _lines() -> list[str]:
    return GOLDEN_JOURNAL.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_the_golden_journal_replays_to_what_the_run_did() -> None:
    journal = read_journal(GOLDEN_JOURNAL)
    assert not journal.problems and not journal.torn_tail
    state = replay(journal.events)
    assert state.status == "rolled_back" and state.exit_code == 1
    assert [(d.step_id, d.label) for d in state.decisions] == [
        ("pick", "steps.probe.outputs.state == 'up'")
    ]
    assert state.rolled_back() == ["fix"]
    assert state.steps["probe"].outputs == {"state": "up"}
    assert state.steps["verify"].status == "failed"
    assert journal.last_seq == len(_lines())


def test_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    lines = _lines()
    torn = [*lines[:-1], lines[-1][: len(lines[-1]) // 2]]
    journal = read_journal(_write(tmp_path, torn))
    assert journal.torn_tail and not journal.problems
    assert len(journal.events) == len(lines) - 1


def test_a_corrupt_middle_record_is_reported_with_its_line_and_the_rest_replays(
    tmp_path: Path,
) -> None:
    lines = _lines()
    lines[4] = (
        '{"v": 1, "seq": 5, "event": "step_output", "step_id": "probe", "stream": "stdout", "text": true}\n'
    )
    lines[6] = "{not json\n"
    journal = read_journal(_write(tmp_path, lines))
    assert [d.span.line for d in journal.problems] == [5, 7]
    assert "step_output.text: expected string, found bool" in journal.problems[0].message
    assert "not JSON" in journal.problems[1].message
    assert replay(journal.events).status == "rolled_back"


@pytest.mark.parametrize(
    "record",
    [
        '{"v": 1, "seq": 3, "event": "teleported", "step_id": "x"}',
        '{"v": 1, "seq": 3, "event": "step_finished", "status": "succeeded"}',
        '{"v": 1, "seq": 3, "event": "run_finished", "run_id": "x", "status": "ok", "exit_code": 0, "duration": 1e300}',
        '{"v": 1, "seq": 3, "event": "rollback_started", "reason": "x", "steps": [1, 2]}',
        "[1, 2, 3]",
        "true",
        '{"v": "1", "event": "log"}',
    ],
)
def test_records_of_the_wrong_shape_are_skipped_not_crashed_on(tmp_path: Path, record: str) -> None:
    lines = _lines()
    lines.insert(2, record + "\n")
    journal = read_journal(_write(tmp_path, lines))
    assert len(journal.problems) == 1 and journal.problems[0].span.line == 3
    assert replay(journal.events).status == "rolled_back"


def test_a_journal_from_a_newer_recoverctl_is_refused_clearly(tmp_path: Path) -> None:
    lines = _lines()
    record = json.loads(lines[3])
    record["v"] = 2
    lines[3] = json.dumps(record) + "\n"
    with pytest.raises(RecoverctlError) as raised:
        read_journal(_write(tmp_path, lines))
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.span.line == 4 and "newer recoverctl" in diagnostic.message


def test_appending_after_a_torn_tail_cuts_it_first(tmp_path: Path) -> None:
    run = Store(tmp_path / "state").create("r", "text")
    lines = _lines()
    run.journal.write_text("".join(lines) + lines[0][:40], encoding="utf-8")
    writer = JournalWriter(run, "hash", seq=len(lines))
    from recoverctl.engine.events import LogMessage

    writer.append(LogMessage(step_id=None, level="info", message="after the crash"))
    writer.close()
    journal = read_journal(run.journal)
    assert not journal.problems and not journal.torn_tail
    assert journal.events[-1].kind == "log" and len(journal.events) == len(lines) + 1
