"""The one walk of the step tree agrees with the compiler on every step and its role."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoverctl.compile import compile_plan
from recoverctl.model.runbook import Branch, BranchCase, Group, Step
from recoverctl.model.status import NodeRole
from recoverctl.model.walk import StepVisitor, all_steps, body_steps, dispatch, walk
from recoverctl.validate.pipeline import require_valid
from tests.helpers import build, run_step, runbook_data

RUNBOOKS = sorted(Path("runbooks").glob("*.yaml"))
RUNBOOKS = [p for p in RUNBOOKS if not p.name.endswith(".test.yaml")]


class _Roles(StepVisitor):
    def __init__(self) -> None:
        self.roles: dict[str, NodeRole] = {}
        self.hooks: list[str] = []

    def step(self, step: Step, role: NodeRole) -> None:
        assert step.id not in self.roles, f"{step.id} visited twice"
        self.roles[step.id] = role

    def case(self, step: Step, case: BranchCase, index: int, role: NodeRole) -> None:
        self.hooks.append(f"case {step.id}#{index}")

    def rollback(self, step: Step, compensation: Step) -> None:
        self.hooks.append(f"rollback {step.id}")

    def guard(self, step: Step, check: Step) -> None:
        self.hooks.append(f"guard {step.id}")

    def rescue(self, step: Step, rescue: tuple[Step, ...]) -> None:
        self.hooks.append(f"rescue {step.id}")


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_the_walk_visits_every_plan_node_once_with_its_role(path: Path) -> None:
    checked = require_valid(path)
    plan = compile_plan(checked.model, checked.callees)
    visitor = _Roles()
    walk(checked.model.steps, visitor)
    walk(checked.model.finally_steps, visitor, NodeRole.FINALLY)
    assert visitor.roles == {node_id: node.role for node_id, node in plan.nodes.items()}
    assert [s.id for s in all_steps(checked.model)] == list(visitor.roles)
    body = [s.id for s in body_steps(checked.model)]
    assert body == [node.id for node in plan.walk()]
    assert {plan.nodes[i].role for i in body} <= {NodeRole.MAIN, NodeRole.FINALLY}


def test_hooks_name_the_cases_rescues_rollbacks_and_guards(tmp_path: Path) -> None:
    runbook, _ = build(
        tmp_path,
        runbook_data(
            {
                "id": "pick",
                "branch": [
                    {"when": "params.x == 1", "steps": [run_step("one")]},
                    {"else": [run_step("other", rescue=[run_step("fix")])]},
                ],
            },
            run_step("undoable", rollback={"run": "true"}, skip_if={"run": "true"}),
            params={"x": {"type": "integer", "default": 1}},
        ),
    )
    visitor = _Roles()
    walk(runbook.steps, visitor)
    assert visitor.hooks == [
        "case pick#0",
        "case pick#1",
        "rescue other",
        "rollback undoable",
        "guard undoable",
    ]
    assert visitor.roles["fix"] is NodeRole.RESCUE
    assert visitor.roles["undoable.rollback"] is NodeRole.ROLLBACK


class _Kinds:
    def sequence(self, step: Step, group: Group) -> str:
        return "sequence"

    def parallel(self, step: Step, group: Group) -> str:
        return "parallel"

    def branch(self, step: Step, branch: Branch) -> str:
        return "branch"

    def action(self, step: Step) -> str:
        return "action"


def test_dispatch_answers_by_the_kind_of_body(tmp_path: Path) -> None:
    runbook, _ = build(
        tmp_path,
        runbook_data(
            {"id": "seq", "steps": [run_step("a")]},
            {"id": "par", "parallel": [run_step("b"), run_step("c")]},
            {"id": "pick", "branch": [{"else": [run_step("d")]}]},
        ),
    )
    assert [dispatch(s, _Kinds()) for s in runbook.steps] == ["sequence", "parallel", "branch"]
    assert dispatch(runbook.steps[0].children()[0], _Kinds()) == "action"
