"""The names templates and conditions see at run time.

`steps` is a lazy mapping: a runbook of 10,000 steps must not rebuild a
10,000-entry table for every template it renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from recoverctl.engine.state import RunState
from recoverctl.model.runbook import Runbook


class StepsView(Mapping[str, dict[str, Any]]):
    """`steps.<id>` → that step's results, built on access from state and raw values."""

    names_only = True
    """Templates see its names, never its methods (expr/environment.py)."""

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


class ChainedSteps(Mapping[str, dict[str, Any]]):
    """Inside a fan-out item: `steps.x` is the item's own `x` when it has one, else the
    run's (a step before the fan-out)."""

    names_only = True
    """Templates see its names, never its methods (expr/environment.py)."""

    def __init__(self, own: Mapping[str, dict[str, Any]], outer: Mapping[str, Any]) -> None:
        self._own, self._outer = own, outer

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        if step_id in self._own:
            return self._own[step_id]
        return self._outer[step_id]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        yield from self._own
        yield from (sid for sid in self._outer if sid not in self._own)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ParamValues(Mapping[str, Any]):
    """`params.<name>`: an optional param that was given no value is *not set*.

    Reading it is an error that names the param and says how to give it a value
    (`RunUndefined`), never the text `None` in a command or a header;
    `params.x | default('…')` and `params.x is defined` work as in Jinja.
    """

    names_only = True
    """Templates see its names, never its methods (expr/environment.py)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = {k: v for k, v in values.items() if v is not None}
        self.unset = frozenset(k for k, v in values.items() if v is None)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def build_context(
    *,
    params: Mapping[str, Any],
    state: RunState,
    raw: Mapping[str, dict[str, Any]],
    runbook: Runbook,
    environ: Mapping[str, str],
    failure: Mapping[str, Any] | None = None,
    local: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    path = runbook.path.resolve()
    context: dict[str, Any] = {
        "params": params if isinstance(params, ParamValues) else ParamValues(params),
        "steps": StepsView(state, raw),
        "run": {"id": state.run_id, "name": runbook.name, "status": state.status},
        "runbook": {"name": runbook.name, "path": str(path), "dir": str(path.parent)},
        "env": environ,
    }
    if failure is not None:
        context["failure"] = failure
    if local:
        context.update(local)
    return context
