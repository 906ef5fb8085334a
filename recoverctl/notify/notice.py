"""What a notification says: one `Notice` per run event worth telling people about.

Built from the engine's events as the views see them — already redacted (no
secret param or secret output reaches an event), so nothing here can leak one.
Every notice names the run id and says how to look at the run; a gate's notice
also carries the commands that answer it from any shell.
"""

from __future__ import annotations

import functools
import socket
from dataclasses import asdict, dataclass
from typing import Any

from recoverctl.engine.events import (
    ApprovalRequested,
    Event,
    RollbackStarted,
    RunFinished,
    RunResumed,
    RunStarted,
)
from recoverctl.model.notify import NotifyEvent
from recoverctl.model.status import RunStatus
from recoverctl.processes import os_user

_ENDINGS = {
    RunStatus.SUCCEEDED: NotifyEvent.SUCCEEDED,
    RunStatus.FAILED: NotifyEvent.FAILED,
    RunStatus.ROLLED_BACK: NotifyEvent.ROLLED_BACK,
    RunStatus.ROLLBACK_FAILED: NotifyEvent.ROLLBACK_FAILED,
    RunStatus.INTERRUPTED: NotifyEvent.FAILED,
    RunStatus.BLOCKED: NotifyEvent.FAILED,
}
"""How a run's end is told: an interrupted or blocked run did not recover, so `failed`."""


@dataclass(frozen=True, slots=True)
class Notice:
    event: NotifyEvent
    runbook: str
    run_id: str
    title: str
    """One line: what happened, to which runbook."""
    text: str
    """The details, a few lines of plain text."""
    status: str
    host: str
    user: str
    ts: float
    step_id: str | None = None
    error: str | None = None
    approve: str | None = None
    """`waiting_for_approval`: the command that approves from any shell."""
    deny: str | None = None
    show: str = ""
    """The command that shows the run."""

    def document(self) -> dict[str, Any]:
        """The generic JSON form (webhook, command): docs/notifications.md describes it."""
        return {"version": 1, "source": "recoverctl", **asdict(self)}


class NoticeMaker:
    """Turns a run's events into notices: each run event told once per session (a gate's
    each time it waits), sub-runbooks' own starts and ends never."""

    def __init__(self, runbook: str, run_id: str) -> None:
        self.runbook, self.run_id = runbook, run_id
        self.host = socket.gethostname()
        self.user = os_user()
        self._told: set[NotifyEvent] = set()

    def notice(self, event: Event) -> Notice | None:
        made = self._make(event)
        if made is None:
            return None
        if made.event is not NotifyEvent.WAITING_FOR_APPROVAL:
            if made.event in self._told:
                return None
            self._told.add(made.event)
        return made

    def _make(self, event: Event) -> Notice | None:
        show = f"recoverctl show {self.run_id}"
        where = f"run {self.run_id} on {self.host} by {self.user}"
        base = functools.partial(
            Notice,
            runbook=self.runbook,
            run_id=self.run_id,
            host=self.host,
            user=self.user,
            ts=event.ts,
            show=show,
        )
        if isinstance(event, RunStarted | RunResumed):
            if getattr(event, "run_id", self.run_id) != self.run_id:
                return None
            verb = "resumed" if isinstance(event, RunResumed) else "started"
            return base(
                event=NotifyEvent.STARTED,
                title=f"{self.runbook}: recovery {verb}",
                text=f"{where}.\nFollow it: {show}",
                status=RunStatus.RUNNING,
            )
        if isinstance(event, ApprovalRequested):
            approve = event.answer_with or f"recoverctl approve {self.run_id} {event.step_id}"
            deny = approve.replace("recoverctl approve ", "recoverctl deny ", 1)
            prompt = f": {event.prompt}" if event.prompt else ""
            needs = f" ({event.min_approvals} approvals needed)" if event.min_approvals > 1 else ""
            return base(
                event=NotifyEvent.WAITING_FOR_APPROVAL,
                title=f"{self.runbook}: waiting for approval at {event.step_id}{needs}",
                text=f"{where} waits at {event.step_id}{prompt}\nApprove: {approve}\nDeny: {deny}",
                status="waiting",
                step_id=event.step_id,
                approve=approve,
                deny=deny,
            )
        if isinstance(event, RollbackStarted):
            undo = ", ".join(event.steps) or "nothing to undo"
            return base(
                event=NotifyEvent.ROLLING_BACK,
                title=f"{self.runbook}: rolling back",
                text=f"{where}: {event.reason}\nUndoing, last first: {undo}",
                status=RunStatus.RUNNING,
                error=event.reason,
            )
        if isinstance(event, RunFinished) and event.run_id == self.run_id:
            told = _ENDINGS.get(RunStatus(event.status)) if event.status in _ENDINGS else None
            if told is None:
                return None
            words = event.status.replace("_", " ")
            at = f" at {event.failed_step}" if event.failed_step else ""
            error = f"\n{event.error}" if event.error else ""
            return base(
                event=told,
                title=f"{self.runbook}: {words}{at}",
                text=f"{where} {words}{at} after {event.duration:.1f}s.{error}\nDetails: {show}",
                status=event.status,
                step_id=event.failed_step,
                error=event.error,
            )
        return None
