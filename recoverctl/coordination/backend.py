"""A coordination backend from its URL, and what every backend's lock offers.

    redis://[:PASSWORD@]HOST[:PORT][/DB][?lease=15s]     (rediss:// for TLS)
    postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?lease=15s&sslmode=...]

`lease` is how long the lock outlives a holder that stops renewing it (Redis:
the key's expiry; PostgreSQL holds it for the session, and a connection that
fails its health check for that long is a lost lock). A URL is shown with its
password replaced by `***`, everywhere, always.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from recoverctl.errors import RecoverctlError
from recoverctl.model.duration import parse_duration
from recoverctl.processes import os_user

DEFAULT_LEASE = 15.0


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a runbook's team lock: shown to whoever is refused it."""

    run_id: str
    user: str
    host: str
    pid: int
    since: float
    token: int = 0
    """The fencing token: larger for every new holder, so a storage that checks it can
    refuse a stale holder's late writes (RECOVERCTL_FENCING_TOKEN in each command)."""

    @classmethod
    def mine(cls, run_id: str) -> Holder:
        return cls(run_id, os_user(), socket.gethostname(), os.getpid(), time.time())

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "user": self.user,
            "host": self.host,
            "pid": self.pid,
            "since": self.since,
            "token": self.token,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Holder:
        data = data if isinstance(data, dict) else {}
        return cls(
            run_id=str(data.get("run_id", "?")),
            user=str(data.get("user", "?")),
            host=str(data.get("host", "?")),
            pid=int(data.get("pid", 0) or 0),
            since=float(data.get("since", 0) or 0),
            token=int(data.get("token", 0) or 0),
        )

    def describe(self) -> str:
        since = time.strftime("%H:%M:%S %Z", time.localtime(self.since)) if self.since else "?"
        return f"run {self.run_id} by {self.user} on {self.host} (pid {self.pid}) since {since}"


class Held(Exception):
    """Someone else holds the lock."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder


class BackendDown(Exception):
    """The backend cannot be reached or refused us (the message never holds a password)."""


class LockLost(BackendDown):
    """The backend answered: the lock is someone else's now (or no one's)."""


class TeamLock(Protocol):
    url: str
    """Shown form (no password)."""
    lease: float

    def acquire(self, name: str, holder: Holder) -> Holder:
        """Take the lock of runbook `name`: the holder with its fencing token, or Held."""

    def renew(self) -> None:
        """Keep it: raises BackendDown when it can no longer be sure it holds it."""

    def release(self) -> None:
        """Give it up (never raises: the lease frees it anyway)."""

    # -- the gate mailbox: `recoverctl approve` from another machine (cli/remote_gates.py) --

    def announce(self, run_id: str, info: dict[str, Any], ttl: float) -> None:
        """A gate of `run_id` waits now (raises BackendDown)."""

    def withdraw(self, run_id: str) -> None:
        """The gate stopped waiting (never raises)."""

    def waiting(self, run_id: str) -> dict[str, Any] | None:
        """The gate `run_id` waits at, as announced, or None."""

    def post(self, run_id: str, request: dict[str, Any]) -> str:
        """Leave an answer for `run_id`: its id."""

    def take(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The answers left for `run_id`, each handed out once."""

    def reply(self, answer_id: str, reply: dict[str, Any]) -> None:
        """What the run did with an answer."""

    def await_reply(self, answer_id: str, timeout: float) -> dict[str, Any] | None:
        """The run's reply, or None after `timeout`."""

    def unpost(self, run_id: str, answer_id: str) -> bool:
        """Take an unanswered answer back: True when the run had not taken it."""


@dataclass(frozen=True, slots=True)
class BackendURL:
    scheme: str
    url: str
    """Without recoverctl's own query keys: what the client library is given."""
    shown: str
    lease: float = DEFAULT_LEASE
    options: dict[str, str] = field(default_factory=dict)


def parse_url(raw: str) -> BackendURL:
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    kinds = {
        "redis": "redis",
        "rediss": "redis",
        "postgres": "postgresql",
        "postgresql": "postgresql",
    }
    shown = redact_url(raw)
    if scheme not in kinds or not parts.hostname:
        raise RecoverctlError(
            message=f"the coordination backend {shown} is not a redis:// or postgresql:// URL "
            "with a host",
            hint="for example RECOVERCTL_COORDINATION=redis://:PASSWORD@redis.internal:6379/0",
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    lease = DEFAULT_LEASE
    if "lease" in query:
        try:
            lease = parse_duration(query.pop("lease"))
        except ValueError:
            raise RecoverctlError(
                message=f"the coordination backend {shown}: lease= expects a duration such as 15s",
            ) from None
    if lease < 1:
        raise RecoverctlError(
            message=f"the coordination backend {shown}: the lease must be 1s or more"
        )
    client_url = urlunsplit(parts._replace(query=urlencode(query)))
    return BackendURL(kinds[scheme], client_url, redact_url(client_url), lease, query)


def redact_url(raw: str) -> str:
    """The URL with its password (and nothing else) replaced by `***`."""
    try:
        parts = urlsplit(raw)
        password = parts.password
    except ValueError:
        return "<the coordination URL>"
    if not password:
        return raw
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def missing_client(package: str, extra: str) -> RecoverctlError:
    return RecoverctlError(
        message=f"the coordination backend needs the {package} client, which is not installed",
        hint=f"pip install 'recoverctl[{extra}]'; nothing was run",
    )
