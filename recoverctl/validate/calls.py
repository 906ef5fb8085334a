"""`call:` steps: the called file exists, validates, takes those params, no cycles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from recoverctl.model.runbook import CallAction, Runbook
from recoverctl.model.source import Diagnostic, Span
from recoverctl.model.walk import all_steps
from recoverctl.validate.checked import Checked
from recoverctl.validate.suggest import did_you_mean

Validate = Callable[[Path, tuple[Path, ...]], Checked]


def check_calls(
    runbook: Runbook, stack: tuple[Path, ...], validate: Validate
) -> tuple[list[Diagnostic], dict[Path, Runbook]]:
    """Diagnostics for every `call:` in `runbook`, and the runbooks it calls."""
    out: list[Diagnostic] = []
    callees: dict[Path, Runbook] = {}
    here = runbook.path.resolve()
    for step in all_steps(runbook):
        if not isinstance(step.body, CallAction):
            continue
        call = step.body
        span = call.runbook.span
        target = call.path.resolve()
        if target == here or target in stack:
            chain = " → ".join(p.name for p in (*stack, here, target))
            out.append(
                _error(
                    runbook,
                    span,
                    f"call cycle: {chain}; expected runbooks that do not call themselves",
                    hint="a sub-runbook must not call back into its callers",
                )
            )
            continue
        if len(stack) >= MAX_CALL_DEPTH:
            out.append(
                _error(
                    runbook,
                    span,
                    f"calls nest {len(stack) + 1} runbooks deep here; the limit is {MAX_CALL_DEPTH}",
                    hint="flatten the chain: call the runbooks that do the work directly",
                )
            )
            continue
        if not target.is_file():
            out.append(
                _error(
                    runbook,
                    span,
                    f"called runbook '{call.runbook.source}' not found (looked for {call.path})",
                    hint="paths in call: are relative to the calling file's folder",
                )
            )
            continue
        checked = validate(call.path, (*stack, here))
        callees.update(checked.callees)
        if checked.runbook is None:
            count = sum(1 for d in checked.diagnostics if d.severity.value == "error")
            out.append(
                _error(
                    runbook,
                    span,
                    f"called runbook '{call.runbook.source}' is invalid "
                    f"({count} problem{'s' if count != 1 else ''}, listed under its own path)",
                )
            )
            out.extend(checked.diagnostics)
            continue
        callees[target] = checked.runbook
        out.extend(_param_problems(runbook, step.id, call, checked.runbook))
        size = expanded_steps(checked.runbook, callees)
        if size > MAX_EXPANDED_STEPS:
            out.append(
                _error(
                    runbook,
                    span,
                    f"calling '{call.runbook.source}' runs {size:,} steps (every call runs the "
                    f"whole callee, and its calls theirs); the limit is {MAX_EXPANDED_STEPS:,}",
                    hint="a runbook called from several places multiplies: call it once",
                )
            )
    return out, callees


MAX_CALL_DEPTH = 32
"""How deep `call:` may nest (docs/format.md)."""
MAX_EXPANDED_STEPS = 100_000
"""How many steps one run may reach through its calls: a diamond of 22 files is 4 million."""


def expanded_steps(
    runbook: Runbook, callees: dict[Path, Runbook], memo: dict[Path, int] | None = None
) -> int:
    """Steps a run of `runbook` can reach, each call counted as the whole callee."""
    memo = {} if memo is None else memo
    key = runbook.path.resolve()
    if key in memo:
        return memo[key]
    memo[key] = 0  # a cycle is reported elsewhere; do not loop on it here
    total = 0
    for step in all_steps(runbook):
        if isinstance(step.body, CallAction):
            callee = callees.get(step.body.path.resolve())
            total += 1 + (expanded_steps(callee, callees, memo) if callee else 0)
        else:
            total += 1
        if total > MAX_EXPANDED_STEPS:
            break
    memo[key] = total
    return total


def _param_problems(
    caller: Runbook, step_id: str, call: CallAction, callee: Runbook
) -> list[Diagnostic]:
    out = []
    declared = {p.name: p for p in callee.params}
    given = {name for name, _ in call.params}
    for name, value in call.params:
        if name not in declared:
            out.append(
                _error(
                    caller,
                    value.span,
                    f"'{callee.name}' has no param '{name}'; it declares: {', '.join(sorted(declared)) or 'none'}",
                    hint=did_you_mean(name, declared),
                )
            )
    for param in callee.params:
        if param.required and param.name not in given and param.env is None:
            out.append(
                _error(
                    caller,
                    call.runbook.span,
                    f"step '{step_id}' calls '{callee.name}' without its required param '{param.name}'",
                    hint=f"add it: params: {{{param.name}: ...}}",
                )
            )
    return out


def _error(runbook: Runbook, span: Span, message: str, *, hint: str | None = None) -> Diagnostic:
    return Diagnostic(runbook.path, span, message, "semantic", hint=hint)
