"""Diagnostics as text: `path:line:col: severity: message`, the source line, an underline, a hint.

Plain text is built without rich so `validate` stays fast; colour is added
only when writing to a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from recoverctl.load import stdin
from recoverctl.model.source import Diagnostic
from recoverctl.present.colour import wants_color

_STYLES = {
    "location": "bold",
    "error": "bold red",
    "warning": "bold yellow",
    "info": "bold cyan",
    "code": "dim",
    "gutter": "blue",
    "underline": "bold red",
    "hint": "cyan",
}


def render_diagnostic(diagnostic: Diagnostic, source: str | None) -> list[tuple[str, str | None]]:
    """Lines of (text, style-name) for one diagnostic; style-name None is plain."""
    head = f"{diagnostic.location()}: "
    severity = diagnostic.severity.value
    tag = f" [{diagnostic.code}{' ' + diagnostic.name if diagnostic.name else ''}]"
    lines: list[tuple[str, str | None]] = [
        (head, "location"),
        (f"{severity}: ", severity),
        (diagnostic.message, None),
        (tag, "code"),
        ("\n", None),
    ]
    snippet = _snippet(diagnostic, source)
    if snippet is not None:
        number, text, start, width = snippet
        gutter = f"{number:>5} | "
        lines += [(gutter, "gutter"), (text + "\n", None)]
        lines += [
            (" " * 5 + " | ", "gutter"),
            (" " * start + "^" + "~" * (width - 1) + "\n", "underline"),
        ]
    if diagnostic.hint:
        lines.append((f"  hint: {diagnostic.hint}\n", "hint"))
    for note in diagnostic.notes:
        lines.append((f"  note: {note}\n", None))
    return lines


def _snippet(diagnostic: Diagnostic, source: str | None) -> tuple[int, str, int, int] | None:
    if source is None:
        return None
    lines = source.splitlines()
    span = diagnostic.span
    if not 1 <= span.line <= len(lines):
        return None
    text = lines[span.line - 1].replace("\t", " ")
    if len(text) > 200:
        text = text[:200] + "…"
    start = min(span.col - 1, len(text))
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = len(text.rstrip()) - start
    return span.line, text, start, max(1, min(width, max(1, len(text) - start)))


def read_source(path: Path, cache: dict[Path, str | None]) -> str | None:
    """The text of `path` for snippets (None when unreadable: the message stands alone)."""
    if path not in cache:
        try:
            if stdin.is_stdin(path):
                raw = stdin.read_bytes()
                cache[path] = raw.decode("utf-8-sig", errors="replace")
                return cache[path]
            cache[path] = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            cache[path] = None
    return cache[path]


def write_diagnostics(diagnostics: Iterable[Diagnostic], stream: TextIO) -> None:
    """Print diagnostics with their source lines, coloured on a terminal."""
    cache: dict[Path, str | None] = {}
    color = wants_color(stream)
    console = None
    if color:
        from rich.console import Console

        console = Console(file=stream, highlight=False, soft_wrap=True)
    for diagnostic in diagnostics:
        pieces = render_diagnostic(diagnostic, read_source(diagnostic.file, cache))
        if console is None:
            stream.write("".join(text for text, _ in pieces))
            continue
        from rich.text import Text

        text = Text()
        for piece, style in pieces:
            text.append(piece, style=_STYLES.get(style or "", ""))
        console.print(text, end="")
    stream.flush()
