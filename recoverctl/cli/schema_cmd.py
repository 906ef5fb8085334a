"""`recoverctl schema`: the published JSON Schema for editors and CI."""

from __future__ import annotations

import sys

from recoverctl.cli.app import app


@app.command(
    epilog="Example:\n\n  recoverctl schema > runbook.schema.json\n\n"
    "Editors pick it up from the modeline:  # yaml-language-server: $schema=../schemas/runbook.schema.json",
)
def schema() -> None:
    """Print the runbook JSON Schema (draft 2020-12)."""
    from recoverctl.validate.schema_check import schema_text

    sys.stdout.write(schema_text())
