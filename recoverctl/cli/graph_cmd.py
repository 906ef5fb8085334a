"""`recoverctl graph`: the plan as a diagram."""

from __future__ import annotations

import shutil
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.errors import RecoverctlError


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


@command(
    epilog="Examples:\n\n  recoverctl graph runbooks/db-failover.yaml > failover.mmd\n\n"
    "  recoverctl graph runbooks/db-failover.yaml --format svg > failover.svg   # needs Graphviz",
)
@reports_errors
def graph(
    runbook: Annotated[Path, typer.Argument(help="The runbook file.")],
    output_format: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid, dot or svg.")
    ] = GraphFormat.mermaid,
) -> None:
    """Draw the plan: sequence, parallel fan-out/fan-in, branch diamonds with conditions, dashed rollbacks."""
    from recoverctl.compile import compile_plan
    from recoverctl.export.graph import to_dot, to_mermaid
    from recoverctl.validate.pipeline import require_valid

    checked = require_valid(runbook)
    plan = compile_plan(checked.model, checked.callees)
    if output_format is GraphFormat.mermaid:
        sys.stdout.write(to_mermaid(plan))
        return
    dot_text = to_dot(plan)
    if output_format is GraphFormat.dot:
        sys.stdout.write(dot_text)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise RecoverctlError(
            message="--format svg needs Graphviz's `dot`, which is not installed",
            hint="install Graphviz (apt-get install graphviz, brew install graphviz) or use --format dot",
        )
    result = subprocess.run(
        [dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RecoverctlError(message=f"dot failed: {result.stderr.strip()}")
    sys.stdout.write(result.stdout)
