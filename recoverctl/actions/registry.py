"""Step kind → the async function that carries out one attempt.

An explicit table, not an if/elif chain: adding a kind is adding a row (and
its schema entry and builder). `call` is not here: running a sub-runbook is
the engine's own business.
"""

from __future__ import annotations

from recoverctl.actions.approval import approval
from recoverctl.actions.base import Handler
from recoverctl.actions.http import http
from recoverctl.actions.run import run
from recoverctl.actions.simple import assert_, log, sleep
from recoverctl.actions.wait_for import wait_for
from recoverctl.model.kinds import OWN_TIMEOUT

HANDLERS: dict[str, Handler] = {
    "run": run,
    "http": http,
    "wait_for": wait_for,
    "sleep": sleep,
    "approval": approval,
    "log": log,
    "assert": assert_,
}

__all__ = ["HANDLERS", "OWN_TIMEOUT"]
