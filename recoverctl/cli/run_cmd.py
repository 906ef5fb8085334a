"""`recoverctl run`: carry out a runbook, or rehearse it with --dry-run."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import NoNotifyOption, StateDirOption
from recoverctl.cli.plan_cmd import ParamOption, ParamsFileOption
from recoverctl.cli.session import RunSettings, execute, fast_child_watcher, new_run_id

if TYPE_CHECKING:
    from recoverctl.compile.plan import Plan
    from recoverctl.load.alert import Alert
    from recoverctl.validate.params import ResolvedParams


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@command(
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
        bool,
        typer.Option(
            "--dry-run",
            help="The path a run would take, nothing that changes state run; a decision "
            "resting on a simulated step is shown as undetermined, each case in turn.",
        ),
    ] = False,
    step: Annotated[
        bool,
        typer.Option(
            "--step",
            help="Before each action, show what it will do and ask: run, skip, abort or run "
            "the rest. Needs a terminal; every answer is journaled; a resume asks too.",
        ),
    ] = False,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="With --dry-run: run the read_only steps for real, so decisions use real values.",
        ),
    ] = False,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="With --dry-run: take the outcomes from this scenario of the runbook's "
            ".test.yaml and show exactly its path.",
        ),
    ] = None,
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
    no_notify: NoNotifyOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Run despite the runbook's cooldown (recorded in the run)."),
    ] = False,
    from_alert: Annotated[
        Path | None,
        typer.Option(
            "--from-alert",
            help="Take params from an alert (Alertmanager or PagerDuty webhook body, or "
            "JSON; - for stdin), as their from_alert: paths say.",
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

    if step:
        check_stepping(yes=yes)
    if (probe or scenario) and not dry_run:
        from recoverctl.errors import RecoverctlError

        raise RecoverctlError(
            message=f"{'--probe' if probe else '--scenario'} goes with --dry-run",
            hint="recoverctl run RUNBOOK --dry-run --probe (or --scenario NAME)",
        )
    picked = None
    if scenario is not None:
        from recoverctl.cli.dry_scenario import find_scenario

        picked = find_scenario(runbook, scenario)
        param = [f"{k}={_as_text(v)}" for k, v in picked.params.items()] + list(param or [])
    alert = _firing_alert(from_alert, runbook) if from_alert is not None else None
    plan, params = load_plan(runbook, param, params_file, alert=alert)
    settings = RunSettings(
        dry_run=dry_run,
        probe=probe,
        scenario=picked,
        step_mode=step,
        concurrency=concurrency,
        yes=yes,
        verbose=verbose,
        quiet=quiet,
        json=output is OutputFormat.json,
        no_tty=no_tty or step,  # the questions go on plain lines, between the events
        state_dir=state_dir,
        journal=not no_journal,
        notify=not no_notify,
        force=force,
        report=report,
        junit=junit,
        metrics=metrics,
        faults=tuple(
            _check_faults(
                plan, inject or [], allowed=allow_injection or plan.runbook.allow_injection
            )
        ),
    )
    fast_child_watcher()
    import asyncio

    raise typer.Exit(asyncio.run(_run(plan, params, settings)))


async def _run(plan: Plan, params: ResolvedParams, settings: RunSettings) -> int:
    from recoverctl.engine.runner import RunOptions

    options = RunOptions.with_params(
        new_run_id(),
        params,
        concurrency=settings.concurrency,
        dry_run=settings.dry_run,
        explore=settings.dry_run and settings.scenario is None,
        forced_branches=dict(settings.scenario.force) if settings.scenario else {},
        scenario=settings.scenario.name if settings.scenario else None,
        step_mode=settings.step_mode,
        injected=list(settings.faults),
    )
    return await execute(plan, options, settings)


def check_stepping(*, yes: bool) -> None:
    """`--step` is a run an operator drives from a terminal."""
    import sys

    from recoverctl.errors import RecoverctlError

    if yes:
        raise RecoverctlError(
            message="--step and --yes do not go together: --step asks before every step, "
            "--yes answers for you",
            hint="drop --yes; gates are then asked at the same prompt",
        )
    if not sys.stdin.isatty():
        raise RecoverctlError(
            message="--step asks before each step: it needs a terminal to ask on",
            hint="run it from a terminal (ssh -t for a remote shell); nothing was run",
        )


def _as_text(value: object) -> str:
    """A scenario's param as -p would give it (lists as JSON, booleans as true/false)."""
    import json

    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, list) else str(value)


def _firing_alert(path: Path, runbook: Path) -> Alert:
    """The alert, refused when it cannot start a recovery: nothing fires in it."""
    from recoverctl.errors import RecoverctlError
    from recoverctl.load.alert import read_alert

    if str(path) == "-" and str(runbook) == "-":
        raise RecoverctlError(
            message="the runbook and the alert cannot both come from stdin",
            hint="pass one of them as a file",
        )
    alert = read_alert(path)
    if alert.status != "firing" or not alert.items:
        raise RecoverctlError(
            message=f"the alert in {alert.path} is {alert.status}: no firing alert to recover from",
            hint="nothing was run; a resolved alert needs no recovery",
        )
    return alert


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
