"""The live view, the plain log and the summary, rendered at 80 columns and compared with golden files."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from recoverctl.engine.events import Event, RetryScheduled, RollbackStarted
from recoverctl.present.live_view import LiveView
from recoverctl.present.plain_log import PlainLog
from recoverctl.present.summary import print_summary
from tests.conftest import GOLDEN, check_golden
from tests.engine.harness import SteppedClock, fail, ok, run_with
from tests.helpers import build, run_step, runbook_data

SHOWCASE = runbook_data(
    {
        "id": "probe",
        "name": "Probe",
        "parallel": [
            run_step("primary_up", "pg_isready -h db-1", on_failure="continue", timeout="5s"),
            run_step(
                "replica_lag",
                "./bin/replica-lag",
                outputs={"lag": "{{ stdout | trim | int }}"},
                timeout="5s",
            ),
        ],
    },
    {
        "id": "choose",
        "branch": [
            {
                "name": "promote",
                "when": "not steps.primary_up.ok and steps.replica_lag.outputs.lag < 10",
                "steps": [
                    run_step(
                        "fence",
                        "./bin/fence db-1",
                        rollback={"run": "./bin/unfence db-1"},
                        timeout="10s",
                    ),
                    run_step(
                        "promote",
                        "./bin/promote",
                        timeout="30s",
                        retry={"attempts": 3, "delay": "2s", "backoff": "exponential"},
                        rollback={"run": "./bin/demote"},
                    ),
                ],
            },
            {"else": [run_step("restore", "./bin/restore-latest-backup", timeout="4m")]},
        ],
    },
    run_step("verify", "./bin/verify --write --read", timeout="10s"),
    name="showcase",
    objectives={"rto": "5m"},
)
SHOWCASE["finally"] = [{"id": "notify", "log": "run {{ run.status }}"}]
OUTCOMES = {
    "primary_up": [fail(2, stderr="db-1:5432 - no response")],
    "replica_lag": [ok("3\n")],
    "promote": [fail(1, stderr="server is starting up"), ok("promoted\n")],
    "verify": [fail(1, stderr="ERROR: cannot execute INSERT in a read-only transaction")],
}


def _console(buffer: io.StringIO) -> Console:
    return Console(
        file=buffer, width=80, force_terminal=True, color_system=None, legacy_windows=False
    )


def test_live_view_mid_run_and_at_the_end(tmp_path: Path) -> None:
    clock = SteppedClock()
    _, plan = build(tmp_path, SHOWCASE)
    view = LiveView(plan, _console(io.StringIO()), clock=clock.monotonic)
    frames: dict[str, str] = {}

    def snapshot(event: Event) -> None:
        if isinstance(event, RetryScheduled) and "retry" not in frames:
            frames["retry"] = _render(view)
        if isinstance(event, RollbackStarted):
            frames["rollback"] = _render(view)

    code = run_with(tmp_path, SHOWCASE, [view, snapshot], outcomes=OUTCOMES, clock=clock)
    assert code == 1
    frames["end"] = _render(view)
    for name, text in frames.items():
        check_golden(GOLDEN / "present" / f"live_{name}.txt", text)
    assert "↻ promote" in frames["retry"] and "retry in 2s" in frames["retry"]
    flat = " ".join(frames["end"].split())
    assert "→ promote" in flat
    assert "(steps.primary_up.ok = false, steps.replica_lag.outputs.lag = 3)" in flat
    assert "ROLLBACK" in frames["end"]


def test_plain_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    buffer = io.StringIO()
    run_with(tmp_path, SHOWCASE, [PlainLog(buffer)], outcomes=OUTCOMES)
    check_golden(GOLDEN / "present" / "plain_log.txt", buffer.getvalue())
    assert "\x1b" not in buffer.getvalue()


def test_summary(tmp_path: Path) -> None:
    clock = SteppedClock()
    _, plan = build(tmp_path, SHOWCASE)
    view = LiveView(plan, _console(io.StringIO()), clock=clock.monotonic)
    run_with(tmp_path, SHOWCASE, [view], outcomes=OUTCOMES, clock=clock)
    buffer = io.StringIO()
    print_summary(_console(buffer), plan, view.state, journal="~/.local/state/recoverctl/runs/x")
    check_golden(GOLDEN / "present" / "summary.txt", buffer.getvalue())


def test_long_runs_fold_finished_groups(tmp_path: Path) -> None:
    data = runbook_data(
        *[{"id": f"g{i}", "parallel": [run_step(f"s{i}_{j}") for j in range(5)]} for i in range(12)]
    )
    clock = SteppedClock()
    _, plan = build(tmp_path, data)
    view = LiveView(plan, _console(io.StringIO()), clock=clock.monotonic)
    run_with(tmp_path, data, [view], clock=clock)
    text = _render(view)
    assert "s0_0" not in text  # the oldest finished steps fold into a summary
    assert "✔ s11_4" in text  # the newest stay on screen
    assert len(text.splitlines()) <= 24  # the test console is 25 lines tall


def test_plan_view_uses_the_same_language(tmp_path: Path) -> None:
    from recoverctl.present.plan_view import render_plan

    _, plan = build(tmp_path, SHOWCASE)
    buffer = io.StringIO()
    _console(buffer).print(render_plan(plan, {}, frozenset()))
    check_golden(GOLDEN / "present" / "plan.txt", _strip_paths(buffer.getvalue(), tmp_path))


def _render(view: LiveView) -> str:
    buffer = io.StringIO()
    _console(buffer).print(view.render())
    return buffer.getvalue()


def _strip_paths(text: str, tmp_path: Any) -> str:
    return re.sub(r"plan [0-9a-f]{12}", "plan <hash>", text.replace(str(tmp_path), "<tmp>"))


def test_wide_runs_fit_a_terminal(tmp_path: Path) -> None:
    from recoverctl.engine.events import StepOutput, StepStarted

    data = runbook_data(
        *[
            {"id": f"g{g}", "parallel": [run_step(f"s{g}_{i}") for i in range(20)]}
            for g in range(10)
        ]
    )
    _, plan = build(tmp_path, data)
    view = LiveView(plan, _console(io.StringIO()), clock=lambda: 0.0)
    view(StepStarted(step_id="g0", attempt=1, action="parallel"))
    for i in range(20):
        view(StepStarted(step_id=f"s0_{i}", attempt=1))
        view(StepOutput(step_id=f"s0_{i}", stream="stdout", text=f"chatty output {i}\n"))
    text = _render(view)
    assert "… 180 to go" in text  # groups that have not started fold to one summary
    assert "chatty output" not in text  # 20 running at once: no output lines
    assert all(f"s0_{i} " in text for i in range(20))  # every running step is on screen
    assert len(text.splitlines()) <= 24


def test_double_ctrl_c_end_screen_names_what_was_not_undone(tmp_path: Path) -> None:
    """The first Ctrl-C rolls back; the second skips the rest: the end screen says what is
    left done and the exact command that undoes it."""
    from recoverctl.engine.events import StepStarted
    from recoverctl.engine.runner import Engine

    data = runbook_data(
        *[run_step(f"prepare_{i}", rollback={"run": f"undo {i}"}) for i in range(4)],
        run_step("long", "sleep 600", timeout="20m"),
        name="interrupted",
    )
    engines: list[Engine] = []
    clock = SteppedClock()
    _, plan = build(tmp_path, data)
    view = LiveView(plan, _console(io.StringIO()), clock=clock.monotonic)
    frames: list[str] = []

    def press(event: Event) -> None:
        if isinstance(event, StepStarted) and event.step_id == "long":
            engines[0].interrupt()
        if isinstance(event, StepStarted) and event.step_id == "prepare_2.rollback":
            frames.append(_render(view))  # mid-rollback, after one Ctrl-C
            engines[0].interrupt()

    outcomes = {
        "long": [ok(data={"delay": 600})],
        **{f"prepare_{i}.rollback": [ok(data={"delay": 5})] for i in range(4)},
    }
    code = run_with(
        tmp_path,
        data,
        [view, press],
        outcomes=outcomes,
        clock=clock,
        engine_hook=engines.append,
    )
    assert code == 130
    buffer = io.StringIO()
    print_summary(
        _console(buffer), plan, view.state, undo="recoverctl rollback 20270115T020304Z-abc123"
    )
    end = buffer.getvalue()
    check_golden(GOLDEN / "present" / "summary_double_interrupt.txt", end)
    assert "Ctrl-C skips the rest" in frames[0]
    assert "not undone: prepare_2, prepare_1, prepare_0" in end
    assert "to undo them: recoverctl rollback 20270115T020304Z-abc123" in end
