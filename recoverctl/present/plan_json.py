"""The plan as JSON (`recoverctl plan --format json`): a stable, versioned document."""

from __future__ import annotations

import math
from typing import Any

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.model.runbook import Expression, Step

PLAN_JSON_VERSION = 1


def plan_to_json(plan: Plan, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything `recoverctl plan` shows, as data; infinite bounds become null."""
    rb = plan.runbook
    return {
        "version": PLAN_JSON_VERSION,
        "runbook": {
            "name": rb.name,
            "path": str(rb.path),
            "description": rb.description,
            "owner": rb.owner,
            "sha256": rb.sha256,
        },
        "plan_hash": plan.hash,
        "params": params or {},
        "objectives": {"rto": rb.objectives.rto, "rpo": rb.objectives.rpo},
        "timeout": rb.timeout,
        "concurrency": rb.concurrency,
        "worst_case_seconds": _finite(plan.worst_case),
        "rto_met": plan.rto_met,
        "critical_path": list(plan.critical_path),
        "max_parallel_width": plan.max_width,
        "rollback_order": list(plan.rollback_order),
        "steps": list(plan.roots),
        "finally": list(plan.finally_roots),
        "nodes": [_node(node) for node in plan.nodes.values()],
        "edges": [
            {
                "from": e.source,
                "to": e.target,
                "kind": e.kind.value,
                **({"label": e.label} if e.label else {}),
            }
            for e in plan.edges
        ],
    }


def _node(node: PlanNode) -> dict[str, Any]:
    step = node.step
    data: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind,
        "role": node.role,
        "parent": node.parent,
        "depth": node.depth,
        "name": step.name,
        "line": step.span.line,
        "column": step.span.col,
        "when": step.when.source if step.when else None,
        "timeout": step.timeout,
        "retry": _retry(step),
        "on_failure": step.on_failure.value,
        "rollback": step.rollback.id if step.rollback else None,
        "rescue": [s.id for s in step.rescue],
        "skip_if": _skip_if(step),
        "locks": list(step.locks),
        "idempotent": step.idempotent,
        "destructive": step.destructive,
        "worst_case_seconds": _finite(node.worst_case),
        "children": list(node.children),
    }
    if step.is_action:
        data["action"] = step.body.describe()  # type: ignore[union-attr]
    if node.cases:
        data["cases"] = [
            {"label": c.label, "when": c.when, "steps": list(c.steps)} for c in node.cases
        ]
    if node.callee is not None:
        data["calls"] = {"runbook": node.callee.runbook.name, "plan_hash": node.callee.hash}
    return data


def _retry(step: Step) -> dict[str, Any]:
    retry = step.retry
    return {
        "attempts": retry.attempts,
        "delay": retry.delay,
        "backoff": retry.backoff.value,
        "factor": retry.factor,
        "max_delay": retry.max_delay,
        "jitter": retry.jitter,
        "when": retry.when.source if retry.when else None,
    }


def _skip_if(step: Step) -> str | None:
    if isinstance(step.skip_if, Expression):
        return step.skip_if.source
    if isinstance(step.skip_if, Step):
        return step.skip_if.id
    return None


def _finite(seconds: float) -> float | None:
    return None if math.isinf(seconds) else round(seconds, 3)
