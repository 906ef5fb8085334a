"""`recoverctl run`: carry out a runbook, or rehearse it with --dry-run."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recoverctl.cli.app import app, reports_errors
from recoverctl.cli.journal_options import StateDirOption, open_store
from recoverctl.cli.plan_cmd import ParamOption, ParamsFileOption
from recoverctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from recoverctl.compile.plan import Plan
    from recoverctl.engine.bus import EventBus
    from recoverctl.engine.events import Event
    from recoverctl.engine.executor import Executor
    from recoverctl.engine.runner import Approver, Engine, RunOptions
    from recoverctl.engine.state import RunState
    from recoverctl.journal.lock import RunLock
    from recoverctl.journal.recorder import Recorder
    from recoverctl.journal.store import RunDir
    from recoverctl.present.live_view import LiveView
    from recoverctl.validate.params import ResolvedParams


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, kill, and the SSH session dropping: each stops the run and rolls it back."""


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What the command line asked for, beyond the runbook and its params."""

    dry_run: bool = False
    concurrency: int | None = None
    yes: bool = False
    verbose: bool = False
    quiet: bool = False
    json: bool = False
    no_tty: bool = False
    state_dir: Path | None = None
    journal: bool = True
    report: Path | None = None
    junit: Path | None = None
    metrics: Path | None = None
    faults: tuple[str, ...] = ()

    def live(self) -> bool:
        """The rich live view only for a real terminal that wants colour."""
        return (
            not self.no_tty
            and not self.quiet
            and sys.stderr.isatty()
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM", "") != "dumb"
        )

    @property
    def human(self) -> bool:
        """`--output json -q` turns the human view off entirely."""
        return not (self.json and self.quiet)


def new_run_id() -> str:
    """Sortable and unique: UTC time plus randomness."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + os.urandom(3).hex()


@app.command(
    epilog="Examples:\n\n  recoverctl run runbooks/demo.yaml\n\n"
    "  recoverctl run runbooks/db-failover.yaml -p primary=db-1 --yes\n\n"
    "  recoverctl run runbooks/db-failover.yaml --dry-run     # the path a run would take, nothing executed\n\n"
    "  recoverctl run runbooks/demo.yaml --output json -q     # events as JSON lines, for tools",
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output", help="json: one event per line on stdout (the human view stays on stderr)."
        ),
    ] = OutputFormat.text,
    no_tty: Annotated[
        bool, typer.Option("--no-tty", help="Plain lines even on a terminal.")
    ] = False,
    state_dir: StateDirOption = None,
    no_journal: Annotated[
        bool, typer.Option("--no-journal", help="Keep no journal (the run cannot be resumed).")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON report of the run.")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML (a testcase per step).")
    ] = None,
    metrics: Annotated[
        Path | None,
        typer.Option("--metrics", help="Write Prometheus text metrics (textfile collector)."),
    ] = None,
    inject: Annotated[
        list[str] | None,
        typer.Option(
            "--inject", help="Fault to inject (game days): fail:STEP, timeout:STEP, delay:STEP=30s."
        ),
    ] = None,
    allow_injection: Annotated[
        bool,
        typer.Option(
            "--allow-injection",
            help="Permit --inject (or set allow_injection: true in the runbook).",
        ),
    ] = False,
) -> None:
    """Run a runbook: steps in order, in parallel and down the chosen branch, with retries, timeouts and rollback."""
    from recoverctl.cli.loading import load_plan

    plan, params = load_plan(runbook, param, params_file)
    settings = RunSettings(
        dry_run=dry_run,
        concurrency=concurrency,
        yes=yes,
        verbose=verbose,
        quiet=quiet,
        json=output is OutputFormat.json,
        no_tty=no_tty,
        state_dir=state_dir,
        journal=not no_journal,
        report=report,
        junit=junit,
        metrics=metrics,
        faults=tuple(
            _check_faults(
                plan, inject or [], allowed=allow_injection or plan.runbook.allow_injection
            )
        ),
    )
    _fast_child_watcher()
    import asyncio

    raise typer.Exit(asyncio.run(_run(plan, params, settings)))


async def _run(plan: Plan, params: ResolvedParams, settings: RunSettings) -> int:
    from recoverctl.engine.runner import RunOptions

    options = RunOptions(
        run_id=new_run_id(),
        params=params.values,
        secrets=params.secret_values(),
        secret_params=params.secrets,
        environ=dict(os.environ),
        concurrency=settings.concurrency,
        dry_run=settings.dry_run,
        injected=list(settings.faults),
    )
    return await execute(plan, options, settings)


def _check_faults(plan: Plan, faults: list[str], *, allowed: bool) -> list[str]:
    """Faults parsed and checked against the plan; refused unless injection is allowed."""
    if not faults:
        return []
    from recoverctl.engine.injection import parse_fault
    from recoverctl.errors import RecoverctlError
    from recoverctl.validate.suggest import did_you_mean

    if not allowed:
        raise RecoverctlError(
            message=f"refusing to inject faults into {plan.runbook.name}: nothing was run",
            hint="fault injection is for staging game days: pass --allow-injection, or set "
            "`allow_injection: true` in the runbook",
        )
    checked = []
    actions = [node_id for node_id, node in plan.nodes.items() if node.step.is_action]
    for text in faults:
        try:
            fault = parse_fault(text)
        except ValueError as exc:
            raise RecoverctlError(message=str(exc)) from None
        if fault.step_id not in actions:
            raise RecoverctlError(
                message=f"--inject {text}: no action step '{fault.step_id}' in {plan.runbook.name}",
                hint=did_you_mean(fault.step_id, actions),
            )
        checked.append(str(fault))
    return checked


def _executor(settings: RunSettings) -> Executor:
    from recoverctl.engine.executor import RealExecutor, SimulatedExecutor

    base: Executor = SimulatedExecutor() if settings.dry_run else RealExecutor()
    if not settings.faults:
        return base
    from recoverctl.engine.injection import InjectingExecutor, parse_fault

    return InjectingExecutor(base, [parse_fault(f) for f in settings.faults])


async def execute(
    plan: Plan,
    options: RunOptions,
    settings: RunSettings,
    *,
    before: Callable[[Engine], None] | None = None,
    existing: RunDir | None = None,
    seq: int = 0,
    replay: list[Event] | None = None,
    rollback_only: str | None = None,
    undo_requested: bool = False,
    lock: RunLock | None = None,
) -> int:
    """Run (or resume, or roll back) with the journal, the views and the reports wired up."""
    from recoverctl.engine.bus import EventBus
    from recoverctl.engine.runner import Engine
    from recoverctl.journal.recorder import Recorder

    bus = EventBus()
    recorder = None
    if settings.journal and not settings.dry_run:
        recorder = Recorder(open_store(settings.state_dir), plan, options.run_id, lock=lock)
    live = _subscribe_views(bus, plan, settings)
    approver = _approver(settings, live)
    if rollback_only is None:
        _refuse_unanswerable_gates(plan, approver, options.prior)
    engine = Engine(
        plan,
        options,
        bus=bus,
        executor=_executor(settings),
        approver=approver,
    )
    if hasattr(approver, "engine"):
        approver.engine = engine
    for event in replay or ():
        bus.emit(event)  # the views start from what the run had already done
    run_dir = _start_recording(recorder, engine, existing, seq) if recorder else None
    try:
        async with _interruptible(engine, live):
            if before is not None:
                before(engine)
            if rollback_only is not None:
                code = await engine.rollback_only(rollback_only, requested=undo_requested)
            else:
                code = await engine.run()
    finally:
        if recorder is not None:
            recorder.finish(engine.state)
    if engine.emitter.journal_error is not None:
        code = int(ExitCode.JOURNAL_FAILED)
    _write_reports(plan, engine, settings)
    if settings.human:
        _print_summary(plan, engine, settings, run_dir)
    return code


def _start_recording(
    recorder: Recorder, engine: Engine, existing: RunDir | None, seq: int
) -> RunDir | None:
    """The lock, the run folder, the journal and the private values store, wired to `engine`."""
    engine.record_to(recorder.start(engine.shown_params(), existing=existing, seq=seq))
    engine.values = recorder.values
    if existing is None and recorder.values is not None:
        recorder.values.params(dict(engine.options.params), engine.options.secret_params)
    return recorder.run


@asynccontextmanager
async def _interruptible(engine: Engine, live: LiveView | None) -> AsyncIterator[None]:
    """Ctrl-C and SIGTERM go to the engine (stop, kill, roll back); the live view runs meanwhile."""
    import asyncio

    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, engine.interrupt)
    if live is not None:
        live.start()
    try:
        yield
    finally:
        if live is not None:
            live.stop()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def _write_reports(plan: Plan, engine: Engine, settings: RunSettings) -> None:
    from recoverctl.files import replace_file
    from recoverctl.present import reports

    for path, render in (
        (settings.report, reports.report_json),
        (settings.junit, reports.junit_xml),
        (settings.metrics, reports.prometheus_text),
    ):
        if path is not None:
            try:
                # private (they hold outputs and output tails) and whole: a textfile
                # collector or a CI step never reads half a file
                replace_file(path, render(plan, engine.state).encode("utf-8"))
            except OSError as exc:
                sys.stderr.write(f"recoverctl: cannot write {path}: {exc.strerror}\n")


def _subscribe_views(bus: EventBus, plan: Plan, settings: RunSettings) -> LiveView | None:
    """JSON lines on stdout when asked; on stderr the live view on a terminal, else plain lines."""
    from recoverctl.present.console import stderr_console

    if settings.json:
        from recoverctl.present.json_events import JsonLines

        bus.subscribe(JsonLines(sys.stdout), "json")
    from recoverctl.present.plain_log import PlainLog

    def plain() -> PlainLog:
        return PlainLog(sys.stderr, verbose=settings.verbose, quiet=settings.quiet)

    if settings.live():
        from recoverctl.present.live_view import LiveView

        live = LiveView(plan, stderr_console())

        def instead_of_live() -> PlainLog:
            live.abandon()
            return plain()

        bus.subscribe(live, "live view", fallback=instead_of_live)
        return live
    if settings.human:
        bus.subscribe(plain(), "log", fallback=plain)
    return None


def _approver(settings: RunSettings, live: LiveView | None) -> Approver:
    from recoverctl.cli.approvals import AutoApprover, NoTerminal, TerminalApprover

    if settings.yes or settings.dry_run:
        return AutoApprover()
    if sys.stdin.isatty():
        return TerminalApprover(live)
    return NoTerminal()


def _refuse_unanswerable_gates(plan: Plan, approver: Approver, prior: RunState | None) -> None:
    """No terminal and no --yes: refuse before the first step, not in the middle of the run.

    On resume only the gates the run has not passed yet count.
    """
    from recoverctl.cli.approvals import NoTerminal
    from recoverctl.errors import RecoverctlError

    if not isinstance(approver, NoTerminal):
        return
    from recoverctl.model.source import Diagnostic

    passed = {sid for sid, s in prior.steps.items() if s.final} if prior is not None else set()
    gates = [gate for gate in plan.approval_gates() if gate not in passed]
    if gates:
        first = plan.nodes.get(gates[0].split("/", 1)[0])
        span = first.step.span if first is not None else None
        message = (
            f"approval gate(s) {', '.join(gates)} cannot be answered: there is no terminal to "
            "ask on and no --yes; nothing was run"
        )
        hint = "run it on a terminal, or pass --yes to approve every gate"
        if span is None:
            raise RecoverctlError(message=f"{plan.runbook.path}: {message}", hint=hint)
        raise RecoverctlError([Diagnostic(plan.runbook.path, span, message, "approval", hint=hint)])


def _fast_child_watcher() -> None:
    """On Python 3.11, reap children through pidfds instead of one thread per process.

    3.12 does this by default; on 3.11 the default spawns a thread for every
    step's process, which costs more than the process itself for short steps.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:
            return  # a kernel without pidfd support: keep the default
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


def _print_summary(
    plan: Plan, engine: Engine, settings: RunSettings, run_dir: RunDir | None = None
) -> None:
    import contextlib

    with contextlib.suppress(OSError):  # the terminal is gone (SIGHUP): the journal has it all
        _write_summary(plan, engine, settings, run_dir)


def undo_command(run_id: str, state_dir: Path | None) -> str:
    """The exact `recoverctl rollback` to copy: with the state folder the run was kept in."""
    import shlex

    where = f" --state-dir {shlex.quote(str(state_dir))}" if state_dir is not None else ""
    return f"recoverctl rollback {run_id}{where}"


def _write_summary(
    plan: Plan, engine: Engine, settings: RunSettings, run_dir: RunDir | None
) -> None:
    from recoverctl.present.console import stderr_console
    from recoverctl.present.summary import print_summary

    console = stderr_console()
    run_id = engine.options.run_id
    journal = f"{run_dir.journal}  (recoverctl show {run_id})" if run_dir else None
    undo = undo_command(run_id, settings.state_dir) if run_dir else None
    print_summary(console, plan, engine.state, journal, undo)
    if engine.approval_blocked is not None:
        console.print(
            "hint: approval gates need a terminal; rerun on one, or pass --yes to approve them",
            style="cyan",
            highlight=False,
        )
