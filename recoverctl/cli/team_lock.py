"""The run lock a command takes: this machine's, and the team's when a coordination
backend is configured (`RECOVERCTL_COORDINATION`, or `coordination:` in the config file).

Both are taken and given back together, local first: two runs on one machine never
reach the backend at once, and a run refused by the team leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from recoverctl.coordination.backend import BackendDown, Held, Holder, TeamLock
from recoverctl.coordination.connect import open_backend
from recoverctl.coordination.lease import LeaseKeeper
from recoverctl.errors import RecoverctlError
from recoverctl.journal.lock import RunLock


class TeamRunLock:
    """A RunLock (Recorder takes either) that also holds the runbook's team lock."""

    def __init__(self, local: RunLock, team: TeamLock, name: str) -> None:
        self.local, self.team, self.name = local, team, name
        self.holder: Holder | None = None
        self.on_lost: Callable[[str], None] | None = None
        """Told (from the lease thread) when the lock is lost: the run must stop."""
        self._keeper: LeaseKeeper | None = None
        self.lost: str | None = None

    @property
    def handle(self) -> IO[str] | None:
        return self.local.handle

    @property
    def path(self) -> Path:
        return self.local.path

    def acquire(self, run_id: str) -> None:
        self.local.acquire(run_id)
        try:
            self.holder = self.team.acquire(self.name, Holder.mine(run_id))
        except Held as held:
            self.local.release()
            raise RecoverctlError(
                message=f"runbook '{self.name}' is locked by {held.holder.describe()}, in the "
                f"team lock at {self.team.url}: one run of a runbook at a time across the team",
                hint="wait for it to finish, or ask its holder; nothing was run",
            ) from None
        except BackendDown as down:
            self.local.release()
            raise RecoverctlError(
                message=f"cannot take the team lock: {down}",
                hint="nothing was run; fix the backend, or unset RECOVERCTL_COORDINATION to run "
                "under this machine's lock alone (then nothing stops a colleague's run)",
            ) from None
        self._keeper = LeaseKeeper(self.team, self._lost)
        self._keeper.start()

    def _lost(self, reason: str) -> None:
        self.lost = reason
        if self.on_lost is not None:
            self.on_lost(reason)

    def release(self) -> None:
        try:
            if self._keeper is not None:
                self._keeper.stop()
                self._keeper = None
            if self.holder is not None:
                self.team.release()
                self.holder = None
        finally:
            self.local.release()


def coordination_url() -> str | None:
    """The backend's URL: the environment, else the config file's `coordination:`."""
    named = os.environ.get("RECOVERCTL_COORDINATION")
    if named:
        return named
    from recoverctl.cli.notify_config import config_path

    path, _ = config_path()
    if not path.is_file():
        return None
    from recoverctl.validate.config import config_coordination

    return config_coordination(path)


def run_lock(root: Path, name: str) -> RunLock | TeamRunLock:
    local = RunLock(root, name)
    url = coordination_url()
    if url is None:
        return local
    return TeamRunLock(local, open_backend(url), name)
