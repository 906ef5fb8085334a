"""`recoverctl schema`: the published JSON Schema for editors and CI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors


@command(
    epilog="Examples:\n\n  recoverctl schema > runbook.schema.json\n\n"
    "  recoverctl schema -o schemas/runbook.schema.json   # into your runbooks repository\n\n"
    "Then start each runbook with the modeline (the path relative to the runbook):\n\n"
    "  # yaml-language-server: $schema=../schemas/runbook.schema.json",
)
@reports_errors
def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write it to this file (folders are created)."),
    ] = None,
) -> None:
    """Print the runbook JSON Schema (draft-07: what yaml-language-server and most editors read)."""
    from recoverctl.validate.schema_check import schema_text

    text = schema_text()
    if output is None:
        sys.stdout.write(text)
        return
    from recoverctl.errors import RecoverctlError
    from recoverctl.files import replace_file

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        replace_file(output, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise RecoverctlError(
            message=f"cannot write {output}: {exc.strerror}",
            hint="choose a path in a folder you can write",
        ) from None
    sys.stderr.write(f"wrote {output}\n")
