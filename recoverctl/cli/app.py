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


COMMAND_MODULES = {
    "validate": "validate_cmd",
    "plan": "plan_cmd",
    "run": "run_cmd",
    "resume": "resume_cmd",
    "rollback": "resume_cmd",
    "approve": "gate_cmd",
    "deny": "gate_cmd",
    "runs": "history_cmd",
    "show": "history_cmd",
    "report": "history_cmd",
    "stats": "history_cmd",
    "lint": "lint_cmd",
    "test": "test_cmd",
    "graph": "graph_cmd",
    "export": "export_cmd",
    "schema": "schema_cmd",
    "listen": "listen_cmd",
    "worker": "worker_cmd",
}
"""Which module declares each command (tests/cli/test_cli_basics.py checks it is complete).
`recoverctl run …` imports and builds only `run`: typer builds a click command for every
command it holds, and the other modules' imports cost a run's start-up for nothing."""

_mounted: set[str] = set()


def register_commands(argv: list[str] | None = None) -> None:
    """Mount the commands on the app (kept lazy for start-up): with `argv`, only the
    command it names when it names one (help, completion and typos get them all)."""
    import importlib

    wanted = _named_module(argv) if argv is not None else None
    modules = [wanted] if wanted is not None else sorted(set(COMMAND_MODULES.values()))
    from recoverctl.cli.commands import DECLARED

    for module in modules:
        if module in _mounted:
            continue
        before = len(DECLARED)
        importlib.import_module(f"recoverctl.cli.{module}")
        for function, options in DECLARED[before:]:
            app.command(**options)(function)
        _mounted.add(module)
    if wanted is None:
        _keep_declared_order()


def _named_module(argv: list[str]) -> str | None:
    """The module of the command `argv` names, or None (no command, an option first, an
    unknown name, or shell completion asking)."""
    import os

    if any(key.startswith("_RECOVERCTL_COMPLETE") for key in os.environ):
        return None
    for word in argv:
        if word.startswith("-"):
            return None  # `--help`, `--version`: the root's own options
        return COMMAND_MODULES.get(word)
    return None


def _keep_declared_order() -> None:
    """`--help` lists the commands in the order their modules declare them."""
    from recoverctl.cli.commands import DECLARED

    order = {function: index for index, (function, _options) in enumerate(DECLARED)}
    app.registered_commands.sort(key=lambda info: order.get(info.callback, len(order)))  # type: ignore[arg-type]
