"""The plan as a diagram: Mermaid or Graphviz DOT, from one walk of the plan.

Sequences chain, parallel groups fan out and in, branches are diamonds with
labelled edges, rollbacks hang off their steps with dashed edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.fit import clip
from recoverctl.model.runbook import Branch, Group, Step
from recoverctl.model.walk import dispatch


@dataclass(slots=True)
class _Graph:
    nodes: list[tuple[str, str, str]] = field(default_factory=list)
    """(id, label, shape): shape is box, round, diamond, fork, join, rollback."""
    edges: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    """(from, to, label, dashed)."""


def build_graph(plan: Plan) -> _Graph:
    graph = _Graph()
    graph.nodes.append(("n_start", "start", "round"))
    exits = _sequence(graph, plan, plan.roots, ["n_start"])
    if plan.finally_roots:
        graph.nodes.append(("n_finally", "finally", "join"))
        for exit_id in exits:
            graph.edges.append((exit_id, "n_finally", None, False))
        exits = _sequence(graph, plan, plan.finally_roots, ["n_finally"])
    graph.nodes.append(("n_end", "end", "round"))
    for exit_id in exits:
        graph.edges.append((exit_id, "n_end", None, False))
    return graph


def _sequence(graph: _Graph, plan: Plan, ids: tuple[str, ...], entries: list[str]) -> list[str]:
    current = entries
    for node_id in ids:
        entry, exits = _node(graph, plan, plan.node(node_id))
        for previous in current:
            graph.edges.append((previous, entry, None, False))
        current = exits
    return current


def _node(graph: _Graph, plan: Plan, node: PlanNode) -> tuple[str, list[str]]:
    """A step's entry node and the nodes that lead on from it."""
    return dispatch(node.step, _Draw(graph, plan))


@dataclass(slots=True)
class _Draw:
    """The nodes and edges of each kind of step."""

    graph: _Graph
    plan: Plan

    def title(self, step: Step) -> str:
        """The step's title; a fan-out's says over what and in which waves."""
        node = self.plan.nodes.get(step.id)
        fanout = node.fanout_summary() if node is not None else None
        return f"{step.title}\n{fanout}" if fanout else step.title

    def parallel(self, step: Step, group: Group) -> tuple[str, list[str]]:
        safe = _safe(step.id)
        fork, join = f"{safe}__fork", f"{safe}__join"
        limit = f" (max {group.max_parallel})" if group.max_parallel else ""
        title = f"parallel {self.title(step)}{limit}"
        self.graph.nodes += [(fork, title, "fork"), (join, "", "join")]
        for child in group.steps:
            entry, exits = _node(self.graph, self.plan, self.plan.node(child.id))
            self.graph.edges.append((fork, entry, None, False))
            self.graph.edges += [(e, join, None, False) for e in exits]
        return fork, [join]

    def sequence(self, step: Step, group: Group) -> tuple[str, list[str]]:
        head = f"{_safe(step.id)}__seq"
        self.graph.nodes.append((head, self.title(step), "join"))
        return head, _sequence(self.graph, self.plan, tuple(s.id for s in group.steps), [head])

    def branch(self, step: Step, branch: Branch) -> tuple[str, list[str]]:
        safe = _safe(step.id)
        merge = f"{safe}__merge"
        self.graph.nodes += [(safe, self.title(step), "diamond"), (merge, "", "join")]
        for case in branch.cases:
            label = "else" if case.when is None else case.when.source
            if not case.steps:
                self.graph.edges.append((safe, merge, label, False))
                continue
            first, *_ = case.steps
            entry, _exits = _node(self.graph, self.plan, self.plan.node(first.id))
            self.graph.edges.append((safe, entry, label, False))
            rest = tuple(s.id for s in case.steps[1:])
            exits = _sequence(self.graph, self.plan, rest, _exits)
            self.graph.edges += [(e, merge, None, False) for e in exits]
        if not branch.has_else:
            self.graph.edges.append((safe, merge, "no match", False))
        return safe, [merge]

    def action(self, step: Step) -> tuple[str, list[str]]:
        safe = _safe(step.id)
        label = f"{self.title(step)}\n{clip(step.body.describe(), 40)}"  # type: ignore[union-attr]
        self.graph.nodes.append((safe, label, "box"))
        if step.rollback is not None:
            rb = f"{safe}__rollback"
            undo = clip(step.rollback.body.describe(), 40)  # type: ignore[union-attr]
            self.graph.nodes.append((rb, f"undo: {undo}", "rollback"))
            self.graph.edges.append((safe, rb, "rollback", True))
        return safe, [safe]


def to_mermaid(plan: Plan) -> str:
    graph = build_graph(plan)
    shapes = {
        "box": '["{}"]',
        "round": '(["{}"])',
        "diamond": '{{"{}"}}',
        "fork": '[["{}"]]',
        "join": '(("{}"))',
        "rollback": '["{}"]',
    }
    lines = ["flowchart TD"]
    for node_id, label, shape in graph.nodes:
        text = label.replace('"', "#quot;").replace("\n", "<br/>") or " "
        lines.append(f"    {node_id}{shapes[shape].format(text)}")
    for source, target, edge_label, dashed in graph.edges:
        arrow = "-.->" if dashed else "-->"
        text = f'|"{edge_label.replace(chr(34), "#quot;")}"|' if edge_label else ""
        lines.append(f"    {source} {arrow}{text} {target}")
    rollbacks = [n for n, _, s in graph.nodes if s == "rollback"]
    if rollbacks:
        lines.append("    classDef rollback stroke-dasharray: 5 5,fill:#fdf2f8")
        lines.append(f"    class {','.join(rollbacks)} rollback")
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    graph = build_graph(plan)
    shapes = {
        "box": "box",
        "round": "oval",
        "diamond": "diamond",
        "fork": "box",
        "join": "point",
        "rollback": "box",
    }
    lines = [
        f'digraph "{_dot(plan.runbook.name)}" {{',
        "  rankdir=TB;",
        '  node [fontname="Helvetica"];',
    ]
    for node_id, label, shape in graph.nodes:
        extra = (
            ', style="dashed"'
            if shape == "rollback"
            else (', style="bold"' if shape == "fork" else "")
        )
        lines.append(f'  {node_id} [label="{_dot(label)}", shape={shapes[shape]}{extra}];')
    for source, target, edge_label, dashed in graph.edges:
        attrs = []
        if edge_label:
            attrs.append(f'label="{_dot(edge_label)}"')
        if dashed:
            attrs.append('style="dashed"')
        lines.append(f"  {source} -> {target}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _safe(step_id: str) -> str:
    return "n_" + step_id.replace(".", "_").replace("/", "__")
