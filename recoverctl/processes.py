"""Which processes are a run's: identities recorded at spawn, checked before any kill.

A process id is not an identity: after a reboot, or just enough time, the
same number names another process, maybe another user's. So a step's
process group is recorded with its leader's identity — the boot it started
in and its start time (`/proc/<pid>/stat` field 22) — and a resume kills a
group only when what it finds is provably what the run started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from functools import cache
from pathlib import Path

_PROC = Path("/proc")
TAG_VARIABLE = "RECOVERCTL_PROCESS_TAG"
"""Set to a fresh value for each attempt's command and inherited by all it starts: a
child that leaves the process group (`setsid`, a double fork) still carries it."""


def tagged(tag: str) -> list[int]:
    """The live processes (of this user) whose environment carries `tag`."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def signal_tagged(tag: str, sig: int) -> list[int]:
    """Send `sig` to every process carrying `tag`; returns whom it reached."""
    reached = []
    for pid in tagged(tag):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            reached.append(pid)
    return reached


@cache
def _boot_id() -> str:
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def _stat(pid: int) -> tuple[int, int] | None:
    """(process group, start time in clock ticks since boot) of `pid`, or None."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields start after the last ')'
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[2]), int(fields[19])
    except (IndexError, ValueError):
        return None


def identity(pid: int) -> str | None:
    """`<boot id>:<start time>` of a live process, or None when it cannot be read."""
    stat = _stat(pid)
    return None if stat is None else f"{_boot_id()}:{stat[1]}"


def members(pgid: int, recorded: str) -> list[int]:
    """Live processes of group `pgid` that are provably the run's: same boot, started no
    earlier than the group's recorded leader. Empty when the record is from another boot."""
    boot, _, ticks = recorded.partition(":")
    if boot != _boot_id() or not ticks.isdigit():
        return []
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[0] == pgid and stat[1] >= int(ticks):
            found.append(int(entry.name))
    return found


def stop_group(pgid: int, recorded: str | None, grace: float = 2.0) -> str:
    """Stop what is left of a crashed run's process group; says what it did, in words."""
    if recorded is None:
        return f"process group {pgid} has no recorded identity (an older journal): not touched"
    leader = identity(pgid)
    if leader is not None and leader != recorded:
        return f"pid {pgid} is now another process (started later): not touched"
    pids = members(pgid, recorded)
    if not pids:
        return ""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and members(pgid, recorded):
            time.sleep(0.05)
        pids = members(pgid, recorded)
        if not pids:
            break
    return f"stopped process group {pgid} ({'some survive' if pids else 'nothing left'})"


def os_user() -> str:
    """This process's OS user by name (its uid where the user has no passwd entry)."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
