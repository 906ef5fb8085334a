"""The user's config file: settings for every runbook (`notify:` channels, the
`coordination:` backend that holds the team's run locks)."""

from __future__ import annotations

import functools
from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.load import LoadedDocument, load_file
from recoverctl.model.notify import Channel
from recoverctl.model.source import sorted_unique
from recoverctl.validate.notify import channel
from recoverctl.validate.schema_check import config_schema_diagnostics


@functools.cache
def _checked(path: Path) -> LoadedDocument | None:
    """Read and checked once per process: the channels and the backend both come from it."""
    doc = load_file(path)
    if doc.data is None:
        return None
    diagnostics = config_schema_diagnostics(doc)
    if diagnostics:
        raise RecoverctlError(sorted_unique(diagnostics))
    return doc


def config_coordination(path: Path) -> str | None:
    """The coordination backend's URL (`coordination:`), if the file names one."""
    doc = _checked(path)
    value = doc.data.get("coordination") if doc is not None else None
    return str(value) if value else None


def config_channels(path: Path) -> tuple[Channel, ...]:
    """The channels `path` declares; a malformed file raises with every error positioned."""
    doc = _checked(path)
    if doc is None:
        return ()
    return tuple(
        channel(name, spec, ("notify", name), doc.source_map, origin=str(path))
        for name, spec in (doc.data.get("notify") or {}).items()
    )
