"""Makes a run durable: the lock, the run folder, the journal writer and the index entry."""

from __future__ import annotations

import time
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.engine.state import RunState
from recoverctl.journal.lock import RunLock
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
        self.meta: dict[str, Any] = {}

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
                else {
                    "run_id": self.run_id,
                    "runbook": self.plan.runbook.name,
                    "path": str(self.plan.runbook.path.resolve()),
                    "sha256": self.plan.runbook.sha256,
                    "plan_hash": self.plan.hash,
                    "params": params,
                    "started": time.time(),
                    "rto": self.plan.runbook.objectives.rto,
                }
            )
            from recoverctl.processes import identity

            pid = _pid()
            self.meta.update(
                {"status": RunStatus.RUNNING, "pid": pid, "pid_identity": identity(pid)}
            )
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
                self.meta.update(
                    {
                        # the journal is the truth: one that stopped recording ends the run unknown
                        "status": RunStatus.INTERRUPTED if lost else state.status,
                        "exit_code": state.exit_code,
                        "duration": state.duration,
                        "finished": time.time(),
                        "path_taken": [
                            f"{d.step_id}→{d.label}" for d in state.decisions if d.label
                        ],
                        "failed_step": state.failed_step,
                        "error": f"the journal could not be written: {lost}"
                        if lost
                        else state.error,
                        "steps": {
                            sid: {
                                "status": s.status,
                                "attempts": s.attempts,
                                "duration": s.duration,
                            }
                            for sid, s in state.steps.items()
                            if s.status != StepStatus.PENDING
                        },
                    }
                )
                self.meta.pop("pid", None)
                self.meta.pop("pid_identity", None)
                self.run.write_meta(self.meta)
        finally:
            self.lock.release()


def _pid() -> int:
    import os

    return os.getpid()
