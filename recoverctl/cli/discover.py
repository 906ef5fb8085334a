"""Which files a command's PATH arguments mean: files as given, folders searched."""

from __future__ import annotations

from pathlib import Path

from recoverctl.errors import RecoverctlError
from recoverctl.load import stdin
from recoverctl.model.source import Diagnostic, Span

RUNBOOK_SUFFIXES = (".yaml", ".yml")
SCENARIO_SUFFIXES = (".test.yaml", ".test.yml")


def runbook_files(paths: list[Path]) -> list[Path]:
    """Files named, plus runbooks found under folders (scenario files excluded)."""
    found: list[Path] = []
    for path in paths:
        if str(path) == "-":
            found.append(stdin.STDIN)  # standard input: one runbook, named <stdin>
        elif path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.name.endswith(RUNBOOK_SUFFIXES)
                and not p.name.endswith(SCENARIO_SUFFIXES)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not inside:
                raise RecoverctlError(
                    [
                        Diagnostic(
                            path,
                            Span.point(1, 1),
                            f"no runbooks found in folder '{path}'; expected *.yaml or *.yml files",
                            "usage",
                            hint="pass runbook files or a folder that holds them",
                        )
                    ]
                )
            found.extend(inside)
        else:
            found.append(path)
    return found
