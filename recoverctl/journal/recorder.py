"""Makes a run durable: the lock, the run folder, the journal writer and the index entry."""

from __future__ import annotations

import time
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.engine.state import RunState
from recoverctl.journal.lock import RunLock
from recoverctl.journal.meta import RunMeta, StepSummary
from recoverctl.journal.store import RunDir, Store
from recoverctl.journal.values import ValuesWriter
from recoverctl.journal.writer import JournalWriter
from recoverctl.model.status import RunStatus, StepStatus


class Recorder:
    """`start` before the engine runs, `finish` after; the lock is held in between."""

    def __init__(
        self, store: Store, plan: Plan, run_id: str, *, lock: RunLock | None = None
    ) -> None:
        """`lock`: already held (resume takes it before it reads the journal)."""
        self.store, self.plan, self.run_id = store, plan, run_id
        self.lock = lock or RunLock(store.root, plan.runbook.name)
        self.run: RunDir | None = None
        self.writer: JournalWriter | None = None
        self.values: ValuesWriter | None = None
        self.meta = RunMeta(run_id=run_id)
        self.fingerprints: tuple[str, ...] = ()
        """The alerts this run was started from: kept for the per-alert cooldown."""

    def start(
        self,
        params: dict[str, Any],
        *,
        existing: RunDir | None = None,
        seq: int = 0,
    ) -> JournalWriter:
        if self.lock.handle is None:
            self.lock.acquire(self.run_id)
        try:
            self.run = existing or self.store.create(self.run_id, self.plan.runbook.text)
            self.meta = (
                existing.meta()
                if existing
                else RunMeta(
                    run_id=self.run_id,
                    runbook=self.plan.runbook.name,
                    path=str(self.plan.runbook.path.resolve()),
                    sha256=self.plan.runbook.sha256,
                    plan_hash=self.plan.hash,
                    params=params,
                    started=time.time(),
                    rto=self.plan.runbook.objectives.rto,
                    alert_fingerprints=list(self.fingerprints),
                )
            )
            from recoverctl.processes import identity

            self.meta.status = RunStatus.RUNNING
            self.meta.pid = _pid()
            self.meta.pid_identity = identity(self.meta.pid)
            self.run.write_meta(self.meta)
            self.writer = JournalWriter(self.run, self.plan.hash, seq=seq)
            self.values = ValuesWriter(self.run.path / "values.jsonl")
        except BaseException:
            self.lock.release()
            raise
        return self.writer

    def finish(self, state: RunState) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
            if self.values is not None:
                self.values.close()
            if self.run is not None:
                lost = self.writer.failed if self.writer is not None else None
                meta = self.meta
                # the journal is the truth: one that stopped recording ends the run unknown
                meta.status = RunStatus.INTERRUPTED if lost else state.status
                meta.exit_code, meta.duration = state.exit_code, state.duration
                meta.finished = time.time()
                meta.path_taken = [f"{d.step_id}→{d.label}" for d in state.decisions if d.label]
                meta.failed_step = state.failed_step
                meta.error = f"the journal could not be written: {lost}" if lost else state.error
                meta.steps = {
                    sid: StepSummary(s.status, s.attempts, s.duration)
                    for sid, s in state.steps.items()
                    if s.status != StepStatus.PENDING
                }
                meta.pid = meta.pid_identity = None
                self.run.write_meta(meta)
        finally:
            self.lock.release()


def _pid() -> int:
    import os

    return os.getpid()
