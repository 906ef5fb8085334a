"""Another local user tries to steer the operator's runs (`.ci/run` creates `rcattacker`).

The attacker acts with plain shell tools as a real second user (runuser); the
operator runs recoverctl. Every attempt must be refused or come to nothing.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook

ATTACKER = "rcattacker"


def _attacker_exists() -> bool:
    try:
        pwd.getpwnam(ATTACKER)
    except KeyError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or not _attacker_exists() or shutil.which("runuser") is None,
    reason="needs root, runuser and the second user .ci/run creates",
)


def _as_attacker(script: str) -> None:
    subprocess.run(["runuser", "-u", ATTACKER, "--", "sh", "-c", script], check=True)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A world-writable, sticky folder both users can reach, like /tmp or a team share."""
    folder = Path(tempfile.mkdtemp(prefix="recoverctl-shared-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_state_folder_the_attacker_made_is_refused(tmp_path: Path, shared: Path) -> None:
    _as_attacker(f"mkdir -m 777 {shared}/state")
    marker = tmp_path / "ran"
    path = write_runbook(tmp_path, runbook_data(run_step("a", f"touch {marker}")))
    result = run_cli(["run", str(path)], env={"RECOVERCTL_STATE_DIR": f"{shared}/state"})
    assert result.returncode == 2 and "belongs to another user" in result.stderr
    assert not marker.exists()


def test_runs_or_locks_planted_inside_our_folder_are_refused(tmp_path: Path, shared: Path) -> None:
    state = shared / "state"
    state.mkdir(mode=0o777)
    state.chmod(0o777)  # ours, but left writable: the attacker gets in before we tighten it
    _as_attacker(f"mkdir -m 777 {state}/locks && ln -s /etc/passwd {state}/locks/t.lock")
    path = write_runbook(tmp_path, runbook_data(run_step("a"), name="t"))
    result = run_cli(["run", str(path)], env={"RECOVERCTL_STATE_DIR": str(state)})
    assert result.returncode == 2 and "belongs to another user" in result.stderr
    assert Path("/etc/passwd").read_text()  # untouched


def test_a_cache_the_attacker_can_write_is_never_read(tmp_path: Path, shared: Path) -> None:
    marker, evil = tmp_path / "ran", tmp_path / "evil"
    path = write_runbook(tmp_path, runbook_data(run_step("a", f"touch {marker}")))
    env = {"RECOVERCTL_CACHE_DIR": f"{shared}/cache"}
    _as_attacker(f"mkdir -m 777 {shared}/cache")
    assert run_cli(["run", str(path), "--no-journal"], env=env).returncode == 0
    marker.unlink()
    for entry in (shared / "cache").glob("*.pickle"):  # a swapped entry: another runbook's plan
        _as_attacker(f"cp /dev/null {entry}.x && mv -f {entry}.x {entry}")
    write_runbook(tmp_path, runbook_data(run_step("a", f"touch {evil}")), name="other.yaml")
    assert run_cli(["run", str(path), "--no-journal"], env=env).returncode == 0
    assert marker.exists() and not evil.exists()
    assert not list((shared / "cache").glob("*.pickle"))  # and never wrote it there either


_CLIENT = (
    "import json, socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
    's.sendall(json.dumps({"v": 1, "run_id": sys.argv[2], "approve": True}).encode() + b"\\n"); '
    "print(s.recv(65536).decode())"
)


def _attacker_answers(run_id: str) -> dict[str, object]:
    """The other user answers the gate with their own few lines of Python (the system's)."""
    from recoverctl.cli.gate_channel import gate_dir, socket_path

    sock = socket_path(gate_dir(), run_id)
    out = subprocess.run(
        ["runuser", "-u", ATTACKER, "--", "/usr/bin/python3", "-c", _CLIENT, str(sock), run_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


def test_another_user_cannot_answer_a_gate_that_does_not_name_them(gated: Any) -> None:
    run = gated({"approval": "go?"})
    reply = _attacker_answers(run.run_id)
    assert reply["counted"] is False
    assert f"{ATTACKER} may not answer this gate; only root, who runs it" in str(reply["message"])
    assert run.proc.poll() is None and not run.marker.exists()  # still waiting
    (vote,) = run.events("approval_vote")
    assert vote["user"] == ATTACKER and not vote["counted"]  # the attempt is on the record
    assert run.answer("approve", run.run_id).returncode == 0
    assert run.finish()[0] == 0


def test_a_named_approver_answers_from_their_own_account_and_the_starter_does_not_count(
    gated: Any,
) -> None:
    gate = {"approval": {"prompt": "go?", "approvers": [ATTACKER, "root"], "min_approvals": 1}}
    run = gated(gate)
    mine = run.answer("approve", run.run_id)
    assert mine.returncode == 2 and "four-eyes rule" in mine.stderr
    reply = _attacker_answers(run.run_id)
    assert reply["counted"] is True and reply["decision"] is True
    code, err = run.finish()
    assert code == 0, err
    assert run.marker.exists()
    assert f"approval gate: approved by {ATTACKER}" in err


def test_a_gate_folder_the_attacker_made_is_not_used(tmp_path: Path, shared: Path) -> None:
    _as_attacker(f"mkdir -m 777 {shared}/recoverctl-gates-0")
    marker = tmp_path / "ran"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("a", f"touch {marker}"), {"id": "gate", "approval": "go?", "timeout": "1m"}
        ),
    )
    env = {"RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "TMPDIR": str(shared)}
    result = run_cli(["run", str(path)], env=env, input="")
    assert result.returncode == 2, result.stderr
    assert "no gate socket for `recoverctl approve`" in result.stderr
    assert not marker.exists()  # refused before the first step
