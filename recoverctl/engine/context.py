"""The names templates and conditions see at run time.

`steps` is a lazy mapping: a runbook of 10,000 steps must not rebuild a
10,000-entry table for every template it renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from recoverctl.engine.state import RunState


class StepsView(Mapping[str, dict[str, Any]]):
    """`steps.<id>` → that step's results, built on access from state and raw values."""

    def __init__(self, state: RunState, raw: Mapping[str, dict[str, Any]]) -> None:
        self._state, self._raw = state, raw

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        step = self._state.steps.get(step_id)
        if step is None:
            raise KeyError(step_id)
        raw = self._raw.get(step_id, {})
        return {
            "status": step.status,
            "ok": step.ok,
            "exit_code": step.exit_code,
            "stdout": raw.get("stdout", step.stdout),
            "stderr": raw.get("stderr", step.stderr),
            "outputs": raw.get("outputs", step.outputs),
            "attempts": step.attempts,
            "duration": step.duration,
            "error": step.error,
        }

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.steps)

    def __len__(self) -> int:
        return len(self._state.steps)


def build_context(
    *,
    params: Mapping[str, Any],
    state: RunState,
    raw: Mapping[str, dict[str, Any]],
    run_name: str,
    environ: Mapping[str, str],
    failure: Mapping[str, Any] | None = None,
    local: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "params": params,
        "steps": StepsView(state, raw),
        "run": {"id": state.run_id, "name": run_name, "status": state.status},
        "env": environ,
    }
    if failure is not None:
        context["failure"] = failure
    if local:
        context.update(local)
    return context
