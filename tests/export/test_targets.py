"""Every example runbook and golden case, exported to both targets and checked by their own validators."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from recoverctl.compile import compile_plan
from recoverctl.export.options import ExportOptions, Target
from recoverctl.export.shape import shape_differences
from recoverctl.export.targets import export_plan
from recoverctl.validate.pipeline import require_valid
from tests.conftest import GOLDEN, ROOT, RUNBOOKS, check_golden
from tests.export.validators import argo_errors, asl_errors

CASES = Path(__file__).parent / "cases"
APPROVER = "arn:aws:lambda:eu-west-1:123456789012:function:ask-oncall"
EXAMPLES = sorted(p for p in RUNBOOKS.glob("*.yaml") if not p.name.endswith(".test.yaml"))
FAITHFUL = sorted(CASES.glob("*.yaml"))
"""Golden cases that use only what both targets express: exported without --lossy."""
ALL = EXAMPLES + FAITHFUL


def _options(path: Path, target: Target) -> ExportOptions:
    lossy = path in EXAMPLES
    if target is Target.argo:
        return ExportOptions(lossy=lossy)
    return ExportOptions(lossy=lossy, approval_function=APPROVER)


def _export(path: Path, target: Target) -> tuple[str, list[str]]:
    checked = require_valid(path)
    exported = export_plan(
        compile_plan(checked.model, checked.callees), target, _options(path, target)
    )
    warnings = [f"{d.file.relative_to(ROOT)}:{d.span}: {d.message}" for d in exported.warnings]
    return exported.text, warnings


def _suffix(target: Target) -> str:
    return ".argo.yaml" if target is Target.argo else ".asl.json"


@pytest.mark.parametrize("target", list(Target), ids=str)
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_export_matches_its_golden_and_says_what_it_lost(path: Path, target: Target) -> None:
    text, warnings = _export(path, target)
    check_golden(GOLDEN / "export" / f"{path.stem}{_suffix(target)}", text)
    lost = "".join(f"{w}\n" for w in warnings)
    check_golden(GOLDEN / "export" / f"{path.stem}{_suffix(target)}.lost.txt", lost)
    if path in FAITHFUL:
        assert warnings == []


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_argo_export_passes_the_strict_argo_schema(path: Path) -> None:
    text, _ = _export(path, Target.argo)
    document = yaml.safe_load(text)
    assert argo_errors(document) == []
    assert document["kind"] == "Workflow"


def test_argo_workflow_template(tmp_path: Path) -> None:
    checked = require_valid(RUNBOOKS / "service-restart.yaml")
    plan = compile_plan(checked.model, checked.callees)
    text = export_plan(plan, Target.argo, ExportOptions(template=True, image="busybox:1.36")).text
    document = yaml.safe_load(text)
    assert argo_errors(document) == []
    assert document["kind"] == "WorkflowTemplate"
    assert document["metadata"]["name"] == "service-restart"
    images = {t["container"]["image"] for t in document["spec"]["templates"] if "container" in t}
    assert images == {"busybox:1.36"}


def test_asl_exports_pass_asl_validator(tmp_path: Path) -> None:
    written = []
    for path in ALL:
        text, _ = _export(path, Target.step_functions)
        out = tmp_path / f"{path.stem}.asl.json"
        out.write_text(text, encoding="utf-8")
        written.append(out)
    assert asl_errors(written) == {}


@pytest.mark.parametrize("target", list(Target), ids=str)
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_export_has_the_plan_shape(path: Path, target: Target) -> None:
    checked = require_valid(path)
    plan = compile_plan(checked.model, checked.callees)
    text, _ = _export(path, target)
    document = yaml.safe_load(text) if target is Target.argo else json.loads(text)
    assert shape_differences(plan, "argo" if target is Target.argo else "asl", document) == []


def _asl_state_names(states: dict[str, object]) -> list[str]:
    names = list(states)
    for state in states.values():
        for branch in state.get("Branches", []) if isinstance(state, dict) else []:
            names += _asl_state_names(branch["States"])
    return names


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_names_keep_to_what_the_targets_accept_everywhere(path: Path) -> None:
    """ASL: letters, digits, - and _ (CloudWatch logging); Argo: DNS-label-like names."""
    machine = json.loads(_export(path, Target.step_functions)[0])
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,80}", n) for n in _asl_state_names(machine["States"]))
    workflow = yaml.safe_load(_export(path, Target.argo)[0])
    for template in workflow["spec"]["templates"]:
        assert re.fullmatch(r"[a-z0-9][-a-z0-9]{0,62}", template["name"])
        for task in template.get("dag", {}).get("tasks", []):
            assert re.fullmatch(r"[a-z0-9][-a-z0-9]{0,62}", task["name"])
