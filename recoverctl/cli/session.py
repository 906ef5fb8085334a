"""A run session: the wiring from a compiled plan to a finished, recorded run.

`recoverctl run`, `resume` and `rollback` all end here: the journal and its
lock, the live view or plain log, the approver, the signal handlers (a first
Ctrl-C rolls back, a second skips that), the engine, then the reports and the
summary. The commands only turn their command line into `RunSettings`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recoverctl.cli.journal_options import open_store
from recoverctl.exitcodes import ExitCode
from recoverctl.present.colour import no_color

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
    from recoverctl.model.notify import Channel
    from recoverctl.notify.notifier import Notifier
    from recoverctl.present.live_view import LiveView
    from recoverctl.scenario.model import Scenario

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, kill, and the SSH session dropping: each stops the run and rolls it back."""


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
    notify: bool = True
    force: bool = False
    step_mode: bool = False
    """`--step`: ask before each action (plain lines, a terminal)."""
    probe: bool = False
    """`--dry-run --probe`: read-only steps run for real, the others are simulated."""
    scenario: Scenario | None = None
    """`--dry-run --scenario NAME`: the outcomes of that scenario of the runbook's tests."""
    """`--force`: start despite the runbook's cooldown (the run records what it overrode)."""
    """Send the runbook's (and the config file's) notifications; never on a dry run."""

    def live(self) -> bool:
        """The rich live view only for a real terminal that wants colour."""
        return (
            not self.no_tty
            and not self.quiet
            and sys.stderr.isatty()
            and not no_color()
            and os.environ.get("TERM", "") != "dumb"
        )

    @property
    def human(self) -> bool:
        """`--output json -q` turns the human view off entirely."""
        return not (self.json and self.quiet)


def new_run_id() -> str:
    """Sortable and unique: UTC time plus randomness."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + os.urandom(3).hex()


def _executor(settings: RunSettings) -> Executor:
    from recoverctl.engine.executor import RealExecutor, SimulatedExecutor

    base: Executor = RealExecutor()
    if settings.scenario is not None:
        from recoverctl.scenario.runner import scripted_outcomes

        base = SimulatedExecutor(scripted_outcomes(settings.scenario), evaluate_asserts=True)
    elif settings.dry_run:
        from recoverctl.engine.executor import ProbingExecutor

        base = ProbingExecutor() if settings.probe else SimulatedExecutor()
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

    channels = _channels(plan, settings)  # a bad config file stops here, before anything starts
    bus = EventBus()
    recorder = None
    if settings.journal and not settings.dry_run:
        store = open_store(settings.state_dir)
        from recoverctl.cli.team_lock import run_lock

        lock = lock or run_lock(store.root, plan.runbook.name)  # type: ignore[assignment]
        recorder = Recorder(store, plan, options.run_id, lock=lock)
    if existing is None and rollback_only is None and not settings.dry_run:
        options.forced = _cooldown(recorder, plan, options, settings)
    live = _subscribe_views(bus, plan, settings)
    approver = _approver(settings, live, options.run_id if rollback_only is None else None)
    if rollback_only is None:
        _refuse_unanswerable_gates(plan, approver, options.prior)
    engine = Engine(
        plan,
        options,
        bus=bus,
        executor=_executor(settings),
        approver=approver,
    )
    if hasattr(approver, "bind"):
        approver.bind(engine)
    _watch_lease(recorder, engine, approver)
    for event in replay or ():
        bus.emit(event)  # the views start from what the run had already done
    notifier = _notifier(channels, plan, engine, bus)  # after the replay: it told of that already
    run_dir = _start_recording(recorder, engine, existing, seq) if recorder else None
    holder = getattr(recorder.lock, "holder", None) if recorder else None
    if holder is not None:  # recorded in run_started, and given to every command
        engine.options.lock = {"backend": recorder.lock.team.url, "token": holder.token}  # type: ignore[union-attr]
    try:
        async with _interruptible(engine, live):
            if before is not None:
                before(engine)
            if rollback_only is not None:
                code = await engine.rollback_only(rollback_only, requested=undo_requested)
            else:
                code = await engine.run()
    finally:
        await _wind_up(engine, notifier, recorder, approver)
    if engine.emitter.journal_error is not None:
        code = int(ExitCode.JOURNAL_FAILED)
    _write_reports(plan, engine, settings)
    if settings.human:
        _print_summary(plan, engine, settings, run_dir)
    return code


async def _wind_up(
    engine: Engine, notifier: Notifier | None, recorder: Recorder | None, approver: object
) -> None:
    """In this order: the last notifications are journaled before the journal closes, and the
    gate socket closes after the journal's last word (a late answer is told the outcome)."""
    if notifier is not None:
        await notifier.close()
    if recorder is not None:
        recorder.finish(engine.state)
    close = getattr(approver, "close", None)
    if close is not None:
        await close()


def _watch_lease(recorder: Recorder | None, engine: Engine, approver: Approver) -> None:
    """A lost team lock (told from its lease thread) stops the run before its next step;
    while the lock is held, gates are also answerable through its backend."""
    from recoverctl.cli.gate_approver import GateApprover
    from recoverctl.cli.team_lock import TeamRunLock

    lock = recorder.lock if recorder is not None else None
    if not isinstance(lock, TeamRunLock):
        return
    if isinstance(approver, GateApprover):
        approver.remote = lock.team
    import asyncio

    loop = asyncio.get_running_loop()
    root = engine.emitter

    def lost(reason: str) -> None:
        loop.call_soon_threadsafe(root.halt, reason)

    lock.on_lost = lost
    if lock.lost is not None:
        lost(lock.lost)


def _cooldown(
    recorder: Recorder | None, plan: Plan, options: RunOptions, settings: RunSettings
) -> str | None:
    """Refuse a new run within the runbook's cooldown (journal/cooldown.py), checked with
    the run lock held; with `--force`, what was overridden."""
    from recoverctl.errors import RecoverctlError
    from recoverctl.journal.cooldown import cooldown_refusal

    fingerprints = [str(f) for f in (options.alert or {}).get("fingerprints", [])]
    if recorder is not None:
        recorder.fingerprints = tuple(fingerprints)
    cooldown = plan.runbook.cooldown
    if cooldown is None:
        return None
    store = recorder.store if recorder is not None else open_store(settings.state_dir)
    if recorder is not None and recorder.lock.handle is None:
        recorder.lock.acquire(options.run_id)  # the check and the start: one holder at a time
    reason = cooldown_refusal(store, plan.runbook.name, cooldown, fingerprints, time.time())
    if reason is None or settings.force:
        return reason
    if recorder is not None:
        recorder.lock.release()
    from recoverctl.model.source import Diagnostic

    rb = plan.runbook
    raise RecoverctlError(
        [
            Diagnostic(
                rb.path,
                rb.source_map.value_span(("cooldown",)),
                reason,
                "cooldown",
                hint="a cooldown stops remediation loops; nothing was run. If this run is "
                "wanted now, pass --force (the run records it)",
            )
        ]
    )


def _channels(plan: Plan, settings: RunSettings) -> tuple[Channel, ...]:
    if settings.dry_run or not settings.notify:
        return ()  # a dry run tells nobody: nothing happens
    from recoverctl.cli.notify_config import channels_for

    return channels_for(plan.runbook)


def _notifier(
    channels: tuple[Channel, ...], plan: Plan, engine: Engine, bus: EventBus
) -> Notifier | None:
    """Notifications listen on the views' bus: they can neither delay nor fail the run."""
    if not channels:
        return None
    from recoverctl.notify.notice import NoticeMaker
    from recoverctl.notify.notifier import Notifier

    notifier = Notifier(
        channels,
        NoticeMaker(plan.runbook.name, engine.options.run_id),
        emit=engine.emitter.emit,
        context=engine.context,
    )
    bus.subscribe(notifier, "notifications")
    return notifier


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
    if settings.report is None and settings.junit is None and settings.metrics is None:
        return
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
    if settings.json:
        from recoverctl.present.json_events import JsonLines

        bus.subscribe(JsonLines(sys.stdout), "json")
    from recoverctl.present.plain_log import PlainLog

    def plain() -> PlainLog:
        return PlainLog(sys.stderr, verbose=settings.verbose, quiet=settings.quiet)

    if settings.live():
        from recoverctl.present.console import stderr_console
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


def _approver(settings: RunSettings, live: LiveView | None, run_id: str | None) -> Approver:
    """`--yes`; else the terminal and the gate socket together (cli/gate_approver.py) —
    without a terminal the socket alone, so the run waits for an answer from another
    shell. `run_id` None (an operator's `rollback`): the terminal only, as each undo's
    gate is that operator's own question."""
    from recoverctl.cli.approvals import NoTerminal, TerminalApprover, operator
    from recoverctl.engine.services import ApproveAll

    if settings.yes or settings.dry_run:
        return ApproveAll(f"{operator()} (--yes)")
    terminal = TerminalApprover(live) if sys.stdin.isatty() else None
    if run_id is not None:
        from recoverctl.cli.gate_approver import GateApprover

        return GateApprover(run_id, terminal)
    return terminal or NoTerminal()


def _refuse_unanswerable_gates(plan: Plan, approver: Approver, prior: RunState | None) -> None:
    """No terminal and no --yes: refuse before the first step, not in the middle of the run.

    On resume only the gates the run has not passed yet count.
    """
    from recoverctl.cli.approvals import NoTerminal
    from recoverctl.cli.gate_approver import GateApprover
    from recoverctl.cli.gate_channel import gate_dir as gate_folder
    from recoverctl.errors import RecoverctlError

    if isinstance(approver, GateApprover):
        if approver.terminal is not None or approver.reachable():
            return
    elif not isinstance(approver, NoTerminal):
        return
    from recoverctl.model.source import Diagnostic

    passed = {sid for sid, s in prior.steps.items() if s.final} if prior is not None else set()
    gates = [gate for gate in plan.approval_gates() if gate not in passed]
    if gates:
        first = plan.nodes.get(gates[0].split("/", 1)[0])
        span = first.step.span if first is not None else None
        message = (
            f"approval gate(s) {', '.join(gates)} cannot be answered: there is no terminal to "
            "ask on, no gate socket for `recoverctl approve` (its folder "
            f"{gate_folder()} is not this user's own) and no --yes; nothing was run"
        )
        hint = "run it on a terminal, or pass --yes to approve every gate"
        if span is None:
            raise RecoverctlError(message=f"{plan.runbook.path}: {message}", hint=hint)
        raise RecoverctlError([Diagnostic(plan.runbook.path, span, message, "approval", hint=hint)])


def fast_child_watcher() -> None:
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
    run_id = engine.options.run_id
    journal = f"{run_dir.journal}  (recoverctl show {run_id})" if run_dir else None
    undo = undo_command(run_id, settings.state_dir) if run_dir else None
    hint = "hint: approval gates need a terminal; rerun on one, or pass --yes to approve them"
    if not sys.stderr.isatty():  # a log or a pipe: plain columns, and no rich to import
        from recoverctl.present.summary import write_plain_summary

        write_plain_summary(sys.stderr, plan, engine.state, journal, undo)
        if engine.approval_blocked is not None:
            sys.stderr.write(hint + "\n")
        return
    from recoverctl.present.console import stderr_console
    from recoverctl.present.summary import print_summary

    console = stderr_console()
    print_summary(console, plan, engine.state, journal, undo)
    if engine.approval_blocked is not None:
        console.print(hint, style="cyan", highlight=False)
