"""The views' bus: a subscriber that fails is detached (and replaced), never fatal.

Only presentation listens here — the live view, plain lines, the JSON
stream, reports. The journal and the run state are not subscribers: the
emit point (engine/emitter.py) writes and reduces every event before this
bus sees it, so nothing that happens here can silence the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recoverctl.engine.events import Event

Subscriber = Callable[[Event], None]


@dataclass(slots=True)
class _Subscription:
    name: str
    subscriber: Subscriber
    fallback: Callable[[], Subscriber] | None


class EventBus:
    """Delivers each event to subscribers in the order they subscribed."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self.on_detach: Callable[[str, Exception, str | None], None] | None = None
        """Told (name, error, the replacement's name) when a subscriber failed and was dropped."""

    def subscribe(
        self,
        subscriber: Subscriber,
        name: str | None = None,
        *,
        fallback: Callable[[], Subscriber] | None = None,
    ) -> None:
        """`fallback` builds what takes over when `subscriber` fails (plain lines for the live view)."""
        label = name or str(getattr(subscriber, "__qualname__", "subscriber"))
        self._subscriptions.append(_Subscription(label, subscriber, fallback))

    def emit(self, event: Event) -> None:
        failed: list[tuple[_Subscription, Exception]] = []
        for subscription in list(self._subscriptions):
            try:
                subscription.subscriber(event)
            except Exception as exc:
                failed.append((subscription, exc))
        for subscription, problem in failed:
            self._replace(subscription, problem)

    def _replace(self, subscription: _Subscription, problem: Exception) -> None:
        self._subscriptions = [s for s in self._subscriptions if s is not subscription]
        replacement = None
        if subscription.fallback is not None:
            try:
                built = subscription.fallback()
            except Exception:
                built = None
            if built is not None:
                replacement = f"{subscription.name} fallback"
                self._subscriptions.append(_Subscription(replacement, built, None))
        if self.on_detach is not None:
            self.on_detach(subscription.name, problem, replacement)
