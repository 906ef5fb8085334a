"""The team lock in Redis: `SET NX PX` with the holder as its value, a fencing token from
`INCR`, renewal and release by compare-and-set scripts (the Redlock single-instance form)."""

from __future__ import annotations

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
        timeout = min(5.0, url.lease / 3)
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
