"""Runs scenarios: the real scheduler, the simulated executor, virtual time; then compares.

A scenario's result is the list of differences between what it expected and
what the run did, plus the path the run took, so a failure reads as a diff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from recoverctl.actions.base import AttemptResult
from recoverctl.compile import Plan
from recoverctl.compile.binding import bind_durations
from recoverctl.engine.bus import EventBus
from recoverctl.engine.events import Event, StepRolledBack
from recoverctl.engine.executor import SimulatedExecutor
from recoverctl.engine.runner import Engine, RunOptions
from recoverctl.engine.services import ApproveAll
from recoverctl.engine.state import RunState
from recoverctl.engine.virtual_time import VirtualClock, run_virtual
from recoverctl.errors import RecoverctlError
from recoverctl.model.duration import format_duration
from recoverctl.model.fanout import is_generated
from recoverctl.model.status import StepStatus
from recoverctl.scenario.model import Expectation, Outcome, Scenario
from recoverctl.validate.params import resolve_params

EXECUTED = frozenset(
    {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.TIMED_OUT,
        StepStatus.ROLLED_BACK,
        StepStatus.CANCELLED,
    }
)


@dataclass(slots=True)
class ScenarioResult:
    scenario: Scenario
    state: RunState
    events: list[Event]
    exit_code: int
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.differences


def run_scenario(plan: Plan, scenario: Scenario) -> ScenarioResult:
    started = time.perf_counter()
    try:
        params = resolve_params(plan.runbook, scenario.params, {})
        plan = bind_durations(plan, params.values)
    except RecoverctlError as exc:
        problems = "; ".join(d.message for d in exc.diagnostics) or exc.message
        return ScenarioResult(scenario, RunState(), [], 2, [f"params: {problems}"])
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append, "scenario")
    outcomes = scripted_outcomes(scenario)
    engine = Engine(
        plan,
        RunOptions(
            run_id="scenario",
            params=params.values,
            secrets=params.secret_values(),
            environ={},
            dry_run=True,
            seed=0,
            forced_branches=dict(scenario.force),
        ),
        bus=bus,
        executor=SimulatedExecutor(outcomes, evaluate_asserts=True),
        clock=VirtualClock(),
        approver=ApproveAll("scenario"),
    )
    code = run_virtual(engine.run())
    result = ScenarioResult(
        scenario, engine.state, events, code, seconds=time.perf_counter() - started
    )
    result.differences = compare(scenario.expect, result)
    return result


def scripted_outcomes(scenario: Scenario) -> dict[str, list[AttemptResult]]:
    """The scenario's outcomes, as the simulated executor plays them (also `run --dry-run
    --scenario`)."""
    return {sid: [_result(o) for o in items] for sid, items in scenario.outcomes.items()}


def _result(outcome: Outcome) -> AttemptResult:
    data: dict[str, Any] = {"delay": outcome.delay}
    if outcome.timed_out:
        data["hang"] = True
    return AttemptResult(
        ok=outcome.ok,
        exit_code=outcome.exit_code,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        error=outcome.error,
        data=data,
        outputs=outcome.outputs,
    )


def rolled_back_order(events: list[Event]) -> list[str]:
    return [e.step_id for e in events if isinstance(e, StepRolledBack) and e.ok]


def compare(expect: Expectation, result: ScenarioResult) -> list[str]:  # noqa: PLR0912 - one check per key
    state = result.state
    out: list[str] = []

    def status(step_id: str) -> str:
        step = state.steps.get(step_id)
        return step.status if step is not None else "not run"

    if expect.status is not None and state.status != expect.status:
        out.append(f"run status: expected {expect.status}, got {state.status}")
    if expect.exit_code is not None and result.exit_code != expect.exit_code:
        out.append(f"exit code: expected {expect.exit_code}, got {result.exit_code}")
    for step_id in expect.ran:
        if (
            not (state.steps.get(step_id) and state.steps[step_id].attempts)
            and status(step_id) not in EXECUTED
        ):
            out.append(f"{step_id}: expected it to run, it is {status(step_id)}")
    for step_id in expect.not_run:
        step = state.steps.get(step_id)
        if step is not None and step.attempts:
            out.append(f"{step_id}: expected it not to run, it ran ({step.status})")
    for step_id in expect.skipped:
        if status(step_id) != StepStatus.SKIPPED:
            out.append(f"{step_id}: expected skipped, got {status(step_id)}")
    if expect.rolled_back is not None:
        actual = rolled_back_order(result.events)
        if list(expect.rolled_back) != actual:
            out.append(
                f"rolled back: expected {list(expect.rolled_back) or 'nothing'}, got {actual or 'nothing'}"
            )
    decisions = {
        d.step_id: (d.label if d.case_index is not None else "no case") for d in state.decisions
    }
    for step_id, label in expect.branches.items():
        if decisions.get(step_id) != label:
            out.append(
                f"branch {step_id}: expected {label!r}, got {decisions.get(step_id, 'not decided')!r}"
            )
    for step_id, count in expect.attempts.items():
        actual_attempts = state.steps[step_id].attempts if step_id in state.steps else 0
        if actual_attempts != count:
            out.append(f"{step_id}: expected {count} attempt(s), got {actual_attempts}")
    for step_id, wanted in expect.statuses.items():
        if status(step_id) != wanted:
            out.append(f"{step_id}: expected {wanted}, got {status(step_id)}")
    for step_id in expect.finally_ran:
        if status(step_id) not in EXECUTED:
            out.append(f"finally {step_id}: expected it to run, it is {status(step_id)}")
    duration = state.duration or 0.0
    if expect.max_duration is not None and duration > expect.max_duration:
        out.append(
            f"simulated duration {format_duration(duration)} exceeds {format_duration(expect.max_duration)}"
        )
    return out


def describe_path(result: ScenarioResult) -> list[str]:
    """What the run did, one line each: the 'got' side of a failing scenario's diff."""
    state = result.state
    lines = [
        f"status {state.status} (exit {result.exit_code}) after {format_duration(state.duration or 0)} simulated"
    ]
    lines += [f"branch {d.step_id} → {d.label or 'no case'}" for d in state.decisions]
    for step_id, step in state.steps.items():
        if is_generated(step_id) or step.status == StepStatus.PENDING:
            continue
        attempts = f" after {step.attempts} attempts" if step.attempts > 1 else ""
        lines.append(f"{step_id}: {step.status}{attempts}")
    undone = rolled_back_order(result.events)
    if undone:
        lines.append("rolled back: " + " → ".join(undone))
    return lines
