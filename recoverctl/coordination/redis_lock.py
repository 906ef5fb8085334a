"""The team lock in Redis: `SET NX PX` with the holder as its value, a fencing token from
`INCR`, renewal and release by compare-and-set scripts (the Redlock single-instance form)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from recoverctl.coordination.backend import (
    BackendDown,
    BackendURL,
    Held,
    Holder,
    LockLost,
    missing_client,
)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    def __init__(self, url: BackendURL) -> None:
        try:
            import redis
        except ImportError:
            raise missing_client("redis", "redis") from None
        self.url, self.lease = url.shown, url.lease
        # bounded: a backend that hangs (a partition, no RST) must fail the renewal, not
        # block it past the lease
        timeout = max(2.0, min(5.0, url.lease / 3))
        self._client: Any = redis.Redis.from_url(
            url.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._errors = (redis.exceptions.RedisError, OSError)
        self._key: str | None = None
        self._value: str | None = None

    def _down(self, exc: BaseException) -> BackendDown:
        name = type(exc).__name__
        if "Authentication" in name or "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            return BackendDown(f"{self.url} refused the credentials")
        reason = str(exc).replace(
            self._client.connection_pool.connection_kwargs.get("password") or "\0", "***"
        )
        return BackendDown(f"cannot reach {self.url}: {(reason or name).rstrip('.')}")

    def acquire(self, name: str, holder: Holder) -> Holder:
        key = f"recoverctl:lock:{name}"
        try:
            token = int(self._client.incr(f"recoverctl:fence:{name}"))
            mine = Holder(holder.run_id, holder.user, holder.host, holder.pid, holder.since, token)
            value = json.dumps(mine.to_dict(), sort_keys=True)
            if self._client.set(key, value, nx=True, px=int(self.lease * 1000)):
                self._key, self._value = key, value
                return mine
            current = self._client.get(key)
        except self._errors as exc:
            raise self._down(exc) from None
        try:
            raise Held(Holder.from_dict(json.loads(current or b"{}")))
        except ValueError:
            raise Held(Holder.from_dict({})) from None

    def renew(self) -> None:
        if self._key is None:
            return
        try:
            kept = self._client.eval(_RENEW, 1, self._key, self._value, int(self.lease * 1000))
        except self._errors as exc:
            raise self._down(exc) from None
        if not kept:
            raise LockLost(f"the lease in {self.url} expired and the lock is no longer ours")

    # -- the gate mailbox -------------------------------------------------------------------------

    def announce(self, run_id: str, info: dict[str, Any], ttl: float) -> None:
        try:
            self._client.set(f"recoverctl:gate:{run_id}", json.dumps(info), ex=max(1, int(ttl)))
        except self._errors as exc:
            raise self._down(exc) from None

    def withdraw(self, run_id: str) -> None:
        with contextlib.suppress(*self._errors):
            self._client.delete(f"recoverctl:gate:{run_id}", f"recoverctl:answers:{run_id}")

    def waiting(self, run_id: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get(f"recoverctl:gate:{run_id}")
        except self._errors as exc:
            raise self._down(exc) from None
        return _json(raw)

    def post(self, run_id: str, request: dict[str, Any]) -> str:
        import uuid

        answer_id = uuid.uuid4().hex
        key = f"recoverctl:answers:{run_id}"
        try:
            self._client.rpush(key, json.dumps({**request, "answer_id": answer_id}))
            self._client.expire(key, 300)
        except self._errors as exc:
            raise self._down(exc) from None
        self._posted = (key, json.dumps({**request, "answer_id": answer_id}))
        return answer_id

    def take(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        taken: list[tuple[str, dict[str, Any]]] = []
        try:
            while (raw := self._client.lpop(f"recoverctl:answers:{run_id}")) is not None:
                request = _json(raw)
                if request is not None and isinstance(request.get("answer_id"), str):
                    taken.append((request["answer_id"], request))
        except self._errors as exc:
            raise self._down(exc) from None
        return taken

    def reply(self, answer_id: str, reply: dict[str, Any]) -> None:
        key = f"recoverctl:reply:{answer_id}"
        try:
            self._client.rpush(key, json.dumps(reply))
            self._client.expire(key, 60)
        except self._errors:
            pass  # the approver says it was not told; the run's journal has the vote

    def await_reply(self, answer_id: str, timeout: float) -> dict[str, Any] | None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # one-second waits: within the socket's timeout
            try:
                got = self._client.blpop([f"recoverctl:reply:{answer_id}"], timeout=1)
            except self._errors as exc:
                raise self._down(exc) from None
            if got:
                return _json(got[1])
        return None

    def unpost(self, run_id: str, answer_id: str) -> bool:
        posted = getattr(self, "_posted", None)
        if posted is None:
            return False
        try:
            return bool(self._client.lrem(posted[0], 1, posted[1]))
        except self._errors:
            return False

    def release(self) -> None:
        if self._key is None:
            return
        try:
            self._client.eval(_RELEASE, 1, self._key, self._value)
        except self._errors:
            pass  # the lease ends it
        finally:
            self._key = None
            self._client.close()


def _json(raw: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
