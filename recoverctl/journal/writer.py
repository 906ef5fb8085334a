"""Appends a run's events to its journal: one line each, fsynced at step boundaries.

Each record: {"v", "seq", "ts", "run_id", "plan_hash", "event", ...fields}.
Lines are flushed as written; fsync happens when a step starts or ends and
when the run ends, so a crash loses at most the output chunks of a running
step, never the fact that a step started or finished. A write that fails
(disk full) stops the run through `on_error`: a recovery whose record is
lost cannot be resumed safely.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

from recoverctl.engine.events import (
    EVENT_SCHEMA_VERSION,
    Event,
    ProcessStarted,
    RollbackFinished,
    RollbackStarted,
    RunFinished,
    StepFinished,
    StepRolledBack,
    StepStarted,
)
from recoverctl.journal.store import RunDir

SYNC_ON = (
    StepStarted,
    ProcessStarted,
    StepFinished,
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
