"""Lint output formats: one registry over one list of findings (text, json, sarif, github)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from recoverctl import __version__
from recoverctl.lint.registry import DOCS_URL, RULES, VALIDATION_CHECKS, rule_anchor
from recoverctl.lint.runner import FileResult
from recoverctl.model.source import Diagnostic, Severity
from recoverctl.present.diagnostics import read_source, render_diagnostic, write_diagnostics


def _all(results: list[FileResult]) -> list[Diagnostic]:
    return [f for result in results for f in result.findings]


def text(results: list[FileResult]) -> str:
    cache: dict[Path, str | None] = {}
    out = [
        "".join(piece for piece, _ in render_diagnostic(f, read_source(f.file, cache)))
        for f in _all(results)
    ]
    return "".join(out) + text_summary(results)


def write_text(results: list[FileResult], stream: TextIO) -> None:
    """The text format, coloured on a terminal or with FORCE_COLOR (never with NO_COLOR)."""
    write_diagnostics(_all(results), stream)
    stream.write(text_summary(results))


def text_summary(results: list[FileResult]) -> str:
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
    return summary + "\n"


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


def sarif(results: list[FileResult], root: Path | None = None) -> str:
    """SARIF 2.1.0, for code-scanning upload.

    Paths under `root` (the current folder) are relative to `%SRCROOT%`, so results map
    to the repository's files wherever CI checked it out; every result has a fingerprint
    that survives lines moving, so code scanning does not reopen a finding fixed
    elsewhere; every rule, validation errors included, links to its documentation.
    """
    base = (root or Path.cwd()).resolve()
    rules = [
        _sarif_rule(r.code, r.name, r.summary, r.doc.why, _SARIF_LEVEL[r.severity]) for r in RULES
    ]
    rules += [
        _sarif_rule(code, None, summary, why, "error") for code, summary, why in VALIDATION_CHECKS
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    cache: dict[Path, str | None] = {}
    seen: dict[str, int] = {}
    sarif_results: list[dict[str, Any]] = []
    for f in _all(results):
        region: dict[str, int] = {
            "startLine": f.span.line,
            "startColumn": f.span.col,
            "endLine": max(f.span.end_line, f.span.line),
            "endColumn": max(f.span.end_col, f.span.col + 1)
            if f.span.end_line <= f.span.line
            else f.span.end_col or 1,
        }
        location = _artifact(Path(f.file), base)
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" (hint: {f.hint})" if f.hint else "")},
            "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
            "partialFingerprints": {
                "recoverctl/v1": _fingerprint(f, location["uri"], read_source(f.file, cache), seen)
            },
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        sarif_results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "recoverctl",
                "version": __version__,
                "informationUri": "https://recoverctl.dev",
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": base.as_uri() + "/"}},
        "results": sarif_results,
    }
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_rule(code: str, name: str | None, summary: str, why: str, level: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": code, **({"name": name} if name else {})}
    rule |= {
        "shortDescription": {"text": summary},
        "fullDescription": {"text": why or summary},
        "helpUri": f"{DOCS_URL}rules.md#{rule_anchor(code, name)}",
        "help": {
            "text": why or summary,
            "markdown": f"{why or summary}\n\nRun `recoverctl lint --explain {code}`."
            if name
            else why or summary,
        },
        "defaultConfiguration": {"level": level},
    }
    return rule


def _artifact(path: Path, base: Path) -> dict[str, str]:
    """Relative to %SRCROOT% when under it (as code scanning maps results), else absolute."""
    full = path if path.is_absolute() else Path.cwd() / path
    try:
        relative = full.resolve().relative_to(base)
    except ValueError:
        return {"uri": full.resolve().as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": "%SRCROOT%"}


def _fingerprint(f: Diagnostic, uri: str, source: str | None, seen: dict[str, int]) -> str:
    """The rule, the file and the text of the flagged line (not its number), and which
    occurrence of that it is: stable when lines above are added or removed."""
    lines = source.splitlines() if source else []
    text = lines[f.span.line - 1].strip() if 0 < f.span.line <= len(lines) else f.message
    key = hashlib.sha256(f"{f.code}\0{uri}\0{text}".encode()).hexdigest()[:32]
    seen[key] = seen.get(key, 0) + 1
    return f"{key}:{seen[key]}"


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
