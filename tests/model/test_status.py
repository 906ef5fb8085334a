"""Every view, report and schema covers the whole status vocabulary (model/status.py).

A status added to the enum but missing from a table would show as a bare word, the
wrong colour, or fail a consumer's schema check: these tests name the table.
"""

from __future__ import annotations

import json

import pytest

from recoverctl.engine.ending import EXIT_CODES
from recoverctl.engine.state import FINAL_STATUSES, OK_STATUSES
from recoverctl.model.status import (
    ENDED_RUN_STATUSES,
    FINAL_STEP_STATUSES,
    OK_STEP_STATUSES,
    RunStatus,
    StepStatus,
)
from recoverctl.present import fold, history_tables, live_view, plain_log, summary
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("table", "covers"),
    [
        (live_view.GLYPHS, set(StepStatus)),
        (fold.FOLD_OF_STATUS, set(StepStatus)),
        (summary.STATUS_STYLE, set(StepStatus)),
        (plain_log.STATUS_WORDS, FINAL_STEP_STATUSES - {StepStatus.PENDING}),
        (summary.RUN_STYLE, ENDED_RUN_STATUSES),
        (history_tables.STATUS_STYLE, set(RunStatus)),
        (EXIT_CODES, ENDED_RUN_STATUSES),
    ],
    ids=["live glyphs", "folds", "summary", "plain log", "summary result", "runs", "exit codes"],
)
def test_every_table_covers_the_vocabulary(table: dict[str, object], covers: set[str]) -> None:
    assert covers <= set(table), sorted(covers - set(table))


def test_the_engine_uses_the_vocabulary() -> None:
    assert FINAL_STATUSES == FINAL_STEP_STATUSES and OK_STATUSES == OK_STEP_STATUSES
    assert set(EXIT_CODES) == ENDED_RUN_STATUSES  # no exit code for a status that cannot end


def test_the_event_schema_enumerates_the_vocabulary() -> None:
    schema = json.loads((ROOT / "schemas" / "events.schema.json").read_text())
    by_kind = {variant["title"]: variant["properties"] for variant in schema["oneOf"]}
    assert set(by_kind["step_finished"]["status"]["enum"]) == FINAL_STEP_STATUSES
    assert set(by_kind["run_finished"]["status"]["enum"]) == ENDED_RUN_STATUSES


def test_a_status_is_its_string_in_the_journal() -> None:
    """The journal format does not change: members serialise as the words they always were."""
    assert json.dumps({"status": StepStatus.TIMED_OUT}) == '{"status": "timed_out"}'
    assert RunStatus("rolled_back") is RunStatus.ROLLED_BACK
