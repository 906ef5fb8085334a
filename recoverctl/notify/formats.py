"""A notice in each channel's wire format: our JSON document, Slack, PagerDuty Events v2."""

from __future__ import annotations

from typing import Any

from recoverctl.model.notify import NotifyEvent
from recoverctl.notify.notice import Notice

PAGERDUTY_SUMMARY_MAX = 1024
"""Events API v2 refuses a longer `payload.summary`."""


def slack_message(notice: Notice) -> dict[str, Any]:
    """An incoming-webhook message: `text` (the notification's fallback) and blocks.

    Slack reads `&`, `<` and `>` as markup in mrkdwn: a step's error must be escaped,
    or a `<!channel>` in a command's output pings the whole channel."""
    title, text = _slack_escape(notice.title), _slack_escape(notice.text)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{text}"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _slack_escape(f"run {notice.run_id} · {notice.host} · {notice.user}"),
                }
            ],
        },
    ]
    return {"text": f"{title}\n{text}", "blocks": blocks}


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pagerduty_event(notice: Notice, routing_key: str, severity: str) -> dict[str, Any]:
    """Events API v2: the run id is the dedup key, so every notice of a run lands on one
    alert, and a run that succeeds resolves it."""
    if notice.event is NotifyEvent.SUCCEEDED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": notice.run_id}
    details = {
        key: value
        for key, value in notice.document().items()
        if key not in ("title", "version", "source") and value is not None
    }
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": notice.run_id,
        "payload": {
            "summary": notice.title[:PAGERDUTY_SUMMARY_MAX],
            "source": notice.host,
            "severity": severity,
            "component": notice.runbook,
            "group": "recoverctl",
            "class": notice.event.value,
            "custom_details": details,
        },
        "client": "recoverctl",
    }
