"""Keeping the lease: a background thread renews the team lock every third of its lease.

A renewal that fails is retried until the lease would have run out; then the
lock is lost and `on_lost` is told once (the run stops before its next step:
another machine may take the lock after the lease). A thread, not a task: a
step that blocks the event loop must not cost the run its lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from recoverctl.coordination.backend import BackendDown, LockLost, TeamLock


class LeaseKeeper:
    def __init__(self, lock: TeamLock, on_lost: Callable[[str], None]) -> None:
        self.lock, self.on_lost = lock, on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="recoverctl-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.lock.lease)

    def _keep(self) -> None:
        interval = self.lock.lease / 3
        renewed = time.monotonic()
        while not self._stop.wait(interval):
            try:
                self.lock.renew()
                renewed = time.monotonic()
            except BackendDown as exc:
                definite = isinstance(exc, LockLost)
                if not definite and time.monotonic() - renewed + interval < self.lock.lease:
                    continue  # one more try before the lease can have run out
                self.on_lost(f"the team lock was lost: {exc}")
                return
