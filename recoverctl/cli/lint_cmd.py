"""`recoverctl lint`: is this a good recovery, not just a well-formed file?"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.discover import RunbooksOnlyOption
from recoverctl.exitcodes import ExitCode
from recoverctl.model.source import Severity


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


@command(
    epilog="Examples:\n\n  recoverctl lint runbooks/\n\n"
    "  recoverctl lint runbooks/ --format sarif > lint.sarif\n\n"
    "  recoverctl lint --explain RC201\n\n"
    "Suppress one finding with a comment on its line:  # recoverctl: noqa RC201",
)
@reports_errors
def lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="Runbook files or folders.")] = None,
    output_format: Annotated[
        LintFormat, typer.Option("--format", help="Output format.")
    ] = LintFormat.text,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Only these rules (code, prefix or name).")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Not these rules.")] = None,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 1 on findings at or above this.")
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List every rule and exit.")
    ] = False,
    explain: Annotated[
        str | None, typer.Option("--explain", help="Show a rule's documentation.")
    ] = None,
    runbooks_only: RunbooksOnlyOption = False,
) -> None:
    """Check runbooks for recovery-safety problems: rollbacks, timeouts, the worst case vs the RTO, and more."""
    from recoverctl.lint.registry import RULES, find_rule

    if list_rules:
        for rule in RULES:
            sys.stdout.write(
                f"{rule.code}  {rule.name:<36} {rule.severity.value:<8} {rule.summary}\n"
            )
        return
    if explain is not None:
        explained = find_rule(explain)
        if explained is None:
            from recoverctl.errors import RecoverctlError
            from recoverctl.validate.suggest import did_you_mean

            raise RecoverctlError(
                message=f"no rule '{explain}'",
                hint=did_you_mean(explain, [r.code for r in RULES] + [r.name for r in RULES]),
            )
        module = sys.modules[type(explained).__module__].__file__
        sys.stdout.write(Path(str(module)).with_suffix(".md").read_text(encoding="utf-8"))
        return
    if not paths:
        raise typer.BadParameter("give runbook files or folders to lint", param_hint="PATHS")
    from recoverctl.cli.discover import runbook_files
    from recoverctl.lint.config import load_config
    from recoverctl.lint.runner import lint_files
    from recoverctl.present.colour import wants_color
    from recoverctl.present.lint_formats import FORMATS, write_text

    config = load_config(Path.cwd())
    if select:
        config.select = select
    if ignore:
        config.ignore = [*config.ignore, *ignore]
    if fail_on is not None:
        config.fail_on = Severity(fail_on.value)
    results = lint_files(runbook_files(paths, runbooks_only=runbooks_only), config)
    if output_format is LintFormat.text and wants_color(sys.stdout):
        write_text(results, sys.stdout)
    else:
        sys.stdout.write(FORMATS[output_format.value](results))
    if any(r.invalid for r in results):
        raise typer.Exit(ExitCode.INVALID)
    if any(f.severity.rank >= config.fail_on.rank for r in results for f in r.findings):
        raise typer.Exit(ExitCode.FAILED)
