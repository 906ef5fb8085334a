"""Notifications: telling people a run started, waits for approval, failed, rolls back
or succeeded — over a JSON webhook, Slack, PagerDuty Events v2 or a command.

They read the engine's events like the views do (notice.py turns events into
notices, formats.py into each channel's wire format), are delivered in the
background with retries (deliver.py, notifier.py) and every delivery is
journaled. See docs/notifications.md.
"""
