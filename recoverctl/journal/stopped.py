"""A stopped run, opened to be resumed or rolled back: locked first, then read, then checked.

The order is the safety: the runbook's lock is taken before the journal is read
or anything is killed (a live run, or another resume, holds it); the journal is
read under the lock; the runbook as it is now must be the one that ran (its
plan hash), unless the operator forces it; the params are the run's own, from
its private values store, with `-p` on top and secrets asked for again.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.engine.services import RunOptions
from recoverctl.engine.state import RunState, replay
from recoverctl.errors import RecoverctlError
from recoverctl.journal.lock import RunLock
from recoverctl.journal.reader import Journal, read_journal
from recoverctl.journal.store import RunDir, Store
from recoverctl.journal.values import read_values
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import Runbook
from recoverctl.validate.params import ResolvedParams


@dataclass(slots=True)
class StoppedRun:
    run: RunDir
    journal: Journal
    plan: Plan
    """The runbook as it is now (the same as when it ran, or `--force`d)."""
    params: ResolvedParams
    state: RunState
    """The run as its journal tells it."""
    lock: RunLock

    def raw_values(self) -> dict[str, dict[str, Any]]:
        """The completed steps' unredacted stdout and outputs, as the run's templates read them."""
        return read_values(self.run.path / "values.jsonl").steps

    def run_options(self, **options: Any) -> RunOptions:
        """How the engine continues this run: its params, its state and values as they were."""
        started = self.journal.started
        return RunOptions.with_params(
            self.run.run_id,
            self.params,
            prior=self.state,
            prior_raw=self.raw_values(),
            step_mode=bool(started is not None and started.step_mode),  # resume keeps --step
            **options,
        )


class RunbookChanged(RecoverctlError):
    """The runbook changed since the run started; `diff` says how."""

    def __init__(self, message: str, hint: str, diff: str) -> None:
        super().__init__(message=message, hint=hint)
        self.diff = diff


def open_stopped_run(
    store: Store,
    run_id: str,
    *,
    force: bool,
    cli_params: dict[str, str],
    read: Callable[[Path], Journal] = read_journal,
    make_lock: Callable[[Path, str], RunLock] = RunLock,
) -> StoppedRun:
    """Lock, read and check the stopped run `run_id` (`read`: how its journal is read;
    `make_lock`: the lock of a runbook's runs, this machine's or the team's)."""
    run = store.find(run_id)
    lock = _lock_the_run(store, run, make_lock)
    journal: Journal = read(run.journal)  # only now, under the lock: a live run could have moved on
    plan, runbook = _current_plan(run, journal, force=force)
    params = _params_as_run(runbook, run, journal, cli_params)
    from recoverctl.compile.binding import bind_durations

    plan = bind_durations(plan, params.values)  # durations read from params: the run's values
    return StoppedRun(run, journal, plan, params, replay(journal.events), lock)


def _lock_the_run(store: Store, run: RunDir, make_lock: Callable[[Path, str], RunLock]) -> RunLock:
    """Take the run's lock before anything is read or killed: a live run keeps it."""
    try:
        started = read_journal(run.journal).started
    except RecoverctlError:
        started = None
    name = started.runbook if started is not None else run.meta().runbook
    if not name:
        raise RecoverctlError(
            message=f"run {run.run_id} has no readable record of its runbook; nothing was done",
            hint=f"look at {run.journal} and {run.meta_path}",
        )
    lock = make_lock(store.root, name)
    try:
        lock.acquire(run.run_id)
    except RecoverctlError as busy:
        raise RecoverctlError(
            message=f"refusing to touch run {run.run_id}: {busy.message}",
            hint="a run that is still going (or another resume of it) holds the lock; "
            "wait for it to end, or stop it with Ctrl-C / kill, then resume",
        ) from None
    return lock


def _current_plan(run: RunDir, journal: Journal, *, force: bool) -> tuple[Plan, Runbook]:
    """The runbook as it is now; refused (with the difference) when it changed since the run."""
    from recoverctl.compile import compile_plan
    from recoverctl.validate.pipeline import require_valid

    meta = run.meta()
    started = journal.started
    named = meta.path or (started.path if started is not None else "")  # meta.json: an index
    path = Path(named)
    if not named or not path.is_file():
        raise RecoverctlError(
            message=f"the run's runbook {path} no longer exists",
            hint=f"the runbook as it was run is kept in {run.runbook}",
        )
    checked = require_valid(path)
    if started is not None and checked.model.name != started.runbook:
        raise RecoverctlError(
            message=f"meta.json of run {run.run_id} points at {path} (runbook "
            f"'{checked.model.name}'), but the journal says the run was of '{started.runbook}'; "
            "nothing was run",
            hint=f"meta.json is only an index: check {run.meta_path}, or resume from the "
            f"runbook the journal names",
        )
    plan = compile_plan(checked.model, checked.callees)
    recorded = journal.plan_hash or meta.plan_hash  # an empty journal: meta.json says
    if recorded and plan.hash != recorded and not force:
        kept = run.runbook  # not synced (journal/store.py): a power cut may have lost it
        before = kept.read_text(encoding="utf-8").splitlines(True) if kept.is_file() else []
        after = path.read_text(encoding="utf-8").splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(before, after, "as run", str(path)))
        raise RunbookChanged(
            f"{path} changed since run {run.run_id} started (diff above)",
            "resume with --force to use the new version, or restore the file",
            diff or "(a called runbook changed)\n",
        )
    return plan, checked.model


def _params_as_run(
    runbook: Runbook, run: RunDir, journal: Journal, cli: dict[str, str]
) -> ResolvedParams:
    """The values the run had: from its private values store (the journal masks any value
    holding a secret), `-p` on top; a secret is never stored, so it must be given again."""
    from recoverctl.validate.params import resolve_params

    started = journal.started
    shown = started.params if started else {}
    stored = read_values(run.path / "values.jsonl").params
    given = {k: v for k, v in shown.items() if v != MASK}
    given.update(stored)
    given.update(cli)
    resolved = resolve_params(runbook, given, os.environ)
    lost = [
        name
        for name, value in shown.items()
        if value == MASK and resolved.values.get(name) is None and name not in stored
    ]
    if lost:
        names = ", ".join(lost)
        raise RecoverctlError(
            message=f"run {run.run_id} had a value for {names}, which is not stored (secrets "
            "never are): resuming without it would run with a different value",
            hint=f"give it again: -p {lost[0]}=... or its env variable",
        )
    return resolved
