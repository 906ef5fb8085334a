"""The one walk of the step tree, and the one dispatch on what a step's body is.

Two shapes of code read the tree. Passes that look at every step — lint's
facts and rules, validation, coverage — subclass `StepVisitor` and override
only the hooks they need (actionlint's pass pattern); `walk` calls them in
document order, with the role each step has (`main`, `finally`, `rescue`,
`rollback`, `guard`). Builders that turn a step into something — the
compiler, the engine's scheduler, both exporters, the graph — implement
`StepKinds` and call `dispatch`, so "is this a sequence, a parallel group, a
branch or an action" is decided in this one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

from recoverctl.model.runbook import Branch, BranchCase, Group, Runbook, Step
from recoverctl.model.status import NodeRole

T_co = TypeVar("T_co", covariant=True)


class StepKinds(Protocol[T_co]):
    """A builder's answer for each kind of step body."""

    def sequence(self, step: Step, group: Group) -> T_co: ...

    def parallel(self, step: Step, group: Group) -> T_co: ...

    def branch(self, step: Step, branch: Branch) -> T_co: ...

    def action(self, step: Step) -> T_co: ...


def dispatch(step: Step, kinds: StepKinds[T_co]) -> T_co:
    body = step.body
    if isinstance(body, Group):
        return kinds.parallel(step, body) if body.parallel else kinds.sequence(step, body)
    if isinstance(body, Branch):
        return kinds.branch(step, body)
    return kinds.action(step)


class StepVisitor:
    """No-op hooks: a pass overrides what it needs. `step` is called for every step first."""

    def step(self, step: Step, role: NodeRole) -> None:
        """Every step, before what it holds."""

    def action(self, step: Step, role: NodeRole) -> None: ...

    def group(self, step: Step, group: Group, role: NodeRole) -> None:
        """A sequence or parallel group, before its members."""

    def branch(self, step: Step, branch: Branch, role: NodeRole) -> None:
        """A branch, before its cases."""

    def case(self, step: Step, case: BranchCase, index: int, role: NodeRole) -> None:
        """One case of a branch, before its steps."""

    def rescue(self, step: Step, rescue: tuple[Step, ...]) -> None: ...

    def rollback(self, step: Step, compensation: Step) -> None: ...

    def guard(self, step: Step, check: Step) -> None: ...


def walk(
    steps: tuple[Step, ...],
    visitor: StepVisitor,
    role: NodeRole = NodeRole.MAIN,
    *,
    extras: bool = True,
) -> None:
    """Depth-first in document order: a step, what it holds, then (with `extras`) its rescue,
    rollback and guard steps — the order the compiler numbers them and lint reports them."""
    for step in steps:
        visitor.step(step, role)
        body = step.body
        if isinstance(body, Group):
            visitor.group(step, body, role)
            walk(body.steps, visitor, role, extras=extras)
        elif isinstance(body, Branch):
            visitor.branch(step, body, role)
            for index, case in enumerate(body.cases):
                visitor.case(step, case, index, role)
                walk(case.steps, visitor, role, extras=extras)
        else:
            visitor.action(step, role)
        if not extras:
            continue
        if step.rescue:
            visitor.rescue(step, step.rescue)
            walk(step.rescue, visitor, NodeRole.RESCUE)
        if step.rollback is not None:
            visitor.rollback(step, step.rollback)
            walk((step.rollback,), visitor, NodeRole.ROLLBACK)
        if isinstance(step.skip_if, Step):
            visitor.guard(step, step.skip_if)
            walk((step.skip_if,), visitor, NodeRole.GUARD)


class _Collect(StepVisitor):
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def step(self, step: Step, role: NodeRole) -> None:
        self.steps.append(step)


def steps_in(steps: tuple[Step, ...], *, extras: bool = True) -> Iterator[Step]:
    """The steps `walk` visits, in its order (`extras=False`: not rescue, rollback or guards)."""
    collect = _Collect()
    walk(steps, collect, extras=extras)
    return iter(collect.steps)


def all_steps(runbook: Runbook) -> Iterator[Step]:
    """Every step: nested ones, `finally`, rescue, rollback and guard steps included."""
    yield from steps_in(runbook.steps)
    yield from steps_in(runbook.finally_steps)


def body_steps(runbook: Runbook) -> Iterator[Step]:
    """The steps of the body and `finally`, nested ones included (no rescue, rollback, guards)."""
    yield from steps_in(runbook.steps, extras=False)
    yield from steps_in(runbook.finally_steps, extras=False)
