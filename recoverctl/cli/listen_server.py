"""The alert receiver behind `recoverctl listen`: an alert POSTed to /alerts/<route> starts
that route's runbook with `run --from-alert`.

Every request must prove it knows the shared secret — `Authorization: Bearer
<secret>` (Alertmanager's `http_config.authorization`), or an HMAC-SHA256 of the
body under it (`X-Recoverctl-Signature: sha256=<hex>`, or PagerDuty's
`X-PagerDuty-Signature: v1=<hex>`) — compared in constant time. A group of
alerts already acted on (the same route and the same fingerprints of its firing
alerts, within the route's `dedup` window) is not started twice: Alertmanager
sends a group again every `repeat_interval` and after each restart. A resolved
alert starts nothing. The run itself is an ordinary `recoverctl run` in its own
session: its lock, cooldown, journal, notifications and gates are the runbook's;
stopping the listener never stops a recovery it started.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.load.alert import MAX_ALERT_BYTES, classify
from recoverctl.validate.listen_config import ListenConfig, Route


@dataclass
class Listener:
    config: ListenConfig
    secret: bytes
    state_dir: Path
    log: Any = sys.stderr
    seen: dict[tuple[str, tuple[str, ...]], tuple[float, int]] = field(default_factory=dict)
    """(route, fingerprints) → (when it was started, the run's pid)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def authorized(self, headers: Any, body: bytes) -> bool:
        bearer = headers.get("Authorization", "")
        if bearer.startswith("Bearer ") and hmac.compare_digest(
            bearer[len("Bearer ") :].strip().encode(), self.secret
        ):
            return True
        digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        ours = headers.get("X-Recoverctl-Signature", "")
        if ours.startswith("sha256=") and hmac.compare_digest(ours[len("sha256=") :], digest):
            return True
        theirs = headers.get("X-PagerDuty-Signature", "")  # v1=<hex>[,v1=<hex>] during rotation
        return any(
            part.strip().startswith("v1=") and hmac.compare_digest(part.strip()[3:], digest)
            for part in theirs.split(",")
        )

    def handle(self, route_name: str, body: bytes) -> tuple[int, dict[str, Any]]:
        route = self.config.routes.get(route_name)
        if route is None:
            return 404, {"error": f"no route '{route_name}'", "routes": sorted(self.config.routes)}
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return 400, {"error": f"the alert is not valid JSON: {exc}"}
        alert = classify(document, Path("<request>"))
        if alert.status != "firing" or not alert.items:
            return 200, {"status": "ignored", "reason": f"the alert is {alert.status}"}
        key = (route.name, tuple(sorted(alert.fingerprints or [hashlib.sha256(body).hexdigest()])))
        now = time.time()
        with self.lock:
            self._forget(now)
            earlier = self.seen.get(key)
            if earlier is not None:
                return 200, {
                    "status": "duplicate",
                    "started": earlier[0],
                    "pid": earlier[1],
                    "reason": "this alert group already started a run",
                }
            pid, log = self._start(route, body, now)
            self.seen[key] = (now, pid)
        return 202, {
            "status": "started",
            "route": route.name,
            "runbook": str(route.runbook),
            "pid": pid,
            "log": str(log),
            "fingerprints": list(key[1]),
        }

    def _forget(self, now: float) -> None:
        for key, (when, _) in list(self.seen.items()):
            route = self.config.routes.get(key[0])
            if route is None or now - when > route.dedup:
                del self.seen[key]

    def _start(self, route: Route, body: bytes, now: float) -> tuple[int, Path]:
        folder = self.state_dir / "listen"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + os.urandom(3).hex()
        alert_file, log = (
            folder / f"{stamp}-{route.name}.json",
            folder / f"{stamp}-{route.name}.log",
        )
        descriptor = os.open(alert_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        argv = [sys.executable, "-m", "recoverctl", "run", str(route.runbook)]
        argv += ["--from-alert", str(alert_file), "--no-tty", "--state-dir", str(self.state_dir)]
        for name, value in route.params:
            argv += ["-p", f"{name}={value}"]
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # the listener's Ctrl-C never reaches a recovery
                env={**os.environ, "NO_COLOR": "1"},
            )
        finally:
            os.close(out)
        self.children.append(child)
        self.children = [c for c in self.children if c.poll() is None]  # reaped
        return child.pid, log

    def say(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log.write(f"{stamp} {line}\n")
        self.log.flush()


def serve(listener: Listener) -> ThreadingHTTPServer:
    """A server bound and ready (its `serve_forever` not yet called)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "recoverctl-listen"

        def do_POST(self) -> None:
            route = self.path.split("?", 1)[0].removeprefix("/alerts/").strip("/")
            length = self._length()
            if length is None:
                return
            body = self.rfile.read(length)
            if not listener.authorized(self.headers, body):
                listener.say(f"401 {route}: refused, the secret or signature is missing or wrong")
                self._send(401, {"error": "the secret or signature is missing or wrong"})
                return
            if not self.path.startswith("/alerts/"):
                self._send(404, {"error": "POST alerts to /alerts/<route>"})
                return
            code, answer = listener.handle(route, body)
            listener.say(f"{code} {route}: {_summary(answer)}")
            self._send(code, answer)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, {"status": "ok", "routes": sorted(listener.config.routes)})
            else:
                self._send(404, {"error": "POST alerts to /alerts/<route>"})

        def _length(self) -> int | None:
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(411, {"error": "a Content-Length is required"})
                return None
            if length > MAX_ALERT_BYTES:
                # read (a bounded amount of) what was sent, so the sender hears why
                left = min(length, 4 * MAX_ALERT_BYTES)
                while left > 0 and (chunk := self.rfile.read(min(left, 65536))):
                    left -= len(chunk)
                self.close_connection = True
                self._send(413, {"error": f"an alert is at most {MAX_ALERT_BYTES} bytes"})
                return None
            return length

        def _send(self, code: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per alert, from `say`

    config = listener.config
    try:
        server = ThreadingHTTPServer((config.host, config.port), Handler)
    except OSError as exc:
        raise RecoverctlError(
            message=f"cannot listen on {config.host}:{config.port}: {exc.strerror}",
            hint=f"another process may hold the port; set bind: in {config.path}",
        ) from None
    server.daemon_threads = True
    return server


def _summary(answer: dict[str, Any]) -> str:
    if answer.get("status") == "started":
        return f"started {answer['runbook']} (pid {answer['pid']}, log {answer['log']})"
    if answer.get("status") == "duplicate":
        return f"duplicate: already started (pid {answer['pid']})"
    return str(answer.get("reason") or answer.get("error") or answer)
