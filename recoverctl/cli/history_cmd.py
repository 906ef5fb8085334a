"""`recoverctl runs`, `show`, `report` and `stats`: what happened, from the journals."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import StateDirOption, open_store, read_run_journal

if TYPE_CHECKING:
    from rich.console import Console

    from recoverctl.journal.recorded import RecordedRun


class ListFormat(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[
    ListFormat, typer.Option("--format", help="text for people; json for scripts.")
]


@command(
    epilog="Examples:\n\n  recoverctl runs\n\n  recoverctl runs --runbook db-failover --limit 5"
)
@reports_errors
def runs(
    state_dir: StateDirOption = None,
    runbook: Annotated[
        str | None, typer.Option("--runbook", help="Only runs of this runbook name.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest N runs.")] = 20,
    output_format: FormatOption = ListFormat.text,
) -> None:
    """List runs, newest first: id, runbook, start, duration, status and the path taken."""
    from recoverctl.journal.history import list_runs

    store = open_store(state_dir)
    rows = list_runs(store, runbook, limit)
    if output_format is ListFormat.json:
        _write_json([row.to_dict() for row in rows])
        return
    if not rows:
        sys.stderr.write(f"no runs in {store.runs_dir}\n")
        return
    from recoverctl.present.history_tables import runs_table

    console = _table_console()
    console.print(f"runs in {store.runs_dir}", style="bold", soft_wrap=True)
    console.print(runs_table(rows, console.width))


@command(epilog="Example:\n\n  recoverctl show 20261124T031500Z-5f2c1a")
@reports_errors
def show(
    run_id: Annotated[str, typer.Argument(help="The run id (a unique prefix is enough).")],
    state_dir: StateDirOption = None,
) -> None:
    """Re-render a finished or interrupted run from its journal, as the live view showed it."""
    from recoverctl.cli.session import undo_command
    from recoverctl.present.console import stdout_console
    from recoverctl.present.live_view import LiveView
    from recoverctl.present.summary import print_summary

    loaded = load_run(run_id, state_dir)
    console = stdout_console()
    view = LiveView(
        loaded.plan, console, clock=lambda: loaded.events[-1].mono if loaded.events else 0.0
    )
    for event in loaded.events:
        view(event)
    console.print(view.render(full=True))
    undo = undo_command(loaded.run.run_id, state_dir)
    print_summary(console, loaded.plan, view.state, str(loaded.run.journal), undo)
    if loaded.torn:
        console.print(
            "note: the journal's last line was cut off by a crash and was ignored", style="yellow"
        )


class ReportFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    junit = "junit"
    prometheus = "prometheus"


@command(
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


@command(epilog="Examples:\n\n  recoverctl stats\n\n  recoverctl stats db-failover")
@reports_errors
def stats(
    runbook: Annotated[str | None, typer.Argument(help="Only this runbook (by name).")] = None,
    state_dir: StateDirOption = None,
    output_format: FormatOption = ListFormat.text,
) -> None:
    """Over the run history: count, success rate, p50/p95 time to recovery vs the RTO, failing and slow steps."""
    from recoverctl.journal.history import runbook_stats

    found = runbook_stats(open_store(state_dir), runbook)
    if output_format is ListFormat.json:
        _write_json([entry.to_dict() for entry in found])
        return
    if not found:
        sys.stderr.write("no runs recorded yet\n")
        return
    from recoverctl.present.history_tables import stats_table

    console = _table_console()
    console.print("recovery statistics", style="bold")
    console.print(stats_table(found, console.width))


def _write_json(data: object) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _table_console() -> Console:
    """On a terminal, its width; piped, as wide as a table needs (a pipe has no columns)."""
    from recoverctl.present.console import stdout_console, terminal_size

    console = stdout_console()
    if terminal_size(sys.stdout) is None:
        console.width = 1_000
    return console


def load_run(run_id: str, state_dir: Path | None) -> RecordedRun:
    """A run's journal and the plan of the runbook as it was run (journal/recorded.py)."""
    from recoverctl.journal.recorded import load_recorded_run

    return load_recorded_run(open_store(state_dir), run_id, read_run_journal)
