"""call: sub-runbooks with params, nested ids, outputs for the caller, shared rollback."""

from __future__ import annotations

from pathlib import Path

from recoverctl.engine.events import StepFinished
from tests.conftest import run_cli
from tests.engine.harness import run_engine
from tests.helpers import run_step, runbook_data, write_runbook


def _sub(tmp_path: Path, log: Path, *, fail: bool = False) -> None:
    write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "prepare",
                f"echo sub-prepare-{{{{ params.host }}}} >> {log}",
                rollback={"run": f"echo undo-sub-prepare >> {log}"},
            ),
            run_step(
                "analyze",
                "exit 1" if fail else "echo 42",
                outputs={"rows": "{{ stdout | trim | int }}"},
            ),
            params={"host": {"type": "string", "required": True}},
            name="reindex",
        ),
        "reindex.yaml",
    )


def test_call_runs_the_sub_runbook_nested_and_exposes_its_outputs(tmp_path: Path) -> None:
    log = tmp_path / "log"
    _sub(tmp_path, log)
    data = runbook_data(
        {
            "id": "reindex",
            "call": {"runbook": "reindex.yaml", "params": {"host": "{{ params.host }}"}},
            "timeout": "1m",
        },
        {"id": "check", "assert": "steps.reindex.outputs.analyze.rows == 42"},
        params={"host": {"type": "string", "default": "db-9"}},
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 0, out.state.error
    assert log.read_text().split() == ["sub-prepare-db-9"]
    finished = [e.step_id for e in out.events if isinstance(e, StepFinished)]
    assert "reindex/prepare" in finished and "reindex/analyze" in finished


def test_a_failed_caller_rolls_back_the_sub_runbooks_steps_too(tmp_path: Path) -> None:
    log = tmp_path / "log"
    _sub(tmp_path, log)
    data = runbook_data(
        run_step("first", f"echo first >> {log}", rollback={"run": f"echo undo-first >> {log}"}),
        {
            "id": "reindex",
            "call": {"runbook": "reindex.yaml", "params": {"host": "h"}},
            "timeout": "1m",
        },
        run_step("verify", "exit 1"),
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 1
    assert log.read_text().split() == ["first", "sub-prepare-h", "undo-sub-prepare", "undo-first"]
    assert out.state.steps["reindex/prepare"].status == "rolled_back"


def test_a_failing_sub_runbook_fails_the_call_step(tmp_path: Path) -> None:
    log = tmp_path / "log"
    _sub(tmp_path, log, fail=True)
    data = runbook_data(
        {
            "id": "reindex",
            "call": {"runbook": "reindex.yaml", "params": {"host": "h"}},
            "timeout": "1m",
        }
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 1
    assert "sub-runbook 'reindex' failed" in (out.state.steps["reindex"].error or "")
    assert log.read_text().split() == ["sub-prepare-h", "undo-sub-prepare"]


def test_an_invalid_sub_runbook_is_reported_in_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "version: 1\nname: broken\nsteps:\n  - id: a\n    rn: 'true'\n"
    )
    caller = write_runbook(
        tmp_path, runbook_data({"id": "sub", "call": {"runbook": "broken.yaml"}})
    )
    result = run_cli(["validate", str(caller)])
    assert result.returncode == 2
    assert f"{tmp_path / 'broken.yaml'}:5:5: error: unknown key 'rn'" in result.stderr
    assert "called runbook 'broken.yaml' is invalid" in result.stderr


def test_call_params_are_checked_against_the_callee(tmp_path: Path) -> None:
    _sub(tmp_path, tmp_path / "log")
    caller = write_runbook(
        tmp_path,
        runbook_data({"id": "sub", "call": {"runbook": "reindex.yaml", "params": {"hots": "x"}}}),
    )
    result = run_cli(["validate", str(caller)])
    assert result.returncode == 2
    assert (
        "'reindex' has no param 'hots'" in result.stderr and "did you mean 'host'?" in result.stderr
    )
    assert "without its required param 'host'" in result.stderr


def test_a_gate_no_one_can_answer_inside_a_sub_runbook_blocks_the_run(tmp_path: Path) -> None:
    # the gate's "no terminal" used to be remembered by the child engine only, so the caller
    # reported an interrupted run (exit 130) instead of one blocked at a gate (exit 4)
    write_runbook(
        tmp_path,
        runbook_data({"id": "gate", "approval": {"prompt": "go?"}, "timeout": "1m"}, name="gated"),
        "gated.yaml",
    )
    data = runbook_data({"id": "sub", "call": {"runbook": "gated.yaml"}, "timeout": "1m"})
    out = run_engine(tmp_path, data, real=True)
    assert out.state.status == "blocked"
    assert out.code == 4


def _sub_with_flag(tmp_path: Path, log: Path, flag: Path) -> None:
    write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "a",
                f"echo ran-a >> {log}; echo from-a",
                rollback={"run": f"echo undo-a >> {log}"},
                outputs={"said": "{{ stdout | trim }}"},
            ),
            run_step("b", f"test -f {flag} && echo {{{{ steps.a.stdout | trim }}}} >> {log}"),
            name="sub",
        ),
        "sub.yaml",
    )


def test_resume_continues_inside_a_called_runbook_without_redoing_its_steps(
    tmp_path: Path,
) -> None:
    # the sub-runbook's engine started fresh on resume: its completed steps ran again
    log, flag = tmp_path / "log", tmp_path / "ok"
    _sub_with_flag(tmp_path, log, flag)
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("first", f"echo ran-first >> {log}"),
            {"id": "sub", "call": {"runbook": "sub.yaml"}, "timeout": "1m", "on_failure": "abort"},
        ),
    )
    state = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
    assert run_cli(["run", "--no-tty", str(path)], env=state).returncode == 1
    flag.touch()
    run_id = next((tmp_path / "state" / "runs").iterdir()).name
    resumed = run_cli(["resume", run_id], env=state)
    assert resumed.returncode == 0, resumed.stderr
    # a ran once, and b read what a printed in the first session
    assert log.read_text().split() == ["ran-first", "ran-a", "from-a"]


def test_rollback_undoes_a_called_runbooks_steps_too(tmp_path: Path) -> None:
    # `recoverctl rollback` looked for sub/a's compensation in the caller's plan, found
    # none, reported the run rolled back (exit 0) and left sub/a done
    log, flag = tmp_path / "log", tmp_path / "ok"
    _sub_with_flag(tmp_path, log, flag)
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "first", f"echo ran-first >> {log}", rollback={"run": f"echo undo-first >> {log}"}
            ),
            {"id": "sub", "call": {"runbook": "sub.yaml"}, "timeout": "1m", "on_failure": "abort"},
        ),
    )
    state = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
    assert run_cli(["run", "--no-tty", str(path)], env=state).returncode == 1
    run_id = next((tmp_path / "state" / "runs").iterdir()).name
    undone = run_cli(["rollback", run_id, "--yes"], env=state)
    assert undone.returncode == 0, undone.stderr
    assert log.read_text().split() == ["ran-first", "ran-a", "undo-a", "undo-first"]
    assert "not undone" not in undone.stderr


def test_a_sub_runbook_that_cannot_be_made_again_is_a_failed_undo_not_a_clean_one(
    tmp_path: Path,
) -> None:
    # the call's params read an environment variable the rollback session does not have:
    # its steps' compensations cannot be rendered, and the record must say so (exit 3)
    log = tmp_path / "log"
    write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "a",
                f"echo ran-a-{{{{ params.host }}}} >> {log}",
                rollback={"run": f"echo undo-a >> {log}"},
            ),
            run_step("b", "exit 1", on_failure="abort"),
            params={"host": {"type": "string", "required": True}},
            name="sub",
        ),
        "sub.yaml",
    )
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "sub",
                "call": {"runbook": "sub.yaml", "params": {"host": "{{ env.TARGET_HOST }}"}},
                "timeout": "1m",
                "on_failure": "abort",
            },
        ),
    )
    state = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state")}
    ran = run_cli(["run", "--no-tty", str(path)], env={**state, "TARGET_HOST": "db-9"})
    assert ran.returncode == 1, ran.stderr
    run_id = next((tmp_path / "state" / "runs").iterdir()).name
    undone = run_cli(["rollback", run_id, "--yes"], env=state)
    assert undone.returncode == 3, undone.stderr
    assert "cannot be undone here" in undone.stderr
    assert "undo-a" not in log.read_text()
