"""`call:` — a sub-runbook run by a child engine inside the caller's run.

The child shares the caller's bus, clock, executor, locks and concurrency;
its events carry ids prefixed with the call step (`reindex/analyze`), so the
view nests them and the caller's rollback undoes them too. The child keeps
its own state and context: inside, `steps.x` and `params.y` mean the callee's.
"""

from __future__ import annotations

from typing import Protocol

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
        given = {name: render(text.source, host.context()) for name, text in step.body.params}
        params = resolve_params(callee.runbook, given, host.options.environ)
    except RenderError as exc:
        await fail(f"call params: {exc}")
        return
    except RecoverctlError as exc:
        problems = "; ".join(d.message for d in exc.diagnostics) or exc.message
        await fail(f"call of '{callee.runbook.name}': {problems}")
        return
    host.emit(StepStarted(step_id=step.id, attempt=1, action=f"call {callee.runbook.name}"))
    options = RunOptions(
        run_id=host.options.run_id,
        params=params.values,
        secrets=[*host.options.secrets, *params.secret_values()],
        environ=host.options.environ,
        dry_run=host.options.dry_run,
        forced_branches=host.options.forced_branches,
    )
    child = host.child(callee, options, prefix=f"{step.id}/")
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
