"""The team lock of a backend URL: Redis or PostgreSQL, each with its own client."""

from __future__ import annotations

from recoverctl.coordination.backend import TeamLock, parse_url


def open_backend(raw: str) -> TeamLock:
    url = parse_url(raw)
    if url.scheme == "redis":
        from recoverctl.coordination.redis_lock import RedisLock

        return RedisLock(url)
    from recoverctl.coordination.postgres_lock import PostgresLock

    return PostgresLock(url)
