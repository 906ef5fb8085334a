"""The DAG walk: sequences chain `depends`, parallel groups fan out, branch cases guard by `when`.

One DAG holds the whole main flow, so every condition can read any earlier
step as `tasks['name']`; a step's exits are the `depends` terms that follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recoverctl.export.argo.context import Context, accepts, done
from recoverctl.export.argo.templates import Templates
from recoverctl.export.common import (
    References,
    argo_task_name,
    fanout_loss,
    limited,
    note_fanout_loss,
    note_group_losses,
)
from recoverctl.export.expressions import Untranslatable
from recoverctl.model.fanout import lone_param
from recoverctl.model.runbook import (
    Branch,
    CallAction,
    Expression,
    Group,
    OnFailure,
    Step,
)
from recoverctl.model.walk import dispatch


@dataclass(frozen=True, slots=True)
class Loop:
    """A fan-out as Argo loops it: the item's name, and the task's withItems/withParam."""

    var: str
    task: dict[str, Any]
    parallelism: int | None = None
    """`max_parallel`: the loop runs in a template of its own that limits it."""


@dataclass(frozen=True, slots=True)
class Dag:
    """A DAG template being filled: its tasks, and how its conditions read names."""

    tasks: list[dict[str, Any]]
    refs: References


class DagBuilder:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.templates_ = Templates(ctx)

    def sequence(
        self,
        steps: tuple[Step, ...],
        after: list[str],
        when: list[str],
        dag: Dag,
    ) -> list[str]:
        for step in steps:
            after = self.step(step, after, when, dag)
        return after

    def step(
        self,
        step: Step,
        after: list[str],
        when: list[str],
        dag: Dag,
    ) -> list[str]:
        """Emit `step`'s tasks after `after` (depends terms); returns the terms that follow it."""
        loop = self._loop(step)
        if loop is not None:
            dag = Dag(dag.tasks, dag.refs.with_local(**{loop.var: "inputs.parameters.item"}))
        when = list(when)
        if step.when is not None:
            when.append(self.ctx.condition(step, step.when, dag.refs))
        if isinstance(step.skip_if, Expression):
            when.append(f"!({self.ctx.condition(step, step.skip_if, dag.refs)})")
        elif isinstance(step.skip_if, Step):
            guard = self.task(step.skip_if, after, when, dag, continue_on_failure=True)
            after = [done(guard)]
            when.append(f"tasks['{guard}'].status != 'Succeeded'")
        return dispatch(step, _Body(self, after, when, dag, loop))

    def _loop(self, step: Step) -> Loop | None:
        """A fan-out Argo runs exactly: one action over a written list or a list param
        (`withItems` / `withParam`), `max_parallel` as the `parallelism` of a template
        holding only the loop; the DAG's failFast starts no item after a failed one and
        lets the running ones finish, as recoverctl's default budget does. Anything else
        (waves, a budget, per-item undo) is named as lost, and exported once."""
        fan = step.foreach
        if fan is None:
            return None
        why = fanout_loss(step, fan, loops_objects=False, guards=True, stops_running=False)
        if why is not None:
            note_fanout_loss(step, self.ctx.findings, how=why)
            return None
        if isinstance(fan.items, tuple):
            return Loop(fan.var, {"withItems": list(fan.items)}, fan.max_parallel)
        name = lone_param(fan.items)
        assert name is not None  # noqa: S101 - fanout_loss checked it
        return Loop(
            fan.var, {"withParam": "{{workflow.parameters." + name + "}}"}, fan.max_parallel
        )

    def group(
        self,
        step: Step,
        body: Group,
        after: list[str],
        when: list[str],
        dag: Dag,
    ) -> list[str]:
        note_group_losses(
            step,
            body,
            self.ctx.findings,
            timeout="Argo enforces deadlines per pod, not per group of tasks",
            max_parallel=None,  # waves (below)
        )
        if not body.parallel:
            return self.sequence(body.steps, after, when, dag)
        size = body.max_parallel if limited(body) and body.max_parallel else len(body.steps)
        if size < len(body.steps):
            self.ctx.findings.approximated(
                step,
                f"max_parallel: {size}",
                f"members run in waves of {size}, in document order: a wave starts when the "
                "one before has ended (a run starts the next member as soon as a slot frees)",
            )
        # each wave depends on the ones before: none starts once a member has failed, as
        # in a run (one DAG keeps every step readable as tasks['x'])
        exits: list[str] = []
        before = list(after)
        for start in range(0, len(body.steps), size):
            wave: list[str] = []
            for child in body.steps[start : start + size]:
                wave += self.step(child, before, when, dag)
            exits += wave
            before = [*after, *exits]
        return exits

    def branch(
        self,
        step: Step,
        body: Branch,
        after: list[str],
        when: list[str],
        dag: Dag,
    ) -> list[str]:
        earlier: list[str] = []
        exits: list[str] = []
        for case in body.cases:
            guard = [f"!({c})" for c in earlier]
            if case.when is not None:
                this = self.ctx.condition(step, case.when, dag.refs)
                guard.append(this)
                earlier.append(this)
            case_when = [*when, " && ".join(guard)] if guard else list(when)
            exits += self.sequence(case.steps, after, case_when, dag) if case.steps else []
        return exits or after

    def task(
        self,
        step: Step,
        after: list[str],
        when: list[str],
        dag: Dag,
        *,
        continue_on_failure: bool,
        loop: Loop | None = None,
    ) -> str:
        name = self._name(step.id)
        task: dict[str, Any] = {"name": name, "template": name}
        looped, wrapper = task, None
        if loop is not None and loop.parallelism:  # the loop alone, in a template that limits it
            looped = {"name": name, "template": name}
            wrapper = {
                "name": self._name(f"{step.id}-items"),
                "parallelism": loop.parallelism,
                "dag": {"tasks": [looped]},
            }
            task["template"] = wrapper["name"]
        if loop is not None:  # one pod per item; failFast starts none after a failure
            looped.update(loop.task)
            looped["arguments"] = {"parameters": [{"name": "item", "value": "{{item}}"}]}
        if after:
            task["depends"] = " && ".join(after)
        if when:
            task["when"] = "{{=" + " && ".join(f"({w})" for w in when) + "}}"
        if continue_on_failure:
            task["continueOn"] = {"failed": True}
        dag.tasks.append(task)
        self.templates_.action_template(step, name, dag.refs)
        if loop is not None:
            self.ctx.templates[-1]["inputs"] = {"parameters": [{"name": "item"}]}
        if wrapper is not None:
            self.ctx.templates.append(wrapper)
        return name

    def _name(self, step_id: str) -> str:
        name = argo_task_name(step_id)
        owner = self.ctx.names.setdefault(name, step_id)
        if owner != step_id:
            raise Untranslatable(
                f"steps '{owner}' and '{step_id}' both become Argo name '{name}'",
                self.ctx.steps.get(step_id),
            )
        return name


def task_field(step: Step, field: str, rest: tuple[str, ...]) -> str:
    task = f"tasks['{argo_task_name(step.id)}']"
    if not step.is_action or isinstance(step.body, CallAction):
        raise Untranslatable(f"the result of group '{step.id}' is not recorded by Argo")
    return {
        "ok": f"({task}.status == 'Succeeded')",
        "status": f"lower({task}.status)",
        "exit_code": f"asInt({task}.exitCode)",
        "stdout": f"{task}.outputs.result",
    }[field]


def no_results_in_exit_handler(step: Step, field: str, rest: tuple[str, ...]) -> str:
    raise Untranslatable("Argo's exit handler cannot read step results")


@dataclass(slots=True)
class _Body:
    """A step's body in its place: the `depends` terms before it, the conditions on it."""

    dags: DagBuilder
    after: list[str]
    when: list[str]
    dag: Dag
    loop: Loop | None = None

    def sequence(self, step: Step, group: Group) -> list[str]:
        return self.dags.group(step, group, self.after, self.when, self.dag)

    def parallel(self, step: Step, group: Group) -> list[str]:
        return self.dags.group(step, group, self.after, self.when, self.dag)

    def branch(self, step: Step, branch: Branch) -> list[str]:
        return self.dags.branch(step, branch, self.after, self.when, self.dag)

    def action(self, step: Step) -> list[str]:
        """The terms that follow the action: it ended (as its on_failure accepts), or was rescued."""
        dags, after, when, dag = self.dags, self.after, self.when, self.dag
        if isinstance(step.body, CallAction):
            dags.ctx.findings.lost(
                step, "`call`", "sub-runbooks are not exported; inline the steps"
            )
            return after
        continues = step.on_failure is OnFailure.CONTINUE or bool(step.rescue)
        name = dags.task(step, after, when, dag, continue_on_failure=continues, loop=self.loop)
        exits = [accepts(name, step.on_failure is OnFailure.CONTINUE)]
        if step.rescue:
            rescued = dags.sequence(step.rescue, [f"({name}.Failed || {name}.Errored)"], when, dag)
            exits = [
                f"({accepts(name, step.on_failure is OnFailure.CONTINUE)} || {' && '.join(rescued)})"
            ]
        return exits
