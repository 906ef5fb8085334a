"""The user's config file: settings for every runbook (today: `notify:` channels)."""

from __future__ import annotations

from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.load import load_file
from recoverctl.model.notify import Channel
from recoverctl.model.source import sorted_unique
from recoverctl.validate.notify import channel
from recoverctl.validate.schema_check import config_schema_diagnostics


def config_channels(path: Path) -> tuple[Channel, ...]:
    """The channels `path` declares; a malformed file raises with every error positioned."""
    doc = load_file(path)
    if doc.data is None:
        return ()
    diagnostics = config_schema_diagnostics(doc)
    if diagnostics:
        raise RecoverctlError(sorted_unique(diagnostics))
    return tuple(
        channel(name, spec, ("notify", name), doc.source_map, origin=str(path))
        for name, spec in (doc.data.get("notify") or {}).items()
    )
