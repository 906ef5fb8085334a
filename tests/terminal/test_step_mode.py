"""`run --step` on a real terminal: each action shown before it runs, and asked about."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def spawn(tmp_path: Path, *steps: dict[str, object]) -> pexpect.spawn:
    path = write_runbook(tmp_path, runbook_data(*steps))
    return pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "run", str(path), "--step", "--state-dir", str(tmp_path / "s")],
        env={"NO_COLOR": "1", "TERM": "xterm", "PATH": "/usr/bin:/bin"},
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 80),
    )


def overrides(tmp_path: Path) -> list[tuple[str, str]]:
    (journal,) = (tmp_path / "s").glob("runs/*/journal.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    return [(e["step_id"], e["action"]) for e in events if e["event"] == "operator_override"]


def test_run_skip_and_run_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = spawn(
        tmp_path,
        run_step("a", f"echo a >> {out}"),
        run_step("b", f"echo b >> {out}"),
        run_step("c", f"echo c >> {out}"),
        run_step("d", f"echo d >> {out}"),
    )
    child.expect(f">> next: 'a': echo a >> {out}")
    child.sendline("r")
    child.expect(">> next: 'b'")
    child.sendline("s")
    child.expect("skip     b: skipped \\(by operator ")
    child.expect(">> next: 'c'")
    child.sendline("x")  # not an answer: asked again
    child.expect("answer r, s, a or e")
    child.sendline("e")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text().split() == ["a", "c", "d"]  # d ran without asking
    assert ">> next: 'd'" not in (child.before or "")
    assert overrides(tmp_path) == [("a", "step_run"), ("b", "step_skip"), ("c", "step_rest")]


def test_abort_stops_before_the_step_and_undoes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = spawn(
        tmp_path,
        run_step("a", f"echo a >> {out}", rollback={"run": f"echo undo >> {out}"}),
        run_step("b", f"echo b >> {out}"),
    )
    child.expect(">> next: 'a'")
    child.sendline("r")
    child.expect(">> next: 'b'")
    child.sendline("a")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert out.read_text().split() == ["a"]
    assert "stopped by operator" in (child.before or "")


def test_step_needs_a_terminal_and_is_not_for_yes(tmp_path: Path) -> None:
    path = str(write_runbook(tmp_path, runbook_data(run_step("a"))))
    assert "it needs a terminal" in run_cli(["run", path, "--step"]).stderr
    assert "--step and --yes do not go together" in run_cli(["run", path, "--step", "--yes"]).stderr


def test_a_resume_of_a_stepped_run_asks_too(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    child = spawn(tmp_path, run_step("a"), run_step("b", f"test -e {fixed}", on_failure="abort"))
    child.expect(">> next: 'a'")
    child.sendline("r")
    child.expect(">> next: 'b'")
    child.sendline("r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    fixed.touch()
    (run_id,) = [p.name for p in (tmp_path / "s" / "runs").iterdir()]
    again = pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "resume", run_id, "--state-dir", str(tmp_path / "s")],
        env={"NO_COLOR": "1", "TERM": "xterm", "PATH": "/usr/bin:/bin"},
        encoding="utf-8",
        timeout=30,
    )
    again.expect(">> next: 'b'")  # a completed: not asked again, never run again
    again.sendline("r")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0
