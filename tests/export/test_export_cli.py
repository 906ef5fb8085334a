"""`recoverctl export` as users run it: a real process, positioned errors, --lossy, -o."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from recoverctl.compile import compile_plan
from recoverctl.export.options import ExportOptions, Target
from recoverctl.export.shape import shape_differences
from recoverctl.export.targets import export_plan
from recoverctl.validate.pipeline import require_valid
from tests.conftest import RUNBOOKS, invoke, run_cli
from tests.export.validators import argo_errors
from tests.helpers import runbook_data, write_runbook


def test_a_lost_feature_is_an_error_naming_the_step_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "wf.yaml"
    out.write_text("previous manifest\n")
    result = run_cli(["export", str(RUNBOOKS / "demo.yaml"), "--to", "argo", "-o", str(out)])
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        "demo.yaml:87:13: error: step 'warm_cache': a group timeout cannot be exported to "
        "Argo Workflows" in result.stderr
    )
    assert "hint: change the runbook, or pass --lossy" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text() == "previous manifest\n"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_lossy_warns_per_lost_feature_and_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "wf.yaml"
    result = run_cli(
        ["export", str(RUNBOOKS / "demo.yaml"), "--to", "argo", "--lossy", "-o", str(out)]
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(": warning: ") == 2
    assert f"wrote {out} (Argo Workflows)" in result.stderr
    assert argo_errors(yaml.safe_load(out.read_text())) == []


def test_step_functions_to_stdout(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    result = run_cli(["export", str(path), "--to", "step-functions"])
    assert result.returncode == 0, result.stderr
    machine = json.loads(result.stdout)
    assert machine["QueryLanguage"] == "JSONata"
    assert machine["States"]["a"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert machine["States"]["a"]["Arguments"]["FunctionName"] == "recoverctl-runner"


def test_resource_template_names_each_kind(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "a", "run": "true"}, {"id": "b", "http": {"url": "http://x/"}}),
    )
    arn = "arn:aws:states:eu-west-1:123456789012:activity:recoverctl-{kind}"
    result = invoke(["export", str(path), "--to", "step-functions", "--resource", arn])
    assert result.exit_code == 0, result.output
    states = json.loads(result.stdout)["States"]
    assert states["a"]["Resource"].endswith(":activity:recoverctl-run")
    assert states["b"]["Resource"].endswith(":activity:recoverctl-http")
    assert states["b"]["Arguments"]["url"] == "http://x/"  # an activity gets the payload itself


def test_options_of_the_other_target_are_refused() -> None:
    result = invoke(["export", str(RUNBOOKS / "demo.yaml"), "--to", "argo", "--resource", "x"])
    assert result.exit_code == 2
    assert (
        "--resource, --function and --approval-function are Step Functions options" in result.output
    )
    result = invoke(["export", str(RUNBOOKS / "demo.yaml"), "--to", "step-functions", "--template"])
    assert result.exit_code == 2


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    result = run_cli(["export", str(path), "--to", "argo", "-o", str(tmp_path / "no" / "x.yaml")])
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_call_steps_and_untranslatable_conditions_are_named(tmp_path: Path) -> None:
    write_runbook(
        tmp_path, runbook_data({"id": "inner", "run": "true"}, name="inner"), "inner.yaml"
    )
    data = runbook_data(
        {"id": "probe", "run": "echo '{}'"},
        {"id": "sub", "call": {"runbook": "inner.yaml"}},
        {"id": "gate", "when": "(steps.probe.stdout | from_json).ready", "run": "true"},
    )
    path = write_runbook(tmp_path, data)
    result = run_cli(["export", str(path), "--to", "step-functions"])
    assert result.returncode == 2
    assert "step 'sub': `call` cannot be exported to AWS Step Functions" in result.stderr
    assert "step 'gate': the condition '(steps.probe.stdout | from_json).ready'" in result.stderr
    assert "`from_json` has no equivalent in jsonata" in result.stderr
    lossy = run_cli(["export", str(path), "--to", "step-functions", "--lossy"])
    assert lossy.returncode == 0, lossy.stderr
    assert "sub" not in json.loads(lossy.stdout)["States"]


def test_approval_without_a_callback_is_an_error_unless_lossy_drops_the_gate(
    tmp_path: Path,
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "ok", "approval": {"prompt": "go?"}}, {"id": "b", "run": "true"}),
    )
    refused = run_cli(["export", str(path), "--to", "step-functions"])
    assert refused.returncode == 2
    assert "step 'ok': an approval cannot be exported" in refused.stderr
    assert "--approval-function" in refused.stderr
    lossy = run_cli(["export", str(path), "--to", "step-functions", "--lossy"])
    assert "the execution will not wait for anyone" in lossy.stderr
    states = json.loads(lossy.stdout)["States"]
    assert states["ok"]["Comment"] == "approval left out by export --lossy: nobody is asked"
    asked = run_cli(
        ["export", str(path), "--to", "step-functions", "--approval-function", "ask-oncall"]
    )
    task = json.loads(asked.stdout)["States"]["ok"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    token = task["Arguments"]["Payload"]["token"]
    assert token == "{% $states.context.Task.Token %}"


def test_hostile_values_stay_data_in_both_targets(tmp_path: Path) -> None:
    payload = "x'; rm -rf / #$(reboot)`id`"
    data = runbook_data(
        {"id": "a", "run": "echo {{ params.p }} done"},
        {"id": "b", "run": ["printf", "%s", "{{ params.p }}"]},
        params={"p": {"type": "string", "default": payload}},
    )
    checked = require_valid(write_runbook(tmp_path, data))
    plan = compile_plan(checked.model, checked.callees)
    argo = yaml.safe_load(export_plan(plan, Target.argo, ExportOptions()).text)
    templates = {t["name"]: t for t in argo["spec"]["templates"]}
    assert templates["a"]["container"]["command"] == ["sh", "-c", 'echo "${RC_VALUE_1}" done']
    assert {"name": "RC_VALUE_1", "value": "{{workflow.parameters.p}}"} in templates["a"][
        "container"
    ]["env"]
    assert templates["b"]["container"]["command"] == ["printf", "%s", "{{workflow.parameters.p}}"]
    assert argo["spec"]["arguments"]["parameters"][0]["value"] == payload
    asl = json.loads(export_plan(plan, Target.step_functions, ExportOptions()).text)
    payload_a = asl["States"]["a"]["Arguments"]["Payload"]
    assert payload_a["command"] == ['echo "${RC_VALUE_1}" done']
    assert payload_a["env"]["RC_VALUE_1"] == "{% ($string($params.p)) %}"
    assert payload not in json.dumps(payload_a)


def test_the_shape_check_notices_a_broken_order() -> None:
    checked = require_valid(RUNBOOKS / "demo.yaml")
    plan = compile_plan(checked.model, checked.callees)
    argo = yaml.safe_load(export_plan(plan, Target.argo, ExportOptions(lossy=True)).text)
    tasks = argo["spec"]["templates"][0]["dag"]["tasks"]
    verify = next(t for t in tasks if t["name"] == "verify")
    del verify["depends"]
    assert "'simulate_outage' no longer runs before 'verify'" in shape_differences(
        plan, "argo", argo
    )
    asl = json.loads(export_plan(plan, Target.step_functions, ExportOptions(lossy=True)).text)
    asl["States"]["simulate_outage"]["Next"] = "verify"  # skips the probes and the branch
    problems = shape_differences(plan, "asl", asl)
    assert "'simulate_outage' no longer runs before 'disk_free'" in problems
    del asl["States"]["verify"]
    assert "step 'verify' is missing from the export" in shape_differences(plan, "asl", asl)


def test_the_strict_argo_schema_catches_typos_and_takes_int_or_string() -> None:
    checked = require_valid(RUNBOOKS / "db-failover.yaml")
    plan = compile_plan(checked.model, checked.callees)
    argo = yaml.safe_load(export_plan(plan, Target.argo, ExportOptions(lossy=True)).text)
    tasks = argo["spec"]["templates"][0]["dag"]["tasks"]
    tasks[2]["dependecies"] = tasks[2].pop("depends")
    assert any("dependecies" in e for e in argo_errors(argo))
    tasks[2]["depends"] = tasks[2].pop("dependecies")
    with_retry = next(t for t in argo["spec"]["templates"] if "retryStrategy" in t)
    assert isinstance(with_retry["retryStrategy"]["limit"], int)
    assert argo_errors(argo) == []


def test_steps_named_like_expression_functions_get_safe_argo_names(tmp_path: Path) -> None:
    data = runbook_data({"id": "split", "run": "true"}, {"id": "map", "run": "true"})
    checked = require_valid(write_runbook(tmp_path, data))
    plan = compile_plan(checked.model, checked.callees)
    argo = yaml.safe_load(export_plan(plan, Target.argo, ExportOptions()).text)
    tasks = argo["spec"]["templates"][0]["dag"]["tasks"]
    assert [t["name"] for t in tasks] == ["split-step", "map-step"]
    assert tasks[1]["depends"] == "(split-step.Succeeded || split-step.Skipped)"


def test_a_retried_wait_for_is_reported_by_both_targets(tmp_path: Path) -> None:
    step = {
        "id": "ready",
        "wait_for": {"run": "true", "interval": "1s", "timeout": "5s"},
        "retry": {"attempts": 3, "delay": "1s"},
    }
    path = write_runbook(tmp_path, runbook_data(step))
    for target in ("argo", "step-functions"):
        result = run_cli(["export", str(path), "--to", target])
        assert result.returncode == 2, result.stderr
        assert "step 'ready': retry of a wait_for cannot be exported" in result.stderr


def test_the_written_manifest_gets_the_usual_mode_and_no_temporary_file(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "run": "true"}))
    out = tmp_path / "out" / "wf.yaml"
    out.parent.mkdir()
    old = os.umask(0o022)
    try:
        result = invoke(["export", str(path), "--to", "argo", "-o", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o644  # a manifest to share, not a private file
    assert [p.name for p in out.parent.iterdir()] == ["wf.yaml"]


def test_a_name_the_target_cannot_take_is_a_positioned_error(tmp_path: Path) -> None:
    long_id = "warm_" + "x" * 59
    data = runbook_data(
        {"id": "g", "parallel": [{"id": long_id, "run": "true"}, {"id": "b", "run": "true"}]}
    )
    path = write_runbook(tmp_path, data)
    result = run_cli(["export", str(path), "--to", "step-functions"])
    assert result.returncode == 2, result.stderr
    assert (
        f"rb.yaml:6:5: error: cannot export to AWS Step Functions: the state name '{long_id}-branch"
        in result.stderr
    )
    assert "hint: rename the step" in result.stderr
