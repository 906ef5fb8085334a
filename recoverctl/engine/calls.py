"""`call:` — a sub-runbook run by a child engine inside the caller's run.

The child shares the caller's bus, clock, executor, locks and concurrency;
its events carry ids prefixed with the call step (`reindex/analyze`), so the
view nests them and the caller's rollback undoes them too. The child keeps
its own state and context: inside, `steps.x` and `params.y` mean the callee's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recoverctl.engine.events import StepStarted
from recoverctl.errors import RecoverctlError
from recoverctl.expr.render import RenderError, render
from recoverctl.model.runbook import CallAction, Step

if TYPE_CHECKING:
    from recoverctl.engine.runner import Engine


async def run_call(engine: Engine, step: Step) -> None:
    from recoverctl.engine.runner import RunAborted, RunOptions
    from recoverctl.validate.params import resolve_params

    assert isinstance(step.body, CallAction)  # noqa: S101 - dispatched on kind
    started = engine.clock.monotonic()
    node = engine.plan.nodes.get(step.id)
    callee = node.callee if node is not None else None
    if callee is None:
        await engine.fail_step(
            step, f"called runbook '{step.body.runbook.source}' is not available", started
        )
        return
    try:
        given = {name: render(text.source, engine.context()) for name, text in step.body.params}
        params = resolve_params(callee.runbook, given, engine.options.environ)
    except RenderError as exc:
        await engine.fail_step(step, f"call params: {exc}", started)
        return
    except RecoverctlError as exc:
        problems = "; ".join(d.message for d in exc.diagnostics) or exc.message
        await engine.fail_step(step, f"call of '{callee.runbook.name}': {problems}", started)
        return
    engine.emit(StepStarted(step_id=step.id, attempt=1, action=f"call {callee.runbook.name}"))
    options = RunOptions(
        run_id=engine.options.run_id,
        params=params.values,
        secrets=[*engine.options.secrets, *params.secret_values()],
        environ=engine.options.environ,
        dry_run=engine.options.dry_run,
        forced_branches=engine.options.forced_branches,
    )
    child = engine.child(callee, options, prefix=f"{step.id}/")
    try:
        await child.run_steps()
    except RunAborted as aborted:
        await engine.fail_step(
            step, f"sub-runbook '{callee.runbook.name}' failed: {aborted.error}", started
        )
        return
    outputs = {
        sid: dict(state.outputs) for sid, state in child.state.steps.items() if state.outputs
    }
    engine.finish_call(step, started, outputs)
