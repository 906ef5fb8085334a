"""How a command module declares its commands, without importing the application.

Each `cli/*_cmd.py` marks its functions with `@command(...)`; `cli/app.py`
imports the modules and mounts what they declared on the typer app, in the
order they were declared (the order `--help` lists them). The command modules
never import `app`, so the CLI has no import circle.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from recoverctl.errors import RecoverctlError

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

DECLARED: list[tuple[Callable[..., Any], dict[str, Any]]] = []
"""Every command declared so far, with its `typer.Typer.command` options."""


def command(**options: Any) -> Callable[[F], F]:
    """Declare a CLI command: `options` are those of `typer.Typer.command`."""

    def declare(function: F) -> F:
        DECLARED.append((function, options))
        return function

    return declare


def reports_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Print a `RecoverctlError`'s diagnostics on stderr and exit with its code."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
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
