"""Positions in source files and the diagnostics that point at them.

Positions live beside the data (a side table keyed by JSON path), never
inside it, so the data handed to the JSON Schema is exactly what the user
wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

JsonPath = tuple[str | int, ...]
"""Where a value sits in the document: keys and list indexes from the root."""


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A 1-based, end-exclusive range of a source file."""

    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, line: int, col: int) -> Span:
        return cls(line, col, line, col + 1)

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


UNKNOWN_SPAN = Span(1, 1, 1, 1)


@dataclass(slots=True)
class SourceMap:
    """JSON path → span of the value, and of the key that introduced it."""

    values: dict[JsonPath, Span] = field(default_factory=dict)
    keys: dict[JsonPath, Span] = field(default_factory=dict)

    def value_span(self, path: JsonPath) -> Span:
        """The span of the value at `path`, or of its nearest ancestor."""
        return _nearest(self.values, path)

    def key_span(self, path: JsonPath) -> Span:
        """The span of the key naming `path` (falls back to the value)."""
        if path in self.keys:
            return self.keys[path]
        return self.value_span(path)


def _nearest(table: dict[JsonPath, Span], path: JsonPath) -> Span:
    for end in range(len(path), -1, -1):
        span = table.get(path[:end])
        if span is not None:
            return span
    return UNKNOWN_SPAN


class Severity(StrEnum):
    """How bad a diagnostic is; `error` blocks, the others inform."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a file, positioned and explained.

    `message` says what was found and what was expected; `hint` says how to
    fix it; `code` names the check (e.g. `schema`, `RC201`).
    """

    file: Path
    span: Span
    message: str
    code: str
    severity: Severity = Severity.ERROR
    hint: str | None = None
    name: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (str(self.file), self.span.line, self.span.col, self.code, self.message)

    def location(self) -> str:
        return f"{self.file}:{self.span.line}:{self.span.col}"


def sorted_unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Sort by (file, line, col) and drop exact repeats, as readers expect."""
    seen: set[tuple[str, int, int, str, str]] = set()
    out: list[Diagnostic] = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        if diagnostic.sort_key not in seen:
            seen.add(diagnostic.sort_key)
            out.append(diagnostic)
    return out
