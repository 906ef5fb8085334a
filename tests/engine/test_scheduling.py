"""Order, parallelism, locks, branches and guards, shown by the events the engine emits."""

from __future__ import annotations

from pathlib import Path

from recoverctl.engine.events import BranchDecided, RunFinished, StepFinished, StepStarted
from tests.engine.harness import fail, ok, run_engine
from tests.helpers import run_step, runbook_data


def _sleepers(n: int, **options: object) -> list[dict[str, object]]:
    return [run_step(f"p{i}", "sleep 0.2", **options) for i in range(n)]


def test_sequence_runs_in_order_and_succeeds(tmp_path: Path) -> None:
    out = run_engine(tmp_path, runbook_data(run_step("a"), run_step("b"), run_step("c")))
    assert out.code == 0
    assert out.started_order() == ["a", "b", "c"]
    assert isinstance(out.events[-1], RunFinished) and out.events[-1].status == "succeeded"


def test_parallel_members_overlap(tmp_path: Path) -> None:
    out = run_engine(tmp_path, runbook_data({"id": "g", "parallel": _sleepers(3)}), real=True)
    assert out.code == 0
    kinds = [
        (type(e).__name__, getattr(e, "step_id", ""))
        for e in out.events
        if isinstance(e, StepStarted | StepFinished) and getattr(e, "step_id", "").startswith("p")
    ]
    # all three started before the first one finished
    first_finish = next(i for i, (k, _) in enumerate(kinds) if k == "StepFinished")
    assert {s for k, s in kinds[:first_finish] if k == "StepStarted"} == {"p0", "p1", "p2"}


def test_max_parallel_bounds_overlap(tmp_path: Path) -> None:
    out = run_engine(
        tmp_path, runbook_data({"id": "g", "max_parallel": 2, "parallel": _sleepers(4)}), real=True
    )
    assert _max_overlap(out.events) == 2


def test_runbook_concurrency_bounds_nested_groups(tmp_path: Path) -> None:
    data = runbook_data(
        {
            "id": "g",
            "parallel": [
                {"id": "l1", "parallel": _sleepers(2)},
                {"id": "l2", "parallel": [run_step(f"q{i}", "sleep 0.2") for i in range(2)]},
            ],
        },
        concurrency=3,
    )
    out = run_engine(tmp_path, data, real=True)
    assert _max_overlap(out.events) == 3


def test_steps_sharing_a_lock_never_overlap(tmp_path: Path) -> None:
    out = run_engine(
        tmp_path, runbook_data({"id": "g", "parallel": _sleepers(3, locks=["db"])}), real=True
    )
    assert out.code == 0
    assert _max_overlap(out.events) == 1


def test_branch_takes_first_matching_case_and_skips_the_rest(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("check", outputs={"lag": "{{ stdout | trim | int }}"}),
        {
            "id": "pick",
            "branch": [
                {"when": "steps.check.outputs.lag < 5", "steps": [run_step("promote")]},
                {"when": "steps.check.outputs.lag < 50", "steps": [run_step("catch_up")]},
                {"else": [run_step("restore")]},
            ],
        },
    )
    out = run_engine(tmp_path, data, outcomes={"check": [ok("12\n")]})
    decision = next(e for e in out.events if isinstance(e, BranchDecided))
    assert (decision.case_index, decision.label) == (1, "steps.check.outputs.lag < 50")
    assert decision.values == {"steps.check.outputs.lag": 12}
    assert out.status("catch_up") == "succeeded"
    assert out.status("promote") == out.status("restore") == "skipped"


def test_branch_with_no_match_and_no_else_runs_nothing(tmp_path: Path) -> None:
    data = runbook_data(
        {"id": "pick", "branch": [{"when": "false", "steps": [run_step("x")]}]},
    )
    out = run_engine(tmp_path, data)
    decision = next(e for e in out.events if isinstance(e, BranchDecided))
    assert decision.case_index is None
    assert out.status("x") == "skipped"
    assert out.code == 0


def test_when_guard_skips_a_whole_group(tmp_path: Path) -> None:
    data = runbook_data(
        {"id": "g", "when": "false", "steps": [run_step("a"), run_step("b")]}, run_step("c")
    )
    out = run_engine(tmp_path, data)
    assert [out.status(s) for s in "gabc" if s in out.state.steps] == [
        "skipped",
        "skipped",
        "skipped",
        "succeeded",
    ]


def test_skip_if_check_marks_unchanged(tmp_path: Path) -> None:
    marker = tmp_path / "done"
    marker.write_text("")
    data = runbook_data(
        run_step("fence", f"touch {tmp_path}/ran", skip_if={"run": f"test -e {marker}"}),
        run_step("other", f"touch {tmp_path}/other", skip_if={"run": f"test -e {tmp_path}/nope"}),
        run_step("guarded", "true", skip_if="steps.fence.status == 'unchanged'"),
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.status("fence") == "unchanged"
    assert not (tmp_path / "ran").exists()
    assert out.status("other") == "succeeded" and (tmp_path / "other").exists()
    assert out.status("guarded") == "unchanged"


def test_failed_check_with_continue_lets_the_run_go_on(tmp_path: Path) -> None:
    data = runbook_data(run_step("probe", on_failure="continue"), run_step("next"))
    out = run_engine(tmp_path, data, outcomes={"probe": [fail(2)]})
    assert out.code == 0
    assert out.status("probe") == "failed" and out.status("next") == "succeeded"


def test_abort_stops_without_rollback(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", rollback={"run": "undo"}), run_step("b", on_failure="abort"), run_step("c")
    )
    out = run_engine(tmp_path, data, outcomes={"b": [fail()]})
    assert out.code == 1
    assert "c" not in out.state.steps or out.status("c") == "pending"
    assert not any(e.kind == "rollback_started" for e in out.events)
    assert out.state.status == "failed"


def _max_overlap(events: list[object]) -> int:
    running, peak = 0, 0
    for event in events:
        sid = getattr(event, "step_id", "")
        if not sid or sid in ("g", "l1", "l2"):
            continue
        if isinstance(event, StepStarted):
            running += 1
            peak = max(peak, running)
        elif isinstance(event, StepFinished) and event.status in (
            "succeeded",
            "failed",
            "timed_out",
        ):
            running -= 1
    return peak
