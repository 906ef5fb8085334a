"""`recoverctl plan`: the compiled plan as a tree people read before an incident."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.console import Group as RenderGroup
from rich.console import RenderableType
from rich.text import Text
from rich.tree import Tree

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.fit import plain
from recoverctl.model.duration import format_duration
from recoverctl.model.masking import MASK
from recoverctl.model.runbook import Branch, Expression, Group, OnFailure, RetryPolicy, Step

KIND_STYLE = {"parallel": "magenta", "steps": "blue", "branch": "yellow"}


def render_plan(plan: Plan, params: Mapping[str, Any], secrets: frozenset[str]) -> RenderableType:
    """Header, step tree, finally, rollback order and the worst case against the RTO."""
    parts: list[RenderableType] = [_header(plan, params, secrets)]
    tree = Tree(Text("steps", style="bold"), guide_style="dim")
    for index, node_id in enumerate(plan.roots, start=1):
        _add(tree, plan, plan.node(node_id), f"{index}. ")
    parts.append(tree)
    if plan.finally_roots:
        final = Tree(Text("finally (always runs last)", style="bold"), guide_style="dim")
        for node_id in plan.finally_roots:
            _add(final, plan, plan.node(node_id), "")
        parts.append(final)
    parts.append(_footer(plan))
    return RenderGroup(*parts)


def _header(plan: Plan, params: Mapping[str, Any], secrets: frozenset[str]) -> Text:
    rb = plan.runbook
    text = Text()
    text.append(rb.name, style="bold")
    if rb.description:
        text.append(f" — {rb.description}")
    text.append(f"\n{rb.path}  plan {plan.hash[:12]}", style="dim")
    if rb.owner:
        text.append(f"  owner {rb.owner}", style="dim")
    if params:
        shown = ", ".join(
            f"{name}={MASK if name in secrets else _param_text(value)}"
            for name, value in params.items()
        )
        text.append(f"\nparams: {shown}")
    limits = []
    if rb.timeout is not None:
        limits.append(f"run timeout {format_duration(rb.timeout)}")
    if rb.concurrency is not None:
        limits.append(f"concurrency {rb.concurrency}")
    limits.append(f"up to {plan.max_width} step{'s' if plan.max_width != 1 else ''} at once")
    text.append("\n" + ", ".join(limits))
    return text


def _param_text(value: Any) -> str:
    return "(unset)" if value is None else plain(value)  # a list as JSON, as templates print it


def _footer(plan: Plan) -> Text:
    rb = plan.runbook
    text = Text()
    if plan.rollback_order:
        text.append("rollback order", style="bold")
        text.append(
            " (on failure, completed steps are undone last-first; parallel ones by finish time):\n  "
        )
        text.append(" → ".join(plan.rollback_order))
        text.append("\n")
    else:
        text.append("rollback order: no step declares a rollback\n", style="dim")
    text.append("worst case ", style="bold")
    text.append(format_duration(plan.worst_case))
    if math.isinf(plan.worst_case):
        unbounded = [
            n.id for n in plan.nodes.values() if n.step.is_action and math.isinf(n.worst_case)
        ]
        text.append(
            f" (no timeout on: {', '.join(unbounded[:5])}{' …' if len(unbounded) > 5 else ''})"
        )
    if rb.objectives.rto is not None:
        rto = rb.objectives.rto
        text.append(f" against RTO {format_duration(rto)}: ")
        if plan.worst_case <= rto:
            text.append(f"fits, {format_duration(rto - plan.worst_case)} to spare", style="green")
        elif math.isinf(plan.worst_case):
            text.append("cannot be guaranteed", style="bold red")
        else:
            text.append(f"exceeds it by {format_duration(plan.worst_case - rto)}", style="bold red")
    else:
        text.append(" (no objectives.rto declared)", style="dim")
    if rb.objectives.rpo is not None:
        text.append(f"; RPO {format_duration(rb.objectives.rpo)}")
    if plan.critical_path:
        text.append("\ncritical path: ", style="bold")
        text.append(" → ".join(plan.critical_path))
    return text


def _add(tree: Tree, plan: Plan, node: PlanNode, prefix: str) -> None:
    step = node.step
    branch = tree.add(_label(node, prefix))
    body = step.body
    if isinstance(body, Branch):
        for case in body.cases:
            style = "yellow" if case.when is not None else "yellow dim"
            label = (
                Text("when ", style="yellow") + Text(case.when.source)
                if case.when
                else Text("else", style=style)
            )
            case_tree = branch.add(label)
            for child in case.steps:
                _add(case_tree, plan, plan.node(child.id), "")
            if not case.steps:
                case_tree.add(Text("(nothing)", style="dim"))
        if not body.has_else:
            branch.add(Text("no case matches → nothing runs", style="dim"))
    elif isinstance(body, Group):
        for child in body.steps:
            _add(branch, plan, plan.node(child.id), "")
    for rescue in step.rescue:
        _add(branch.add(Text("rescue", style="cyan")), plan, plan.node(rescue.id), "")
    if step.rollback is not None:
        branch.add(
            Text("↺ rollback: ", style="cyan")
            + Text(_one_line(step.rollback.body.describe()))  # type: ignore[union-attr]
            + Text(_options(step.rollback), style="dim")
        )


def _label(node: PlanNode, prefix: str) -> Text:
    step = node.step
    text = Text(prefix)
    text.append(step.id, style="bold")
    if step.name:
        text.append(f" ({step.name})", style="dim")
    body = step.body
    if isinstance(body, Group):
        text.append(f"  {body.kind}", style=KIND_STYLE[body.kind])
        if body.parallel and body.max_parallel:
            text.append(f" (max {body.max_parallel} at once)", style="magenta")
    elif isinstance(body, Branch):
        text.append("  branch (first matching case)", style="yellow")
    else:
        text.append(f"  {_one_line(body.describe())}")
    _conditions(text, node)
    if step.is_action:
        text.append(_options(step), style="dim")
    if step.destructive:
        text.append("  destructive", style="bold red")
    if step.locks:
        text.append(f"  locks {', '.join(step.locks)}", style="dim")
    if node.worst_case > 0:
        text.append(f"  ≤ {format_duration(node.worst_case)}", style="dim")
    return text


def _conditions(text: Text, node: PlanNode) -> None:
    """When the step runs, over what, and when it counts as already done."""
    step = node.step
    if step.when is not None:
        text.append("  if ", style="yellow")
        text.append(step.when.source)
    if step.foreach is not None:
        text.append(f"  {node.fanout_summary()}", style="magenta")
    if isinstance(step.skip_if, Expression):
        text.append(f"  skip if {step.skip_if.source}", style="cyan")
    elif isinstance(step.skip_if, Step):
        text.append(f"  skip if {step.skip_if.body.describe()} succeeds", style="cyan")  # type: ignore[union-attr]


def _one_line(text: str, limit: int = 60) -> str:
    """Commands are shown on one line; the runbook holds the whole text."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(lines) > 1 or len(first) > limit:
        return first[:limit].rstrip() + " …"
    return first


def _options(step: Step) -> str:
    parts = [
        f"timeout {format_duration(step.timeout)}" if step.timeout is not None else "no timeout"
    ]
    if step.retry.attempts > 1:
        parts.append(_retry(step.retry))
    if step.on_failure is not OnFailure.ROLLBACK and step.id.count(".") == 0:
        parts.append(f"on failure {step.on_failure.value}")
    return "  [" + ", ".join(parts) + "]"


def _retry(retry: RetryPolicy) -> str:
    text = f"{retry.attempts} attempts, {retry.backoff.value} {format_duration(retry.delay)}"
    if retry.backoff.value == "exponential":
        text += f"×{retry.factor:g}"
    if retry.max_delay is not None:
        text += f" ≤{format_duration(retry.max_delay)}"
    if retry.jitter:
        text += " jitter"
    if retry.when is not None:
        text += f" when {retry.when.source}"
    return text
