"""Project defaults for lint: `[tool.recoverctl.lint]` in pyproject.toml, or `.recoverctl.yaml`.

Looked up from the current directory upwards; the first file that has a
lint section wins. Command-line options override it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.errors import RecoverctlError
from recoverctl.model.source import Severity


@dataclass(slots=True)
class LintConfig:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: Severity = Severity.WARNING
    max_paths: int = 64
    max_depth: int = 5
    source: Path | None = None


def load_config(start: Path) -> LintConfig:
    for folder in [start, *start.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError) as exc:
                raise RecoverctlError(message=f"cannot read {pyproject}: {exc}") from None
            section = data.get("tool", {}).get("recoverctl", {}).get("lint")
            if section is not None:
                return _from_mapping(section, pyproject)
        dotfile = folder / ".recoverctl.yaml"
        if dotfile.is_file():
            from recoverctl.load import load_file

            doc = load_file(dotfile)
            section = doc.data.get("lint") if isinstance(doc.data, dict) else None
            if section is not None:
                return _from_mapping(section, dotfile)
    return LintConfig()


def _from_mapping(section: Any, source: Path) -> LintConfig:
    if not isinstance(section, dict):
        raise RecoverctlError(message=f"{source}: the lint settings must be a table/mapping")
    try:
        return LintConfig(
            select=[str(s) for s in section.get("select", [])],
            ignore=[str(s) for s in section.get("ignore", [])],
            fail_on=Severity(str(_setting(section, "fail-on", "warning"))),
            max_paths=int(_setting(section, "max-paths", 64)),
            max_depth=int(_setting(section, "max-depth", 5)),
            source=source,
        )
    except ValueError as exc:
        raise RecoverctlError(
            message=f"{source}: invalid lint setting: {exc}",
            hint="fail-on is error, warning or info; select/ignore list codes or names",
        ) from None


def _setting(section: dict[str, Any], name: str, default: Any) -> Any:
    """A setting by its kebab name, or its snake_case spelling."""
    return section.get(name, section.get(name.replace("-", "_"), default))
