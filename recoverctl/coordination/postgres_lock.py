"""The team lock in PostgreSQL: a session advisory lock, with the holder in a small table
and the fencing token from a sequence. The lock lives exactly as long as the session:
a health check that fails means the server will (or did) drop it — the lock is lost."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from recoverctl.coordination.backend import BackendDown, BackendURL, Held, Holder, missing_client

_SETUP = (
    "create table if not exists recoverctl_locks (runbook text primary key, holder jsonb not null)",
    "create sequence if not exists recoverctl_fence",
)


class PostgresLock:
    def __init__(self, url: BackendURL) -> None:
        try:
            import psycopg
        except ImportError:
            raise missing_client("psycopg", "postgres") from None
        self.url, self.lease = url.shown, url.lease
        self._raw = url.url
        self._psycopg = psycopg
        self._conn: Any = None
        self._name: str | None = None
        self._run_id: str | None = None

    def _down(self, exc: BaseException) -> BackendDown:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password authentication failed" in text or "no password supplied" in text:
            return BackendDown(f"{self.url} refused the credentials")
        return BackendDown(f"cannot reach {self.url}: {text.rstrip('.')}")

    def acquire(self, name: str, holder: Holder) -> Holder:
        psycopg = self._psycopg
        timeout = max(1, int(min(5.0, self.lease / 3)))
        try:
            conn = psycopg.connect(self._raw, autocommit=True, connect_timeout=timeout)
            for statement in _SETUP:
                # another holder may create it at the same moment
                with contextlib.suppress(psycopg.errors.UniqueViolation):
                    conn.execute(statement)
            got = conn.execute(
                "select pg_try_advisory_lock(hashtextextended('recoverctl:' || %s, 0))", (name,)
            ).fetchone()[0]
            if not got:
                row = conn.execute(
                    "select holder from recoverctl_locks where runbook = %s", (name,)
                ).fetchone()
                conn.close()
                raise Held(Holder.from_dict(row[0] if row else {}))
            token = int(conn.execute("select nextval('recoverctl_fence')").fetchone()[0])
            mine = Holder(holder.run_id, holder.user, holder.host, holder.pid, holder.since, token)
            conn.execute(
                "insert into recoverctl_locks (runbook, holder) values (%s, %s) "
                "on conflict (runbook) do update set holder = excluded.holder",
                (name, json.dumps(mine.to_dict())),
            )
        except psycopg.Error as exc:
            raise self._down(exc) from None
        self._conn, self._name, self._run_id = conn, name, holder.run_id
        return mine

    def renew(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute("select 1")
        except self._psycopg.Error as exc:
            raise self._down(exc) from None

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(
                "delete from recoverctl_locks where runbook = %s and holder->>'run_id' = %s",
                (self._name, self._run_id),
            )
            self._conn.execute(
                "select pg_advisory_unlock(hashtextextended('recoverctl:' || %s, 0))", (self._name,)
            )
        except self._psycopg.Error:
            pass  # the session's end frees it
        finally:
            self._conn.close()
            self._conn = None
