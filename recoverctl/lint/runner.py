"""Runs the rules over files: suppression, selection, and no crash ever aborting lint."""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from recoverctl.lint.config import LintConfig
from recoverctl.lint.registry import INTERNAL_ERROR, RULES, find_rule
from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity, Span, sorted_unique

_NOQA = re.compile(r"#\s*recoverctl:\s*noqa(?::?\s*(?P<codes>[A-Za-z0-9_,\- ]+))?", re.I)
PARALLEL_OVER = 16
"""Past this many files, lint uses a process per core."""


@dataclass(slots=True)
class FileResult:
    path: Path
    findings: list[Diagnostic]
    invalid: bool = False
    """The file did not validate: its findings are the validation errors."""


def select_rules(select: Iterable[str], ignore: Iterable[str]) -> list[Rule]:
    from recoverctl.errors import RecoverctlError

    def resolve(keys: Iterable[str]) -> set[str]:
        codes = set()
        for key in keys:
            rule = find_rule(key)
            if rule is None and not any(r.code.startswith(key.upper()) for r in RULES):
                raise RecoverctlError(
                    message=f"unknown rule '{key}'",
                    hint="list them with `recoverctl lint --list-rules`",
                )
            codes |= (
                {rule.code} if rule else {r.code for r in RULES if r.code.startswith(key.upper())}
            )
        return codes

    chosen = resolve(select) if select else {r.code for r in RULES}
    dropped = resolve(ignore)
    return [r for r in RULES if r.code in chosen and r.code not in dropped]


def lint_files(paths: list[Path], config: LintConfig) -> list[FileResult]:
    codes = [r.code for r in select_rules(config.select, config.ignore)]
    jobs = [(path, codes, config.max_paths, config.max_depth) for path in paths]
    if len(paths) > PARALLEL_OVER:
        with ProcessPoolExecutor() as pool:
            return list(pool.map(_lint_one, jobs, chunksize=16))
    return [_lint_one(job) for job in jobs]


def _lint_one(job: tuple[Path, list[str], int, int]) -> FileResult:
    path, codes, max_paths, max_depth = job
    from recoverctl.compile import compile_plan
    from recoverctl.validate.pipeline import check_file

    checked = check_file(path)
    if checked.runbook is None:
        return FileResult(path, checked.diagnostics, invalid=True)
    ctx = LintContext(
        checked.runbook, compile_plan(checked.runbook, checked.callees), max_paths, max_depth
    )
    findings: list[Diagnostic] = []
    for rule in RULES:
        if rule.code not in codes:
            continue
        try:
            findings.extend(rule.check(ctx))
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            findings.append(
                Diagnostic(
                    path,
                    Span.point(1, 1),
                    f"rule {rule.code} {rule.name} crashed: {type(exc).__name__}: {exc} "
                    f"(at {Path(where.filename).name}:{where.lineno})",
                    INTERNAL_ERROR[0],
                    Severity.ERROR,
                    "this is a bug in recoverctl; the other rules still ran",
                    INTERNAL_ERROR[1],
                )
            )
    lines = checked.runbook.text.splitlines()
    return FileResult(path, sorted_unique([f for f in findings if not _suppressed(f, lines)]))


def _suppressed(finding: Diagnostic, lines: list[str]) -> bool:
    if not 1 <= finding.span.line <= len(lines):
        return False
    match = _NOQA.search(lines[finding.span.line - 1])
    if match is None:
        return False
    codes = match.group("codes")
    if not codes:
        return True
    wanted = {c.strip().upper() for c in re.split(r"[,\s]+", codes) if c.strip()}
    return finding.code.upper() in wanted or (finding.name or "").upper() in wanted
