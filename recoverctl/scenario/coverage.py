"""Which recovery paths a runbook's scenarios exercise: branch cases, rescues, rollbacks, retries, finally."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recoverctl.compile import Plan
from recoverctl.engine.retry import effective_attempts
from recoverctl.model.fanout import item_prefix, local_id, template_id
from recoverctl.model.runbook import Branch, Step
from recoverctl.model.source import Span
from recoverctl.model.status import NodeRole
from recoverctl.model.walk import steps_in
from recoverctl.scenario.runner import ScenarioResult, rolled_back_order


@dataclass(frozen=True, slots=True)
class Item:
    kind: str
    """`branch`, `rescue`, `rollback`, `retry`, `finally` or `fanout`."""
    label: str
    span: Span


@dataclass(slots=True)
class Coverage:
    plan: Plan
    items: list[Item]
    covered: set[Item]

    @property
    def percent(self) -> float:
        return 100.0 if not self.items else 100.0 * len(self.covered) / len(self.items)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for item in self.items:
            done, total = out.get(item.kind, (0, 0))
            out[item.kind] = (done + (item in self.covered), total + 1)
        return out

    @property
    def missing(self) -> list[Item]:
        return [item for item in self.items if item not in self.covered]


Check = Callable[[ScenarioResult], bool]


def coverage(plan: Plan, results: list[ScenarioResult]) -> Coverage:
    checks: dict[Item, Check] = {}
    for node in plan.nodes.values():
        step = node.step
        if node.role in (NodeRole.ROLLBACK, NodeRole.GUARD):
            continue
        if isinstance(step.body, Branch):
            for case in step.body.cases:
                checks[Item("branch", f"{step.id} → {case.label}", case.span)] = _took(
                    step.id, case.label
                )
        if step.rescue:
            checks[Item("rescue", f"rescue of {step.id}", step.span)] = _ran(step.rescue[0].id)
        if step.rollback is not None:
            checks[Item("rollback", f"rollback of {step.id}", step.rollback.span)] = _undone(
                step.id
            )
        if retries_matter(step, node.role):
            checks[Item("retry", f"retry of {step.id}", step.span)] = _ran(step.id, attempts=2)
        if node.role is NodeRole.FINALLY:
            checks[Item("finally", f"finally {step.id}", step.span)] = _ran(step.id)
        if step.foreach is not None and node.role is NodeRole.MAIN:
            checks[Item("fanout", f"failure budget of {step.id} exceeded", step.span)] = (
                _over_budget(step.id)
            )
            if any(inner.rollback is not None for inner in steps_in((step,), extras=False)):
                label = f"partial rollback of {step.id} (only the items that completed)"
                checks[Item("fanout", label, step.span)] = _partly_undone(step.id)
    covered = {item for item, check in checks.items() if any(check(r) for r in results)}
    return Coverage(plan, list(checks), covered)


def retries_matter(step: Step, role: str) -> bool:
    """A retry path worth a scenario: a main step that can really fail and is retried."""
    return role == "main" and step.kind in RETRIED_KINDS and effective_attempts(step) > 1


RETRIED_KINDS = frozenset({"run", "http", "wait_for", "call"})


def _took(step_id: str, label: str) -> Check:
    return lambda r: any(d.step_id == step_id and d.label == label for d in r.state.decisions)


def _ran(step_id: str, attempts: int = 1) -> Check:
    """`step_id` ran (so many attempts): itself, or any item of it in a fan-out."""

    def check(result: ScenarioResult) -> bool:
        return any(
            step.attempts >= attempts
            for sid, step in result.state.steps.items()
            if sid == step_id or ("[" in sid and template_id(sid) == step_id)
        )

    return check


def _undone(step_id: str) -> Check:
    return lambda r: any(
        sid == step_id or ("[" in sid and template_id(sid) == step_id)
        for sid in rolled_back_order(r.events)
    )


def _items(result: ScenarioResult, step_id: str) -> list[str]:
    fan = result.state.fanouts.get(step_id)
    return [item_prefix(step_id, key) for key in fan.keys] if fan is not None else []


def _over_budget(step_id: str) -> Check:
    def check(result: ScenarioResult) -> bool:
        state = result.state.steps.get(step_id)
        error = (state.error or "") if state is not None else ""
        return "budget" in error or "canary" in error

    return check


def _partly_undone(step_id: str) -> Check:
    def check(result: ScenarioResult) -> bool:
        items = _items(result, step_id)
        undone = rolled_back_order(result.events)
        touched = sum(any(local_id(item, sid) is not None for sid in undone) for item in items)
        return bool(items) and 0 < touched < len(items)

    return check
