"""One bus for every event; a subscriber that fails is detached, never fatal.

The run must go on when a view or a report breaks: that subscriber is
dropped and the failure is reported to the others as a log event.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from recoverctl.engine.events import Event, LogMessage

Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers each event to subscribers in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Subscriber]] = []

    def subscribe(self, subscriber: Subscriber, name: str | None = None) -> None:
        label = name or str(getattr(subscriber, "__qualname__", "subscriber"))
        self._subscribers.append((label, subscriber))

    def subscribers(self) -> list[tuple[str, Subscriber]]:
        return list(self._subscribers)

    def emit(self, event: Event) -> None:
        failed: list[tuple[str, Exception]] = []
        for name, subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception as exc:
                failed.append((name, exc))
                self._subscribers = [s for s in self._subscribers if s[1] is not subscriber]
        for name, problem in failed:
            self.emit(
                LogMessage(
                    ts=time.time(),
                    step_id=None,
                    level="error",
                    message=f"detached subscriber {name} after it failed: {type(problem).__name__}: {problem}",
                )
            )
