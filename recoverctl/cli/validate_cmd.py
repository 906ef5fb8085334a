"""`recoverctl validate`: is this runbook well-formed and meaningful?"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.discover import RunbooksOnlyOption
from recoverctl.exitcodes import ExitCode


@command(
    epilog="Examples:\n\n  recoverctl validate runbooks/db-failover.yaml\n\n"
    "  recoverctl validate runbooks/      # every *.yaml under the folder",
)
@reports_errors
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Runbook files or folders of runbooks.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print problems only.")] = False,
    runbooks_only: RunbooksOnlyOption = False,
) -> None:
    """Check runbooks against the schema and for semantic mistakes; exit 2 on any problem."""
    from recoverctl.cli.discover import runbook_files
    from recoverctl.present.diagnostics import write_diagnostics
    from recoverctl.validate.pipeline import check_file

    files = runbook_files(paths, runbooks_only=runbooks_only)
    failed = 0
    for path in files:
        checked = check_file(path)
        if checked.runbook is None:
            failed += 1
            write_diagnostics(checked.diagnostics, sys.stderr)
            continue
        if not quiet:
            rb = checked.runbook
            from recoverctl.model.walk import all_steps

            count = sum(1 for _ in all_steps(rb))
            sys.stdout.write(f"ok  {path}  ({rb.name}, {count} step{'s' if count != 1 else ''})\n")
    if failed:
        sys.stderr.write(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} invalid\n")
        raise typer.Exit(ExitCode.INVALID)
