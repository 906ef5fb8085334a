"""Which notification channels a run uses: the runbook's, plus the user's config file's.

The config file is `$RECOVERCTL_CONFIG`, else `$XDG_CONFIG_HOME/recoverctl/config.yaml`
(`~/.config/recoverctl/config.yaml`). A runbook's channel replaces a config channel of
the same name. A config file that is named but missing, or malformed, stops the run
before its first step: notifications a team relies on must not silently vanish.
"""

from __future__ import annotations

import os
from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.model.notify import Channel
from recoverctl.model.runbook import Runbook


def config_path() -> tuple[Path, bool]:
    """The config file, and whether the user named it (then it must exist)."""
    named = os.environ.get("RECOVERCTL_CONFIG")
    if named:
        return Path(named), True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "recoverctl" / "config.yaml", False


def channels_for(runbook: Runbook) -> tuple[Channel, ...]:
    path, named = config_path()
    configured: tuple[Channel, ...] = ()
    if named or path.is_file():
        if not path.is_file():
            raise RecoverctlError(
                message=f"RECOVERCTL_CONFIG names {path}, which is not a file",
                hint="point it at your config file, or unset it; nothing was run",
            )
        from recoverctl.validate.config import config_channels

        configured = config_channels(path)
    own = {c.name for c in runbook.notify}
    return (*runbook.notify, *(c for c in configured if c.name not in own))
