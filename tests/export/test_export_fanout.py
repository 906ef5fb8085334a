"""Fan-outs in exports: Argo loops and Step Functions maps what they can run exactly;
everything else is a positioned loss, never one run of the body passed off as the
fan-out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import invoke
from tests.export.validators import argo_errors, asl_errors, jsonata_eval
from tests.helpers import runbook_data, write_runbook


def _fan(**foreach: Any) -> dict[str, Any]:
    return {
        "id": "flush",
        "foreach": {"as": "shard", "max_failures": 0, **foreach},
        "run": "redis-cli -h {{ shard }} FLUSHALL",
        "timeout": "30s",
    }


@pytest.mark.parametrize(
    ("items", "loop"),
    [
        ("{{ params.shards }}", {"withParam": "{{workflow.parameters.shards}}"}),
        (["s1", "s2"], {"withItems": ["s1", "s2"]}),
    ],
)
def test_argo_loops_one_action_over_a_list_param_or_a_written_list(
    tmp_path: Path, items: Any, loop: dict[str, Any]
) -> None:
    params = {"shards": {"type": "list", "items": "string", "default": ["s1", "s2"]}}
    path = write_runbook(tmp_path, runbook_data(_fan(items=items), params=params))
    result = invoke(["export", "--to", "argo", str(path)])
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(result.stdout)
    assert argo_errors(workflow) == []
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    task = next(
        t for tpl in templates.values() for t in tpl.get("dag", {}).get("tasks", [])
        if t["name"] == "flush"
    )  # fmt: skip
    assert {k: task[k] for k in loop} == loop
    assert task["arguments"] == {"parameters": [{"name": "item", "value": "{{item}}"}]}
    assert templates["flush"]["inputs"] == {"parameters": [{"name": "item"}]}
    assert "inputs.parameters.item" in yaml.safe_dump(templates["flush"]["container"])


@pytest.mark.parametrize(
    ("foreach", "reason"),
    [
        ({"batch": 2}, "a canary and rolling batches"),
        ({"canary": 1}, "a canary and rolling batches"),
        ({"max_failures": 2}, "a failure budget"),
        ({"max_failure_percent": 10}, "a failure budget"),
        ({"items": "{{ steps.x.stdout }}"}, "a loop over anything but a list param"),
    ],
)
def test_what_no_target_can_loop_exactly_is_a_positioned_loss(
    tmp_path: Path, foreach: dict[str, Any], reason: str
) -> None:
    steps = [{"id": "x", "run": "echo '[1]'", "timeout": "5s"}, _fan(**{"items": ["a"], **foreach})]
    path = write_runbook(tmp_path, runbook_data(*steps))
    for target in ("argo", "step-functions"):
        result = invoke(["export", "--to", target, str(path)])
        assert result.exit_code == 2
        assert "step 'flush': `foreach` cannot be exported" in result.output
        assert reason in result.output
        assert "rb.yaml:" in result.output  # positioned


def test_argo_limits_a_loop_by_a_template_of_its_own(tmp_path: Path) -> None:
    params = {"shards": {"type": "list", "items": "string", "default": ["s1", "s2", "s3"]}}
    fan = _fan(items="{{ params.shards }}", max_parallel=2)
    path = write_runbook(tmp_path, runbook_data(fan, {"id": "after", "run": "true"}, params=params))
    result = invoke(["export", "--to", "argo", str(path)])
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(result.stdout)
    assert argo_errors(workflow) == []
    templates = {t["name"]: t for t in workflow["spec"]["templates"]}
    main = {t["name"]: t for t in templates["main"]["dag"]["tasks"]}
    assert main["flush"]["template"] == "flush-items"  # the rest reads tasks['flush'] as before
    assert main["after"]["depends"] == "(flush.Succeeded || flush.Skipped)"
    wrapper = templates["flush-items"]
    assert wrapper["parallelism"] == 2
    assert "failFast" not in wrapper["dag"]  # Argo's default, true: no item after a failure
    (loop,) = wrapper["dag"]["tasks"]
    assert loop["template"] == "flush"
    assert loop["withParam"] == "{{workflow.parameters.shards}}"
    assert templates["flush"]["inputs"] == {"parameters": [{"name": "item"}]}


def _map(tmp_path: Path, fan: dict[str, Any], *args: str) -> tuple[dict[str, Any], Any]:
    params = {"shards": {"type": "list", "items": "string", "default": ["s1", "s2"]}}
    after = {"id": "after", "run": "echo {{ steps.flush.outputs.succeeded }}"}
    path = write_runbook(tmp_path, runbook_data(fan, after, params=params))
    result = invoke(["export", "--to", "step-functions", *args, str(path)])
    return json.loads(result.stdout) if result.exit_code == 0 else {}, result


def test_step_functions_maps_one_action_over_a_list_param(tmp_path: Path) -> None:
    fan = _fan(items="{{ params.shards }}", max_parallel=1)
    fan["retry"] = {"attempts": 3, "delay": "2s"}
    machine, result = _map(tmp_path, fan)
    assert result.exit_code == 0, result.output
    out = tmp_path / "machine.json"
    out.write_text(json.dumps(machine))
    assert asl_errors([out]) == {}
    state = machine["States"]["flush"]
    assert state["Type"] == "Map"
    assert state["Items"] == "{% $params.shards %}"
    assert state["MaxConcurrency"] == 1
    assert state["ItemSelector"]["item"] == "{% $states.context.Map.Item.Value %}"
    assert state["Next"] == "after"
    assert state["Catch"][0]["Next"] == "Roll-back"  # the step's on_failure, for the whole Map
    iteration = state["ItemProcessor"]["States"]["flush-item"]
    assert iteration["Retry"][0]["MaxAttempts"] == 2  # each item retries as the step does
    assert "Catch" not in iteration and "Assign" not in iteration  # no write to outer variables
    payload = iteration["Arguments"]["Payload"]
    assert payload["item"] == "{% $states.input.key %}"
    assert payload["env"] == {"RC_VALUE_1": "{% ($string($states.input.item)) %}"}
    assert payload["command"] == ['redis-cli -h "${RC_VALUE_1}" FLUSHALL']


def test_the_map_records_what_a_run_records(tmp_path: Path) -> None:
    """The Map's key and record expressions, evaluated by the real jsonata: the same
    `succeeded` and `items` a run gives steps.flush.outputs."""
    fan = _fan(items=[{"name": "s1", "port": 1}, {"name": "s2", "port": 2}], max_parallel=1)
    fan["foreach"]["key"] = "{{ shard.name }}"
    fan["run"] = "redis-cli -h {{ shard.name }} -p {{ shard.port }} FLUSHALL"
    machine, result = _map(tmp_path, fan)
    assert result.exit_code == 0, result.output
    state = machine["States"]["flush"]
    assert state["Items"] == [{"name": "s1", "port": 1}, {"name": "s2", "port": 2}]
    strip = lambda text: text.removeprefix("{% ").removesuffix(" %}")  # noqa: E731
    iteration = state["ItemProcessor"]["States"]["flush-item"]
    output = strip(iteration["Output"])
    record = strip(state["Assign"]["s_flush"])
    item = {"name": "s2", "port": 2}
    key, env, out = jsonata_eval(
        [
            (strip(state["ItemSelector"]["key"]), {"states": {"context": {"Map": {"Item": {"Value": item}}}}}),
            (strip(iteration["Arguments"]["Payload"]["env"]["RC_VALUE_2"]), {"states": {"input": {"item": item}}}),
            (output, {"states": {"input": {"key": "s2", "item": item},
                                 "result": {"Payload": {"exit_code": 0, "stdout": "OK"}}}}),
        ]
    )  # fmt: skip
    assert key == {"value": "s2"}
    assert env == {"value": "2"}
    assert out["value"]["key"] == "s2" and out["value"]["record"]["stdout"] == "OK"
    one = {"key": "s1", "record": {"status": "succeeded", "ok": True, "outputs": {}}}
    both, single, none = jsonata_eval(
        [
            (record, {"states": {"result": [one, {**one, "key": "s2"}]}}),
            (record, {"states": {"result": [one]}}),  # JSONata would flatten a one-item list
            (record, {"states": {"result": []}}),
        ]
    )
    assert both["value"]["outputs"]["succeeded"] == ["s1", "s2"]
    assert both["value"]["outputs"]["items"] == {
        "s1": {"status": "succeeded", "outputs": {}},
        "s2": {"status": "succeeded", "outputs": {}},
    }
    assert single["value"]["outputs"]["succeeded"] == ["s1"]
    assert none["value"]["outputs"] == {"succeeded": [], "failed": [], "skipped": [], "items": {}}


def test_whether_running_items_finish_is_kept_or_named(tmp_path: Path) -> None:
    fan = _fan(items="{{ params.shards }}", max_parallel=4)
    _, strict = _map(tmp_path, fan)
    assert strict.exit_code == 2
    assert "letting the running items finish when one fails" in strict.output
    assert "`foreach` cannot be exported to AWS Step Functions" in strict.output
    stopping = {**fan, "foreach": {**fan["foreach"], "stop_running": True}}
    machine, exact = _map(tmp_path, stopping)  # what a Map does, exactly
    assert exact.exit_code == 0, exact.output
    assert machine["States"]["flush"]["MaxConcurrency"] == 4
    params = {"shards": {"type": "list", "items": "string", "default": ["s1", "s2"]}}
    path = write_runbook(tmp_path, runbook_data(stopping, params=params))
    argo = invoke(["export", "--to", "argo", str(path)])  # failFast lets them finish
    assert argo.exit_code == 2
    assert "stop_running (the loop lets the running items finish)" in argo.output
