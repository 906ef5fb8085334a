"""A target's host, resolved: the argv that runs a shell command there (actions/remote.py
builds it; the engine hands it to the steps that run on that host)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from recoverctl.model.targets import Transport


@dataclass(frozen=True, slots=True)
class Remote:
    """One host of a target, resolved: how to run a script there."""

    host: str
    transport: Transport
    prefix: tuple[str, ...]
    """The argv that runs the trailing shell command on the host."""
    joined: bool = False
    """ssh: the remote command is one string (ssh hands it to the login shell)."""
    master: tuple[str, ...] = ()
    """ssh: the argv that asks the connection master to exit (`-O exit`)."""

    def argv(self, script: str) -> list[str]:
        command = f"sh -c {shlex.quote(script)}"
        return [*self.prefix, command] if self.joined else [*self.prefix, "sh", "-c", script]
