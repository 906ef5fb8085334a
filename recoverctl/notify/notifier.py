"""Notifications in the background: one queue per channel, every delivery journaled.

The notifier listens on the views' bus (it is one more reader of the events,
like the live view), so it can neither delay nor fail the run: a notice is
queued and the run goes on. Each channel has its own worker and delivers in
order — PagerDuty's resolve never overtakes its trigger. Every delivery ends
in a `NotificationDelivered` event through the run's emit point: ok, or given
up with the reason. At the run's end `close` waits a bounded time for what is
still queued; what could not be delivered by then is journaled as given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from recoverctl.engine.events import Event, NotificationDelivered
from recoverctl.model.notify import Channel
from recoverctl.notify.deliver import Delivery, deliver
from recoverctl.notify.notice import Notice, NoticeMaker

END_WAIT = 10.0
"""How long a finished run waits for its last notices before giving them up."""


class Notifier:
    def __init__(
        self,
        channels: tuple[Channel, ...],
        maker: NoticeMaker,
        *,
        emit: Callable[[Event], Any],
        context: Callable[[], dict[str, Any]],
        end_wait: float = END_WAIT,
        first_wait: float = 0.5,
    ) -> None:
        self.channels, self.maker = channels, maker
        self._emit, self._context = emit, context
        self.end_wait, self.first_wait = end_wait, first_wait
        self._queues: dict[str, asyncio.Queue[Notice]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._current: dict[str, tuple[Notice, float, list[int]]] = {}

    def __call__(self, event: Event) -> None:
        """A bus subscriber: queue the notice this event makes, for each channel that wants it."""
        if isinstance(event, NotificationDelivered):
            return
        notice = self.maker.notice(event)
        if notice is None:
            return
        for channel in self.channels:
            if notice.event in channel.on:
                self._queue(channel).put_nowait(notice)

    def _queue(self, channel: Channel) -> asyncio.Queue[Notice]:
        queue = self._queues.get(channel.name)
        if queue is None:
            queue = self._queues[channel.name] = asyncio.Queue()
            self._workers.append(asyncio.get_running_loop().create_task(self._work(channel, queue)))
        return queue

    async def _work(self, channel: Channel, queue: asyncio.Queue[Notice]) -> None:
        while True:
            notice = await queue.get()
            began, progress = time.monotonic(), [0]
            self._current[channel.name] = (notice, began, progress)
            try:
                outcome = await deliver(
                    channel, notice, self._context(), first_wait=self.first_wait, progress=progress
                )
            except Exception as exc:  # a bug must not end the worker silently
                outcome = Delivery(ok=False, attempts=1, error=f"internal error: {exc}")
            del self._current[channel.name]
            self._record(channel, notice, outcome, time.monotonic() - began)
            queue.task_done()

    def _record(self, channel: Channel, notice: Notice, outcome: Delivery, seconds: float) -> None:
        self._emit(
            NotificationDelivered(
                channel=channel.name,
                channel_kind=channel.kind,
                on=notice.event.value,
                ok=outcome.ok,
                attempts=outcome.attempts,
                seconds=round(seconds, 3),
                error=outcome.error,
                step_id=notice.step_id,
            )
        )

    async def close(self) -> None:
        """Wait (bounded) for every queue to drain; journal what is left as given up."""
        queues = list(self._queues.values())
        if queues:
            waiting = asyncio.gather(*(q.join() for q in queues))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting, self.end_wait)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        ended = f"the run ended: not delivered within {self.end_wait:g}s of its end"
        for channel in self.channels:
            current = self._current.pop(channel.name, None)
            if current is not None:
                notice, began, progress = current
                self._record(
                    channel,
                    notice,
                    Delivery(ok=False, attempts=progress[0], error=f"{ended} (still trying)"),
                    time.monotonic() - began,
                )
            queue = self._queues.get(channel.name)
            while queue is not None and not queue.empty():
                self._record(channel, queue.get_nowait(), Delivery(False, 0, ended), 0.0)
