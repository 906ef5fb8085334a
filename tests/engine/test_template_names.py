"""A name the runbook gives wins over a method of the mapping holding it: `params.keys`,
`steps.values.ok`, `outputs.items` are the runbook's values, never `dict.keys`."""

from __future__ import annotations

from pathlib import Path

from tests.engine.harness import run_engine
from tests.helpers import run_step, runbook_data


def test_params_steps_and_outputs_named_like_mapping_methods(tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = runbook_data(
        {**run_step("values", "echo 3"), "outputs": {"items": "{{ 'a,b' }}", "get": "{{ 7 }}"}},
        run_step(
            "use",
            f"echo {{{{ params.keys | join('+') }}}} {{{{ params.items }}}} "
            f"{{{{ steps.values.outputs.items }}}} {{{{ steps.values.outputs.get }}}} > {out}",
            when="steps.values.ok and params.get == 'g'",
        ),
        params={
            "keys": {"type": "list", "items": "string", "default": ["k1", "k2"]},
            "items": {"type": "string", "default": "i"},
            "get": {"type": "string", "default": "g"},
        },
    )
    outcome = run_engine(tmp_path, data, real=True)
    assert outcome.code == 0, outcome.events
    assert out.read_text().split() == ["k1+k2", "i", "a,b", "7"]


def test_a_name_the_run_does_not_hold_is_an_unknown_param_not_a_method(tmp_path: Path) -> None:
    from recoverctl.validate.pipeline import check_file
    from tests.helpers import write_runbook

    checked = check_file(
        write_runbook(tmp_path, runbook_data(run_step("a", "echo {{ params.values }}")))
    )
    assert [d.message for d in checked.diagnostics] == [
        "unknown param 'values'; the runbook declares no params"
    ]
