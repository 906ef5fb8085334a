"""Where a runbook's scenario file lives: `db-failover.yaml` ↔ `db-failover.test.yaml`.

A naming convention several layers need (lint's RC404, `recoverctl test`, the
scenario loader), so it sits at the bottom with the model rather than in one of them.
"""

from __future__ import annotations

from pathlib import Path

SCENARIO_SUFFIXES = (".test.yaml", ".test.yml")


def scenario_path_for(runbook: Path) -> Path:
    return runbook.with_name(runbook.name.rsplit(".", 1)[0] + ".test.yaml")


def runbook_path_for(scenarios: Path) -> Path:
    name = scenarios.name
    for suffix in SCENARIO_SUFFIXES:
        if name.endswith(suffix):
            return scenarios.with_name(name[: -len(suffix)] + ".yaml")
    return scenarios
