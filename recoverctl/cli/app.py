"""The typer application and what every command shares: errors → exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer

from recoverctl import __version__
from recoverctl.errors import RecoverctlError

app = typer.Typer(
    name="recoverctl",
    help="Recovery runbooks as code: validate, plan and run recoveries with retries, "
    "timeouts, branches and saga rollback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

P = ParamSpec("P")
R = TypeVar("R")


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


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a `RecoverctlError`'s diagnostics on stderr and exit with its code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except RecoverctlError as exc:
            print_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None

    return wrapper


def print_error(exc: RecoverctlError) -> None:
    if exc.diagnostics:
        from recoverctl.present.diagnostics import write_diagnostics

        write_diagnostics(exc.diagnostics, sys.stderr)
        return
    sys.stderr.write(f"recoverctl: error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"  hint: {exc.hint}\n")


def register_commands() -> None:
    """Import the command modules; each registers itself on `app` (kept lazy for start-up)."""
    from recoverctl.cli import (  # noqa: F401
        export_cmd,
        graph_cmd,
        history_cmd,
        lint_cmd,
        plan_cmd,
        resume_cmd,
        run_cmd,
        schema_cmd,
        test_cmd,
        validate_cmd,
    )
