"""One active run per runbook name on a machine, enforced by the OS (flock).

The kernel drops a flock when its process dies, so a lock left by a crashed
or SIGKILLed run is simply free again: there is no stale-pid guessing. The
holder's run id and pid are written inside, only to say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from recoverctl.errors import RecoverctlError
from recoverctl.journal.store import private_dir


class RunLock:
    def __init__(self, root: Path, runbook_name: str) -> None:
        self.path = private_dir(root / "locks") / f"{runbook_name}.lock"
        self.handle: IO[str] | None = None

    def acquire(self, run_id: str) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise RecoverctlError(
                message=f"cannot open the run lock {self.path}: {exc.strerror}",
                hint="the lock must be a plain file of yours (not a symbolic link)",
            ) from None
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise RecoverctlError(
                message=f"runbook '{self.path.stem}' is locked by run {holder.get('run_id', '?')} "
                f"(pid {holder.get('pid', '?')}): one run of a runbook at a time on this machine",
                hint="wait for it to finish, or stop it (Ctrl-C / kill its pid) and resume it later",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"run_id": run_id, "pid": os.getpid()}))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _holder(handle: IO[str]) -> dict[str, object]:
    try:
        handle.seek(0)
        data: dict[str, object] = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {}
    return data
