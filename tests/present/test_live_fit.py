"""Every frame of the live view fits the terminal and keeps what is happening now on screen.

The view is rendered after every event of whole runs (26 steps, a failure, a
slow rollback) at 60x20, 80x24 and 120x40: no frame is taller than the
terminal less one line (a frame as tall as the terminal scrolls it, and frames
stack in the scrollback), no line is wider, and the running steps, the newest
failure, the rollback panel and the header's status are in every frame.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from recoverctl.engine.events import Event, StepFinished
from recoverctl.present import fold
from recoverctl.present.live_view import LiveView
from tests.engine.harness import SteppedClock, fail, ok, run_with
from tests.helpers import build, run_step, runbook_data

SIZES = [(60, 20), (80, 24), (120, 40)]


def _long_runbook() -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        run_step(f"prepare_{i}", rollback={"run": f"undo {i}"}, timeout="10s") for i in range(8)
    ]
    steps.append(
        {
            "id": "warm",
            "parallel": [run_step(f"warm_shard_{i}", timeout="10s") for i in range(6)],
        }
    )
    steps.append(
        {
            "id": "choose",
            "branch": [
                {"name": "fast", "when": "params.fast", "steps": [run_step("fast_path")]},
                {"else": [run_step(f"slow_{i}", timeout="10s") for i in range(4)]},
            ],
        }
    )
    steps += [run_step(f"check_{i}", timeout="10s") for i in range(6)]
    steps.append(run_step("verify", timeout="10s"))
    steps += [run_step(f"after_{i}") for i in range(4)]
    data = runbook_data(*steps, name="long-recovery", objectives={"rto": "10m"})
    data["params"] = {"fast": {"type": "boolean", "default": False}}
    return data


OUTCOMES = {
    "verify": [fail(1, stderr="replication is still broken on db-2")],
    **{f"prepare_{i}.rollback": [ok(), ok()] for i in range(8)},
}


def _frame(view: LiveView, width: int, height: int) -> list[str]:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, height=height, force_terminal=True, color_system=None
    )
    view.console = console
    console.print(view.render())
    return buffer.getvalue().splitlines()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_frame_fits_and_shows_what_runs_now(tmp_path: Path, width: int, height: int) -> None:
    data = _long_runbook()
    clock = SteppedClock()
    _, plan = build(tmp_path, data)
    view = LiveView(plan, Console(file=io.StringIO()), clock=clock.monotonic)
    seen = {"failure": 0, "rollback": 0, "rolling back": 0, "frames": 0}

    def check(event: Event) -> None:
        lines = _frame(view, width, height)
        screen = "\n".join(lines)
        seen["frames"] += 1
        assert len(lines) <= height - 1, screen
        assert all(Text(line).cell_len <= width for line in lines), screen
        for step_id, step in view.state.steps.items():
            if step.status in ("running", "retrying") and "." not in step_id:
                assert f" {step_id}" in screen, f"running {step_id} is off screen:\n{screen}"
        if view.newest_failure == "verify" and not view.state.rolling_back:
            assert "✘ verify" in screen and "replication is still broken" in screen, screen
            seen["failure"] += 1
        if view.state.rolling_back:
            assert "ROLLBACK" in screen and lines[0].startswith("● rolling back"), screen
            seen["rolling back"] += 1
            compensating = [
                sid
                for sid in view.rollback_order
                if view.state.steps.get(f"{sid}.rollback") is not None
                and view.state.steps[f"{sid}.rollback"].status == "running"
            ]
            for sid in compensating:
                assert f"{sid}  undoing" in screen, screen
            seen["rollback"] += bool(compensating)
        if isinstance(event, StepFinished) and event.status == "running":
            pytest.fail("impossible")

    code = run_with(tmp_path, data, [view, check], outcomes=OUTCOMES, clock=clock)
    assert code == 1
    assert seen["failure"] and seen["rolling back"] and seen["rollback"], seen
    end = "\n".join(_frame(view, width, height))
    assert end.splitlines()[0].startswith("● rolled back")
    assert "ROLLBACK finished" in end


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_folded_parts_say_how_much_is_behind_and_ahead(
    tmp_path: Path, width: int, height: int
) -> None:
    data = _long_runbook()
    clock = SteppedClock()
    _, plan = build(tmp_path, data)
    view = LiveView(plan, Console(file=io.StringIO()), clock=clock.monotonic)
    frames: list[str] = []

    def grab(event: Event) -> None:
        if isinstance(event, StepFinished) and event.step_id == "check_2":
            frames.append("\n".join(_frame(view, width, height)))

    run_with(tmp_path, data, [view, grab], clock=clock)
    (frame,) = frames
    if height < 40:
        assert "done" in frame and "to go" in frame, frame


ROW = st.builds(
    fold.Row,
    text=st.text(alphabet="abc ✔", max_size=30).map(Text),
    priority=st.integers(fold.ACTIVE, fold.REST),
    indent=st.integers(0, 4),
    fold=st.sampled_from([None, *fold.FOLDS]),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROW, max_size=80), budget=st.integers(1, 60))
def test_fit_never_exceeds_its_budget_and_keeps_the_active_rows(
    rows: list[fold.Row], budget: int
) -> None:
    lines = fold.fit(rows, budget)
    assert len(lines) <= budget
    active = [row for row in rows if row.priority == fold.ACTIVE]
    if len(active) < budget:
        shown = [line.plain for line in lines]
        for row in active:
            assert "  " * row.indent + row.text.plain in shown
    if len(rows) <= budget:
        assert [line.plain for line in lines] == ["  " * r.indent + r.text.plain for r in rows]
