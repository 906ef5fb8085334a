"""What a power cut can leave of a run's files, and what recoverctl makes of it.

Only the journal is synced (journal/writer.py): meta.json and the runbook's copy
are written whole but left to the kernel, so after a power cut either may be
empty. The index is rebuilt from the journal; a damaged copy is never read as
if it were the runbook that ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.durable import killed_at, run_ids
from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def test_an_empty_index_still_resumes_and_reports(tmp_path: Path, state: dict[str, str]) -> None:
    started, log = tmp_path / "started", tmp_path / "log"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step("work", f"touch {started}; sleep 30", idempotent=True),
            run_step("after", f"echo after >> {log}"),
        ),
    )
    run_id = killed_at(path, state, started)
    meta = tmp_path / "state" / "runs" / run_id / "meta.json"
    meta.write_text("")  # what a power cut can leave of a file written but not synced
    path.write_text(path.read_text().replace("sleep 30", "true"))
    resumed = run_cli(["resume", run_id, "--force"], env=state)
    assert resumed.returncode == 0, resumed.stderr
    assert log.read_text().split() == ["after"]
    report = run_cli(["report", run_id, "--format", "json"], env=state)
    assert report.returncode == 0, report.stderr


def test_a_damaged_copy_of_a_changed_runbook_is_refused_not_reported(
    tmp_path: Path, state: dict[str, str]
) -> None:
    path = write_runbook(tmp_path, runbook_data(run_step("a", "true")))
    assert run_cli(["run", str(path)], env=state).returncode == 0
    (run_id,) = run_ids(tmp_path)
    (tmp_path / "state" / "runs" / run_id / "runbook.yaml").write_text("")
    path.write_text(path.read_text().replace("id: a", "id: b"))  # not what ran any more
    for command in (["report", run_id], ["show", run_id]):
        done = run_cli(command, env=state)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "is missing or damaged" in done.stderr and "Traceback" not in done.stderr


def test_steps_that_start_together_share_one_sync_and_none_acts_before_it(
    tmp_path: Path, state: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten members of a parallel group: their starts are on disk before any of them runs
    its command, in one fsync instead of ten in turn (journal/writer.py, Emitter.durable)."""
    import os

    from recoverctl.actions import run as run_action
    from recoverctl.journal import writer
    from tests.conftest import invoke

    synced: list[int] = []  # how many step starts the journal held at each fsync
    spawned: list[int] = []  # how many fsyncs had happened at each command's start
    real_fsync, real_start = os.fsync, run_action.start

    def fsync(fd: int) -> None:
        real_fsync(fd)
        text = Path(f"/proc/self/fd/{fd}").read_text()
        synced.append(text.count('"event": "step_started"'))

    async def start(*args: object, **kwargs: object) -> object:
        spawned.append(len(synced))
        return await real_start(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer.os, "fsync", fsync)
    monkeypatch.setattr(run_action, "start", start)
    members = [run_step(f"m{i}", "true") for i in range(10)]
    path = write_runbook(tmp_path, runbook_data({"id": "group", "parallel": members}))
    for key, value in state.items():
        monkeypatch.setenv(key, value)
    result = invoke(["run", "-q", str(path)])
    assert result.exit_code == 0, result.output
    assert spawned == [1] * 10  # every command after the one sync
    assert synced == [11, 11]  # the group and its 10 members, then the run's end
