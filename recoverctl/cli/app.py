"""The typer application: the root options, and the commands mounted from cli/*_cmd.py."""

from __future__ import annotations

from typing import Annotated

import typer

from recoverctl import __version__

app = typer.Typer(
    name="recoverctl",
    help="Recovery runbooks as code: validate, plan and run recoveries with retries, "
    "timeouts, branches and saga rollback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"recoverctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """recoverctl: recovery runbooks as code."""


_mounted = False


def register_commands() -> None:
    """Import the command modules and mount what they declare (kept lazy for start-up)."""
    global _mounted  # noqa: PLW0603 - once per process, however many callers ask
    if _mounted:
        return
    from recoverctl.cli import (  # noqa: F401
        export_cmd,
        gate_cmd,
        graph_cmd,
        history_cmd,
        lint_cmd,
        listen_cmd,
        plan_cmd,
        resume_cmd,
        run_cmd,
        schema_cmd,
        test_cmd,
        validate_cmd,
    )
    from recoverctl.cli.commands import DECLARED

    for function, options in DECLARED:
        app.command(**options)(function)
    _mounted = True
