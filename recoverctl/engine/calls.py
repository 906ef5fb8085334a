"""`call:` — a sub-runbook run by a child engine inside the caller's run.

The child shares the caller's bus, clock, executor, locks and concurrency;
its events carry ids prefixed with the call step (`reindex/analyze`), so the
view nests them and the caller's rollback undoes them too. The child keeps
its own state and context: inside, `steps.x` and `params.y` mean the callee's.
"""

from __future__ import annotations

from typing import Any, Protocol

from recoverctl.compile.binding import bind_durations
from recoverctl.compile.plan import Plan
from recoverctl.engine.attempts import Attempts
from recoverctl.engine.events import StepStarted
from recoverctl.engine.failure import FailurePolicy
from recoverctl.engine.services import RunAborted, RunOptions, Services
from recoverctl.engine.state import RunState
from recoverctl.errors import RecoverctlError
from recoverctl.expr.render import RenderError, render
from recoverctl.model.runbook import CallAction, Step
from recoverctl.model.status import StepStatus
from recoverctl.validate.params import resolve_params


class ChildRun(Protocol):
    state: RunState

    async def run_steps(self) -> None:
        """The sub-runbook's steps, then its finally steps."""


class CallHost(Services, Protocol):
    def child(self, plan: Plan, options: RunOptions, prefix: str) -> ChildRun: ...

    def raw_values(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The unredacted values of the steps under `prefix`, by their ids there."""


async def run_call(host: CallHost, step: Step, policy: FailurePolicy, attempts: Attempts) -> None:
    assert isinstance(step.body, CallAction)  # noqa: S101 - dispatched on kind
    started = host.clock.monotonic()

    async def fail(error: str) -> None:
        await policy.fail(step, error, 1, host.clock.monotonic() - started)

    node = host.plan.nodes.get(step.id)
    callee = node.callee if node is not None else None
    if callee is None:
        await fail(f"called runbook '{step.body.runbook.source}' is not available")
        return
    try:
        options = call_options(host, step, callee, resumed=host.resuming and not host.in_finally)
        callee = bind_durations(callee, options.params)
    except RenderError as exc:
        await fail(f"call params: {exc}")
        return
    except RecoverctlError as exc:
        problems = "; ".join(d.message for d in exc.diagnostics) or exc.message
        await fail(f"call of '{callee.runbook.name}': {problems}")
        return
    host.emit(StepStarted(step_id=step.id, attempt=1, action=f"call {callee.runbook.name}"))
    prefix = f"{step.id}/"
    child = host.child(callee, options, prefix=prefix)
    try:
        await child.run_steps()
    except RunAborted as aborted:
        await fail(f"sub-runbook '{callee.runbook.name}' failed: {aborted.error}")
        return
    outputs = {
        sid: dict(state.outputs) for sid, state in child.state.steps.items() if state.outputs
    }
    duration = host.clock.monotonic() - started
    attempts.finish(step, StepStatus.SUCCEEDED, 1, duration, None, outputs)


def call_options(host: CallHost, step: Step, callee: Plan, *, resumed: bool) -> RunOptions:
    """How the sub-runbook of call step `step` runs: its params rendered in the caller's
    context and checked; `resumed`: it continues from what it had done (its own ids).
    Raises RenderError or RecoverctlError for params that do not render or do not fit."""
    assert isinstance(step.body, CallAction)  # noqa: S101 - a call step
    given = {name: render(text.source, host.context()) for name, text in step.body.params}
    params = resolve_params(callee.runbook, given, host.options.environ)
    prefix = f"{step.id}/"
    return RunOptions(
        run_id=host.options.run_id,
        params=params.values,
        secrets=[*host.options.secrets, *params.secret_values()],
        environ=host.options.environ,
        dry_run=host.options.dry_run,
        forced_branches=host.options.forced_branches,
        prior=host.state.scoped(prefix) if resumed else None,
        prior_raw=host.raw_values(prefix) if resumed else {},
    )
