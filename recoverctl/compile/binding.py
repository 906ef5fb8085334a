"""Binding a plan to a run's params: durations written as `{{ params.X }}`.

A duration is part of the plan — timeouts bound the worst case, the RTO check
reads them, the engine arms its timers from them — so a run does not resolve
it while running: when its params are bound, the plan is built again from the
same text with those values (validate/durations.py says what a reference is).
A plan without such durations, or bound to the values it was built with, is
returned as it is: nothing is built twice for the common case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.validate.durations import bound_values


def bind_durations(plan: Plan, values: Mapping[str, Any]) -> Plan:
    """`plan` with its durations read from `values` (a run's bound params).

    Raises RecoverctlError at the duration's place when a value is not one."""
    bound = bound_values(plan.runbook, values)
    if bound is None:
        return plan
    from recoverctl.compile.compiler import compile_plan
    from recoverctl.validate.pipeline import require_valid

    checked = require_valid(plan.runbook.path, bound=bound, text=plan.runbook.text)
    return compile_plan(checked.model, checked.callees)
