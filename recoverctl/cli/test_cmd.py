"""`recoverctl test`: prove every branch and rollback works before the night it is needed."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.errors import RecoverctlError
from recoverctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from recoverctl.scenario.coverage import Coverage
    from recoverctl.scenario.runner import ScenarioResult


class CoverageFormat(StrEnum):
    text = "text"
    json = "json"


@command(
    name="test",
    epilog="Examples:\n\n  recoverctl test runbooks/\n\n"
    "  recoverctl test runbooks/ --coverage --fail-under 100 --junit scenarios.xml\n\n"
    "  recoverctl test --generate runbooks/db-failover.yaml   # writes db-failover.test.yaml",
)
@reports_errors
def test(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Runbooks (their .test.yaml is used), scenario files or folders."),
    ],
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML, a testcase per scenario.")
    ] = None,
    show_coverage: Annotated[
        bool,
        typer.Option(
            "--coverage", help="Report branch, rescue, rollback, retry and finally coverage."
        ),
    ] = False,
    coverage_format: Annotated[
        CoverageFormat, typer.Option("--coverage-format")
    ] = CoverageFormat.text,
    fail_under: Annotated[
        float | None,
        typer.Option("--fail-under", help="Exit 1 when coverage is below this percent."),
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", help="Write starter scenarios for the given runbooks.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --generate: overwrite an existing scenario file.")
    ] = False,
) -> None:
    """Run scenario tests: mocked outcomes, the real scheduler, simulated time (a 10-minute runbook takes milliseconds)."""
    if generate:
        _generate(paths, force=force)
        return
    from recoverctl.scenario.coverage import coverage
    from recoverctl.scenario.load import load_scenarios
    from recoverctl.scenario.runner import run_scenario

    files = _scenario_files(paths)
    # with JSON coverage, stdout carries only the JSON document; the results go to stderr
    out = (
        sys.stderr
        if coverage_format is CoverageFormat.json and (show_coverage or fail_under is not None)
        else sys.stdout
    )
    failed = passed = 0
    reports: list[tuple[str, list[ScenarioResult]]] = []
    coverages: list[Coverage] = []
    for path in files:
        loaded = load_scenarios(path)
        if loaded.file is None or loaded.plan is None:
            from recoverctl.present.diagnostics import write_diagnostics

            write_diagnostics(loaded.diagnostics, sys.stderr)
            raise typer.Exit(ExitCode.INVALID)
        results = [run_scenario(loaded.plan, scenario) for scenario in loaded.file.scenarios]
        _print_results(path, results, out)
        passed += sum(r.passed for r in results)
        failed += sum(not r.passed for r in results)
        reports.append((loaded.plan.runbook.name, results))
        coverages.append(coverage(loaded.plan, results))
    if junit is not None:
        from recoverctl.files import replace_file, shared_mode

        replace_file(junit, _junit(reports).encode("utf-8"), mode=shared_mode())
    below = False
    if show_coverage or fail_under is not None:
        below = _print_coverage(coverages, coverage_format, fail_under)
    out.write(f"{passed} passed, {failed} failed\n")
    if failed or below:
        raise typer.Exit(ExitCode.FAILED)


def _scenario_files(paths: list[Path]) -> list[Path]:
    from recoverctl.model.naming import scenario_path_for
    from recoverctl.scenario.load import SUFFIXES

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for s in SUFFIXES for p in path.rglob(f"*{s}"))
            if not found:
                raise RecoverctlError(
                    message=f"no scenario files (*.test.yaml) in {path}",
                    hint="write one, or start with `recoverctl test --generate RUNBOOK`",
                )
            files += found
        elif path.name.endswith(SUFFIXES):
            files.append(path)
        else:
            scenarios = scenario_path_for(path)
            if not scenarios.exists():
                raise RecoverctlError(
                    message=f"{path} has no scenario file ({scenarios.name})",
                    hint=f"create one with `recoverctl test --generate {path}`",
                )
            files.append(scenarios)
    return files


def _print_results(path: Path, results: list[ScenarioResult], out: TextIO) -> None:
    from recoverctl.scenario.runner import describe_path

    out.write(f"{path}\n")
    for result in results:
        took = f"{result.seconds * 1000:.0f}ms"
        if result.passed:
            out.write(f"  PASS  {result.scenario.name}  ({took})\n")
            continue
        span = result.scenario.span
        out.write(f"  FAIL  {result.scenario.name}  ({path}:{span.line}:{span.col})\n")
        for difference in result.differences:
            out.write(f"        - {difference}\n")
        out.write("        what the run did:\n")
        for line in describe_path(result):
            out.write(f"          {line}\n")


def _print_coverage(
    coverages: list[Coverage], fmt: CoverageFormat, fail_under: float | None
) -> bool:
    total_items = sum(len(c.items) for c in coverages)
    total_covered = sum(len(c.covered) for c in coverages)
    overall = 100.0 if not total_items else 100.0 * total_covered / total_items
    if fmt is CoverageFormat.json:
        sys.stdout.write(
            json.dumps(
                {
                    "percent": round(overall, 2),
                    "runbooks": [
                        {
                            "runbook": str(c.plan.runbook.path),
                            "percent": round(c.percent, 2),
                            "by_kind": {
                                k: {"covered": d, "total": t} for k, (d, t) in c.by_kind().items()
                            },
                            "uncovered": [
                                {
                                    "kind": i.kind,
                                    "item": i.label,
                                    "line": i.span.line,
                                    "column": i.span.col,
                                }
                                for i in c.missing
                            ],
                        }
                        for c in coverages
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        kinds = ("branch", "rescue", "rollback", "retry", "finally", "fanout")
        sys.stdout.write("\ncoverage  " + " ".join(f"{k:>9}" for k in kinds) + "     total\n")
        for c in coverages:
            counts = c.by_kind()
            cells = " ".join(
                f"{counts[k][0]:>4}/{counts[k][1]:<4}" if k in counts else f"{'–':>9}"
                for k in kinds
            )
            sys.stdout.write(f"{c.plan.runbook.name[:8]:<8}  {cells} {c.percent:>8.1f}%\n")
            for item in c.missing:
                sys.stdout.write(
                    f"  not covered: {c.plan.runbook.path}:{item.span.line}:{item.span.col}: {item.label}\n"
                )
        sys.stdout.write(f"total coverage {overall:.1f}%\n")
    if fail_under is not None and overall < fail_under:
        sys.stderr.write(f"coverage {overall:.1f}% is under --fail-under {fail_under:g}%\n")
        return True
    return False


def _junit(reports: list[tuple[str, list[ScenarioResult]]]) -> str:
    from xml.etree import ElementTree as ET

    from recoverctl.scenario.runner import describe_path

    root = ET.Element("testsuites", name="recoverctl test")
    for runbook, results in reports:
        failures = sum(not r.passed for r in results)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=runbook,
            tests=str(len(results)),
            failures=str(failures),
            errors="0",
            skipped="0",
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                name=result.scenario.name,
                classname=runbook,
                time=f"{result.seconds:.3f}",
            )
            if not result.passed:
                failure = ET.SubElement(
                    case, "failure", message="; ".join(result.differences), type="scenario"
                )
                failure.text = "\n".join(describe_path(result))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _generate(paths: list[Path], *, force: bool) -> None:
    from recoverctl.compile import compile_plan
    from recoverctl.model.naming import scenario_path_for
    from recoverctl.scenario.generate import generate
    from recoverctl.validate.pipeline import require_valid

    for path in paths:
        target = scenario_path_for(path)
        if target.exists() and not force:
            raise RecoverctlError(
                message=f"{target} exists; not overwriting it", hint="pass --force to replace it"
            )
        checked = require_valid(path)
        text = generate(compile_plan(checked.model, checked.callees), path.name)
        target.write_text(text, encoding="utf-8")
        count = text.count("\n- name:")
        sys.stdout.write(f"wrote {target} ({count} scenarios)\n")
