"""`recoverctl runs`, `show`, `report` and `stats`: what happened, from the journals."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from recoverctl.cli.app import app, reports_errors
from recoverctl.cli.journal_options import StateDirOption, open_store, read_run_journal


def run_status(meta: dict[str, Any]) -> str:
    """`running` only while its own process lives — the same pid after a reboot, or reused
    by another program, is not it; a run whose process vanished was interrupted."""
    from recoverctl.processes import identity

    status = str(meta.get("status", "?"))
    if status != "running":
        return status
    pid, recorded = meta.get("pid"), meta.get("pid_identity")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "interrupted"
    now = identity(pid)
    if now is None or (recorded is not None and now != recorded):
        return "interrupted"
    return status


def _trusted_meta(run: Any) -> dict[str, Any]:
    """meta.json is an index derived from the journal; when it says the run never ended (a
    full disk stopped its last write), the journal's own end is what happened."""
    meta: dict[str, Any] = run.meta()
    if run_status(meta) not in ("interrupted", "unreadable"):
        return meta
    from recoverctl.engine.state import replay
    from recoverctl.errors import RecoverctlError
    from recoverctl.journal.reader import read_journal

    try:
        journal = read_journal(run.journal)
    except RecoverctlError:
        return meta
    if journal.events and journal.events[-1].kind == "run_finished":
        state = replay(journal.events)
        meta = {**meta, "status": state.status, "duration": state.duration, "pid": None}
    return meta


@app.command(
    epilog="Examples:\n\n  recoverctl runs\n\n  recoverctl runs --runbook db-failover --limit 5"
)
@reports_errors
def runs(
    state_dir: StateDirOption = None,
    runbook: Annotated[
        str | None, typer.Option("--runbook", help="Only runs of this runbook name.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N runs.")] = 20,
) -> None:
    """List runs, newest first: id, runbook, start, duration, status and the path taken."""
    from rich.table import Table

    from recoverctl.model.duration import format_duration
    from recoverctl.present.console import stdout_console

    store = open_store(state_dir)
    table = Table(title=f"runs in {store.runs_dir}", title_justify="left")
    for column in ("run id", "runbook", "started", "duration", "status", "path taken"):
        table.add_column(column, overflow="fold")
    shown = 0
    for folder in store.all_dirs():
        from recoverctl.journal.store import RunDir

        meta = _trusted_meta(RunDir(folder))
        if runbook and meta.get("runbook") != runbook:
            continue
        started = meta.get("started")
        table.add_row(
            meta.get("run_id", folder.name),
            str(meta.get("runbook", "?")),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?",
            format_duration(meta["duration"]) if meta.get("duration") is not None else "",
            run_status(meta),
            "; ".join(meta.get("path_taken") or []),
        )
        shown += 1
        if shown >= limit:
            break
    if not shown:
        sys.stderr.write(f"no runs in {store.runs_dir}\n")
        return
    stdout_console().print(table)


@app.command(epilog="Example:\n\n  recoverctl show 20261124T031500Z-5f2c1a")
@reports_errors
def show(
    run_id: Annotated[str, typer.Argument(help="The run id (a unique prefix is enough).")],
    state_dir: StateDirOption = None,
) -> None:
    """Re-render a finished or interrupted run from its journal, as the live view showed it."""
    from recoverctl.present.console import stdout_console
    from recoverctl.present.live_view import LiveView
    from recoverctl.present.summary import render_summary

    loaded = load_run(run_id, state_dir)
    console = stdout_console()
    view = LiveView(
        loaded.plan, console, clock=lambda: loaded.events[-1].mono if loaded.events else 0.0
    )
    for event in loaded.events:
        view(event)
    console.print(view.render())
    console.print(render_summary(loaded.plan, view.state, str(loaded.run.journal)))
    if loaded.torn:
        console.print(
            "note: the journal's last line was cut off by a crash and was ignored", style="yellow"
        )


class ReportFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    junit = "junit"
    prometheus = "prometheus"


@app.command(
    epilog="Example:\n\n  recoverctl report 20261124T031500Z-5f2c1a --format markdown > postmortem.md"
)
@reports_errors
def report(
    run_id: Annotated[str, typer.Argument(help="The run id (a unique prefix is enough).")],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="The report's format.")
    ] = ReportFormat.markdown,
    state_dir: StateDirOption = None,
) -> None:
    """A report of one run: a Markdown post-mortem timeline, JSON, JUnit XML or Prometheus text."""
    from recoverctl.engine.state import replay
    from recoverctl.present import reports

    loaded = load_run(run_id, state_dir)
    state = replay(loaded.events)
    if output_format is ReportFormat.markdown:
        sys.stdout.write(reports.markdown_timeline(loaded.plan, state, loaded.events))
    elif output_format is ReportFormat.json:
        sys.stdout.write(reports.report_json(loaded.plan, state))
    elif output_format is ReportFormat.junit:
        sys.stdout.write(reports.junit_xml(loaded.plan, state))
    else:
        sys.stdout.write(reports.prometheus_text(loaded.plan, state))


@app.command(epilog="Examples:\n\n  recoverctl stats\n\n  recoverctl stats db-failover")
@reports_errors
def stats(
    runbook: Annotated[str | None, typer.Argument(help="Only this runbook (by name).")] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Over the run history: count, success rate, p50/p95 time to recovery vs the RTO, failing and slow steps."""
    from rich.table import Table

    from recoverctl.journal.store import RunDir
    from recoverctl.model.duration import format_duration
    from recoverctl.present.console import stdout_console

    by_runbook: dict[str, list[dict[str, Any]]] = {}
    for folder in open_store(state_dir).all_dirs():
        meta = RunDir(folder).meta()
        name = str(meta.get("runbook", "?"))
        if runbook is None or name == runbook:
            by_runbook.setdefault(name, []).append(meta)
    if not by_runbook:
        sys.stderr.write("no runs recorded yet\n")
        return
    table = Table(title="recovery statistics", title_justify="left")
    for column in (
        "runbook",
        "runs",
        "success",
        "p50 recovery",
        "p95 recovery",
        "RTO",
        "most failing",
        "slowest",
    ):
        table.add_column(column, overflow="fold")
    for name, metas in sorted(by_runbook.items()):
        ok = [m for m in metas if m.get("status") == "succeeded"]
        durations = sorted(float(m["duration"]) for m in ok if m.get("duration") is not None)
        rto = next((m.get("rto") for m in metas if m.get("rto")), None)
        failing: dict[str, int] = {}
        slow: dict[str, list[float]] = {}
        for meta in metas:
            for sid, step in (meta.get("steps") or {}).items():
                if step.get("status") in ("failed", "timed_out"):
                    failing[sid] = failing.get(sid, 0) + 1
                slow.setdefault(sid, []).append(float(step.get("duration") or 0))
        worst = sorted(failing.items(), key=lambda kv: -kv[1])[:3]
        slowest = sorted(((sid, _pct(v, 95)) for sid, v in slow.items()), key=lambda kv: -kv[1])[:3]
        table.add_row(
            name,
            str(len(metas)),
            f"{len(ok) / len(metas):.0%}",
            format_duration(_pct(durations, 50)) if durations else "–",
            format_duration(_pct(durations, 95)) if durations else "–",
            format_duration(rto)
            + (
                f" (p95 {'within' if durations and _pct(durations, 95) <= rto else 'over'})"
                if durations
                else ""
            )
            if rto
            else "–",
            ", ".join(f"{sid} ×{n}" for sid, n in worst) or "–",
            ", ".join(f"{sid} {format_duration(d)}" for sid, d in slowest if d > 0) or "–",
        )
    stdout_console().print(table)


def _pct(values: list[float], pct: int) -> float:
    import statistics

    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


class LoadedRun:
    def __init__(
        self, run: Any, plan: Any, events: list[Any], torn: bool, meta: dict[str, Any]
    ) -> None:
        self.run, self.plan, self.events, self.torn, self.meta = run, plan, events, torn, meta


def load_run(run_id: str, state_dir: Path | None) -> LoadedRun:
    """A run's journal and the plan of the runbook as it was run (the copy in its folder)."""
    from recoverctl.compile import compile_plan
    from recoverctl.validate.pipeline import require_valid

    run = open_store(state_dir).find(run_id)
    journal = read_run_journal(run.journal)
    meta = run.meta()
    original = Path(str(meta.get("path", "")))
    # the original file when unchanged (its call: paths resolve), else the copy kept with the run
    source = (
        original if original.is_file() and _sha256(original) == meta.get("sha256") else run.runbook
    )
    checked = require_valid(source)
    return LoadedRun(
        run, compile_plan(checked.model, checked.callees), journal.events, journal.torn_tail, meta
    )


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
