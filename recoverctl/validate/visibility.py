"""Which steps have finished when a given step runs: the rule behind reference checks.

Each step gets a location: the chain of (container, index) from the root,
where a container is the main list, `finally`, a group's members, a branch
case, or a step's guard, rescue or rollback. Two locations compared at their
first difference tell everything: an earlier sibling in a sequence has
finished; a sibling in a parallel group has not; a step in another case of
the same branch never runs on this path; a body has finished before its
rescue and rollback. One walk builds the table; each question is O(depth).
"""

from __future__ import annotations

from collections.abc import Iterable

from recoverctl.model.runbook import Branch, Group, Runbook, Step

Location = tuple[tuple[str, int], ...]

_PHASE = {"guard": 0, "body": 1, "rescue": 2, "rollback": 3, "main": 0, "finally": 1}
"""Order of a step's containers: guard, then its body, then rescue, then rollback."""


class Visibility:
    """Answers 'has step R finished when step S runs?' for one runbook."""

    def __init__(self, runbook: Runbook) -> None:
        self.locations: dict[str, Location] = {}
        self._sequence(runbook.steps, (), "main")
        self._sequence(runbook.finally_steps, (), "finally")

    def problem(self, ref: str, at: str | None) -> str | None:
        """Why `ref` cannot have finished when `at` runs, or None when it has."""
        if at is None:
            return f"step '{ref}' has not run when the runbook's env is set"
        lr, ls = self.locations.get(ref), self.locations.get(at)
        if lr is None or ls is None:
            return None
        k = 0
        while k < min(len(lr), len(ls)) and lr[k] == ls[k]:
            k += 1
        if k == len(lr):
            if k == len(ls):
                return f"step '{ref}' reads its own result before it has finished"
            if _phase(ls[k][0]) > _PHASE["body"]:
                return None  # its rescue or rollback: the step has finished
            return f"step '{ref}' encloses '{at}' and has not finished when this is evaluated"
        if k == len(ls):
            return f"step '{ref}' runs inside '{at}', after this is evaluated"
        (cr, ir), (cs, is_) = lr[k], ls[k]
        if cr == cs:
            if cr.endswith("|parallel"):
                owner = cr.split("|")[0]
                return (
                    f"step '{ref}' runs at the same time as '{at}' (parallel group "
                    f"'{owner}') and cannot have finished when this is evaluated"
                )
            if ir < is_:
                return None
            return f"step '{ref}' runs after '{at}' and cannot have finished when this is evaluated"
        if _phase(cr) == _phase(cs):
            owner = cr.split("|")[0]
            return f"step '{ref}' is in another case of branch '{owner}' and never runs on the path where '{at}' runs"
        if _phase(cr) < _phase(cs):
            return None
        return f"step '{ref}' runs after '{at}' and cannot have finished when this is evaluated"

    # -- building the table ----------------------------------------------------------

    def _sequence(self, steps: Iterable[Step], prefix: Location, container: str) -> None:
        for index, step in enumerate(steps):
            self._step(step, (*prefix, (container, index)))

    def _step(self, step: Step, location: Location) -> None:
        self.locations.setdefault(step.id, location)
        body = step.body
        if isinstance(body, Group):
            kind = "parallel" if body.parallel else "steps"
            self._sequence(body.steps, location, f"{step.id}|{kind}")
        elif isinstance(body, Branch):
            for number, case in enumerate(body.cases):
                self._sequence(case.steps, location, f"{step.id}|case{number}")
        if isinstance(step.skip_if, Step):
            self._step(step.skip_if, (*location, (f"{step.id}|guard", 0)))
        self._sequence(step.rescue, location, f"{step.id}|rescue")
        if step.rollback is not None:
            self._step(step.rollback, (*location, (f"{step.id}|rollback", 0)))


def _phase(container: str) -> int:
    kind = container.rsplit("|", maxsplit=1)[-1]
    if kind in _PHASE:
        return _PHASE[kind]
    return _PHASE["body"]  # a group's members or a branch case
