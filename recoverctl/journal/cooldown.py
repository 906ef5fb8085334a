"""The cooldown: a new run of a runbook is refused within a window after its last one.

A remediation wired to an alert that keeps firing becomes a loop — fail over,
fail back, fail over — unless something says "not again so soon". The window
counts from the last run's end (a run killed before it ended: its journal's
last write), and, with `cooldown: {alert: …}`, from the last run started from
the same alert (fingerprint). It is checked with the run lock held, so two
runs starting at once cannot both pass it. `--force` runs anyway; the run's
first event records what was overridden.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from recoverctl.journal.history import trusted_meta
from recoverctl.journal.store import RunDir, Store
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import Cooldown


def cooldown_refusal(
    store: Store, name: str, cooldown: Cooldown, fingerprints: Sequence[str], now: float
) -> str | None:
    """Why a new run of `name` may not start now, or None."""
    for folder in store.all_dirs():  # newest first: run ids sort by their start
        run = RunDir(folder)
        meta = run.meta()
        if meta.runbook != name or meta.started is None:
            continue
        ended = meta.finished or _last_write(run, meta.started)
        if ended + cooldown.horizon <= now:
            return None  # runs never overlap (the lock): every older one ended before
        same_alert = sorted(set(meta.alert_fingerprints) & set(fingerprints))
        if cooldown.runbook and now < ended + cooldown.runbook:
            return _said(name, run, ended, cooldown.runbook, now, "")
        if cooldown.alert and same_alert and now < ended + cooldown.alert:
            return _said(
                name, run, ended, cooldown.alert, now, f" for the same alert ({same_alert[0]})"
            )
    return None


def _last_write(run: RunDir, started: float) -> float:
    try:
        return max(started, run.journal.stat().st_mtime)
    except OSError:
        return started


def _said(name: str, run: RunDir, ended: float, window: float, now: float, why: str) -> str:
    status = trusted_meta(run).status
    until = ended + window
    clock = time.strftime("%H:%M:%S %Z", time.localtime(until))
    return (
        f"runbook '{name}' ran {format_duration(now - ended)} ago{why} (run {run.run_id}, "
        f"{status}): its cooldown of {format_duration(window)} ends at {clock}, in "
        f"{format_duration(until - now)}"
    )
