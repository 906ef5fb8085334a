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
    "create table if not exists recoverctl_gates (run_id text primary key, info jsonb not null, "
    "expires timestamptz not null)",
    "create table if not exists recoverctl_answers (id bigserial primary key, run_id text not null, "
    "request jsonb not null, taken boolean not null default false, reply jsonb, "
    "created timestamptz not null default now())",
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

    def _connect(self) -> Any:
        psycopg = self._psycopg
        timeout = max(1, int(min(5.0, self.lease / 3)))
        conn = psycopg.connect(self._raw, autocommit=True, connect_timeout=timeout)
        for statement in _SETUP:
            # another holder may create it at the same moment
            with contextlib.suppress(psycopg.errors.UniqueViolation):
                conn.execute(statement)
        return conn

    def _mail(self) -> Any:
        """The connection the mailbox uses: the lock's when held, else one of its own."""
        if self._conn is None and getattr(self, "_mailconn", None) is None:
            try:
                self._mailconn = self._connect()
            except self._psycopg.Error as exc:
                raise self._down(exc) from None
        return self._conn if self._conn is not None else self._mailconn

    def _run(self, query: str, args: tuple[Any, ...] = ()) -> Any:
        try:
            return self._mail().execute(query, args)
        except self._psycopg.Error as exc:
            raise self._down(exc) from None

    def announce(self, run_id: str, info: dict[str, Any], ttl: float) -> None:
        self._run(
            "insert into recoverctl_gates (run_id, info, expires) values "
            "(%s, %s, now() + make_interval(secs => %s)) on conflict (run_id) do update "
            "set info = excluded.info, expires = excluded.expires",
            (run_id, json.dumps(info), ttl),
        )

    def withdraw(self, run_id: str) -> None:
        with contextlib.suppress(BackendDown):
            self._run("delete from recoverctl_gates where run_id = %s", (run_id,))

    def waiting(self, run_id: str) -> dict[str, Any] | None:
        row = self._run(
            "select info from recoverctl_gates where run_id = %s and expires > now()", (run_id,)
        ).fetchone()
        return row[0] if row and isinstance(row[0], dict) else None

    def post(self, run_id: str, request: dict[str, Any]) -> str:
        row = self._run(
            "insert into recoverctl_answers (run_id, request) values (%s, %s) returning id",
            (run_id, json.dumps(request)),
        ).fetchone()
        return str(row[0])

    def take(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._run(
            "update recoverctl_answers set taken = true where run_id = %s and not taken "
            "returning id, request",
            (run_id,),
        ).fetchall()
        return [(str(i), r) for i, r in sorted(rows) if isinstance(r, dict)]

    def reply(self, answer_id: str, reply: dict[str, Any]) -> None:
        with contextlib.suppress(BackendDown):
            self._run(
                "update recoverctl_answers set reply = %s where id = %s",
                (json.dumps(reply), int(answer_id)),
            )

    def await_reply(self, answer_id: str, timeout: float) -> dict[str, Any] | None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self._run(
                "select reply from recoverctl_answers where id = %s", (int(answer_id),)
            ).fetchone()
            if row and isinstance(row[0], dict):
                return row[0]
            time.sleep(0.2)
        return None

    def unpost(self, run_id: str, answer_id: str) -> bool:
        try:
            gone = self._run(
                "delete from recoverctl_answers where id = %s and not taken", (int(answer_id),)
            )
            return bool(gone.rowcount)
        except BackendDown:
            return False

    def acquire(self, name: str, holder: Holder) -> Holder:
        psycopg = self._psycopg
        try:
            conn = self._connect()
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
