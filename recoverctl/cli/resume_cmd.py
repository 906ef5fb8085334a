"""`recoverctl resume` and `recoverctl rollback`: finish or undo a stopped run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import (
    NoNotifyOption,
    StateDirOption,
    open_store,
    read_run_journal,
)
from recoverctl.cli.plan_cmd import ParamOption
from recoverctl.errors import RecoverctlError
from recoverctl.model.status import RunStatus

if TYPE_CHECKING:
    from recoverctl.compile.plan import Plan
    from recoverctl.engine.state import RunState
    from recoverctl.journal.stopped import StoppedRun

StepsOption = Annotated[list[str] | None, typer.Option(show_default=False)]


@command(
    epilog="Examples:\n\n  recoverctl resume 20261124T031500Z-5f2c1a\n\n"
    "  recoverctl resume 20261124T031500Z --mark-done promote --reason 'promoted by hand'\n\n"
    "  recoverctl resume 20261124T031500Z --from verify",
)
@reports_errors
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (a unique prefix is enough).")],
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Do not run this step (repeatable).")
    ] = None,
    mark_done: Annotated[
        list[str] | None,
        typer.Option("--mark-done", help="Record this step as done by hand (repeatable)."),
    ] = None,
    from_step: Annotated[
        str | None, typer.Option("--from", help="Run this step and everything after it again.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded with the overrides.")
    ] = None,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun",
            help="Run again the steps that were in flight and are not idempotent (you checked "
            "they did not complete).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every approval gate, as for `run`.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Resume even though the runbook file changed.")
    ] = False,
    param: ParamOption = None,
    state_dir: StateDirOption = None,
    no_notify: NoNotifyOption = False,
) -> None:
    """Continue an interrupted or failed run: completed steps are never run again."""
    from recoverctl.cli.session import RunSettings, execute
    from recoverctl.engine.events import OperatorOverride
    from recoverctl.engine.runner import Engine

    stopped = _stopped_run(run_id, state_dir, force=force, cli_params=param or [])
    run, journal, plan, state = stopped.run, stopped.journal, stopped.plan, stopped.state
    from recoverctl.journal.resumption import plan_resumption

    plan_ahead = plan_resumption(
        run.run_id, plan, state, skip=skip or [], done=mark_done or [], from_step=from_step
    )
    overrides, in_flight, unsafe = plan_ahead.overrides, plan_ahead.in_flight, plan_ahead.unsafe
    if unsafe and not rerun and not _confirm(unsafe):
        raise RecoverctlError(
            message=f"step(s) {', '.join(unsafe)} were running when the run stopped and are not marked "
            "idempotent: running them again could do the work twice",
            hint="check by hand; then `--mark-done STEP --reason ...` if it completed, or `--rerun` "
            "to run it again",
        )
    _stop_leftovers(state, in_flight)
    from recoverctl.cli.approvals import operator

    who = operator()

    def record_overrides(engine: Engine) -> None:
        for step_id, action in overrides:
            engine.emit(OperatorOverride(step_id=step_id, action=action, who=who, reason=reason))

    options = stopped.run_options(rerun=in_flight)
    if options.step_mode:  # started with --step: the resume asks before each step too
        from recoverctl.cli.run_cmd import check_stepping

        check_stepping(yes=yes)
    settings = RunSettings(
        yes=yes, state_dir=state_dir, notify=not no_notify, no_tty=options.step_mode
    )
    # stopped in the middle of its rollback: finish undoing, do not redo the work
    undoing = (
        f"continuing the rollback of run {run.run_id} ({state.error or 'failure'})"
        if plan_ahead.rolling_back
        else None
    )
    import asyncio

    code = asyncio.run(
        execute(
            plan,
            options,
            settings,
            before=record_overrides,
            existing=run,
            seq=journal.last_seq,
            replay=journal.events,
            rollback_only=undoing,
            lock=stopped.lock,
        )
    )
    raise typer.Exit(code)


@command(epilog="Example:\n\n  recoverctl rollback 20261124T031500Z-5f2c1a")
@reports_errors
def rollback(
    run_id: Annotated[str, typer.Argument(help="The stopped run to undo.")],
    force: Annotated[
        bool, typer.Option("--force", help="Even though the runbook file changed.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Undo a run that succeeded without asking, and approve its gates.",
        ),
    ] = False,
    param: ParamOption = None,
    state_dir: StateDirOption = None,
    no_notify: NoNotifyOption = False,
) -> None:
    """Roll back a stopped run: its completed steps' compensations, last completed first.

    Undoing a run that succeeded asks first (or `--yes`), and a destructive step's
    compensation waits at the approval gate the step was behind in the run.
    """
    from recoverctl.cli.approvals import operator
    from recoverctl.cli.session import RunSettings, execute

    stopped = _stopped_run(run_id, state_dir, force=force, cli_params=param or [])
    run, journal, plan, state = stopped.run, stopped.journal, stopped.plan, stopped.state
    if state.status == RunStatus.SUCCEEDED and not yes:
        _confirm_undo_of_success(run.run_id, plan, state)
    options = stopped.run_options()
    import asyncio

    code = asyncio.run(
        execute(
            plan,
            options,
            RunSettings(state_dir=state_dir, yes=yes, notify=not no_notify),
            existing=run,
            seq=journal.last_seq,
            replay=journal.events,
            rollback_only=f"operator {operator()} asked to roll back run {run.run_id}",
            undo_requested=True,
            lock=stopped.lock,
        )
    )
    raise typer.Exit(code)


def _stopped_run(
    run_id: str, state_dir: Path | None, *, force: bool, cli_params: list[str]
) -> StoppedRun:
    """The stopped run, locked and checked (journal/stopped.py); a changed runbook's diff shown."""
    from recoverctl.cli.team_lock import run_lock
    from recoverctl.journal.stopped import RunbookChanged, open_stopped_run
    from recoverctl.validate.params import parse_assignments

    try:
        return open_stopped_run(
            open_store(state_dir),
            run_id,
            force=force,
            cli_params=parse_assignments(cli_params),
            read=read_run_journal,
            make_lock=run_lock,  # type: ignore[arg-type]  # a TeamRunLock is a RunLock's shape
        )
    except RunbookChanged as changed:
        sys.stderr.write(changed.diff)
        raise


def _stop_leftovers(state: RunState, in_flight: list[str]) -> None:
    """Stop what a crashed run left running — only processes proven to be the run's."""
    from recoverctl.processes import stop_group

    for step_id in in_flight:
        step = state.steps[step_id]
        if not step.pid:
            continue
        said = stop_group(step.pid, step.pid_identity)
        if said:
            sys.stderr.write(f"step '{step_id}': {said}\n")


def _confirm_undo_of_success(run_id: str, plan: Plan, state: RunState) -> None:
    """A succeeded run is a recovered system: undoing it takes a yes from a person."""
    undo = [
        sid
        for sid in reversed(state.completed)
        if (node := plan.nodes.get(sid)) is not None and node.step.rollback is not None
    ]
    listing = ", ".join(dict.fromkeys(undo)) or "nothing"
    question = f"run {run_id} SUCCEEDED; undo its completed steps ({listing})? [y/N] "
    if sys.stdin.isatty():
        sys.stderr.write(question)
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if answer.strip().lower() in ("y", "yes"):
            return
        raise RecoverctlError(message=f"not rolled back: run {run_id} is left as it succeeded")
    raise RecoverctlError(
        message=f"run {run_id} succeeded: undoing it ({listing}) needs a confirmation, and "
        "there is no terminal to ask on; nothing was undone",
        hint=f"recoverctl rollback {run_id} --yes",
    )


def _confirm(steps: list[str]) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(
        f"step(s) {', '.join(steps)} were in flight and are not idempotent; run them again? [y/N] "
    )
    return answer.strip().lower() in ("y", "yes")
