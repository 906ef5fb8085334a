"""The start of every command that runs or shows a runbook: validate, compile, resolve params.

An unchanged runbook's compiled plan comes from the plan cache
(recoverctl/compile/cache.py) instead of being validated again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recoverctl.compile.plan import Plan
    from recoverctl.load.alert import Alert
    from recoverctl.validate.params import ResolvedParams


def load_plan(
    runbook: Path,
    assignments: list[str] | None,
    params_file: Path | None,
    *,
    alert: Alert | None = None,
) -> tuple[Plan, ResolvedParams]:
    """The compiled plan and checked params; any problem raises a positioned RecoverctlError."""
    from recoverctl.compile import cache
    from recoverctl.load import stdin
    from recoverctl.validate.params import load_params_file, parse_assignments, resolve_params

    runbook = stdin.named(runbook)
    try:
        raw: bytes | None = stdin.read_bytes() if stdin.is_stdin(runbook) else runbook.read_bytes()
    except OSError:
        raw = None  # require_valid says what is wrong with the path
    plan = cache.load(runbook, raw) if raw is not None else None
    if plan is None:
        from recoverctl.compile import compile_plan
        from recoverctl.validate.pipeline import require_valid

        checked = require_valid(runbook)
        plan = compile_plan(checked.model, checked.callees)
        if raw is not None:
            cache.store(runbook, raw, plan)
    model = plan.runbook
    file_values = load_params_file(params_file) if params_file else None
    params = resolve_params(
        model,
        parse_assignments(assignments or []),
        os.environ,
        file_values=file_values,
        alert=alert,
    )
    from recoverctl.compile.binding import bind_durations

    plan = bind_durations(plan, params.values)
    import gc

    # The plan lives as long as the process: moved out of the collector's sight, it is not
    # traversed again by every collection a run's events trigger (a 10,000-step dry run
    # spent most of its time there, and grew worse than linearly).
    gc.freeze()
    return plan, params
