"""`recoverctl plan`: what a run would do, without running anything."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.model.masking import MASK


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="A parameter as name=value (repeatable).", show_default=False
    ),
]
ParamsFileOption = Annotated[
    Path | None, typer.Option("--params-file", help="A YAML file of name: value params.")
]


@command(
    epilog="Examples:\n\n  recoverctl plan runbooks/db-failover.yaml -p primary=db-1\n\n"
    "  recoverctl plan runbooks/demo.yaml --format json | jq .worst_case_seconds",
)
@reports_errors
def plan(
    runbook: Annotated[Path, typer.Argument(help="The runbook file.")],
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="text or json.")
    ] = PlanFormat.text,
) -> None:
    """Show the compiled plan: order, parallel groups, branches, rollbacks and the worst case vs the RTO."""
    from recoverctl.cli.loading import load_plan

    compiled, params = load_plan(runbook, param, params_file)
    shown = {
        k: (MASK if k in params.secrets and v is not None else v) for k, v in params.values.items()
    }
    if output_format is PlanFormat.json:
        from recoverctl.present.plan_json import plan_to_json

        json.dump(plan_to_json(compiled, shown), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from recoverctl.present.console import stdout_console
    from recoverctl.present.plan_view import render_plan

    stdout_console().print(render_plan(compiled, shown, params.secrets))
