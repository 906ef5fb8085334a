"""An alert as `run --from-alert` reads it: Alertmanager's webhook, PagerDuty's, or plain JSON.

Params declare where their value is in the alert (`from_alert: labels.instance`);
this module only reads the document and says what it holds. The field a path
names is looked up per alert for Alertmanager (each firing alert of the group;
`commonLabels.x`, `groupLabels.x`… read the group), in the incident for a
PagerDuty webhook (`event.data`: `title`, `service.summary`…), and in the
document itself for plain JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.model.source import Diagnostic, Span

MAX_ALERT_BYTES = 4 * 1024 * 1024
"""Alertmanager caps a group's payload far below this; anything bigger is not an alert."""

GROUP_KEYS = (
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "receiver",
    "groupKey",
    "truncatedAlerts",
)
"""An Alertmanager path starting with one of these reads the group, not each alert."""


@dataclass(frozen=True, slots=True)
class Alert:
    source: str
    """alertmanager, pagerduty or json."""
    path: Path
    document: Any
    items: list[Any] = field(default_factory=list)
    """What a path is read from: each firing alert, the incident, or the document."""
    fingerprints: list[str] = field(default_factory=list)
    """Alertmanager's fingerprint of each firing alert; PagerDuty's incident id."""
    status: str = "firing"

    def summary(self) -> dict[str, Any]:
        """What the journal keeps of it (RunStarted.alert)."""
        return {
            "source": self.source,
            "file": str(self.path),
            "status": self.status,
            "fingerprints": self.fingerprints,
            "alerts": len(self.items),
        }


def read_alert(path: Path) -> Alert:
    """The alert in `path` (`-`: stdin); malformed input raises with its line and column."""
    shown = Path("<stdin>") if str(path) == "-" else path
    try:
        raw = sys.stdin.buffer.read(MAX_ALERT_BYTES + 1) if str(path) == "-" else _read(path)
    except OSError as exc:
        raise RecoverctlError(
            message=f"cannot read the alert {path}: {exc.strerror}", hint="nothing was run"
        ) from None
    if len(raw) > MAX_ALERT_BYTES:
        raise _error(shown, Span(1, 1, 1, 1), f"the alert is over {MAX_ALERT_BYTES} bytes")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _error(shown, Span(1, 1, 1, 1), "the alert is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        span = Span(exc.lineno, exc.colno, exc.lineno, exc.colno)
        raise _error(shown, span, f"the alert is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise _error(shown, Span(1, 1, 1, 1), "the alert nests too deeply to be one") from None
    return classify(document, shown)


def _read(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_ALERT_BYTES + 1)


def classify(document: Any, path: Path) -> Alert:
    if _is_alertmanager(document):
        alerts = [a for a in document["alerts"] if isinstance(a, dict)]
        firing = [a for a in alerts if a.get("status", "firing") == "firing"]
        status = "firing" if firing else str(document.get("status", "resolved"))
        return Alert(
            "alertmanager",
            path,
            document,
            firing,
            [str(a["fingerprint"]) for a in firing if "fingerprint" in a],
            status,
        )
    if _is_pagerduty(document):
        incident = document["event"]["data"]
        status = (
            "resolved" if document["event"].get("event_type") == "incident.resolved" else "firing"
        )
        return Alert("pagerduty", path, document, [incident], [str(incident.get("id", ""))], status)
    return Alert("json", path, document, [document])


def _is_alertmanager(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("alerts"), list)
        and ("groupKey" in document or "receiver" in document)
    )


def _is_pagerduty(document: Any) -> bool:
    event = document.get("event") if isinstance(document, dict) else None
    return (
        isinstance(event, dict)
        and isinstance(event.get("event_type"), str)
        and isinstance(event.get("data"), dict)
    )


_MISSING = object()


def lookup(alert: Alert, dotted: str) -> list[Any]:
    """The value `dotted` names in each item (absent items leave a gap: `_MISSING`)."""
    parts = dotted.split(".")
    if alert.source == "alertmanager" and parts[0] in GROUP_KEYS:
        return [_walk(alert.document, parts)]
    return [_walk(item, parts) for item in alert.items]


def found(value: Any) -> bool:
    return value is not _MISSING


def _walk(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def keys_near(alert: Alert, dotted: str) -> list[str]:
    """The keys there are where `dotted` failed: what the message offers instead."""
    parts = dotted.split(".")
    for item in alert.items[:1] or [alert.document]:
        node = item
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return sorted(str(k) for k in node) if isinstance(node, dict) else []
    return []


def _error(path: Path, span: Span, message: str) -> RecoverctlError:
    hint = "pass the webhook body as Alertmanager or PagerDuty sent it, or a JSON object"
    return RecoverctlError([Diagnostic(path, span, message, "alert", hint=hint)])
