"""Which files a command's PATH arguments mean: files as given, folders searched."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.errors import RecoverctlError
from recoverctl.load import stdin
from recoverctl.model.source import Diagnostic, Span

RunbooksOnlyOption = Annotated[
    bool,
    typer.Option(
        "--runbooks-only",
        help="Skip, quietly, files that are not runbooks by their content (top-level "
        "`version` with `steps`): for pre-commit hooks that see every YAML file.",
    ),
]
"""`validate` and `lint` take it; the pre-commit hooks pass it."""

RUNBOOK_SUFFIXES = (".yaml", ".yml")
SCENARIO_SUFFIXES = (".test.yaml", ".test.yml")


def runbook_files(paths: list[Path], *, runbooks_only: bool = False) -> list[Path]:
    """Files named, plus runbooks found under folders (scenario files excluded).

    `runbooks_only` (pre-commit hands every YAML file over): files that are not
    runbooks by their content (`looks_like_runbook`) are left out quietly.
    """
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
    if runbooks_only:
        found = [p for p in found if stdin.is_stdin(p) or looks_like_runbook(p)]
    return found


RUNBOOK_KEYS = frozenset({"steps", "objectives", "finally", "owner"})
"""Top-level keys only a runbook has: docker-compose files also have `version` and
`name`, GitHub workflows `name`; none has `steps`, `objectives`, `finally` or `owner`."""
_STEPS_LINE = re.compile(r"^steps\s*:", re.MULTILINE)


def looks_like_runbook(path: Path) -> bool:
    """Whether `path` is meant as a runbook, judged by its content, not its name.

    A top-level mapping with `version` and a runbook-only key is one, even when it is
    otherwise broken (a runbook whose `steps:` has a typo is still checked, and fails).
    A file that is not YAML at all is one when a line starts with `steps:`. Only the
    YAML node tree is built (aliases are not expanded, tags never run): reading a
    hostile file here costs no more than its size.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return True  # unreadable: let the check say why
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.composer.ComposerError:
        node = next(iter(yaml.compose_all(text, Loader=yaml.SafeLoader)), None)
    except (yaml.YAMLError, RecursionError):
        return bool(_STEPS_LINE.search(text))
    if not isinstance(node, yaml.MappingNode):
        return False
    keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return "version" in keys and bool(keys & RUNBOOK_KEYS)
