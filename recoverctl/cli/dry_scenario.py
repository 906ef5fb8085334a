"""`run --dry-run --scenario NAME`: the path one scenario of the runbook's test file takes.

The outcomes come from the scenario (recoverctl/scenario), as `recoverctl test`
uses them: scripted results, forced branches, `assert` checked for real. The dry
run then shows exactly that path, in the live view or the plain log, without
running anything — the way to walk an on-call engineer through "what happens
when the replica is lagging" before it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from recoverctl.errors import RecoverctlError

if TYPE_CHECKING:
    from recoverctl.scenario.model import Scenario


def find_scenario(runbook: Path, name: str) -> Scenario:
    from recoverctl.cli.discover import SCENARIO_SUFFIXES
    from recoverctl.scenario.load import load_scenarios
    from recoverctl.validate.suggest import did_you_mean

    stem = runbook.name.rsplit(".", 1)[0]
    candidates = [runbook.with_name(stem + suffix) for suffix in SCENARIO_SUFFIXES]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise RecoverctlError(
            message=f"--scenario needs the runbook's scenario file: {candidates[0]} not found",
            hint=f"write one with: recoverctl test --generate {runbook}",
        )
    loaded = load_scenarios(found)
    if loaded.file is None:
        raise RecoverctlError(loaded.diagnostics)
    names = [s.name for s in loaded.file.scenarios]
    for scenario in loaded.file.scenarios:
        if scenario.name == name:
            return scenario
    raise RecoverctlError(
        message=f"no scenario '{name}' in {found}; it has: " + "; ".join(f"'{n}'" for n in names),
        hint=did_you_mean(name, names),
    )
