"""Notification channels: who hears about a run, and on which of its events.

A runbook declares channels under `notify:` (and a user's config file can add
channels for every runbook, cli/notify_config.py). Each channel is one kind —
a JSON `webhook`, a `slack` incoming webhook, `pagerduty` (Events API v2) or a
`command` — and a set of run events. The values are templates rendered once
when the run starts (URLs and keys usually come from `env` or a secret param);
notify/ builds and delivers the messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from recoverctl.model.source import Span
from recoverctl.model.text import Text


class NotifyEvent(StrEnum):
    STARTED = "started"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    SUCCEEDED = "succeeded"


NOTIFY_EVENTS = [event.value for event in NotifyEvent]
NOTIFY_KINDS = ["webhook", "slack", "pagerduty", "command"]

DEFAULT_TIMEOUT = 5.0
"""Each attempt's bound: a receiver that hangs costs this, never the run."""
DEFAULT_ATTEMPTS = 4
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    kind: str
    """One of NOTIFY_KINDS."""
    span: Span
    on: tuple[NotifyEvent, ...] = tuple(NotifyEvent)
    options: tuple[tuple[str, Text], ...] = ()
    """url, routing_key, severity…: templates."""
    headers: tuple[tuple[str, Text], ...] = ()
    argv: tuple[Text, ...] = ()
    """`command` only."""
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    origin: str = "runbook"
    """Where it was declared: the runbook, or the path of the config file."""

    def option(self, name: str) -> Text | None:
        return next((value for key, value in self.options if key == name), None)
