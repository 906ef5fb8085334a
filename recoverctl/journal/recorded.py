"""A run as recorded, to be shown or reported: its journal and the plan of what ran.

The plan is compiled from the original runbook when it is unchanged (so its `call:`
paths resolve), else from the copy kept in the run's folder: a report always describes
the runbook that actually ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recoverctl.compile.plan import Plan
from recoverctl.engine.events import Event
from recoverctl.errors import RecoverctlError
from recoverctl.journal.meta import RunMeta
from recoverctl.journal.reader import Journal, read_journal
from recoverctl.journal.store import RunDir, Store
from recoverctl.model.masking import MASK


@dataclass(slots=True)
class RecordedRun:
    run: RunDir
    plan: Plan
    events: list[Event]
    torn: bool
    """The journal's last record was cut short (a crash mid-write): it was left out."""
    meta: RunMeta


def load_recorded_run(
    store: Store, run_id: str, read: Callable[[Path], Journal] = read_journal
) -> RecordedRun:
    from recoverctl.compile import compile_plan
    from recoverctl.validate.pipeline import require_valid

    run = store.find(run_id)
    journal = read(run.journal)
    meta = run.meta()
    started = journal.started
    original = Path(meta.path or (started.path if started is not None else ""))
    unchanged = original != Path() and original.is_file() and _sha256(original) == meta.sha256
    if not unchanged:
        _require_intact_copy(run, meta, original)
    checked = require_valid(original if unchanged else run.runbook)
    compiled = compile_plan(checked.model, checked.callees)
    if not meta.sha256 and journal.plan_hash and compiled.hash != journal.plan_hash:
        raise _copy_lost(run, original)  # no index to check the copy by: the journal's hash
    plan = _as_run(compiled, journal)
    return RecordedRun(run, plan, journal.events, journal.torn_tail, meta)


def _as_run(plan: Plan, journal: Journal) -> Plan:
    """The plan with the durations the run read from its params (masked ones keep the default)."""
    from recoverctl.compile.binding import bind_durations

    started = journal.started
    if started is None or not plan.runbook.duration_params:
        return plan
    try:
        return bind_durations(plan, {k: v for k, v in started.params.items() if v != MASK})
    except RecoverctlError:
        return plan  # what the run was given is in its journal; the report still reads


def _require_intact_copy(run: RunDir, meta: RunMeta, original: Path) -> None:
    """The copy is not synced (journal/store.py): after a power cut it may be short.
    A report from a damaged copy would describe another runbook: refused instead."""
    if meta.sha256 and (not run.runbook.is_file() or _sha256(run.runbook) != meta.sha256):
        raise _copy_lost(run, original)


def _copy_lost(run: RunDir, original: Path) -> RecoverctlError:
    return RecoverctlError(
        message=f"the copy of the runbook run {run.run_id} used ({run.runbook}) is missing or "
        f"damaged (a power cut before it reached the disk?), and {original} is not that "
        "runbook either: what ran cannot be shown truthfully",
        hint=f"the journal itself is intact: {run.journal}",
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
