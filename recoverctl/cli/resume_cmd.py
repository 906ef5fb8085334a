"""`recoverctl resume` and `recoverctl rollback`: finish or undo a stopped run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import StateDirOption, open_store, read_run_journal
from recoverctl.cli.plan_cmd import ParamOption
from recoverctl.errors import RecoverctlError
from recoverctl.model.masking import MASK
from recoverctl.model.status import RunStatus

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
) -> None:
    """Continue an interrupted or failed run: completed steps are never run again."""
    from recoverctl.cli.session import RunSettings, execute
    from recoverctl.engine.events import OperatorOverride
    from recoverctl.engine.runner import Engine, RunOptions

    run, journal, plan, params, state, lock = _stopped_run(
        run_id, state_dir, force=force, cli_params=param or []
    )
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

    options = RunOptions(
        run_id=run.run_id,
        params=params.values,
        secrets=params.secret_values(),
        environ=dict(os.environ),
        prior=state,
        prior_raw=_raw_values(run),
        secret_params=params.secrets,
        rerun=in_flight,
    )
    settings = RunSettings(yes=yes, state_dir=state_dir)
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
            lock=lock,
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
) -> None:
    """Roll back a stopped run: its completed steps' compensations, last completed first.

    Undoing a run that succeeded asks first (or `--yes`), and a destructive step's
    compensation waits at the approval gate the step was behind in the run.
    """
    from recoverctl.cli.approvals import operator
    from recoverctl.cli.session import RunSettings, execute
    from recoverctl.engine.runner import RunOptions

    run, journal, plan, params, state, lock = _stopped_run(
        run_id, state_dir, force=force, cli_params=param or []
    )
    if state.status == RunStatus.SUCCEEDED and not yes:
        _confirm_undo_of_success(run.run_id, plan, state)
    options = RunOptions(
        run_id=run.run_id,
        params=params.values,
        secrets=params.secret_values(),
        environ=dict(os.environ),
        prior=state,
        prior_raw=_raw_values(run),
        secret_params=params.secrets,
    )
    import asyncio

    code = asyncio.run(
        execute(
            plan,
            options,
            RunSettings(state_dir=state_dir, yes=yes),
            existing=run,
            seq=journal.last_seq,
            replay=journal.events,
            rollback_only=f"operator {operator()} asked to roll back run {run.run_id}",
            undo_requested=True,
            lock=lock,
        )
    )
    raise typer.Exit(code)


def _stopped_run(run_id: str, state_dir: Path | None, *, force: bool, cli_params: list[str]) -> Any:
    """A stopped run: its folder, journal, the plan as the runbook is now, params, replayed state."""
    from recoverctl.engine.state import replay

    store = open_store(state_dir)
    run = store.find(run_id)
    lock = _lock_the_run(store, run)
    # read only now, under the lock: a live run (or another resume) could have moved on
    journal = read_run_journal(run.journal)
    plan, params = _current_plan(run.meta(), run, journal, force=force, cli_params=cli_params)
    return run, journal, plan, params, replay(journal.events), lock


def _lock_the_run(store: Any, run: Any) -> Any:
    """Take the run's lock before anything is read or killed: a live run keeps it."""
    from recoverctl.journal.lock import RunLock
    from recoverctl.journal.reader import read_journal

    try:
        started = read_journal(run.journal).started
    except RecoverctlError:
        started = None
    name = started.runbook if started is not None else str(run.meta().get("runbook", ""))
    if not name:
        raise RecoverctlError(
            message=f"run {run.run_id} has no readable record of its runbook; nothing was done",
            hint=f"look at {run.journal} and {run.meta_path}",
        )
    lock = RunLock(store.root, name)
    try:
        lock.acquire(run.run_id)
    except RecoverctlError as busy:
        raise RecoverctlError(
            message=f"refusing to touch run {run.run_id}: {busy.message}",
            hint="a run that is still going (or another resume of it) holds the lock; "
            "wait for it to end, or stop it with Ctrl-C / kill, then resume",
        ) from None
    return lock


def _current_plan(
    meta: dict[str, Any], run: Any, journal: Any, *, force: bool, cli_params: list[str]
) -> Any:
    """The runbook as it is now; refused (with the difference) when it changed since the run."""
    from recoverctl.compile import compile_plan
    from recoverctl.validate.params import parse_assignments
    from recoverctl.validate.pipeline import require_valid

    path = Path(str(meta.get("path", "")))
    if not path.is_file():
        raise RecoverctlError(
            message=f"the run's runbook {path} no longer exists",
            hint=f"the runbook as it was run is kept in {run.runbook}",
        )
    checked = require_valid(path)
    started = journal.started
    if started is not None and checked.model.name != started.runbook:
        raise RecoverctlError(
            message=f"meta.json of run {run.run_id} points at {path} (runbook "
            f"'{checked.model.name}'), but the journal says the run was of '{started.runbook}'; "
            "nothing was run",
            hint=f"meta.json is only an index: check {run.meta_path}, or resume from the "
            f"runbook the journal names",
        )
    plan = compile_plan(checked.model, checked.callees)
    recorded = journal.plan_hash or meta.get("plan_hash")  # an empty journal: meta.json says
    if recorded and plan.hash != recorded and not force:
        import difflib

        before = run.runbook.read_text(encoding="utf-8").splitlines(keepends=True)
        after = path.read_text(encoding="utf-8").splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(before, after, "as run", str(path)))
        sys.stderr.write(diff or "(a called runbook changed)\n")
        raise RecoverctlError(
            message=f"{path} changed since run {run.run_id} started (diff above)",
            hint="resume with --force to use the new version, or restore the file",
        )
    return plan, _params_as_run(checked.model, run, journal, parse_assignments(cli_params))


def _raw_values(run: Any) -> dict[str, dict[str, Any]]:
    """The completed steps' unredacted stdout and outputs, as the run's templates read them."""
    from recoverctl.journal.values import read_values

    return read_values(run.path / "values.jsonl").steps


def _params_as_run(runbook: Any, run: Any, journal: Any, cli: dict[str, str]) -> Any:
    """The values the run had: from its private values store (the journal masks any value
    holding a secret), `-p` on top; a secret is never stored, so it must be given again."""
    from recoverctl.journal.values import read_values
    from recoverctl.validate.params import resolve_params

    started = journal.started
    shown = started.params if started else {}
    stored = read_values(run.path / "values.jsonl").params
    given = {k: v for k, v in shown.items() if v != MASK}
    given.update(stored)
    given.update(cli)
    resolved = resolve_params(runbook, given, os.environ)
    lost = [
        name
        for name, value in shown.items()
        if value == MASK and resolved.values.get(name) is None and name not in stored
    ]
    if lost:
        names = ", ".join(lost)
        raise RecoverctlError(
            message=f"run {run.run_id} had a value for {names}, which is not stored (secrets "
            "never are): resuming without it would run with a different value",
            hint=f"give it again: -p {lost[0]}=... or its env variable",
        )
    return resolved


def _stop_leftovers(state: Any, in_flight: list[str]) -> None:
    """Stop what a crashed run left running — only processes proven to be the run's."""
    from recoverctl.processes import stop_group

    for step_id in in_flight:
        step = state.steps[step_id]
        if not step.pid:
            continue
        said = stop_group(step.pid, step.pid_identity)
        if said:
            sys.stderr.write(f"step '{step_id}': {said}\n")


def _confirm_undo_of_success(run_id: str, plan: Any, state: Any) -> None:
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
