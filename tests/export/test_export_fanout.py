"""Fan-outs in exports: Argo loops what it can run exactly; everything else is a
positioned loss, never one run of the body passed off as the fan-out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import invoke
from tests.export.validators import argo_errors
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
        ({"batch": 2}, "canary, batch and max_parallel"),
        ({"max_failures": 2}, "a failure budget"),
        ({"items": "{{ steps.x.stdout }}"}, "withParam over anything but a list param"),
    ],
)
def test_what_argo_cannot_run_exactly_is_a_positioned_loss(
    tmp_path: Path, foreach: dict[str, Any], reason: str
) -> None:
    steps = [{"id": "x", "run": "echo '[1]'", "timeout": "5s"}, _fan(**{"items": ["a"], **foreach})]
    path = write_runbook(tmp_path, runbook_data(*steps))
    for target in ("argo", "step-functions"):
        result = invoke(["export", "--to", target, str(path)])
        assert result.exit_code == 2
        assert "step 'flush': `foreach` cannot be exported" in result.output
    argo = invoke(["export", "--to", "argo", str(path)])
    assert reason in argo.output
    assert "rb.yaml:" in argo.output  # positioned
