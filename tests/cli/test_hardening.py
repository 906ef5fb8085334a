"""Faults an operator meets: the SSH session drops, a resume races a live run, a pid is reused,
the terminal closes at a prompt, the process dies during its rollback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.durable import journal_records, killed_at, run_ids, start, wait_until
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and ") Z " not in stat.read_text()


def test_sighup_stops_rolls_back_and_records_the_end(tmp_path: Path, state: dict[str, str]) -> None:
    started, undone = tmp_path / "started", tmp_path / "undone"
    pidfile = tmp_path / "pid"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("first", "true", rollback={"run": f"touch {undone}"}),
            run_step("hang", f"echo $$ > {pidfile}; touch {started}; sleep 60"),
        ),
    )
    proc = start(path, state)
    wait_until(started.exists)
    proc.send_signal(signal.SIGHUP)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert undone.exists()
    wait_until(lambda: not _alive(int(pidfile.read_text())), timeout=5)
    (run_id,) = run_ids(tmp_path)
    records = journal_records(tmp_path, run_id)
    assert records[-1]["event"] == "run_finished" and records[-1]["status"] == "interrupted"


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_resume_of_a_live_run_is_refused_and_touches_nothing(
    tmp_path: Path, state: dict[str, str]
) -> None:
    started, done = tmp_path / "started", tmp_path / "done"
    path = write_runbook(
        tmp_path,
        runbook_data(run_step("work", f"touch {started}; sleep 3; touch {done}", idempotent=True)),
    )
    proc = start(path, state)
    wait_until(started.exists)
    (run_id,) = run_ids(tmp_path)
    refused = run_cli(["resume", run_id, "--rerun"], env=state)
    assert refused.returncode == 2
    assert "refusing to touch run" in refused.stderr and "holds the lock" in refused.stderr
    rollback = run_cli(["rollback", run_id, "--yes"], env=state)
    assert rollback.returncode == 2
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and done.exists()  # the live run was not killed
    records = journal_records(tmp_path, run_id)
    assert [r["event"] for r in records].count("run_finished") == 1


def test_resume_never_kills_a_process_that_is_not_the_runs(
    tmp_path: Path, state: dict[str, str]
) -> None:
    started = tmp_path / "started"
    path = write_runbook(
        tmp_path,
        runbook_data(run_step("work", f"touch {started}; sleep 30", idempotent=True)),
    )
    run_id = killed_at(path, state, started)
    # A process's identity is its start time in clock ticks (10 ms): a real pid is reused
    # only after the whole pid space wrapped, never within a tick of its first process,
    # but this test fakes the reuse, so it starts the bystander a few ticks later.
    time.sleep(0.05)
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        journal = tmp_path / "state" / "runs" / run_id / "journal.jsonl"
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        for record in records:  # a pid reused by another process: the record points at it
            if record["event"] == "process_started":
                record["pid"] = bystander.pid
        journal.write_text("".join(json.dumps(r) + "\n" for r in records))
        path.write_text(path.read_text().replace("sleep 30", "true"))
        result = run_cli(["resume", run_id, "--force"], env=state)
        assert result.returncode == 0, result.stderr
        assert "is now another process" in result.stderr
        assert bystander.poll() is None  # still alive
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_compensation_in_flight_at_a_crash_runs_again_without_asking(
    tmp_path: Path, state: dict[str, str]
) -> None:
    undoing, log = tmp_path / "undoing", tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "a",
                "true",
                rollback={"run": f"echo undo >> {log}; touch {undoing}; sleep 30", "timeout": "1m"},
            ),
            run_step("b", "exit 1"),
        ),
    )
    run_id = killed_at(path, state, undoing)
    path.write_text(path.read_text().replace("sleep 30", "true"))
    result = run_cli(["resume", run_id, "--force"], env=state, input="")
    assert result.returncode == 1, result.stderr  # rolled back
    assert log.read_text().split() == ["undo", "undo"]


def test_eof_at_an_approval_prompt_is_no_answer(tmp_path: Path, state: dict[str, str]) -> None:
    pexpect = pytest.importorskip("pexpect")
    marker = tmp_path / "approved"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "gate", "approval": {"prompt": "go?", "default": "approve"}, "timeout": "1m"},
            run_step("after", f"touch {marker}"),
        ),
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "recoverctl", "run", str(path), "--no-tty"],
        env={**os.environ, **state, "NO_COLOR": "1"},
        timeout=30,
    )
    child.expect("Approve")
    time.sleep(0.2)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4  # blocked at the gate, resumable
    assert not marker.exists()


def test_a_template_bomb_fails_its_step_and_ctrl_c_still_works(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("bomb", "echo {{ 9 ** (9 ** 9) }}", on_failure="continue"),
            {"id": "rope", "log": "{{ 'x' * 100000000 }}", "on_failure": "continue"},
        ),
    )
    assert run_cli(["validate", str(path)], timeout=20).returncode == 0
    result = run_cli(["run", str(path), "--no-journal"], timeout=20)
    assert "larger than 4096 bits: refused" in result.stderr
    assert "over 1000000: refused" in result.stderr


def test_terminal_escapes_from_a_step_never_reach_the_terminal_or_the_report(
    tmp_path: Path, state: dict[str, str]
) -> None:
    forged = (
        r"printf 'x\033]52;c;cHduZWQ=\007\033]0;owned\007\033[2K\033[1A\rall steps succeeded\n'"
    )
    path = write_runbook(tmp_path, runbook_data(run_step("evil", forged + "; exit 1")))
    result = run_cli(["run", str(path), "-v"], env=state)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    (run_id,) = run_ids(tmp_path)
    for command in (["show", run_id], ["report", run_id]):
        out = run_cli(command, env=state).stdout
        assert "\x1b" not in out and "\x07" not in out, command


def test_reports_are_private_and_whole(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("a")))
    files = {name: tmp_path / name for name in ("r.json", "j.xml", "m.prom")}
    result = run_cli(
        [
            "run",
            str(path),
            "--no-journal",
            "--report",
            str(files["r.json"]),
            "--junit",
            str(files["j.xml"]),
            "--metrics",
            str(files["m.prom"]),
        ]
    )
    assert result.returncode == 0, result.stderr
    for file in files.values():
        assert file.stat().st_mode & 0o777 == 0o600, file
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_state_folder_that_is_a_link_or_not_ours_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    path = write_runbook(tmp_path, runbook_data(run_step("a")))
    result = run_cli(["run", str(path)], env={"RECOVERCTL_STATE_DIR": str(link)})
    assert result.returncode == 2
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    if os.getuid() == 0:  # root can make a folder that belongs to someone else
        other = tmp_path / "other"
        other.mkdir()
        os.chown(other, 65534, 65534)
        result = run_cli(["run", str(path)], env={"RECOVERCTL_STATE_DIR": str(other)})
        assert result.returncode == 2
        assert "belongs to another user" in result.stderr


def test_a_cache_entry_that_cannot_be_loaded_is_a_miss(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = write_runbook(tmp_path, runbook_data(run_step("a")))
    env = {"RECOVERCTL_CACHE_DIR": str(cache)}
    assert run_cli(["run", str(path), "--no-journal"], env=env).returncode == 0
    (entry,) = cache.glob("*.pickle")
    # an entry from another build: its class moved, unpickling raises ModuleNotFoundError
    entry.write_bytes(b"crecoverctl.compile.moved_away\nPlan\n.")
    entry.chmod(0o600)
    result = run_cli(["run", str(path), "--no-journal"], env=env)
    assert result.returncode == 0, result.stderr


def test_a_background_child_holding_stdout_does_not_hold_the_step(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("start", "sleep 20 & echo started")))
    began = time.monotonic()
    result = run_cli(["run", str(path), "--no-journal"])
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 10
    subprocess.run(["pkill", "-f", "^sleep 20$"], check=False)


def test_children_that_escape_the_process_group_die_with_the_steps_timeout(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    escape = (
        f"setsid sh -c 'echo $$ >> {pids}; exec sleep 61' > /dev/null 2>&1 < /dev/null & "
        f"(sh -c 'echo $$ >> {pids}; exec sleep 62' &) ; sleep 30"
    )
    path = write_runbook(tmp_path, runbook_data(run_step("a", escape, timeout="1s")))
    result = run_cli(["run", str(path), "--no-journal"])
    assert result.returncode == 1 and "timed out after 1s" in result.stderr
    wait_until(lambda: len(pids.read_text().split()) == 2 if pids.exists() else False)
    for pid in map(int, pids.read_text().split()):
        wait_until(lambda pid=pid: not _alive(pid), timeout=5)


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_secret_never_appears_on_a_command_line(tmp_path: Path, state: dict[str, str]) -> None:
    started, out = tmp_path / "started", tmp_path / "out"
    secret = "S3cr'et $HOME"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("use", f"echo tok={{{{ params.token }}}} > {out}; touch {started}; sleep 3"),
            params={"token": {"type": "string", "secret": True, "env": "APP_TOKEN"}},
        ),
    )
    proc = start(path, {**state, "APP_TOKEN": secret})
    wait_until(started.exists)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        assert "S3cr" not in text, text
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.read_text().strip() == f"tok={secret}"  # the command still got the value


def test_resume_sees_exactly_the_values_the_run_saw(tmp_path: Path, state: dict[str, str]) -> None:
    seen, flag = tmp_path / "seen", tmp_path / "fixed"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "fetch",
                "printf 'tok-{{ params.token }}'; head -c 6000 /dev/zero | tr '\\0' x",
                outputs={"cred": "{{ stdout[:12] }}", "size": "{{ stdout | length }}"},
            ),
            run_step("check", f"test -e {flag}", on_failure="abort"),
            run_step(
                "use",
                f"echo '{{{{ params.url }}}} {{{{ steps.fetch.outputs.cred }}}} "
                f"{{{{ steps.fetch.outputs.size }}}} {{{{ steps.fetch.stdout | length }}}}' > {seen}",
            ),
            params={
                "token": {"type": "string", "secret": True, "env": "APP_TOKEN"},
                "url": {"type": "string", "default": "https://default"},
            },
        ),
    )
    env = {**state, "APP_TOKEN": "hunter2"}
    first = run_cli(["run", str(path), "-p", "url=https://u:hunter2@db"], env=env)
    assert first.returncode == 1, first.stderr
    (run_id,) = run_ids(tmp_path)
    flag.touch()
    refused = run_cli(["resume", run_id], env=state)  # the secret is not given again
    assert refused.returncode == 2 and "token" in refused.stderr and "not stored" in refused.stderr
    resumed = run_cli(["resume", run_id], env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert seen.read_text().split() == ["https://u:hunter2@db", "tok-hunter2x", "6011", "6011"]
    values = tmp_path / "state" / "runs" / run_id / "values.jsonl"
    assert values.stat().st_mode & 0o777 == 0o600
    assert '"token"' not in values.read_text()


def test_a_nul_byte_in_a_value_fails_the_step_clearly(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("emit", "printf 'a\\0b'"),
            {"id": "use", "run": ["echo", "{{ steps.emit.stdout }}"]},
        ),
    )
    result = run_cli(["run", str(path), "--no-journal"])
    assert result.returncode == 1
    assert "holds a NUL byte" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("run", "echo {{ " + "[" * 3000 + "]" * 3000 + " }}", "levels deep; the limit is 64"),
        ("run", "echo {{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "levels deep; the limit is 64"),
        ("when", " and ".join(["true"] * 1000), "the limit is 256"),
    ],
)
def test_deep_nesting_is_refused_at_validate_with_its_position(
    tmp_path: Path, where: str, text: str, expected: str
) -> None:
    step = {"id": "a", "run": "true", where: text}
    path = write_runbook(tmp_path, runbook_data(step))
    result = run_cli(["validate", str(path)], timeout=30)
    assert result.returncode == 2
    assert f"{path}:" in result.stderr and expected in result.stderr
    assert "internal error" not in result.stderr


def _call_files(tmp_path: Path, count: int, fan: int) -> Path:
    tmp_path.mkdir()
    for index in range(count):
        if index == count - 1:
            steps = [run_step("leaf")]
        else:
            steps = [{"id": f"c{k}", "call": {"runbook": f"r{index + 1}.yaml"}} for k in range(fan)]
        write_runbook(tmp_path, runbook_data(*steps, name=f"r{index}"), name=f"r{index}.yaml")
    return tmp_path / "r0.yaml"


def test_a_call_chain_too_deep_and_a_call_diamond_too_wide_are_refused(tmp_path: Path) -> None:
    deep = _call_files(tmp_path / "deep", 40, 1)
    result = run_cli(["validate", str(deep)], timeout=60)
    assert result.returncode == 2 and "the limit is 32" in result.stderr
    wide = _call_files(tmp_path / "wide", 22, 2)
    result = run_cli(["run", "--dry-run", str(wide)], timeout=60)
    assert result.returncode == 2 and "the limit is 100,000" in result.stderr


def test_an_alias_bomb_in_a_big_file_is_refused_at_once(tmp_path: Path) -> None:
    lines = ["version: 1", "name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("steps: [{id: s, run: 'true'}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n" + ("# " + "x" * 1000 + "\n") * 15000)
    began = time.monotonic()
    result = run_cli(["validate", str(path)], timeout=60)
    assert result.returncode == 2 and "alias bomb" in result.stderr
    assert time.monotonic() - began < 20


def test_an_output_declared_secret_is_masked_everywhere(
    tmp_path: Path, state: dict[str, str]
) -> None:
    report, vault = tmp_path / "report.json", tmp_path / "vault"
    vault.write_text("tok-XYZ123\n")
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "fetch",
                "run": f"cat {vault}",
                "outputs": {"token": {"value": "{{ stdout | trim }}", "secret": True}},
            },
            run_step("use", "echo using {{ steps.fetch.outputs.token }} >&2; exit 1"),
        ),
    )
    result = run_cli(["run", str(path), "-v", "--report", str(report)], env=state)
    assert result.returncode == 1
    (run_id,) = run_ids(tmp_path)
    folder = tmp_path / "state" / "runs" / run_id
    for text in (result.stderr, report.read_text(), (folder / "journal.jsonl").read_text()):
        assert "XYZ123" not in text
    assert "using ***" in result.stderr


def test_a_meta_json_pointing_at_another_runbook_is_not_followed(
    tmp_path: Path, state: dict[str, str]
) -> None:
    evil = tmp_path / "evil"
    path = write_runbook(tmp_path, runbook_data(run_step("a", "exit 1"), name="safe"))
    other = write_runbook(
        tmp_path, runbook_data(run_step("a", f"touch {evil}"), name="other"), name="other.yaml"
    )
    assert run_cli(["run", str(path)], env=state).returncode == 1
    (run_id,) = run_ids(tmp_path)
    meta_path = tmp_path / "state" / "runs" / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["path"] = str(other)
    meta_path.write_text(json.dumps(meta))
    result = run_cli(["resume", run_id, "--force"], env=state)
    assert result.returncode == 2 and "the journal says the run was of 'safe'" in result.stderr
    assert not evil.exists()


def test_runs_does_not_call_a_crashed_run_running_when_its_pid_is_reused(
    tmp_path: Path, state: dict[str, str]
) -> None:
    started = tmp_path / "started"
    path = write_runbook(tmp_path, runbook_data(run_step("a", f"touch {started}; sleep 30")))
    run_id = killed_at(path, state, started)
    meta_path = tmp_path / "state" / "runs" / run_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["status"] == "running" and meta["pid_identity"]
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        meta["pid"] = bystander.pid  # after a reboot, the number belongs to someone else
        meta_path.write_text(json.dumps(meta))
        listing = run_cli(["runs"], env={**state, "COLUMNS": "200"})
        assert "interrupted" in listing.stdout and "running" not in listing.stdout
    finally:
        bystander.kill()
        bystander.wait()
