"""The round-trip check: does an exported workflow have the plan's shape?

Reads the exported document back — Argo's `depends` graph, the ASL state
state graph — and compares with the plan: the same
action steps, and the same "a finishes before b starts" pairs (sequence
orders, parallel siblings and branch cases leave pairs unordered). `export`
runs it on every manifest before writing it, so a translation bug is
caught before a cluster runs the result; the tests run it on every golden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.common import argo_task_name
from recoverctl.model.runbook import Branch, CallAction, Group, Step
from recoverctl.model.walk import dispatch

Pairs = set[tuple[str, str]]


def shape_differences(plan: Plan, target: str, document: dict[str, Any]) -> list[str]:
    """What differs between the plan and the exported document ([] when the shape matches)."""
    steps, expected = plan_order(plan)
    if target == "argo":
        found_steps, found = _argo_order(document, steps)
    else:
        found_steps, found = _asl_order(document, steps)
    problems = [f"step '{s}' is missing from the export" for s in sorted(steps - found_steps)]
    problems += [f"'{a}' no longer runs before '{b}'" for a, b in sorted(expected - found)]
    problems += [
        f"'{a}' now runs before '{b}', which the plan does not say"
        for a, b in sorted(found - expected - _wave_pairs(plan))
    ]
    return problems


def _wave_pairs(plan: Plan) -> Pairs:
    """The order a limited group's waves add (Step Functions: `max_parallel` below the
    width runs its members in waves, in document order — a run starts them in that order
    too, as slots free): an earlier member before a later one is allowed, nothing else."""
    from recoverctl.export.common import limited
    from recoverctl.model.runbook import Group as GroupBody
    from recoverctl.model.walk import all_steps

    pairs: Pairs = set()
    for step in all_steps(plan.runbook):
        if not isinstance(step.body, GroupBody) or not limited(step.body):
            continue
        members = [_step_order(member)[0] for member in step.body.steps]
        for i, earlier in enumerate(members):
            for later in members[i + 1 :]:
                pairs |= {(a, b) for a in earlier for b in later}
    return pairs


def plan_order(plan: Plan) -> tuple[set[str], Pairs]:
    """The plan's action steps (main flow and finally) and the pairs it orders."""
    main_steps, pairs = _order(plan.runbook.steps)
    final_steps, final_pairs = _order(plan.runbook.finally_steps)
    pairs |= final_pairs | {(a, b) for a in main_steps for b in final_steps}
    return main_steps | final_steps, pairs


def _order(steps: Iterable[Step]) -> tuple[set[str], Pairs]:
    """A sequence: every action of an earlier step before every action of a later one."""
    seen: set[str] = set()
    pairs: Pairs = set()
    for step in steps:
        actions, inner = _step_order(step)
        pairs |= inner | {(a, b) for a in seen for b in actions}
        seen |= actions
    return seen, pairs


class _StepOrder:
    """What each kind of step contributes: its actions, and the pairs it orders."""

    def sequence(self, step: Step, group: Group) -> tuple[set[str], Pairs]:
        return _order(group.steps)

    def parallel(self, step: Step, group: Group) -> tuple[set[str], Pairs]:
        return _union(_step_order(child) for child in group.steps)

    def branch(self, step: Step, branch: Branch) -> tuple[set[str], Pairs]:
        return _union(_order(case.steps) for case in branch.cases)

    def action(self, step: Step) -> tuple[set[str], Pairs]:
        return (set(), set()) if isinstance(step.body, CallAction) else ({step.id}, set())


def _step_order(step: Step) -> tuple[set[str], Pairs]:
    return dispatch(step, _StepOrder())


def _union(parts: Iterable[tuple[set[str], Pairs]]) -> tuple[set[str], Pairs]:
    actions: set[str] = set()
    pairs: Pairs = set()
    for part_actions, part_pairs in parts:
        actions |= part_actions
        pairs |= part_pairs
    return actions, pairs


def _closure(edges: dict[str, set[str]], nodes: set[str]) -> Pairs:
    """(a, b) for every `nodes` pair where b is reachable from a."""
    pairs: Pairs = set()
    for start in nodes:
        seen: set[str] = set()
        todo = list(edges.get(start, ()))
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo += edges.get(node, ())
        pairs |= {(start, other) for other in seen & nodes if other != start}
    return pairs


_TASK = re.compile(r"([a-z0-9][a-z0-9-]*)\.(?:Succeeded|Skipped|Failed|Errored)")


def _argo_order(document: dict[str, Any], steps: set[str]) -> tuple[set[str], Pairs]:
    templates = {t["name"]: t for t in document["spec"]["templates"]}
    by_name = {argo_task_name(s): s for s in steps}
    main = templates["main"]["dag"]["tasks"]
    final = templates.get("exit-handler", {}).get("dag", {}).get("tasks", [])
    edges: dict[str, set[str]] = {}
    for task in (*main, *final):
        for before in _TASK.findall(task.get("depends", "")):
            edges.setdefault(before, set()).add(task["name"])
    main_names = {t["name"] for t in main} & set(by_name)
    final_names = {t["name"] for t in final} & set(by_name)
    pairs = _closure(edges, main_names | final_names)
    pairs |= {(a, b) for a in main_names for b in final_names}
    found = {by_name[n] for n in main_names | final_names}
    return found, {(by_name[a], by_name[b]) for a, b in pairs}


def _asl_order(document: dict[str, Any], steps: set[str]) -> tuple[set[str], Pairs]:
    edges: dict[str, set[str]] = {}
    names: set[str] = set()
    for name, state in _states(document["States"], None, edges):
        names.add(name)
        for target in _successors(state):
            edges.setdefault(name, set()).add(target)
    found = steps & names
    return found, _closure(edges, found)


def _states(
    states: dict[str, Any], after: str | None, edges: dict[str, set[str]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, branches included; a branch's end leads to its Parallel state's Next."""
    for name, state in states.items():
        yield name, state
        if state.get("End") and after is not None:
            edges.setdefault(name, set()).add(after)
        for branch in state.get("Branches", ()):
            edges.setdefault(name, set()).add(branch["StartAt"])
            yield from _states(branch["States"], state.get("Next"), edges)


def _successors(state: dict[str, Any]) -> list[str]:
    """Every transition, Catch included: an idempotency check's failure is how its step runs."""
    out = [state[key] for key in ("Next", "Default") if key in state]
    return out + [rule["Next"] for rule in (*state.get("Choices", ()), *state.get("Catch", ()))]
