"""An asyncio event loop whose clock jumps to the next timer instead of waiting for it.

Scenario tests run the real scheduler on this loop: `asyncio.sleep`,
`asyncio.timeout` and the engine's backoff all use loop time, so a run with
5-minute timeouts and exponential backoff finishes in milliseconds, with
every duration exactly what it would have been. Nothing here does I/O: the
simulated executor never starts a process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """When nothing is ready to run, time moves forward to the earliest scheduled timer."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0

    def time(self) -> float:
        return self._now

    def _run_once(self) -> None:
        ready = getattr(self, "_ready", None)
        scheduled = getattr(self, "_scheduled", None)
        if not ready and scheduled:
            pending = [handle.when() for handle in scheduled if not handle.cancelled()]
            if pending and min(pending) > self._now:
                self._now = min(pending)
        super()._run_once()  # type: ignore[misc]


class VirtualClock:
    """The engine's Clock on a VirtualTimeLoop: wall time is a fixed epoch plus loop time."""

    EPOCH = 1_800_000_000.0

    def wall(self) -> float:
        return self.EPOCH + asyncio.get_running_loop().time()

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def run_virtual(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion in virtual time."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
