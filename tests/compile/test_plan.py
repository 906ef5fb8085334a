"""The compiler: structure, edges, worst case along the critical path, width, rollback order."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverctl.compile.plan import EdgeKind
from recoverctl.compile.timing import schedule
from recoverctl.model.runbook import Backoff, RetryPolicy
from tests.helpers import build, run_step, runbook_data


def test_sequence_sums_attempts_times_timeout_plus_backoff(tmp_path: Path) -> None:
    data = runbook_data(
        run_step(
            "a", timeout="10s", retry={"attempts": 3, "delay": "1s", "backoff": "exponential"}
        ),
        run_step("b", timeout="5s"),
        objectives={"rto": "40s"},
    )
    _, plan = build(tmp_path, data)
    # a: 3 × 10 s + waits 1 s + 2 s; b: 5 s
    assert plan.node("a").worst_case == 33
    assert plan.worst_case == 38
    assert plan.critical_path == ("a", "b")
    assert plan.rto_met is True
    assert [(e.source, e.target, e.kind) for e in plan.edges] == [("a", "b", EdgeKind.NEXT)]


def test_parallel_is_list_scheduled_on_its_slots(tmp_path: Path) -> None:
    children = [run_step(f"c{i}", timeout=f"{t}s") for i, t in enumerate([4, 3, 2, 1])]
    data = runbook_data({"id": "g", "parallel": children, "max_parallel": 2})
    _, plan = build(tmp_path, data)
    # slots: [4 | 3, then 2 on slot 2 at t=3 → 5, then 1 on slot 1 at t=4 → 5]
    assert plan.node("g").worst_case == 5
    assert plan.max_width == 2
    assert {e.target for e in plan.edges if e.kind is EdgeKind.FORK} == {"c0", "c1", "c2", "c3"}


def test_concurrency_caps_width(tmp_path: Path) -> None:
    data = runbook_data(
        {"id": "g", "parallel": [run_step(f"c{i}", timeout="1s") for i in range(6)]}, concurrency=3
    )
    _, plan = build(tmp_path, data)
    assert plan.max_width == 3
    assert plan.worst_case == 2


def test_branch_takes_its_slowest_case_and_labels_edges(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("check", timeout="1s", on_failure="continue"),
        {
            "id": "pick",
            "branch": [
                {"when": "steps.check.ok", "steps": [run_step("fast", timeout="2s")]},
                {"else": [run_step("slow", timeout="9s"), run_step("slower", timeout="1s")]},
            ],
        },
    )
    _, plan = build(tmp_path, data)
    assert plan.node("pick").worst_case == 10
    assert plan.critical_path == ("check", "slow", "slower")
    labels = {(e.target, e.label) for e in plan.edges if e.kind is EdgeKind.CASE}
    assert labels == {("fast", "steps.check.ok"), ("slow", "else")}
    assert plan.node("pick").cases[1].when is None


def test_guard_rescue_and_run_timeout_count(tmp_path: Path) -> None:
    data = runbook_data(
        run_step(
            "a",
            timeout="10s",
            skip_if={"run": "true", "timeout": "2s"},
            rescue=[run_step("fix", timeout="3s")],
        ),
        timeout="12s",
    )
    data["finally"] = [run_step("last", timeout="1s")]
    _, plan = build(tmp_path, data)
    assert plan.node("a").worst_case == 15
    assert plan.node("a.skip_if").role == "guard"
    assert plan.worst_case == 12 + 1  # main capped by the run timeout, then finally


def test_missing_timeout_makes_worst_case_unbounded(tmp_path: Path) -> None:
    _, plan = build(tmp_path, runbook_data(run_step("a")))
    assert math.isinf(plan.worst_case)
    assert plan.rto_met is None


def test_sleep_and_approval_bounds(tmp_path: Path) -> None:
    data = runbook_data(
        {"id": "s", "sleep": "3s"}, {"id": "ok", "approval": "go?", "timeout": "1m"}
    )
    _, plan = build(tmp_path, data)
    assert plan.worst_case == 63


def test_rollback_order_is_reverse_document_order(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", rollback={"run": "undo a"}),
        run_step("b"),
        {
            "id": "g",
            "parallel": [
                run_step("c", rollback={"run": "undo c"}),
                run_step("d", rollback={"run": "undo d"}),
            ],
        },
    )
    _, plan = build(tmp_path, data)
    assert plan.rollback_order == ("d", "c", "a")
    assert plan.node("a.rollback").role == "rollback"


def test_group_timeout_bounds_the_group(tmp_path: Path) -> None:
    data = runbook_data({"id": "g", "timeout": "5s", "steps": [run_step("a", timeout="10s")]})
    _, plan = build(tmp_path, data)
    assert plan.worst_case == 5


def test_plan_hash_changes_with_the_runbook(tmp_path: Path) -> None:
    _, first = build(tmp_path, runbook_data(run_step("a")))
    _, same = build(tmp_path, runbook_data(run_step("a")))
    _, other = build(tmp_path, runbook_data(run_step("a", "false")))
    assert first.hash == same.hash != other.hash


def test_call_uses_the_callee_worst_case(tmp_path: Path) -> None:
    from tests.helpers import write_runbook

    write_runbook(tmp_path, runbook_data(run_step("inner", timeout="7s"), name="sub"), "sub.yaml")
    data = runbook_data({"id": "c", "call": {"runbook": "sub.yaml"}, "timeout": "1m"})
    _, plan = build(tmp_path, data)
    assert plan.worst_case == 7
    assert plan.node("c").callee is not None


@given(st.lists(st.floats(min_value=0, max_value=100), max_size=30), st.integers(1, 8))
def test_schedule_bounds(durations: list[float], slots: int) -> None:
    makespan, _ = schedule(durations, slots)
    if durations:
        assert makespan >= max(durations) - 1e-9
        assert makespan >= sum(durations) / slots - 1e-9
        assert makespan <= sum(durations) / slots + max(durations) + 1e-9  # Graham's bound
    else:
        assert makespan == 0


@given(
    st.integers(1, 20),
    st.floats(0.001, 10),
    st.floats(1, 4),
    st.one_of(st.none(), st.floats(0.001, 30)),
)
def test_retry_waits_never_exceed_max_delay(
    attempts: int, delay: float, factor: float, cap: float | None
) -> None:
    policy = RetryPolicy(attempts, delay, Backoff.EXPONENTIAL, factor, cap)
    waits = [policy.wait_before_retry(n) for n in range(1, attempts)]
    assert all(w <= (cap if cap is not None else math.inf) + 1e-9 for w in waits)
    assert waits == sorted(waits)
    assert policy.total_wait() == pytest.approx(sum(waits))


def test_a_fan_out_s_summary_says_what_its_worst_case_was_counted_from(tmp_path: Path) -> None:
    step = run_step("restart", timeout="10s")
    step["foreach"] = {
        "items": ["a", "b", "c", "d"],
        "canary": 1,
        "batch": 2,
        "max_parallel": 2,
        "max_failures": 1,
        "stop_running": True,
    }
    _, plan = build(tmp_path, runbook_data(step))
    assert plan.node("restart").fanout_summary() == (
        "foreach item: 4 items in 1+2+1 waves, 2 at a time, up to 1 may fail "
        "(then the running ones are stopped)"
    )
    assert plan.node("restart").worst_case == 30  # three waves of one 10 s round each
