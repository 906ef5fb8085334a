"""Appends a run's events to its journal: one line each, fsynced before side effects.

Each record: {"v", "seq", "ts", "run_id", "plan_hash", "event", ...fields}.
Every line is written to the kernel as it happens, so a killed recoverctl
(SIGKILL, OOM, a crash) loses nothing: the page cache outlives the process.
fsync is for the machine dying, and it happens where the order matters:
before a step starts (its record must be on disk before its command can
change anything; the same fsync carries the previous step's end), at the
rollback boundaries and at the end of the run. A step that ended but whose
end did not reach the disk before a power cut looks in flight on resume,
which is the same case as a power cut while it ran: resume asks before
running a non-idempotent step again. Process ids are not fsynced: after a
power cut there is no process left to kill.

A write that fails (disk full) stops the run through `on_error`: a recovery
whose record is lost cannot be resumed safely.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

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
    StepStarted,
    StepRolledBack,
    RollbackStarted,
    RollbackFinished,
    RunFinished,
)


class JournalWriter:
    def __init__(
        self, run: RunDir, plan_hash: str, *, on_error: Callable[[str], None], seq: int = 0
    ) -> None:
        self.run, self.plan_hash, self.on_error = run, plan_hash, on_error
        self.seq = seq
        self.failed: str | None = None
        fd = os.open(run.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        if self.failed is not None:
            return
        self.seq += 1
        record = {
            "v": EVENT_SCHEMA_VERSION,
            "seq": self.seq,
            "run_id": self.run.run_id,
            "plan_hash": self.plan_hash,
            **event.to_dict(),
        }
        try:
            self.handle.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
            self.handle.flush()
            if isinstance(event, SYNC_ON):
                os.fsync(self.handle.fileno())
        except OSError as exc:
            self.failed = f"cannot write the journal {self.run.journal}: {exc.strerror or exc}"
            self.on_error(self.failed)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
