"""Builders for tests: a runbook from a dict, checked and compiled through the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from recoverctl.compile import Plan, compile_plan
from recoverctl.model.runbook import Runbook
from recoverctl.validate.pipeline import check_file


def runbook_data(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A minimal valid runbook around `steps`; keyword arguments add top-level keys."""
    return {"version": 1, "name": top.pop("name", "test"), **top, "steps": list(steps)}


def write_runbook(tmp_path: Path, data: dict[str, Any], name: str = "rb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        yaml.safe_dump(data, sort_keys=False, width=10_000), encoding="utf-8"
    )  # no folded lines
    return path


def build(tmp_path: Path, data: dict[str, Any]) -> tuple[Runbook, Plan]:
    """Validate and compile `data`; fails the test with the diagnostics if invalid."""
    path = write_runbook(tmp_path, data)
    checked = check_file(path)
    assert checked.runbook is not None, [d.message for d in checked.diagnostics]
    return checked.runbook, compile_plan(checked.runbook, checked.callees)


def run_step(step_id: str, command: str = "true", **options: Any) -> dict[str, Any]:
    return {"id": step_id, "run": command, **options}
