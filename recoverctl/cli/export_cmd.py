"""`recoverctl export`: the runbook as another engine's workflow (Argo, Step Functions)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.errors import UsageError
from recoverctl.export.options import (
    DEFAULT_FUNCTION,
    DEFAULT_IMAGE,
    LAMBDA_INVOKE,
    ExportOptions,
    Target,
)

_ARGO_ONLY = "--template and --image are Argo options"
_ASL_ONLY = "--resource, --function and --approval-function are Step Functions options"


@command(
    epilog="Examples:\n\n"
    "  recoverctl export runbooks/db-failover.yaml --to argo -o failover.yaml\n\n"
    "  recoverctl export runbooks/db-failover.yaml --to argo --template --image postgres:16\n\n"
    "  recoverctl export runbooks/demo.yaml --to step-functions --lossy -o demo.asl.json\n\n"
    "Exit codes: 0 written, 2 the runbook is invalid or uses a feature the target cannot "
    "express (without --lossy).",
)
@reports_errors
def export(
    runbook: Annotated[Path, typer.Argument(help="The runbook file.")],
    to: Annotated[Target, typer.Option("--to", help="argo or step-functions.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    lossy: Annotated[
        bool,
        typer.Option(
            "--lossy", help="Export even when a feature cannot be expressed: a warning per loss."
        ),
    ] = False,
    template: Annotated[
        bool, typer.Option("--template", help="Argo: a WorkflowTemplate instead of a Workflow.")
    ] = False,
    image: Annotated[
        str | None, typer.Option("--image", help="Argo: the image commands run in.")
    ] = None,
    resource: Annotated[
        str | None,
        typer.Option(
            "--resource",
            help="Step Functions: the command runner's Task resource ARN; {kind} and {step} "
            "are replaced (default: the Lambda invoke integration).",
        ),
    ] = None,
    function: Annotated[
        str | None,
        typer.Option("--function", help="Step Functions: the runner Lambda's name or ARN."),
    ] = None,
    approval_function: Annotated[
        str | None,
        typer.Option(
            "--approval-function",
            help="Step Functions: a Lambda that asks a human and answers with the task token.",
        ),
    ] = None,
    secrets: Annotated[
        str | None,
        typer.Option(
            "--secrets",
            help="Where secret params come from: Argo, the Kubernetes Secret (default "
            "<runbook>-secrets, a key per param); Step Functions, the Secrets Manager prefix "
            "(default recoverctl/<runbook>/, a secret per param).",
        ),
    ] = None,
) -> None:
    """Compile the runbook for Argo Workflows or AWS Step Functions; never drops a feature silently."""
    from recoverctl.compile import compile_plan
    from recoverctl.export.targets import export_plan
    from recoverctl.present.diagnostics import write_diagnostics
    from recoverctl.validate.pipeline import require_valid

    if to is Target.argo and (resource or function or approval_function):
        raise UsageError(_ASL_ONLY, hint="drop them, or use --to step-functions")
    if to is Target.step_functions and (template or image):
        raise UsageError(_ARGO_ONLY, hint="drop them, or use --to argo")
    options = ExportOptions(
        lossy=lossy,
        template=template,
        image=image or DEFAULT_IMAGE,
        resource=resource or LAMBDA_INVOKE,
        function=function or DEFAULT_FUNCTION,
        approval_function=approval_function,
        secrets=secrets,
    )
    checked = require_valid(runbook)
    exported = export_plan(compile_plan(checked.model, checked.callees), to, options)
    write_diagnostics(exported.warnings, sys.stderr)
    if output is None or str(output) == "-":
        sys.stdout.write(exported.text)
        return
    _write_atomically(output, exported.text)
    sys.stderr.write(f"wrote {output} ({to.label})\n")


def _write_atomically(path: Path, text: str) -> None:
    """A failed write never leaves half a manifest where a deploy job would pick it up."""
    from recoverctl.files import replace_file, shared_mode

    try:
        replace_file(path, text.encode("utf-8"), mode=shared_mode())
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check the folder exists and is writable",
        ) from None
