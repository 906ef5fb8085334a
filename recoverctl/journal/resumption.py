"""Resume policy: what a stopped run may do next, decided from its journal and the plan.

`recoverctl resume` asks these questions before anything runs: may this run be
resumed at all, which steps the operator's `--skip/--mark-done/--from` touch,
which steps were in flight when it stopped, and which of those could do their
work twice if run again. They are pure functions of the plan and the replayed
state (unit-tested against golden journals); the command only asks the operator
and wires the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from recoverctl.compile.plan import Plan, PlanNode
from recoverctl.engine.state import RunState
from recoverctl.errors import RecoverctlError
from recoverctl.model.kinds import SAFE_TO_REPEAT
from recoverctl.model.status import NodeRole, RunStatus, StepStatus


@dataclass(frozen=True, slots=True)
class Resumption:
    """What resuming a run would do."""

    overrides: list[tuple[str, str]]
    """(step, action) pairs to journal before the run goes on."""
    in_flight: list[str]
    """Actions that were running when the run stopped: they run again."""
    unsafe: list[str]
    """Those of `in_flight` that could do their work twice (not idempotent)."""
    rolling_back: bool
    """The run stopped in (or right after) its rollback: resuming finishes undoing."""


def plan_resumption(
    run_id: str,
    plan: Plan,
    state: RunState,
    *,
    skip: list[str],
    done: list[str],
    from_step: str | None,
) -> Resumption:
    """Check that `state` can be resumed with these overrides, and say what would run."""
    refuse_unresumable(run_id, state, from_step)
    overrides = overrides_for(plan, state, skip, done, from_step)
    overridden = {step_id for step_id, _ in overrides}
    in_flight = [
        sid
        for sid, step in state.steps.items()
        if step.status in (StepStatus.RUNNING, StepStatus.RETRYING)
        and is_action(plan, sid)
        and sid not in overridden
    ]
    unsafe = [sid for sid in in_flight if not safe_to_repeat(_node(plan, sid))]
    # killed after its rollback ended but before the run's end was recorded: the run's
    # outcome was decided — finish it (finally, the end), never do the work again
    undone = state.rollback_ok is not None and state.status == RunStatus.RUNNING
    return Resumption(overrides, in_flight, unsafe, state.rolling_back or undone)


def refuse_unresumable(run_id: str, state: RunState, from_step: str | None) -> None:
    """A succeeded run has nothing to resume; an undone one would redo undone work."""
    if state.status == RunStatus.SUCCEEDED:
        raise RecoverctlError(message=f"run {run_id} already succeeded; there is nothing to resume")
    if state.status in (RunStatus.ROLLED_BACK, RunStatus.ROLLBACK_FAILED) and from_step is None:
        raise RecoverctlError(
            message=f"run {run_id} ended {state.status}: its work was undone, so there is "
            "nothing to continue; resuming would redo undone steps",
            hint=f"`recoverctl rollback {run_id}` retries compensations that failed; "
            "start a new run, or `resume --from STEP` to redo from a step",
        )


def overrides_for(
    plan: Plan, state: RunState, skip: list[str], done: list[str], from_step: str | None
) -> list[tuple[str, str]]:
    """The overrides to journal: each named step checked; `--from` resets what follows it
    and reopens the groups around it."""
    from recoverctl.validate.suggest import did_you_mean

    for step_id in [*skip, *done, *([from_step] if from_step else [])]:
        if plan.resolve(step_id) is None or (step_id == from_step and step_id not in plan.nodes):
            raise RecoverctlError(
                message=f"no step '{step_id}' in {plan.runbook.name}",
                hint=did_you_mean(step_id, plan.nodes),
            )
    out = [(sid, "skip") for sid in skip] + [(sid, "mark_done") for sid in done]
    if from_step:
        order = [node.id for node in plan.walk()]
        out.append((from_step, "from"))
        out += [(sid, "reset") for sid in order[order.index(from_step) + 1 :] if sid in state.steps]
        out += [(sid, "reset") for sid in enclosing(plan, from_step) if sid in state.steps]
    return out


def enclosing(plan: Plan, step_id: str) -> list[str]:
    """The groups and branches around `step_id`, innermost first."""
    chain = []
    parent = plan.nodes[step_id].parent
    while parent is not None:
        chain.append(parent)
        parent = plan.nodes[parent].parent
    return chain


def safe_to_repeat(node: PlanNode) -> bool:
    """Polls, sleeps, asserts and approvals change nothing; idempotent steps say so; and a
    compensation is written to run twice (the README's contract for rollbacks)."""
    step = node.step
    return step.idempotent is True or step.kind in SAFE_TO_REPEAT or node.role is NodeRole.ROLLBACK


def is_action(plan: Plan, step_id: str) -> bool:
    """Also a fan-out's item (`restart[db-2]`) and the steps inside one."""
    node = plan.resolve(step_id)
    return node is not None and node.step.is_action


def _node(plan: Plan, step_id: str) -> PlanNode:
    node = plan.resolve(step_id)
    assert node is not None  # noqa: S101 - is_action found it
    return node
