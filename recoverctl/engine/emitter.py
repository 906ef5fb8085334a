"""The one emit point: every event is stamped, cleaned, journaled, reduced, then shown.

The order is the guarantee. An event is made safe to record first (every
field JSON, bounded, redacted — engine/encode.py), then written to the
journal, then applied to the run state, and only then handed to the views on
the bus. A view that raises is detached and replaced on the bus; it cannot
stop the journal or the state, which are not subscribers at all. A journal
that cannot be written (disk full, I/O error) is remembered: the engine
checks `journal_error` before every side effect and stops the run there.

A sub-runbook's engine emits through a `ScopedEmitter`: its own state sees
its own ids, everyone else sees them under the call step (`call/inner`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from recoverctl.clock import Clock
from recoverctl.engine.bus import EventBus
from recoverctl.engine.encode import clean_event
from recoverctl.engine.events import Event, LogMessage, RollbackStarted
from recoverctl.engine.redact import Redactor
from recoverctl.engine.state import RunState, reduce
from recoverctl.model.fanout import scoped_id


class JournalSink(Protocol):
    pending: bool
    """A step's start is written but not yet synced: `sync_pending` before its side effect."""

    def append(self, event: Event) -> None:
        """Write one event durably enough for its kind; raise OSError when it cannot."""

    def sync_pending(self) -> None:
        """Make a step's start written by `append` durable (before its side effect)."""

    def close(self) -> None: ...


class JournalLost(Exception):
    """The journal could not be written: the run must stop before its next side effect."""


class LeaseLost(JournalLost):
    """The team lock (coordination/) was lost: another machine may now run this runbook,
    so this run stops before its next side effect, as when its record is lost."""


class Emitter:
    """The root of a run's events: owns the journal sink, the run state and the views' bus."""

    def __init__(self, state: RunState, redactor: Redactor, clock: Clock, views: EventBus) -> None:
        self.state, self.redactor, self.clock, self.views = state, redactor, clock, views
        self.origin = 0.0
        """The monotonic time the run (this session of it) started: events' `mono` counts from it."""
        self.journal: JournalSink | None = None
        self.journal_error: str | None = None
        self.halted: str | None = None
        """Why no side effect may start any more though the journal still works (LeaseLost)."""
        self.on_journal_lost: Callable[[str], None] | None = None
        self._sync: asyncio.Future[None] | None = None
        """The one fsync the steps starting now wait for (Emitter.durable)."""
        views.on_detach = self._view_detached

    def prepare(self, event: Event, redactor: Redactor | None = None) -> Event:
        """Stamp and clean: the event as it will be recorded."""
        stamped = replace(event, ts=self.clock.wall(), mono=self.clock.monotonic() - self.origin)
        return clean_event(stamped, (redactor or self.redactor).text)

    def emit(self, event: Event) -> Event:
        prepared = self.prepare(event)
        self.commit(prepared)
        return prepared

    def commit(self, event: Event) -> None:
        """Journal, reduce, publish — in that order, each step unable to undo the one before."""
        if self.journal is not None and self.journal_error is None:
            try:
                self.journal.append(event)
            except OSError as exc:
                self._lose_journal(exc)
        reduce(self.state, event)
        self.views.emit(event)

    forward = commit

    async def durable(self) -> None:
        """Before every side effect: no command runs without its record on disk (or its
        lock). One fsync serves every step that starts in the same turn of the loop (the
        members of a parallel group, a fan-out's items): it runs once they have all written
        their start, and none of them acts before it."""
        self._check()
        if self.journal is None or not self.journal.pending:
            return
        if self._sync is None:
            loop = asyncio.get_running_loop()
            self._sync = loop.create_future()
            loop.call_soon(self._sync_shared)
        await asyncio.shield(self._sync)
        self._check()

    def _sync_shared(self) -> None:
        done, self._sync = self._sync, None
        if self.journal is not None and self.journal_error is None:
            try:
                self.journal.sync_pending()
            except OSError as exc:
                self._lose_journal(exc)
        if done is not None and not done.done():
            done.set_result(None)

    def _check(self) -> None:
        if self.journal_error is not None:
            raise JournalLost(self.journal_error)
        if self.halted is not None:
            raise LeaseLost(self.halted)

    def halt(self, reason: str) -> None:
        """From now on, nothing new starts: the run ends at its next side effect. Said at once."""
        if self.halted is not None:
            return
        self.halted = reason
        self.emit(
            LogMessage(
                step_id=None, level="error", message=f"{reason}: the run stops before its next step"
            )
        )

    def _lose_journal(self, exc: OSError) -> None:
        self.journal_error = f"cannot write the journal: {exc.strerror or exc}"
        if getattr(exc, "filename", None):
            self.journal_error += f" ({exc.filename})"
        notice = LogMessage(
            ts=time.time(),
            mono=self.clock.monotonic() - self.origin,
            step_id=None,
            level="error",
            message=f"{self.journal_error}: the run stops before its next step",
        )
        self.views.emit(notice)  # the journal is what failed: the views must say so
        if self.on_journal_lost is not None:
            self.on_journal_lost(self.journal_error)

    def _view_detached(self, name: str, problem: Exception, replacement: str | None) -> None:
        instead = f"; {replacement} takes over" if replacement else ""
        self.emit(
            LogMessage(
                step_id=None,
                level="warning",
                message=f"the {name} failed ({type(problem).__name__}: {problem}) and was "
                f"detached{instead}; the journal is not affected",
            )
        )


class ScopedEmitter:
    """A sub-runbook's emit point: its own state, its ids prefixed on the way up."""

    def __init__(
        self, parent: Emitter | ScopedEmitter, prefix: str, state: RunState, redactor: Redactor
    ) -> None:
        self.parent, self.prefix, self.state, self.redactor = parent, prefix, state, redactor
        self.root: Emitter = parent.root if isinstance(parent, ScopedEmitter) else parent

    @property
    def journal_error(self) -> str | None:
        return self.root.journal_error

    async def durable(self) -> None:
        await self.root.durable()

    def emit(self, event: Event) -> Event:
        prepared = self.root.prepare(event, self.redactor)
        self.forward(prepared)
        return prepared

    def forward(self, event: Event) -> None:
        reduce(self.state, event)
        self.parent.forward(prefixed(event, self.prefix))


def prefixed(event: Event, prefix: str) -> Event:
    """The event as the caller sees it: step ids under the call step."""
    if isinstance(event, RollbackStarted):
        return replace(event, steps=[scoped_id(prefix, s) for s in event.steps])
    step_id = getattr(event, "step_id", None)
    if step_id is None:
        return event
    return replace(event, step_id=scoped_id(prefix, step_id))  # type: ignore[call-arg]
