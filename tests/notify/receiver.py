"""A real HTTP receiver on 127.0.0.1 that checks each notification against its format.

It stands in for a JSON webhook endpoint, Slack's incoming webhooks and PagerDuty's
Events API v2 at once (by path), records every request, and can be told to fail
(`fail_first`, `status`) or to hang (`hang`) — as real receivers do mid-incident.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

PAGERDUTY_EVENT = {
    # the Events API v2 request as PagerDuty documents it (developer.pagerduty.com,
    # "Send an Alert Event"): trigger needs a payload; acknowledge/resolve only the key
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 1},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": {"type": "string"},
        "payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
                "source": {"type": "string", "minLength": 1},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "component": {"type": "string"},
                "group": {"type": "string"},
                "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {"required": ["payload", "dedup_key"]},
    "else": {"required": ["dedup_key"], "not": {"required": ["payload"]}},
}

SLACK_MESSAGE = {
    # an incoming-webhook message: `text` is required as the notification fallback when
    # there are blocks; section and context blocks as Block Kit defines them
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "blocks": {
            "type": "array",
            "maxItems": 50,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "section"},
                            "text": {
                                "type": "object",
                                "required": ["type", "text"],
                                "properties": {
                                    "type": {"const": "mrkdwn"},
                                    "text": {"type": "string", "maxLength": 3000},
                                },
                            },
                        },
                    },
                    {
                        "type": "object",
                        "required": ["type", "elements"],
                        "properties": {"type": {"const": "context"}, "elements": {"type": "array"}},
                    },
                ]
            },
        },
    },
}

WEBHOOK_DOCUMENT = {
    "type": "object",
    "required": ["version", "source", "event", "runbook", "run_id", "title", "text", "status"],
    "properties": {
        "version": {"const": 1},
        "source": {"const": "recoverctl"},
        "event": {
            "enum": [
                "started",
                "waiting_for_approval",
                "failed",
                "rolling_back",
                "rolled_back",
                "rollback_failed",
                "succeeded",
            ]
        },
    },
}

FORMATS = {"/pd": PAGERDUTY_EVENT, "/slack": SLACK_MESSAGE, "/hook": WEBHOOK_DOCUMENT}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    port: int = 0
    fail_first: int = 0
    """Answer this many requests with `status` before accepting."""
    status: int = 503
    hang: float = 0.0
    """Seconds to wait before answering each request."""
    received: list[Received] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    """Requests that did not match their format (the test fails on any)."""
    answered: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.path == path]

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def start(receiver: Receiver) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                receiver.invalid.append(f"{self.path}: not JSON: {raw[:100]!r}")
                body = {}
            schema = FORMATS.get(self.path)
            if schema is not None:
                for error in jsonschema.Draft7Validator(schema).iter_errors(body):
                    receiver.invalid.append(f"{self.path}: {error.message}")
            if self.headers.get("Content-Type") != "application/json":
                receiver.invalid.append(
                    f"{self.path}: Content-Type {self.headers.get('Content-Type')}"
                )
            with lock:
                receiver.received.append(Received(self.path, dict(self.headers), body))
                failing = receiver.answered < receiver.fail_first
                receiver.answered += 1
            if receiver.hang:
                time.sleep(receiver.hang)
            self.send_response(receiver.status if failing else 202)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no" if failing else b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
