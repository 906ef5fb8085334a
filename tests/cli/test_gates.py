"""Approval gates answered from other shells: `recoverctl approve` / `deny` against a real
run waiting without a terminal — who answered, the four-eyes rule, races, late answers,
a run that died — and the record each leaves in the journal and the reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from recoverctl.model.approvals import Tally, Voter
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook

pytestmark = pytest.mark.skipif(not hasattr(__import__("socket"), "SO_PEERCRED"), reason="Linux")


def test_without_a_terminal_the_run_waits_and_an_approval_from_another_shell_lets_it_on(
    gated: Any,
) -> None:
    run = gated({"approval": "Promote db-2?"})
    waiting = run.events("approval_requested")[0]
    assert waiting["answer_with"] == f"recoverctl approve {run.run_id} gate"
    assert not run.marker.exists()
    said = run.answer("approve", run.run_id[:18], "-m", "lag is 0", "--as", "Ana (SRE)")
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith(f"run {run.run_id}, gate 'gate': approved by ")
    code, err = run.finish()
    assert code == 0, err
    assert run.marker.exists()
    (vote,) = run.events("approval_vote")
    assert vote["counted"] and vote["comment"] == "lag is 0" and vote["as_name"] == "Ana (SRE)"
    import pwd

    assert vote["user"] == pwd.getpwuid(os.getuid()).pw_name  # the kernel's word, not --as
    assert "answer from any shell: recoverctl approve" in err  # the plain log said how
    report = run_cli(
        ["report", run.run_id, "--format", "markdown"],
        env={"RECOVERCTL_STATE_DIR": str(run.tmp_path / "state")},
    )
    assert 'said approve — "lag is 0": approved by' in report.stdout


def test_a_denial_stops_the_run_at_the_gate(gated: Any) -> None:
    run = gated({"approval": "Promote db-2?"})
    listed = run.answer("runs", "--format", "json")
    (row,) = json.loads(listed.stdout)
    assert row["status"] == "waiting at gate"  # `runs` shows who is waiting for an answer
    said = run.answer("deny", run.run_id, "gate", "-m", "lag too high")
    assert said.returncode == 0 and "denied by" in said.stdout
    code, err = run.finish()
    assert code == 1
    assert not run.marker.exists()
    assert "not approved" in err


def test_answers_that_change_nothing_say_why_and_exit_2(gated: Any) -> None:
    run = gated({"approval": {"prompt": "go?", "min_approvals": 2}})
    wrong = run.answer("approve", run.run_id, "promote")
    assert wrong.returncode == 2 and "not waiting at 'promote': it waits at 'gate'" in wrong.stderr
    mine = run.answer("approve", run.run_id)  # the one who started it: four eyes
    assert mine.returncode == 2
    assert "started this run: their approval does not count (four-eyes rule)" in mine.stderr
    assert "2 more approvals needed" in mine.stderr
    assert run.proc.poll() is None  # still waiting
    assert run.answer("deny", run.run_id).returncode == 0  # anyone allowed may say no
    code, _ = run.finish()
    assert code == 1
    late = run.answer("approve", run.run_id)
    assert late.returncode == 2 and "has ended (failed); there is nothing to answer" in late.stderr
    votes = run.events("approval_vote")
    assert [v["counted"] for v in votes] == [False, True]  # every answer is on the record


def test_two_answers_at_once_count_once(gated: Any) -> None:
    run = gated({"approval": "go?"})
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(run.answer("approve", run.run_id)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.returncode for r in results)
    assert codes[0] == 0 and codes[1:] != [0, 0], [r.stderr for r in results]
    for refused in (r for r in results if r.returncode):
        assert "already approved" in refused.stderr or "has ended" in refused.stderr
    assert run.finish()[0] == 0
    assert len(run.events("approval_answered")) == 1


def test_no_answer_within_the_timeout_takes_the_default(gated: Any) -> None:
    run = gated({"approval": {"prompt": "go?", "default": "approve"}, "timeout": "1s"})
    code, err = run.finish()
    assert code == 0, err
    assert "no answer within 1s: default (approve)" in err
    assert not list(
        Path(os.environ.get("TMPDIR", "/tmp")).glob(f"recoverctl-gates-*/{run.run_id}.sock")
    )


def test_an_answer_for_a_killed_run_says_it_is_gone(gated: Any) -> None:
    run = gated({"approval": "go?"})
    run.proc.send_signal(signal.SIGKILL)
    run.finish()
    said = run.answer("approve", run.run_id)
    assert said.returncode == 2
    assert "is not running any more (its process is gone" in said.stderr
    assert f"recoverctl resume {run.run_id}" in said.stderr


def test_a_gate_on_a_terminal_shows_how_to_answer_it_elsewhere(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    marker = tmp_path / "after"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "gate", "approval": "go?", "timeout": "1m"}, run_step("after", f"touch {marker}")
        ),
    )
    state = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "run", str(path), "--no-tty"],
        env={**os.environ, **state, "NO_COLOR": "1"},
        timeout=30,
        encoding="utf-8",
    )
    child.expect("or from another shell: recoverctl approve (\\S+) gate")
    run_id = child.match.group(1)
    said = run_cli(["approve", run_id], env=state)  # answered elsewhere: the prompt goes away
    assert said.returncode == 0, said.stderr
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert marker.exists()


@pytest.mark.parametrize(
    ("tally", "answers", "decision"),
    [
        (Tally("op"), [("op", True)], True),
        (Tally("op"), [("eve", True)], None),  # no approvers: only the run's own user
        (Tally("op", ("ana", "group:sre")), [("op", True), ("bob", True)], True),  # bob in sre
        (Tally("op", min_approvals=2), [("op", True), ("op", True)], None),
        (Tally("op", ("ana", "bob"), 2), [("ana", True), ("ana", True), ("bob", True)], True),
        (Tally("op", ("ana", "bob"), 2), [("ana", True), ("bob", False)], False),
    ],
)
def test_who_counts(tally: Tally, answers: list[tuple[str, bool]], decision: bool | None) -> None:
    groups = {"bob": frozenset({"sre"})}
    for user, approve in answers:
        tally.answer(Voter(user, groups.get(user, frozenset())), approve)
    assert tally.decision is decision
    after = tally.answer(Voter("op"), True)
    if decision is not None:
        assert not after.counted and "already" in after.message
