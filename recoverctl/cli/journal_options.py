"""Options shared by the commands that read or write the state directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.journal.store import Store, state_dir

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where runs are kept (default $RECOVERCTL_STATE_DIR, else $XDG_STATE_HOME/recoverctl).",
        show_default=False,
    ),
]


def open_store(explicit: Path | None) -> Store:
    return Store(state_dir(explicit, os.environ))
