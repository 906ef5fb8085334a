"""Options shared by the commands that read or write the state directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recoverctl.journal.store import Store, state_dir

if TYPE_CHECKING:
    from recoverctl.journal.reader import Journal

NoNotifyOption = Annotated[
    bool,
    typer.Option("--no-notify", help="Send none of the runbook's or config's notifications."),
]

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


def read_run_journal(path: Path) -> Journal:
    """A run's journal, with a warning on stderr for each record that had to be skipped."""
    import sys

    from recoverctl.journal.reader import read_journal
    from recoverctl.present.diagnostics import write_diagnostics

    journal = read_journal(path)
    if journal.problems:
        write_diagnostics(journal.problems, sys.stderr)
    return journal
