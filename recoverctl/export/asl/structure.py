"""The structure walk: sequences, `when` and `skip_if`, Parallel groups, Choice branches.

Built back to front: each step is given the state that follows it (`nxt`)
and returns its entry state. A Parallel branch hands its results out as its
output and ends with a marker when it stopped, which the state after the
Parallel routes on (a failing branch must not lose what its siblings did).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from recoverctl.export.asl.actions import Actions
from recoverctl.export.asl.builder import Builder
from recoverctl.export.asl.fanout import Maps
from recoverctl.export.asl.names import Route, Scope, reachable, state_name, var
from recoverctl.export.asl.tasks import Tasks, group_deadline
from recoverctl.export.common import (
    fanout_loss,
    limited,
    note_fanout_loss,
    note_group_losses,
)
from recoverctl.export.expressions import Untranslatable
from recoverctl.model.runbook import (
    Branch,
    CallAction,
    Expression,
    Group,
    OnFailure,
    Step,
)
from recoverctl.model.walk import dispatch, steps_in


class Structure:
    def __init__(self, builder: Builder) -> None:
        self.b = builder
        self.tasks = Tasks(builder)
        self.actions = Actions(builder, self.tasks)
        self.maps = Maps(builder, self.tasks)

    def sequence(self, steps: tuple[Step, ...], nxt: str, route: Route, scope: Scope) -> str:
        for step in reversed(steps):
            nxt = self.step(step, nxt, route, scope)
        return nxt

    def step(self, step: Step, nxt: str, route: Route, scope: Scope) -> str:
        try:
            return self._emit(step, nxt, route, scope)
        except Untranslatable as exc:
            exc.step = exc.step or step  # the innermost step names the place
            raise

    def _emit(self, step: Step, nxt: str, route: Route, scope: Scope) -> str:
        placed = self._fanout(step, nxt, route, scope)
        if placed is None:
            placed = dispatch(step, _Body(self, nxt, route, scope))
        if placed is None:
            return nxt
        entry = placed
        entry = self._guard(step, entry, nxt, route, scope)
        if step.when is not None:
            skipped = f"{state_name(step.id)}-skipped"
            self.b.add(
                scope.states,
                skipped,
                {"Type": "Pass", "Assign": self.b.records(step, "skipped"), "Next": nxt},
            )
            ask = f"{state_name(step.id)}-when"
            self.b.add(
                scope.states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": self.b.condition(step, step.when, scope), "Next": entry}
                    ],
                    "Default": skipped,
                },
            )
            entry = self.b.outputs_present(
                step, [step.when], ask, lambda: self.failure_target(step, nxt, route, scope), scope
            )
        return entry

    def _fanout(self, step: Step, nxt: str, route: Route, scope: Scope) -> str | None:
        """A Map state for a fan-out Step Functions can loop; None: not a fan-out, or one
        it cannot (said at the step, and the body exported once)."""
        fan = step.foreach
        if fan is None:
            return None
        why = fanout_loss(step, fan, loops_objects=True, guards=False, stops_running=True)
        if why is not None:
            note_fanout_loss(step, self.b.findings, how=why)
            return None
        fail_to = lambda: self.failure_target(step, nxt, route, scope)  # noqa: E731
        return self.maps.map(step, fan, nxt, fail_to, scope)

    def _guard(self, step: Step, entry: str, nxt: str, route: Route, scope: Scope) -> str:
        """skip_if: an expression (Choice) or a check (Task); when it holds the step is unchanged."""
        guard = step.skip_if
        if guard is None:
            return entry
        unchanged = f"{state_name(step.id)}-unchanged"
        self.b.add(
            scope.states,
            unchanged,
            {"Type": "Pass", "Assign": self.b.records(step, "unchanged"), "Next": nxt},
        )
        if isinstance(guard, Expression):
            ask = f"{state_name(step.id)}-done-already"
            self.b.add(
                scope.states,
                ask,
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": self.b.condition(step, guard, scope), "Next": unchanged}
                    ],
                    "Default": entry,
                },
            )
            return self.b.outputs_present(
                step, [guard], ask, lambda: self.failure_target(step, nxt, route, scope), scope
            )
        failed = self.failure_target(step, nxt, route, scope)
        task = self.tasks.runner_task(guard, scope)
        task["Next"] = unchanged
        task["Catch"] = [
            *self.tasks.deadline_catches(step, scope),
            # a check that timed out cannot tell whether the work is done: the step fails
            {"ErrorEquals": ["States.Timeout"], "Next": failed},
            {"ErrorEquals": ["States.ALL"], "Next": entry},
        ]
        return self.b.add(scope.states, guard.id, task)

    def group(self, step: Step, body: Group, nxt: str, route: Route, scope: Scope) -> str:
        note_group_losses(
            step,
            body,
            self.b.findings,
            timeout=None,  # a deadline, as the run's (below)
            max_parallel=None,  # waves (below)
        )
        if not (step.timeout_explicit and step.timeout is not None):
            return self._members(step, body, nxt, route, scope)
        # the group's timeout: a deadline set as it starts, carried by every task under it;
        # the runner stops what runs at it, and the group fails by its own on_failure
        timed_out = self.b.add(
            scope.states,
            f"{state_name(step.id)}-timed-out",
            {"Type": "Pass", "Next": self.failure_target(step, nxt, route, scope)},
        )
        self.b.timed_groups.append(step)
        scope.group_exits[step.id] = timed_out
        try:
            entry = self._members(step, body, nxt, route, scope)
        finally:
            self.b.timed_groups.pop()
            del scope.group_exits[step.id]
        milliseconds = round(step.timeout * 1000)
        return self.b.add(
            scope.states,
            f"{state_name(step.id)}-deadline",
            {
                "Type": "Pass",
                "Assign": {group_deadline(step.id): "{% $millis() + " + str(milliseconds) + " %}"},
                "Next": entry,
            },
        )

    def _members(self, step: Step, body: Group, nxt: str, route: Route, scope: Scope) -> str:
        if not body.parallel:
            return self.sequence(body.steps, nxt, route, scope)
        self._check_locks(step, body)
        chain = (*scope.chain, step.id)
        branches = []
        for child in body.steps:
            inner = self.b.scope({}, chain)
            results = self._branch_results(child, chain)
            done, stop_rb, stop_ab = (
                f"{state_name(child.id)}-branch-done",
                f"{state_name(child.id)}-branch-stopped-to-roll-back",
                f"{state_name(child.id)}-branch-stopped",
            )
            if scope.timed_out is not None:  # the run's deadline in a branch: stop, roll back
                inner.timed_out = stop_rb
            markers: list[tuple[str, str | None]] = [
                (done, None),
                (stop_rb, "rollback"),
                (stop_ab, "abort"),
            ]
            for group in self.b.timed_groups:  # a group's deadline: stop, hand it out
                stopped = f"{state_name(child.id)}-branch-stopped-by-{state_name(group.id)}"
                inner.group_exits[group.id] = stopped
                markers.append((stopped, f"timeout:{group.id}"))
            for name, marker in markers:
                # a stopped branch hands out why (its own failure variable: see Scope.failure)
                output = (
                    results
                    if marker is None
                    else f'$merge([{results}, {{"rc_failed": "{marker}", '
                    f'"rc_failure": ${inner.failure}}}])'
                )
                try:
                    self.b.add(
                        inner.states,
                        name,
                        {"Type": "Pass", "Output": "{% " + output + " %}", "End": True},
                    )
                except Untranslatable as exc:
                    raise Untranslatable(str(exc), child) from None  # named after the member
            start = self.step(child, done, Route(stop_rb, stop_ab), inner)
            ordered = {start: inner.states.pop(start), **inner.states}
            branches.append({"StartAt": start, "States": reachable(ordered, start)})
        fan_in = self._fan_in(step, scope, route, nxt)
        if limited(body):
            return self._limited(step, body, branches, fan_in, scope)
        return self.b.add(
            scope.states,
            step.id,
            {
                "Type": "Parallel",
                "Branches": branches,
                "Assign": {f"g_{var(step.id)}": "{% $merge($states.result) %}"},
                "Next": fan_in,
            },
        )

    def _limited(
        self, step: Step, body: Group, branches: list[dict[str, Any]], fan_in: str, scope: Scope
    ) -> str:
        """`max_parallel` below the width: Parallel states of at most that many members, one
        wave after the other in document order; a wave with a stopped member starts no
        other (as a run starts no member after a failure). The results of every wave are
        the group's, as one Parallel's would be."""
        size = body.max_parallel or len(branches)
        self.b.findings.approximated(
            step,
            f"max_parallel: {size}",
            f"members run in waves of {size}, in document order: a wave starts when the one "
            "before has ended (a run starts the next member as soon as a slot frees)",
        )
        waves = [branches[i : i + size] for i in range(0, len(branches), size)]
        group = f"g_{var(step.id)}"
        nxt = fan_in
        for number in range(len(waves), 0, -1):
            merged = "$merge($states.result)"
            if number > 1:
                merged = f"$merge([${group}, {merged}])"
            wave = self.b.add(
                scope.states,
                f"{state_name(step.id)}-wave-{number}" if number > 1 else step.id,
                {
                    "Type": "Parallel",
                    "Branches": waves[number - 1],
                    "Assign": {group: "{% " + merged + " %}"},
                    "Next": nxt,
                },
            )
            if number > 1:  # before a wave: did a member of the earlier ones stop?
                nxt = self.b.add(
                    scope.states,
                    f"{state_name(step.id)}-before-wave-{number}",
                    {
                        "Type": "Choice",
                        "Choices": [
                            {"Condition": f"{{% $exists(${group}.rc_failed) %}}", "Next": fan_in}
                        ],
                        "Default": wave,
                    },
                )
            else:
                nxt = wave
        return nxt

    def _fan_in(self, step: Step, scope: Scope, route: Route, nxt: str) -> str:
        """After the members: a member that stopped hands out why, and the group goes where
        its failure leads (to the compensations or to the end); else on to `nxt`."""
        check = f"{state_name(step.id)}-failed"
        group_var = f"$g_{var(step.id)}"
        why = {scope.failure: "{% " + group_var + ".rc_failure %}"}
        to_roll_back = self.b.add(
            scope.states,
            f"{state_name(step.id)}-failed-to-roll-back",
            {"Type": "Pass", "Assign": why, "Next": route.rollback},
        )
        to_stop = self.b.add(
            scope.states,
            f"{state_name(step.id)}-failed-to-stop",
            {"Type": "Pass", "Assign": why, "Next": route.abort},
        )
        choices = [
            {"Condition": f'{{% {group_var}.rc_failed = "rollback" %}}', "Next": to_roll_back},
            {"Condition": f'{{% {group_var}.rc_failed = "abort" %}}', "Next": to_stop},
        ]
        for group in self.b.timed_groups:  # stopped by a group's deadline: to that group
            marker = json.dumps(f"timeout:{group.id}")
            handed = self.b.add(
                scope.states,
                f"{state_name(step.id)}-stopped-by-{state_name(group.id)}",
                {"Type": "Pass", "Assign": why, "Next": scope.group_exits[group.id]},
            )
            choices.append(
                {"Condition": f"{{% {group_var}.rc_failed = {marker} %}}", "Next": handed}
            )
        self.b.add(scope.states, check, {"Type": "Choice", "Choices": choices, "Default": nxt})
        return check

    def _branch_results(self, child: Step, chain: tuple[str, ...]) -> str:
        """A branch's output: the results of every action step in it, by variable name."""
        pairs = [
            f'"s_{var(s.id)}": {self.b.result(s.id, chain)}'
            for s in steps_in((child,))
            if s.is_action
            and not isinstance(s.body, CallAction)
            and self.b.chains[s.id][: len(chain)] == chain
        ]
        return "{" + ", ".join(pairs) + "}"

    def _check_locks(self, step: Step, body: Group) -> None:
        """Locks only matter between steps that can run at once: siblings of a Parallel state."""
        seen: dict[str, str] = {}
        for child in body.steps:
            for lock in {lock for s in steps_in((child,)) for lock in s.locks}:
                if lock in seen:
                    self.b.findings.lost(
                        step,
                        f"lock '{lock}'",
                        f"'{seen[lock]}' and '{child.id}' would run at once: Step Functions has no locks",
                    )
                seen.setdefault(lock, child.id)

    def branch(self, step: Step, body: Branch, nxt: str, route: Route, scope: Scope) -> str:
        choices = []
        default = nxt
        for case in body.cases:
            entry = self.sequence(case.steps, nxt, route, scope)
            if case.when is None:
                default = entry
            else:
                choices.append(
                    {"Condition": self.b.condition(step, case.when, scope), "Next": entry}
                )
        if not choices:
            return default
        decide = self.b.add(
            scope.states, step.id, {"Type": "Choice", "Choices": choices, "Default": default}
        )
        conditions = [case.when for case in body.cases if case.when is not None]
        return self.b.outputs_present(
            step, conditions, decide, lambda: self.failure_target(step, nxt, route, scope), scope
        )

    def failure_target(self, step: Step, nxt: str, route: Route, scope: Scope) -> str:
        """Rescue steps first; then on, to the compensations, or to the end, by on_failure."""
        if step.on_failure is OnFailure.CONTINUE:
            after = nxt
        elif step.on_failure is OnFailure.ROLLBACK:
            after = route.rollback
        else:
            after = route.abort
        if not step.rescue:
            return after
        if step.id not in self.b.rescues:
            rescued = self.b.add(
                scope.states, f"{state_name(step.id)}-rescued", {"Type": "Pass", "Next": nxt}
            )
            self.b.rescues[step.id] = self.sequence(
                step.rescue, rescued, Route(after, after), scope
            )
        return self.b.rescues[step.id]


@dataclass(slots=True)
class _Body:
    """A step's body in its place: the state after it, where failures go, the scope."""

    structure: Structure
    nxt: str
    route: Route
    scope: Scope

    def sequence(self, step: Step, group: Group) -> str | None:
        return self.structure.group(step, group, self.nxt, self.route, self.scope)

    def parallel(self, step: Step, group: Group) -> str | None:
        return self.structure.group(step, group, self.nxt, self.route, self.scope)

    def branch(self, step: Step, branch: Branch) -> str | None:
        return self.structure.branch(step, branch, self.nxt, self.route, self.scope)

    def action(self, step: Step) -> str | None:
        """The action's entry state; None for a `call`, which is not exported."""
        structure, nxt, route, scope = self.structure, self.nxt, self.route, self.scope
        if isinstance(step.body, CallAction):
            structure.b.findings.lost(
                step, "`call`", "sub-runbooks are not exported; inline the steps"
            )
            return None
        fail_to = lambda: structure.failure_target(step, nxt, route, scope)  # noqa: E731
        return structure.actions.action(step, nxt, fail_to, scope)
