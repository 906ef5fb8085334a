"""The run history: which runs there are, how each ended, and what they say together.

`runs` and `stats` (and their JSON forms) read this; it reads only the run
folders. A run's `meta.json` is an index derived from its journal: when it
says `running`, the run's own process must still live (same boot, same start
time), and when it says the run never ended, the journal's own end wins.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.journal.meta import UNREADABLE, RunMeta
from recoverctl.journal.store import RunDir, Store
from recoverctl.model.status import RunStatus, StepStatus


def run_status(meta: RunMeta) -> str:
    """`running` only while its own process lives — the same pid after a reboot, or reused
    by another program, is not it; a run whose process vanished was interrupted."""
    from recoverctl.processes import identity

    if meta.status != RunStatus.RUNNING:
        return meta.status
    if meta.pid is None or meta.pid <= 0:
        return RunStatus.INTERRUPTED
    now = identity(meta.pid)
    if now is None or (meta.pid_identity is not None and now != meta.pid_identity):
        return RunStatus.INTERRUPTED
    return meta.status


def trusted_meta(run: RunDir) -> RunMeta:
    """meta.json, corrected by the journal when it says the run never ended (a full disk
    stopped its last write, or the process was killed before it could update it)."""
    meta = run.meta()
    status = run_status(meta)
    if status not in (RunStatus.INTERRUPTED, UNREADABLE):
        return replace(meta, status=status)
    from recoverctl.engine.state import replay
    from recoverctl.errors import RecoverctlError
    from recoverctl.journal.reader import read_journal

    try:
        journal = read_journal(run.journal)
    except RecoverctlError:
        return replace(meta, status=status)
    own = [e for e in journal.events if e.kind != "notification"]  # deliveries may follow the end
    if own and own[-1].kind == "run_finished":
        state = replay(journal.events)
        return replace(meta, status=state.status, duration=state.duration, pid=None)
    return replace(meta, status=status)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run, as `recoverctl runs` lists it."""

    run_id: str
    runbook: str
    started: float | None
    """Wall-clock seconds (Unix time)."""
    duration: float | None
    status: str
    path_taken: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _waiting(folder: Path) -> str:
    """A running run's status, with the gate it waits at: `waiting at gate`.
    Only runs still running are read this far (their journal, not the index, knows)."""
    from recoverctl.engine.state import replay
    from recoverctl.journal.reader import read_journal

    try:
        state = replay(read_journal(RunDir(folder).journal).events)
    except (OSError, ValueError, RecoverctlError):
        return str(RunStatus.RUNNING)
    if state.waiting:
        return "waiting at " + ", ".join(state.waiting)
    return str(RunStatus.RUNNING)


def list_runs(store: Store, runbook: str | None = None, limit: int = 20) -> list[RunRow]:
    """The newest `limit` runs (of `runbook` when given), newest first."""
    rows: list[RunRow] = []
    for folder in store.all_dirs():
        meta = trusted_meta(RunDir(folder))
        if runbook and meta.runbook != runbook:
            continue
        rows.append(
            RunRow(
                run_id=meta.run_id,
                runbook=meta.runbook or "?",
                started=meta.started,
                duration=meta.duration,
                status=_waiting(folder) if meta.status == RunStatus.RUNNING else str(meta.status),
                path_taken=list(meta.path_taken),
            )
        )
        if len(rows) >= limit:
            break
    return rows


@dataclass(frozen=True, slots=True)
class RunbookStats:
    """What a runbook's history says: how often it recovers, how fast, where it hurts."""

    runbook: str
    runs: int
    succeeded: int
    p50_recovery: float | None
    """Over succeeded runs: time to recovery across resumes."""
    p95_recovery: float | None
    rto: float | None
    most_failing: list[tuple[str, int]] = field(default_factory=list)
    """Up to three steps that failed most, with how many runs they failed in."""
    slowest: list[tuple[str, float]] = field(default_factory=list)
    """Up to three steps slowest at p95."""

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.runs if self.runs else 0.0

    @property
    def p95_within_rto(self) -> bool | None:
        if self.rto is None or self.p95_recovery is None:
            return None
        return self.p95_recovery <= self.rto

    def to_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "success_rate": self.success_rate,
            "p50_recovery": self.p50_recovery,
            "p95_recovery": self.p95_recovery,
            "rto": self.rto,
            "p95_within_rto": self.p95_within_rto,
            "most_failing": [{"step": s, "failed_runs": n} for s, n in self.most_failing],
            "slowest": [{"step": s, "p95": d} for s, d in self.slowest],
        }


def runbook_stats(store: Store, runbook: str | None = None) -> list[RunbookStats]:
    """Statistics per runbook name (only `runbook` when given), sorted by name."""
    by_runbook: dict[str, list[RunMeta]] = {}
    for folder in store.all_dirs():
        meta = trusted_meta(RunDir(folder))
        name = meta.runbook or "?"
        if runbook is None or name == runbook:
            by_runbook.setdefault(name, []).append(meta)
    return [_stats(name, metas) for name, metas in sorted(by_runbook.items())]


def _stats(name: str, metas: list[RunMeta]) -> RunbookStats:
    ok = [m for m in metas if m.status == RunStatus.SUCCEEDED]
    durations = sorted(m.duration for m in ok if m.duration is not None)
    rto = next((m.rto for m in metas if m.rto is not None), None)
    failing: dict[str, int] = {}
    slow: dict[str, list[float]] = {}
    for meta in metas:
        for sid, step in meta.steps.items():
            if step.status in (StepStatus.FAILED, StepStatus.TIMED_OUT):
                failing[sid] = failing.get(sid, 0) + 1
            slow.setdefault(sid, []).append(step.duration)
    worst = sorted(failing.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    slowest = sorted(((s, percentile(v, 95)) for s, v in slow.items()), key=lambda kv: -kv[1])
    return RunbookStats(
        runbook=name,
        runs=len(metas),
        succeeded=len(ok),
        p50_recovery=percentile(durations, 50) if durations else None,
        p95_recovery=percentile(durations, 95) if durations else None,
        rto=rto,
        most_failing=worst,
        slowest=[(s, d) for s, d in slowest[:3] if d > 0],
    )


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
