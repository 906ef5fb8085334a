"""What each step kind can do, where the engine, the builder and resume must agree.

Kept as small named sets (not scattered `kind == "…"` checks) so the answer
to "is this kind retried by default?" lives in one place.
"""

from __future__ import annotations

RETRIED_BY_DEFAULT = frozenset({"run", "http"})
"""Kinds `defaults.retry` applies to: actions whose failure a second try can fix.

Not approvals (an operator's answer is final), not `log`, `assert` or `sleep`
(the same input gives the same result), not `wait_for` (it polls on its own)
and not `call` (the called runbook retries its own steps)."""

NEVER_RETRIED = frozenset({"approval"})
"""Kinds that refuse `retry:` even when written on the step."""

SAFE_TO_REPEAT = frozenset({"sleep", "wait_for", "assert", "approval", "log"})
"""Kinds resume may run again when they were in flight: they change nothing (an
approval in flight is simply asked again)."""

OWN_TIMEOUT = frozenset({"approval", "wait_for"})
"""Kinds that apply their bound themselves: an approval's timeout is its default
answer; a wait's bound ends it with the last value it read."""
