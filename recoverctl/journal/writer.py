"""Appends a run's events to its journal: one line each, fsynced before side effects.

Each record: {"v", "seq", "ts", "run_id", "plan_hash", "event", ...fields}.
Every line is written to the kernel as it happens, so a killed recoverctl
(SIGKILL, OOM, a crash) loses nothing: the page cache outlives the process.
fsync is for the machine dying, and it happens where the order matters:
before a step starts (its record must be on disk before its command can
change anything; the same fsync carries the previous step's end), at the
rollback boundaries and at the end of the run. A step's start is written at
once but synced by the engine just before the side effect (`sync_pending`,
through Emitter.durable): the members of a parallel group or the items of a
fan-out that start together share one fsync instead of paying one each, in
turn — and none of them acts before the record of all is on disk. A step that ended but whose
end did not reach the disk before a power cut looks in flight on resume,
which is the same case as a power cut while it ran: resume asks before
running a non-idempotent step again. Process ids are not fsynced: after a
power cut there is no process left to kill.

The journal is the only file of a run that is synced: a 1-step run costs two
syncs (its step's start, its end), not five. The run's other files are
written whole (temporary file, rename) but left to the kernel: meta.json is
an index that every reader tolerates losing (the journal's `run_started`
names the runbook and its path too), and the runbook's copy is checked
against the recorded hash before a report or a resume reads it.

A write that fails (disk full, I/O error) raises OSError to the emit point,
which stops the run before its next side effect: a recovery whose record is
lost cannot be resumed safely. After one failed write nothing more is
written — a journal with a hole in it would tell a resume a false story.
Events arrive already cleaned (engine/encode.py), so encoding cannot fail.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os

from recoverctl.engine.events import (
    EVENT_SCHEMA_VERSION,
    Event,
    RollbackFinished,
    RollbackStarted,
    RunFinished,
    StepRolledBack,
    StepStarted,
)
from recoverctl.journal.store import RunDir

SYNC_ON = (
    StepRolledBack,
    RollbackStarted,
    RollbackFinished,
    RunFinished,
)


class JournalWriter:
    def __init__(self, run: RunDir, plan_hash: str, *, seq: int = 0) -> None:
        self.run, self.plan_hash = run, plan_hash
        self.seq = seq
        self.failed: str | None = None
        self.pending = False
        """A step's start is written but not yet synced (sync_pending does it)."""
        try:
            fd = os.open(run.journal, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            from recoverctl.errors import RecoverctlError

            raise RecoverctlError(
                message=f"cannot open the journal {run.journal}: {exc.strerror}",
                hint="a journal must be a plain file of yours (not a symbolic link); "
                "nothing was run",
            ) from None
        _drop_torn_tail(fd)
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def append(self, event: Event) -> None:
        if self.failed is not None:
            raise OSError(errno.EIO, self.failed)
        record = {
            "v": EVENT_SCHEMA_VERSION,
            "seq": self.seq + 1,
            "run_id": self.run.run_id,
            "plan_hash": self.plan_hash,
            **event.to_dict(),
        }
        try:
            line = json.dumps(record, default=_marked, ensure_ascii=False, allow_nan=False)
        except ValueError:  # never reached for cleaned events; a record is never dropped
            from recoverctl.engine.encode import json_safe

            line = json.dumps(json_safe(record, str), ensure_ascii=False)
        try:
            self.handle.write(line + "\n")
            self.handle.flush()
            if isinstance(event, SYNC_ON):
                os.fsync(self.handle.fileno())
                self.pending = False
            elif isinstance(event, StepStarted):
                self.pending = True
        except OSError as exc:
            self.failed = f"{exc.strerror or exc} ({self.run.journal})"
            raise
        self.seq += 1

    def sync_pending(self) -> None:
        """The records written so far on disk, when a step's start is among them."""
        if not self.pending:
            return
        if self.failed is not None:
            raise OSError(errno.EIO, self.failed)
        try:
            os.fsync(self.handle.fileno())
        except OSError as exc:
            self.failed = f"{exc.strerror or exc} ({self.run.journal})"
            raise
        self.pending = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()


def _marked(value: object) -> str:
    """Belt and braces: events are cleaned before they get here, but a record never fails."""
    from recoverctl.engine.encode import marked

    return marked(value)


def _drop_torn_tail(fd: int) -> None:
    """A crash can leave half a line at the end: cut it before appending after it.

    Appending after a torn line would glue the next record to it and turn a
    tolerated torn tail into a corrupt record in the middle of the journal.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return
    window = min(size, 1 << 20)
    tail = os.pread(fd, window, size - window)
    keep = size
    if not tail.endswith(b"\n"):
        if b"\n" in tail:
            keep = size - window + tail.rfind(b"\n") + 1
        elif window == size:
            keep = 0  # the only line is torn
    else:
        last = tail[: len(tail) - 1].rsplit(b"\n", 1)[-1]
        try:
            json.loads(last)
        except ValueError:  # a complete-looking last line that does not parse: torn as well
            keep = size - len(last) - 1
    if keep < size:
        os.ftruncate(fd, keep)
