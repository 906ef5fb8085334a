"""The step kinds, one row each: what a kind is, and what it can do.

Where the engine, the builder, resume, lint and the exporters must agree on a
kind's capabilities, they ask this table — not scattered `kind == "…"` checks.
Adding a kind is a row here, its model value (model/runbook.py, with how it
is described and the templates it holds), its builder (validate/kinds.py),
its handler (actions/registry.py) and its schema entry (tools/gen_schema.py);
tests/model/test_kinds.py fails until every one of those knows the new kind,
and tests/export checks that each exporter translates it or reports it lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from recoverctl.model.runbook import (
    Action,
    ApprovalAction,
    AssertAction,
    CallAction,
    HttpAction,
    LogAction,
    RunAction,
    SleepAction,
    WaitForAction,
)


@dataclass(frozen=True, slots=True)
class KindSpec:
    name: str
    model: type[Action]
    retried_by_default: bool = False
    """`defaults.retry` applies: a failure a second try can fix."""
    never_retried: bool = False
    """`retry:` is refused even when written on the step (an operator's answer is final)."""
    safe_to_repeat: bool = False
    """Resume may run it again when it was in flight: it changes nothing."""
    owns_timeout: bool = False
    """It applies its bound itself (an approval's timeout is its default answer; a wait's
    bound ends it with the last value it read), so the engine does not cancel it."""
    compensable: bool = False
    """It may be a `rollback:` action (not an approval or an assert: an undo must act)."""
    guardable: bool = False
    """It may be a `skip_if` check (a command or a request whose success means done)."""
    run_by_engine: bool = False
    """No action handler: the engine runs it itself (`call` runs a sub-runbook)."""


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        KindSpec("run", RunAction, retried_by_default=True, compensable=True, guardable=True),
        KindSpec("http", HttpAction, retried_by_default=True, compensable=True, guardable=True),
        KindSpec(
            "wait_for", WaitForAction, safe_to_repeat=True, owns_timeout=True, compensable=True
        ),
        KindSpec("sleep", SleepAction, safe_to_repeat=True, compensable=True),
        KindSpec(
            "approval", ApprovalAction, never_retried=True, safe_to_repeat=True, owns_timeout=True
        ),
        KindSpec("log", LogAction, safe_to_repeat=True, compensable=True),
        KindSpec("assert", AssertAction, safe_to_repeat=True),
        KindSpec("call", CallAction, run_by_engine=True, compensable=True),
    )
}
"""Every action kind, in the order the format documents them."""

RETRIED_BY_DEFAULT = frozenset(k for k, spec in KINDS.items() if spec.retried_by_default)
NEVER_RETRIED = frozenset(k for k, spec in KINDS.items() if spec.never_retried)
SAFE_TO_REPEAT = frozenset(k for k, spec in KINDS.items() if spec.safe_to_repeat)
OWN_TIMEOUT = frozenset(k for k, spec in KINDS.items() if spec.owns_timeout)
COMPENSABLE = [k for k, spec in KINDS.items() if spec.compensable]
GUARDABLE = [k for k, spec in KINDS.items() if spec.guardable]
