"""The execution plan: an immutable DAG the engine, lint, graph and export consume.

Nodes are the runbook's steps (actions, groups, branches, and the generated
rollback and guard steps); edges say what happens before what. Static facts
— worst-case duration, critical path, widest parallelism, rollback order —
are computed once here so every consumer agrees on them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from recoverctl.model.fanout import split_item
from recoverctl.model.runbook import Runbook, Step
from recoverctl.model.status import NodeRole
from recoverctl.model.walk import body_steps


class EdgeKind(StrEnum):
    """How two nodes are related in the plan."""

    NEXT = "next"
    """Sequence: the target starts after the source finished."""
    FORK = "fork"
    """A parallel group starts the target at the same time as its siblings."""
    CONTAINS = "contains"
    """A sequence group starts with the target."""
    CASE = "case"
    """A branch runs the target when the edge's condition holds."""
    RESCUE = "rescue"
    """The target runs when the source failed after its retries."""
    ROLLBACK = "rollback"
    """The target undoes the source."""
    GUARD = "guard"
    """The target checks whether the source's work is already done."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """A branch case in the plan: its condition (None for else) and its steps."""

    label: str
    when: str | None
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One step in the plan, with where it sits and what it costs at worst."""

    id: str
    step: Step
    role: NodeRole
    """`main`, `finally`, `rescue`, `rollback` or `guard`: why the node exists."""
    parent: str | None
    depth: int
    children: tuple[str, ...]
    cases: tuple[Case, ...]
    worst_case: float
    """Seconds this step can take at worst: attempts × timeout + backoff, guard and rescue."""
    callee: Plan | None = None
    item: Plan | None = None
    """A `foreach` step's body as each item runs it: one step, id `""` (engine/fanout.py)."""
    item_count: int | None = None
    """How many items a fan-out has, when the runbook writes them out."""

    @property
    def kind(self) -> str:
        return self.step.kind

    def fanout_summary(self) -> str | None:
        """`on fleet: 4 items in 1+2+1 waves, 2 at a time, no failure allowed` — what a
        fan-out's worst case was computed from (None for a step that is no fan-out)."""
        step, fan = self.step, self.step.foreach
        if fan is None:
            return None
        where = f"on {step.on}" if step.on else f"foreach {fan.var}"
        count = self.item_count
        if count is None:
            text = f"{where}: items known at run time"
            if fan.batch:
                text += f", batches of {fan.batch}"
            if fan.canary:
                text += f" after a canary of {fan.canary}"
        else:
            text = f"{where}: {count} item{'s' * (count != 1)}"
            waves = fan.waves(count)
            if len(waves) > 1:
                text += f" in {'+'.join(str(w) for w in waves)} waves"
        if fan.max_parallel:
            text += f", {fan.max_parallel} at a time"
        if fan.max_failure_percent is not None:
            text += f", up to {fan.max_failure_percent:g}% may fail"
        elif fan.max_failures:
            text += f", up to {fan.max_failures} may fail"
        else:
            text += ", no failure allowed"
        if fan.stop_running:
            text += " (then the running ones are stopped)"
        return text


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled runbook: nodes by id, edges, and the static facts."""

    runbook: Runbook
    nodes: Mapping[str, PlanNode]
    roots: tuple[str, ...]
    finally_roots: tuple[str, ...]
    edges: tuple[Edge, ...]
    worst_case: float
    """Worst-case seconds for the whole run: main steps (capped by the run timeout) + finally."""
    critical_path: tuple[str, ...]
    max_width: int
    """The most action steps that can run at once."""
    rollback_order: tuple[str, ...]
    """Steps with a rollback, last first: the order compensations run in after a full run."""
    hash: str
    """Changes whenever the runbook or anything it calls changes; resume checks it."""

    def node(self, node_id: str) -> PlanNode:
        return self.nodes[node_id]

    def walk(self) -> Iterator[PlanNode]:
        """Main and finally nodes depth-first in document order (not rescue/rollback)."""
        return (self.nodes[step.id] for step in body_steps(self.runbook))

    def declares_rollback(self, step_id: str) -> bool:
        """Whether the step a run's id names (`call/inner` too) has a compensation."""
        node = self.resolve(step_id)
        return node is not None and node.step.rollback is not None and node.item is None

    def resolve(self, step_id: str) -> PlanNode | None:
        """The node of a run's step id, into called runbooks (`call/inner`); None if unknown."""
        plan: Plan | None = self
        while plan is not None:
            item = split_item(step_id)
            if item is not None:  # `restart[db-2]`, `restart[db-2].rollback`, `rebuild[s1]/x`
                fanout = plan.nodes.get(item[0])
                plan = fanout.item if fanout is not None else None
                step_id = item[2].removeprefix("/")
                continue
            head, _, rest = step_id.partition("/")
            node = plan.nodes.get(head)
            if not rest or node is None:
                return node
            plan, step_id = node.callee, rest
        return None

    def approval_gates(self) -> list[str]:
        """Every approval step a run could reach, called runbooks' included (`call/gate`)."""
        gates: list[str] = []
        for node in self.nodes.values():
            if node.kind == "approval":
                gates.append(node.id)
            elif node.callee is not None:
                gates += [f"{node.id}/{gate}" for gate in node.callee.approval_gates()]
        return gates

    @property
    def rto_met(self) -> bool | None:
        """Whether the worst case fits the RTO (None when the runbook sets none)."""
        rto = self.runbook.objectives.rto
        return None if rto is None else self.worst_case <= rto


def freeze(nodes: dict[str, PlanNode]) -> Mapping[str, PlanNode]:
    return MappingProxyType(dict(nodes))
