"""The state machine being built: its states, the variables steps write, how to read them.

Every part of the export (structure, actions, tasks, the machine's frame) adds
states through one `Builder`: it keeps state names unique, knows in which
Parallel branch each step's result variable lives, and turns runbook
templates and conditions into JSONata (a lost feature is reported, never
dropped silently).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.asl.names import Options, Scope, literal, state_name, var
from recoverctl.export.common import (
    Findings,
    References,
    join_parts,
    param_types,
    shell_command,
    steps_by_id,
    target_condition,
    template_parts,
)
from recoverctl.export.expressions import JSONATA, Expr, Untranslatable
from recoverctl.export.secrets import Secret, Store, lone, secret_params
from recoverctl.model.runbook import (
    CallAction,
    Expression,
    Group,
    Step,
    Text,
)
from recoverctl.model.walk import steps_in


class Builder:
    def __init__(self, plan: Plan, findings: Findings, options: Options) -> None:
        self.plan, self.findings, self.options = plan, findings, options
        self.runbook = plan.runbook
        self.store = Store.for_step_functions(self.runbook, options.secrets)
        self.secret_params = secret_params(self.runbook)
        self.steps = steps_by_id(self.runbook)
        self.chains: dict[str, tuple[str, ...]] = {}
        self.index_chains(self.runbook.steps, ())
        self.index_chains(self.runbook.finally_steps, ())
        self.top = self.scope({}, ())
        self.names: set[str] = set()
        """Every state name used so far: ASL wants them unique across the whole machine."""
        self.deadline = False
        """The main steps are being built: their tasks carry the run's deadline, which the
        runner enforces (a timed-out execution would end without its compensations)."""
        self.timed_groups: list[Step] = []
        """The groups with a `timeout` around the steps being built, outermost first: their
        deadlines (`$gd_<id>`) go in every task's payload, as the run's does."""
        self.rescues: dict[str, str] = {}
        """Step id → the entry of its rescue steps (emitted once, however many ways lead there)."""

    def index_chains(self, steps: tuple[Step, ...], chain: tuple[str, ...]) -> None:
        """Which Parallel groups (outermost first) each step runs inside."""
        for step in steps:
            self.chains[step.id] = chain
            inner = chain
            if isinstance(step.body, Group) and step.body.parallel:
                inner = (*chain, step.id)
            self.index_chains(step.children(), inner)
            for extra in (*step.rescue, step.skip_if):
                if isinstance(extra, Step):
                    self.chains[extra.id] = chain
                    self.index_chains(extra.children(), chain)
            if step.rollback is not None:  # compensations run in the top-level chain
                self.index_chains((step.rollback,), ())

    def scope(self, states: dict[str, Any], chain: tuple[str, ...]) -> Scope:
        def step_field(step: Step, name: str, rest: tuple[str, ...]) -> str:
            if not step.is_action or isinstance(step.body, CallAction):
                raise Untranslatable(f"the result of group '{step.id}' is not recorded")
            return ".".join((self.result(step.id, chain), name, *rest))

        refs = References(
            JSONATA,
            self.steps,
            param=lambda name: f"$params.{name}",
            step_field=step_field,
            run={
                "id": "$states.context.Execution.Name",
                "name": json.dumps(self.runbook.name),
                "status": "$run_status",
            },
            stored_outputs=True,
            secrets=self.secret_params,
            param_types=param_types(self.runbook),  # execution input is typed JSON
        )
        return Scope(states, chain, refs)

    def result(self, step_id: str, reader: tuple[str, ...]) -> str:
        """Where a step's result lives, seen from a reader inside the groups `reader`."""
        chain = self.chains.get(step_id, ())
        common = 0
        while common < min(len(chain), len(reader)) and chain[common] == reader[common]:
            common += 1
        if common == len(chain):
            return f"$s_{var(step_id)}"
        return f"$g_{var(chain[common])}.s_{var(step_id)}"

    def add(self, states: dict[str, Any], name: str, state: dict[str, Any]) -> str:
        name = state_name(name)
        if name in self.names:
            raise Untranslatable(f"two states would be named '{name}'")
        if len(name) > 80:
            raise Untranslatable(f"the state name '{name}' is longer than 80 characters")
        self.names.add(name)
        states[name] = state
        return name

    def records(self, step: Step, status: str) -> dict[str, Any]:
        """The same result for a step and every action inside it (skipped, unchanged...)."""
        ok = status in ("succeeded", "unchanged")
        return {
            f"s_{var(s.id)}": {"status": status, "ok": ok, "outputs": {}}
            for s in steps_in((step,))
            if s.is_action and self.chains.get(s.id) == self.chains.get(step.id)
        }

    def output_reads(self, expr: Expression, scope: Scope) -> list[str]:
        """Where the step outputs `expr` reads live (`$s_probe.outputs.lag`). In a run, an
        output that is not there — its step failed, was skipped or has not run — makes the
        condition an error, and the step that asks fails; JSONata would read it as nothing
        and the condition as false, so the export checks first (Structure.outputs_present)."""
        from recoverctl.expr.references import parse_expression, references

        try:
            found = references(parse_expression(expr.source))
        except Exception:
            return []
        paths: list[str] = []
        for ref in found:
            parts = ref.parts
            if len(parts) < 4 or parts[0] != "steps" or parts[2] != "outputs":
                continue
            step = self.steps.get(parts[1])
            if step is None or not step.is_action or isinstance(step.body, CallAction):
                continue
            path = f"{self.result(parts[1], scope.chain)}.outputs.`{parts[3]}`"
            if path not in paths:
                paths.append(path)
        return paths

    def outputs_present(
        self,
        step: Step,
        exprs: list[Expression],
        entry: str,
        fail_to: Callable[[], str],
        scope: Scope,
    ) -> str:
        """Before `step` evaluates `exprs`: the outputs they read are there, or the step fails
        as it does in a run (an output of a step that failed or was skipped is an error
        there, not false). `entry` when they read no output."""
        paths = [path for expr in exprs for path in self.output_reads(expr, scope)]
        if not paths:
            return entry
        error = json.dumps(
            f"step '{step.id}': a condition reads an output that is not there (the step "
            "that makes it failed, was skipped or has not run)"
        )
        unreadable = self.add(
            scope.states,
            f"{state_name(step.id)}-reads-nothing",
            {
                "Type": "Pass",
                "Assign": {
                    f"s_{var(step.id)}": '{% {"status": "failed", "ok": false, "error": '
                    + error
                    + "} %}",
                    scope.failure: '{% {"step": '
                    + json.dumps(step.id)
                    + ', "error": '
                    + error
                    + "} %}",
                },
                "Next": fail_to(),
            },
        )
        present = " and ".join(f"$exists({path})" for path in paths)
        return self.add(
            scope.states,
            f"{state_name(step.id)}-reads",
            {
                "Type": "Choice",
                "Choices": [{"Condition": "{% " + present + " %}", "Next": entry}],
                "Default": unreadable,
            },
        )

    def condition(self, step: Step, expr: Expression, scope: Scope) -> str:
        return "{% " + self.boolean(step, expr, scope) + " %}"

    def boolean(self, step: Step, expr: Expression, scope: Scope) -> str:
        return target_condition(self.findings, step, expr, JSONATA, scope.refs)

    def parts(
        self, step: Step, text: Text, scope: Scope, *, secrets: bool = False
    ) -> list[str | Expr] | None:
        return template_parts(self.findings, step, text, JSONATA, scope.refs, secrets=secrets)

    def text(self, step: Step, text: Text, scope: Scope) -> str:
        """A template as a JSONata string expression ("" when it cannot be exported)."""
        return join_parts(self.parts(step, text, scope) or [""], JSONATA)

    def value(self, step: Step, text: Text, scope: Scope) -> str:
        """A template as an Arguments value: plain text stays text."""
        parts = self.parts(step, text, scope)
        if parts is None:
            return ""
        if all(isinstance(p, str) for p in parts):
            return literal("".join(p for p in parts if isinstance(p, str)))
        return "{% " + join_parts(parts, JSONATA) + " %}"

    def env_value(self, step: Step, text: Text, scope: Scope) -> str | Secret:
        """An `env:` value: a secret param as a whole is read by the runner from the store."""
        parts = self.parts(step, text, scope, secrets=True)
        if parts is not None and len(parts) == 1 and (name := lone(parts[0])) is not None:
            return Secret(self.store.secret_id(name))
        return self.value(step, text, scope)

    def shell(
        self, step: Step, text: Text, scope: Scope
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """A shell command whose templates become quoted variables: one word, never code.
        Returns the source, the variables' values and the variables read from secrets."""
        source, values = shell_command(self.findings, step, text, JSONATA, scope.refs)
        plain = {
            v: "{% " + join_parts([x], JSONATA) + " %}" for v, x in values if isinstance(x, Expr)
        }
        secrets = {v: self.store.secret_id(x) for v, x in values if isinstance(x, str)}
        return literal(source), plain, secrets
