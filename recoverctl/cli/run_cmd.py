"""`recoverctl run`: carry out a runbook, or rehearse it with --dry-run."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.app import app, reports_errors
from recoverctl.cli.plan_cmd import ParamOption, ParamsFileOption


def new_run_id() -> str:
    """Sortable and unique: UTC time plus randomness."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


@app.command(
    epilog="Examples:\n\n  recoverctl run runbooks/demo.yaml\n\n"
    "  recoverctl run runbooks/db-failover.yaml -p primary=db-1 --yes\n\n"
    "  recoverctl run runbooks/db-failover.yaml --dry-run     # the path a run would take, nothing executed",
)
@reports_errors
def run(
    runbook: Annotated[Path, typer.Argument(help="The runbook file.")],
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run the real scheduler with nothing executed.")
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help="Most steps running at once (overrides the runbook)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve every approval gate.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Stream every step's output.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the end of the run.")
    ] = False,
) -> None:
    """Run a runbook: steps in order, in parallel and down the chosen branch, with retries, timeouts and rollback."""
    from recoverctl.compile import compile_plan
    from recoverctl.validate.params import load_params_file, parse_assignments, resolve_params
    from recoverctl.validate.pipeline import require_valid

    checked = require_valid(runbook)
    model = checked.model
    file_values = load_params_file(params_file) if params_file else None
    params = resolve_params(
        model, parse_assignments(param or []), os.environ, file_values=file_values
    )
    plan = compile_plan(model, checked.callees)
    _fast_child_watcher()
    code = asyncio.run(
        _run(
            plan,
            params,
            dry_run=dry_run,
            concurrency=concurrency,
            yes=yes,
            verbose=verbose,
            quiet=quiet,
        )
    )
    raise typer.Exit(code)


def _fast_child_watcher() -> None:
    """On Python 3.11, reap children through pidfds instead of one thread per process.

    3.12 does this by default; on 3.11 the default spawns a thread for every
    step's process, which costs more than the process itself for short steps.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:
            return  # kernel without pidfd support: keep the default
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


async def _run(plan, params, *, dry_run, concurrency, yes, verbose, quiet) -> int:  # type: ignore[no-untyped-def]
    from recoverctl.cli.approvals import AutoApprover, NoTerminal, TerminalApprover
    from recoverctl.engine.bus import EventBus
    from recoverctl.engine.executor import RealExecutor, SimulatedExecutor
    from recoverctl.engine.runner import Approver, Engine, RunOptions
    from recoverctl.present.plain_log import PlainLog

    bus = EventBus()
    bus.subscribe(PlainLog(sys.stderr, verbose=verbose, quiet=quiet), "log")
    approver: Approver
    if yes or dry_run:
        approver = AutoApprover()
    elif sys.stdin.isatty():
        approver = TerminalApprover()
    else:
        approver = NoTerminal()
    engine = Engine(
        plan,
        RunOptions(
            run_id=new_run_id(),
            params=params.values,
            secrets=params.secret_values(),
            environ=dict(os.environ),
            concurrency=concurrency,
            dry_run=dry_run,
        ),
        bus=bus,
        executor=SimulatedExecutor() if dry_run else RealExecutor(),
        approver=approver,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, engine.interrupt)
    try:
        code = await engine.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    _print_summary(plan, engine, blocked=engine.approval_blocked is not None)
    return code


def _print_summary(plan, engine, *, blocked: bool) -> None:  # type: ignore[no-untyped-def]
    from recoverctl.present.console import stderr_console
    from recoverctl.present.summary import render_summary

    console = stderr_console()
    console.print(render_summary(plan, engine.state))
    if blocked:
        console.print(
            "hint: approval gates need a terminal; rerun on one, or pass --yes to approve them",
            style="cyan",
            highlight=False,
        )
