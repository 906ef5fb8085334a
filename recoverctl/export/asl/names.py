"""Names and small values of the ASL export: state names, variables, routes, scopes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recoverctl.export.common import (
    References,
)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a failure goes in the current scope: to roll back, or to stop without."""

    rollback: str
    abort: str


@dataclass(slots=True)
class Scope:
    """The states of the whole machine or of one Parallel branch, and the groups around it."""

    states: dict[str, Any]
    chain: tuple[str, ...]
    refs: References
    timed_out: str | None = None
    """Where a task that hit the run's deadline goes in this scope (the compensations, or a
    branch's stopped-to-roll-back marker); None where no task carries the deadline."""
    group_exits: dict[str, str] = field(default_factory=dict)
    """Group id → where a task that hit that group's deadline goes in this scope (the
    group's failure handling, or a branch's marker that hands it out)."""

    @property
    def failure(self) -> str:
        """The variable this scope's failures are kept in. A Parallel branch is a scope of
        its own, which may read the variables of the scopes around it but not assign them
        (the interpreter stops the execution with States.Runtime): each branch keeps its
        own, handed out in its output, and the state after the Parallel copies it out."""
        if not self.chain:
            return "failure"
        name = "failure_" + "_".join(var(c) for c in self.chain)
        if len(name) > 64:
            import hashlib

            name = "failure_" + hashlib.sha256(name.encode()).hexdigest()[:16]
        return name


@dataclass(slots=True)
class Options:
    resource: str
    function: str
    approval_function: str | None
    secrets: str | None = None


FailTo = Callable[[], str]
"""The state a failure goes to (rescue, onwards, rollback or stop), made only when used."""


def state_name(step_id: str) -> str:
    """A state's name from a step id: generated ids (`x.rollback`) lose the dot, so every
    name keeps to the characters CloudWatch logging accepts (letters, digits, - and _)."""
    return step_id.replace(".", "-")


def var(step_id: str) -> str:
    """A step id as a variable name (`x.rollback` → `x__rollback`)."""
    return step_id.replace(".", "__")


def literal(text: str) -> str:
    """Plain text as an Arguments value; text a single-line JSONata-unaware reader would
    misread (several lines, empty, or starting like an expression) goes in as a JSONata
    string literal, which means exactly the same text."""
    if not text or "\n" in text or "\r" in text or text.startswith("{%"):
        return "{% " + json.dumps(text) + " %}"
    return text


def reachable(states: dict[str, Any], start: str) -> dict[str, Any]:
    """Only the states a run can reach: failure exits are emitted for every step, used by few."""
    order: list[str] = []
    todo = [start]
    while todo:
        name = todo.pop()
        if name in order:
            continue
        order.append(name)
        state = states[name]
        # visited in reading order: the happy path first, failure handling last
        todo += [rule["Next"] for rule in reversed(state.get("Catch", []))]
        todo += [t for t in (state.get("Default"),) if t]
        todo += [rule["Next"] for rule in reversed(state.get("Choices", []))]
        todo += [t for t in (state.get("Next"),) if t]
    return {name: states[name] for name in order}
