"""Lint output formats: one registry over one list of findings (text, json, sarif, github)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recoverctl import __version__
from recoverctl.lint.registry import RULES
from recoverctl.lint.runner import FileResult
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.present.diagnostics import read_source, render_diagnostic


def _all(results: list[FileResult]) -> list[Diagnostic]:
    return [f for result in results for f in result.findings]


def text(results: list[FileResult]) -> str:
    cache: dict[Path, str | None] = {}
    out = [
        "".join(piece for piece, _ in render_diagnostic(f, read_source(f.file, cache)))
        for f in _all(results)
    ]
    findings = [f for r in results if not r.invalid for f in r.findings]
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    invalid = sum(1 for r in results if r.invalid)
    summary = (
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''} "
        f"({counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} info) "
        f"in {len(results)} file{'s' if len(results) != 1 else ''}"
    )
    if invalid:
        summary += f"; {invalid} file{'s' if invalid != 1 else ''} did not validate"
    return "".join(out) + summary + "\n"


def as_json(results: list[FileResult]) -> str:
    return (
        json.dumps(
            [
                {
                    "file": str(f.file),
                    "line": f.span.line,
                    "column": f.span.col,
                    "end_line": f.span.end_line,
                    "end_column": f.span.end_col,
                    "code": f.code,
                    "name": f.name,
                    "severity": f.severity.value,
                    "message": f.message,
                    "hint": f.hint,
                }
                for f in _all(results)
            ],
            indent=2,
        )
        + "\n"
    )


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif(results: list[FileResult]) -> str:
    """SARIF 2.1.0, for code-scanning upload."""
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc.why or rule.summary},
            "help": {
                "text": rule.doc.why,
                "markdown": f"Run `recoverctl lint --explain {rule.code}`.",
            },
            "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        }
        for rule in RULES
    ]
    index = {rule.code: i for i, rule in enumerate(RULES)}
    sarif_results: list[dict[str, Any]] = []
    for f in _all(results):
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" (hint: {f.hint})" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(f.file).as_posix()},
                        "region": {
                            "startLine": f.span.line,
                            "startColumn": f.span.col,
                            "endLine": max(f.span.end_line, f.span.line),
                            "endColumn": max(f.span.end_col, f.span.col + 1)
                            if f.span.end_line == f.span.line
                            else f.span.end_col or 1,
                        },
                    }
                }
            ],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        sarif_results.append(result)
    return (
        json.dumps(
            {
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": [
                    {
                        "tool": {
                            "driver": {
                                "name": "recoverctl",
                                "version": __version__,
                                "informationUri": "https://recoverctl.dev",
                                "rules": rules,
                            }
                        },
                        "results": sarif_results,
                    }
                ],
            },
            indent=2,
        )
        + "\n"
    )


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _gh_data(text: str) -> str:
    """A workflow command's message, escaped as @actions/core's escapeData does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """A workflow command's property value (file, title), as @actions/core's escapeProperty."""
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's lines."""
    lines = []
    for f in _all(results):
        message = _gh_data(f.message + (f" (hint: {f.hint})" if f.hint else ""))
        title = _gh_property(f"{f.code} {f.name or ''}".strip())
        lines.append(
            f"::{_GITHUB_LEVEL[f.severity]} file={_gh_property(str(f.file))},line={f.span.line},"
            f"col={f.span.col},endLine={max(f.span.end_line, f.span.line)},title={title}::{message}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


FORMATS: dict[str, Callable[[list[FileResult]], str]] = {
    "text": text,
    "json": as_json,
    "sarif": sarif,
    "github": github,
}
