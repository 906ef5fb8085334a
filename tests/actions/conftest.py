"""A real HTTP server on 127.0.0.1 for the http, wait_for and webhook step kinds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Server:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.posts: list[dict[str, Any]] = []
        self.healthy_after = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                server.hits[path] = server.hits.get(path, 0) + 1
                if path == "/health":
                    self._send(200, {"status": "ok", "version": "2.1", "checks": [{"db": "up"}]})
                elif path == "/degraded":
                    self._send(200, {"status": "degraded"})
                elif path == "/flaky":
                    ready = server.hits[path] > server.healthy_after
                    self._send(200 if ready else 503, {"ready": ready})
                elif path == "/moved":
                    self._send(301, b"", {"Location": "/health"})
                elif path == "/slow":
                    time.sleep(5)
                    self._send(200, {})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.posts.append({"path": self.path, "body": body})
                if self.path == "/hang":
                    time.sleep(5)
                self._send(200 if self.path != "/broken-hook" else 500, {"ok": True})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    instance = Server()
    yield instance
    instance.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
