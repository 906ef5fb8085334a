"""Model → Plan: nodes, edges and static facts, in one walk of the step tree."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import cast

from recoverctl.compile.plan import Case, Edge, EdgeKind, Plan, PlanNode, freeze
from recoverctl.compile.timing import attempt_bound, schedule, with_retries
from recoverctl.model.fanout import Foreach, lone_param
from recoverctl.model.runbook import Branch, CallAction, Group, OnFailure, Runbook, Step, Text
from recoverctl.model.status import NodeRole

PLAN_FORMAT = "recoverctl-plan/1"


def compile_plan(runbook: Runbook, callees: Mapping[Path, Runbook] | None = None) -> Plan:
    """Compile `runbook`; `callees` holds the runbooks its `call:` steps name."""
    return _Compiler(runbook, callees or {}, ()).plan()


class _Compiler:
    def __init__(
        self, runbook: Runbook, callees: Mapping[Path, Runbook], stack: tuple[Path, ...]
    ) -> None:
        self.runbook = runbook
        self.callees = callees
        self.stack = stack
        self.nodes: dict[str, PlanNode] = {}
        self.edges: list[Edge] = []
        self.paths: dict[str, tuple[str, ...]] = {}
        self.widths: dict[str, int] = {}
        self.sub_plans: dict[str, Plan] = {}

    def plan(self) -> Plan:
        rb = self.runbook
        main, main_path = self._sequence(rb.steps, None, 0, NodeRole.MAIN)
        if rb.timeout is not None:
            main = min(main, rb.timeout)
        final, final_path = self._sequence(rb.finally_steps, None, 0, NodeRole.FINALLY)
        width = max([self.widths[s.id] for s in rb.steps + rb.finally_steps] or [0])
        if rb.concurrency is not None:
            width = min(width, rb.concurrency)
        return Plan(
            runbook=rb,
            nodes=freeze(self.nodes),
            roots=tuple(s.id for s in rb.steps),
            finally_roots=tuple(s.id for s in rb.finally_steps),
            edges=tuple(self.edges),
            worst_case=main + final,
            critical_path=main_path + final_path,
            max_width=width,
            rollback_order=tuple(
                reversed(
                    [
                        n.id
                        for n in self.nodes.values()
                        if n.step.rollback and n.role is NodeRole.MAIN
                    ]
                )
            ),
            hash=self._hash(),
        )

    def _hash(self) -> str:
        digest = hashlib.sha256(PLAN_FORMAT.encode())
        digest.update(self.runbook.sha256.encode())
        for plan in sorted(self.sub_plans.values(), key=lambda p: str(p.runbook.path)):
            digest.update(plan.hash.encode())
        return digest.hexdigest()

    # -- the walk ------------------------------------------------------------------

    def _sequence(
        self, steps: tuple[Step, ...], parent: str | None, depth: int, role: NodeRole
    ) -> tuple[float, tuple[str, ...]]:
        total, path = 0.0, cast(tuple[str, ...], ())
        previous: str | None = None
        for step in steps:
            worst, step_path = self._step(step, parent, depth, role)
            total += worst
            path += step_path
            if previous is not None:
                self.edges.append(Edge(previous, step.id, EdgeKind.NEXT))
            previous = step.id
        return total, path

    def _step(
        self, step: Step, parent: str | None, depth: int, role: NodeRole
    ) -> tuple[float, tuple[str, ...]]:
        children: tuple[str, ...] = ()
        cases: tuple[Case, ...] = ()
        callee: Plan | None = None
        body = step.body
        if isinstance(body, Group):
            children = tuple(s.id for s in body.steps)
            worst, path = self._group(step, body, depth, role)
        elif isinstance(body, Branch):
            cases, worst, path = self._branch(step, body, depth, role)
            children = tuple(s for case in cases for s in case.steps)
        else:
            if isinstance(body, CallAction):
                callee = self._callee(body)
            attempt = attempt_bound(step, callee.worst_case if callee else None)
            worst, path = with_retries(step, attempt), (step.id,)
            self.widths[step.id] = callee.max_width if callee else 1
        if not step.is_action and step.timeout_explicit and step.timeout is not None:
            worst = min(worst, step.timeout)  # a group's timeout bounds the whole group
        if isinstance(step.skip_if, Step):
            guard_worst, _ = self._step(step.skip_if, step.id, depth + 1, NodeRole.GUARD)
            self.edges.append(Edge(step.id, step.skip_if.id, EdgeKind.GUARD))
            worst += guard_worst
        if step.rescue:
            rescue_worst, rescue_path = self._sequence(
                step.rescue, step.id, depth + 1, NodeRole.RESCUE
            )
            self.edges.append(Edge(step.id, step.rescue[0].id, EdgeKind.RESCUE))
            worst += rescue_worst
            path += rescue_path
        if step.rollback is not None:
            self._step(step.rollback, step.id, depth + 1, NodeRole.ROLLBACK)
            self.edges.append(Edge(step.id, step.rollback.id, EdgeKind.ROLLBACK))
        node = PlanNode(
            id=step.id,
            step=step,
            role=role,
            parent=parent,
            depth=depth,
            children=children,
            cases=cases,
            worst_case=worst,
            callee=callee,
        )
        if step.foreach is not None:  # on the critical path as one: its rounds are inside
            node = self._fanout(node, step.foreach)
            worst, path = node.worst_case, (step.id,)
        self.nodes[step.id] = node
        return worst, path

    def _fanout(self, node: PlanNode, fan: Foreach) -> PlanNode:
        """A fan-out's body is in the plan as written (lint, graph and exports read it) and
        as a plan of its own, which the engine runs once per item. The worst case is one
        item's, times the rounds the items take (the canary, then each batch in turns of
        `max_parallel`): unknown until run time for a list the runbook does not write out,
        unless all items run at once."""
        step = node.step
        item = _Compiler(item_runbook(self.runbook, step), self.callees, self.stack).plan()
        count = known_count(self.runbook, step)
        if count is not None:
            rounds: float = fan.rounds(count)
        elif fan.max_parallel is None and fan.batch is None and not fan.canary:
            rounds = 1
        else:
            rounds = math.inf
        worst = item.worst_case * rounds if item.worst_case and rounds else 0.0
        if count is None:
            width = item.max_width * (fan.max_parallel or 1)
        else:
            widest = max(fan.waves(count), default=0)
            width = item.max_width * min(widest, fan.max_parallel or widest)
        self.widths[step.id] = width
        return replace(node, worst_case=worst, item=item, item_count=count)

    def _group(
        self, step: Step, body: Group, depth: int, role: NodeRole
    ) -> tuple[float, tuple[str, ...]]:
        if not body.parallel:
            total, path = self._sequence(body.steps, step.id, depth + 1, role)
            if body.steps:
                self.edges.append(Edge(step.id, body.steps[0].id, EdgeKind.CONTAINS))
            self.widths[step.id] = max(self.widths[s.id] for s in body.steps)
            return total, path
        results = [self._step(child, step.id, depth + 1, role) for child in body.steps]
        for child in body.steps:
            self.edges.append(Edge(step.id, child.id, EdgeKind.FORK))
        slots = min(
            body.max_parallel or len(body.steps), self.runbook.concurrency or len(body.steps)
        )
        makespan, last = schedule([worst for worst, _ in results], slots)
        widths = sorted((self.widths[s.id] for s in body.steps), reverse=True)
        self.widths[step.id] = sum(widths[:slots])
        return makespan, results[last][1] if last >= 0 else ()

    def _branch(
        self, step: Step, body: Branch, depth: int, role: NodeRole
    ) -> tuple[tuple[Case, ...], float, tuple[str, ...]]:
        cases: list[Case] = []
        worst, path, width = 0.0, cast(tuple[str, ...], ()), 0
        for case in body.cases:
            case_worst, case_path = self._sequence(case.steps, step.id, depth + 1, role)
            ids = tuple(s.id for s in case.steps)
            cases.append(Case(case.label, case.when.source if case.when else None, ids))
            if ids:
                self.edges.append(Edge(step.id, ids[0], EdgeKind.CASE, case.label))
                width = max(width, *(self.widths[i] for i in ids))
            if case_worst > worst or not path:
                worst, path = case_worst, case_path
        self.widths[step.id] = width
        return tuple(cases), worst, path

    def _callee(self, call: CallAction) -> Plan | None:
        target = call.path.resolve()
        runbook = self.callees.get(target)
        if runbook is None or target in self.stack:
            return None
        plan = self.sub_plans.get(str(target))
        if plan is None:
            plan = _Compiler(
                runbook, self.callees, (*self.stack, self.runbook.path.resolve())
            ).plan()
            self.sub_plans[str(target)] = plan
        return plan


def item_runbook(runbook: Runbook, step: Step) -> Runbook:
    """What one item of fan-out `step` runs: the step itself without its `foreach`, as
    the only step (id `""`: the item's id is `step[key]`), its rollback `.rollback` and
    its guard `.skip_if`. `when` was the fan-out's to decide; a failure ends the item
    (the fan-out's budget and `on_failure` decide what that does)."""
    guard = step.skip_if
    item = replace(
        step,
        id="",
        foreach=None,
        when=None,
        on_failure=OnFailure.ABORT,
        rollback=replace(step.rollback, id=".rollback") if step.rollback else None,
        skip_if=replace(guard, id=".skip_if") if isinstance(guard, Step) else guard,
    )
    return replace(runbook, steps=(item,), finally_steps=())


def known_count(runbook: Runbook, step: Step) -> int | None:
    """How many items a fan-out has, when the plan can know: a list written out, or a
    list param's default (a run given another list has another worst case)."""
    fan = step.foreach
    items: object = fan.items if fan is not None else None
    if step.on is not None:
        target = runbook.target(step.on)
        items = target.hosts if target is not None and target.inventory is None else None
    if isinstance(items, tuple):
        return len(items)
    name = lone_param(items) if isinstance(items, Text) else None
    param = runbook.param(name) if name else None
    if param is not None and isinstance(param.default, list):
        return len(param.default)
    return None
