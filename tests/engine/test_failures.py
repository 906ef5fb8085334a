"""Retries, timeouts, rescue, saga rollback and finally: what happens when things go wrong."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from recoverctl.engine.events import (
    AttemptFailed,
    LogMessage,
    RetryScheduled,
    RollbackStarted,
    StepRolledBack,
)
from tests.engine.harness import fail, ok, run_engine
from tests.helpers import run_step, runbook_data


def test_retries_count_and_exponential_backoff_schedule(tmp_path: Path) -> None:
    retry = {"attempts": 4, "delay": "1s", "backoff": "exponential", "factor": 3, "max_delay": "5s"}
    out = run_engine(
        tmp_path,
        runbook_data(run_step("flaky", retry=retry)),
        outcomes={"flaky": [fail(), fail(), fail(), ok()]},
    )
    assert out.code == 0
    assert out.state.steps["flaky"].attempts == 4
    assert [e.delay for e in out.events if isinstance(e, RetryScheduled)] == [1, 3, 5]
    assert out.clock.slept == [1, 3, 5]
    assert len([e for e in out.events if isinstance(e, AttemptFailed)]) == 3


def test_jitter_stays_between_half_and_all_of_the_wait(tmp_path: Path) -> None:
    retry = {"attempts": 6, "delay": "2s", "jitter": True}
    out = run_engine(tmp_path, runbook_data(run_step("j", retry=retry)), outcomes={"j": [fail()]})
    assert len(out.clock.slept) == 5
    assert all(1.0 <= s <= 2.0 for s in out.clock.slept)


def test_retry_when_limits_which_failures_are_retried(tmp_path: Path) -> None:
    retry = {"attempts": 5, "delay": "1s", "when": "exit_code in [75, 111]"}
    out = run_engine(
        tmp_path,
        runbook_data(run_step("s", retry=retry)),
        outcomes={"s": [fail(75), fail(111), fail(2), ok()]},
    )
    assert out.state.steps["s"].attempts == 3
    assert out.code == 1


def test_non_idempotent_step_is_not_retried_by_default(tmp_path: Path) -> None:
    data = runbook_data(run_step("promote", idempotent=False), defaults={"retry": {"attempts": 5}})
    out = run_engine(tmp_path, data, outcomes={"promote": [fail(), ok()]})
    assert out.state.steps["promote"].attempts == 1
    data = runbook_data(run_step("promote", idempotent=False, retry={"attempts": 2}))
    out = run_engine(tmp_path, data, outcomes={"promote": [fail(), ok()]})
    assert out.state.steps["promote"].attempts == 2 and out.code == 0


def test_timeout_kills_the_whole_process_tree(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"(sleep 300 & echo $! >> {pids}; wait) & (sleep 300 & echo $! >> {pids}; wait) & echo $$ >> {pids}; wait"
    started = time.monotonic()
    out = run_engine(tmp_path, runbook_data(run_step("hang", script, timeout="1s")), real=True)
    assert time.monotonic() - started < 10
    assert out.status("hang") == "timed_out"
    assert out.code == 1
    time.sleep(0.2)
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"process {pid} survived the timeout"


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_timeout_kills_a_command_that_ignores_sigterm(tmp_path: Path) -> None:
    # the timeout cancelled the wait for the command's exit, and with it the future the kill
    # waited on: SIGTERM was sent, the SIGKILL after the grace never was, and the command
    # kept running while the run reported it timed out and went on to roll back
    pids = tmp_path / "pids"
    script = f"trap '' TERM INT; echo $$ >> {pids}; exec sleep 300"
    out = run_engine(
        tmp_path, runbook_data(run_step("stubborn", script, timeout="500ms")), real=True
    )
    assert out.status("stubborn") == "timed_out"
    time.sleep(0.2)
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"process {pid} survived the timeout"


def test_a_timeout_is_retried(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    script = f"echo x >> {counter}; [ $(wc -l < {counter}) -ge 2 ] || sleep 30"
    out = run_engine(
        tmp_path,
        runbook_data(run_step("slow", script, timeout="500ms", retry={"attempts": 2})),
        real=True,
    )
    assert out.code == 0
    assert out.state.steps["slow"].attempts == 2


def test_rescue_recovers_and_the_run_succeeds(tmp_path: Path) -> None:
    data = runbook_data(
        run_step(
            "dns", rescue=[{"id": "page", "log": "paging: {{ failure.step }} {{ failure.error }}"}]
        ),
        run_step("after"),
    )
    out = run_engine(tmp_path, data, outcomes={"dns": [fail(3)]})
    assert out.code == 0
    assert out.state.steps["dns"].rescued
    assert out.status("after") == "succeeded"
    message = next(e for e in out.events if isinstance(e, LogMessage) and e.step_id == "page")
    assert message.message == "paging: dns exited with 3"


def test_failed_rescue_falls_back_to_on_failure(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", rollback={"run": "undo"}), run_step("dns", rescue=[run_step("fix")])
    )
    out = run_engine(tmp_path, data, outcomes={"dns": [fail()], "fix": [fail()]})
    assert out.code == 1
    assert out.state.status == "rolled_back"


def test_rollback_runs_in_reverse_order_of_completion_across_parallel_branches(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    data = runbook_data(
        run_step("first", f"echo do-first >> {log}", rollback={"run": f"echo undo-first >> {log}"}),
        {
            "id": "g",
            "parallel": [
                run_step(
                    "slow",
                    f"sleep 0.4; echo do-slow >> {log}",
                    rollback={"run": f"echo undo-slow >> {log}"},
                ),
                run_step(
                    "fast", f"echo do-fast >> {log}", rollback={"run": f"echo undo-fast >> {log}"}
                ),
            ],
        },
        run_step("no_undo", "true"),
        run_step("verify", "exit 1"),
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 1
    assert log.read_text().split() == [
        "do-first",
        "do-fast",
        "do-slow",
        "undo-slow",
        "undo-fast",
        "undo-first",
    ]
    started = next(e for e in out.events if isinstance(e, RollbackStarted))
    assert started.steps == ["slow", "fast", "first"]
    assert all(out.status(s) == "rolled_back" for s in ("first", "slow", "fast"))
    assert out.status("no_undo") == "succeeded"


def test_failure_cancels_running_siblings_and_kills_them(tmp_path: Path) -> None:
    data = runbook_data(
        {
            "id": "g",
            "parallel": [run_step("long", "sleep 60"), run_step("bad", "sleep 0.3; exit 1")],
        }
    )
    started = time.monotonic()
    out = run_engine(tmp_path, data, real=True)
    assert time.monotonic() - started < 10
    assert out.status("long") == "cancelled"
    assert out.status("bad") == "failed"


def test_failed_rollback_continues_with_the_rest_and_exits_3(tmp_path: Path) -> None:
    log = tmp_path / "log"
    data = runbook_data(
        run_step("a", "true", rollback={"run": f"echo undo-a >> {log}"}),
        run_step("b", "true", rollback={"run": "exit 9"}),
        run_step("c", "exit 1"),
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 3
    assert out.state.status == "rollback_failed"
    assert log.read_text().split() == ["undo-a"]
    undone = {e.step_id: e.ok for e in out.events if isinstance(e, StepRolledBack)}
    assert undone == {"b": False, "a": True}


def test_finally_always_runs_and_sees_the_outcome(tmp_path: Path) -> None:
    data = runbook_data(run_step("a"), run_step("b"))
    data["finally"] = [{"id": "summary", "log": "{{ run.status }} at {{ failure.step }}"}]
    out = run_engine(tmp_path, data, outcomes={"b": [fail()]})
    message = next(e for e in out.events if isinstance(e, LogMessage) and e.step_id == "summary")
    assert message.message == "failed at b"  # nothing declared a rollback: failed, not rolled back
    assert out.events[-1].kind == "run_finished"


def test_run_timeout_stops_the_run(tmp_path: Path) -> None:
    data = runbook_data(run_step("a", "sleep 30", rollback={"run": "true"}), timeout="500ms")
    started = time.monotonic()
    out = run_engine(tmp_path, data, real=True)
    assert time.monotonic() - started < 10
    assert out.code == 1
    assert "timeout" in (out.state.error or "")


def test_outputs_are_typed_and_readable_by_later_steps(tmp_path: Path) -> None:
    data = runbook_data(
        run_step(
            "count",
            "echo '{\"n\": 41}'",
            outputs={"n": "{{ json.n + 1 }}", "raw": "{{ stdout | trim }}"},
        ),
        {"id": "check", "assert": ["steps.count.outputs.n == 42", "steps.count.ok"]},
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 0, out.state.error
    assert out.state.steps["count"].outputs == {"n": 42, "raw": '{"n": 41}'}


def test_each_attempt_gets_run_step_and_stable_idempotency_key(tmp_path: Path) -> None:
    record = tmp_path / "env"
    cmd = f'echo "$RECOVERCTL_RUN_ID $RECOVERCTL_STEP_ID $RECOVERCTL_IDEMPOTENCY_KEY" >> {record}; exit 1'
    out = run_engine(tmp_path, runbook_data(run_step("s", cmd, retry={"attempts": 2})), real=True)
    first, second = record.read_text().splitlines()
    assert first == second
    run_id, step_id, key = first.split()
    assert (run_id, step_id) == ("test-run", "s") and len(key) == 32
    assert out.code == 1


def test_missing_command_is_a_clear_failure(tmp_path: Path) -> None:
    out = run_engine(
        tmp_path, runbook_data(run_step("x", "true", run=["no-such-tool-xyz", "--flag"])), real=True
    )
    assert out.status("x") == "failed"
    assert out.state.steps["x"].error == "command not found: no-such-tool-xyz"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_crashing_action_fails_its_step_and_the_run_still_rolls_back(tmp_path: Path) -> None:
    from recoverctl.engine.executor import RealExecutor

    class Broken(RealExecutor):
        async def attempt(self, step, ctx, attempt):  # type: ignore[no-untyped-def]
            if step.id == "b":
                raise RuntimeError("bug in an action")
            return await super().attempt(step, ctx, attempt)

    log = tmp_path / "log"
    data = runbook_data(
        run_step("a", f"echo a >> {log}", rollback={"run": f"echo undo-a >> {log}"}), run_step("b")
    )
    out = run_engine(tmp_path, data, executor=Broken())
    assert out.code == 1 and out.state.status == "rolled_back"
    assert "internal error in the run action: RuntimeError: bug in an action" in (
        out.state.steps["b"].error or ""
    )
    assert log.read_text().split() == ["a", "undo-a"]


def test_a_sibling_whose_command_finished_as_it_was_cancelled_is_done_and_undone(
    tmp_path: Path,
) -> None:
    """When y fails the group cancels x; x's command had exited 0 by then (the action says
    so: actions/run.py). x did its work: it is succeeded in the record and undone by the
    rollback — not `cancelled` with its effect left in place."""
    import asyncio

    from recoverctl.engine.executor import RealExecutor

    log = tmp_path / "log"

    class Racing(RealExecutor):
        async def attempt(self, step, ctx, attempt):  # type: ignore[no-untyped-def]
            if step.id == "x":
                log.write_text("x\n")
                ctx.exited_before_stopped(ok("x\n"))
                await asyncio.sleep(60)  # the exit not seen yet when the cancel comes
            if step.id == "y":
                await asyncio.sleep(0.05)
                return fail(1)
            return await super().attempt(step, ctx, attempt)

    data = runbook_data(
        {
            "id": "group",
            "parallel": [
                run_step("x", "true", rollback={"run": f"echo undo-x >> {log}"}),
                run_step("y", "true"),
            ],
        },
    )
    out = run_engine(tmp_path, data, executor=Racing())
    assert out.state.status == "rolled_back"
    assert out.status("x") == "rolled_back" and out.state.steps["x"].attempts == 1
    assert log.read_text().split() == ["x", "undo-x"]
