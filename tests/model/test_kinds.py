"""Every step kind is known everywhere it must be: model, builder, handler, schema, exporters.

A new kind added to model/kinds.py fails here until it has a model value, a
builder, a handler (or is run by the engine), a schema entry, an example below,
and each exporter either translates it or reports it as lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recoverctl.actions.registry import HANDLERS
from recoverctl.export.options import ExportOptions, Target
from recoverctl.export.targets import export_plan
from recoverctl.model.kinds import KINDS
from recoverctl.validate.kinds import BUILDERS
from tests.helpers import build, runbook_data, write_runbook

SCHEMA = json.loads(Path("schemas/runbook.schema.json").read_text())

EXAMPLES: dict[str, dict[str, Any]] = {
    "run": {"run": "echo hi", "timeout": "10s"},
    "http": {"http": {"url": "http://127.0.0.1:9/health"}, "timeout": "10s"},
    "wait_for": {"wait_for": {"run": "true", "interval": "1s"}, "timeout": "10s"},
    "sleep": {"sleep": "1s"},
    "approval": {"approval": "go on?", "timeout": "1m"},
    "log": {"log": "hello"},
    "assert": {"assert": "1 == 1"},
    "call": {"call": {"runbook": "sub.yaml"}, "timeout": "1m"},
}


def test_every_kind_has_a_model_a_builder_a_handler_and_a_schema_entry() -> None:
    assert set(BUILDERS) == set(KINDS)
    assert set(HANDLERS) == {name for name, spec in KINDS.items() if not spec.run_by_engine}
    assert set(EXAMPLES) == set(KINDS), "add an example of the new kind above"
    for name, spec in KINDS.items():
        assert spec.model.kind == name
        for method in ("describe", "templates", "bound"):  # what every kind must say of itself
            assert callable(getattr(spec.model, method, None)), (name, method)
        assert name in SCHEMA["definitions"]["step"]["properties"], name


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_builder_makes_the_kinds_model_value(tmp_path: Path, kind: str) -> None:
    write_runbook(tmp_path, runbook_data({"id": "inner", "log": "inside"}, name="sub"), "sub.yaml")
    runbook, _ = build(tmp_path, runbook_data({"id": "k", **EXAMPLES[kind]}))
    assert type(runbook.steps[0].body) is KINDS[kind].model


@pytest.mark.parametrize("target", list(Target), ids=lambda t: t.value)
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_exporter_translates_every_kind_or_says_it_is_lost(
    tmp_path: Path, kind: str, target: Target
) -> None:
    write_runbook(tmp_path, runbook_data({"id": "inner", "log": "inside"}, name="sub"), "sub.yaml")
    _, plan = build(
        tmp_path,
        runbook_data({"id": "before", "log": "start"}, {"id": "k", **EXAMPLES[kind]}),
    )
    exported = export_plan(plan, target, ExportOptions(lossy=True))
    lost = [d.message for d in exported.warnings if "step 'k'" in d.message]
    translated = '"k"' in exported.text or "name: k\n" in exported.text
    assert translated or lost, f"{target.value} dropped the {kind} step silently"
