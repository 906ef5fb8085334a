"""The status vocabulary: one typed list of what a step and a run can be.

The journal, events and reports keep writing the same strings (a `StrEnum` member
is its string), so the format does not change; what changes is that views, reports
and the event schema are checked against these lists (tests/model/test_status.py),
so a new status cannot be missing from a table or a schema.
"""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    """Waiting between two attempts."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    UNCHANGED = "unchanged"
    """Its idempotency guard said the work was already done."""
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"


FINAL_STEP_STATUSES = frozenset(
    {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.TIMED_OUT,
        StepStatus.SKIPPED,
        StepStatus.UNCHANGED,
        StepStatus.CANCELLED,
        StepStatus.ROLLED_BACK,
    }
)
OK_STEP_STATUSES = frozenset({StepStatus.SUCCEEDED, StepStatus.UNCHANGED})


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    """Failed, and every completed step was undone."""
    ROLLBACK_FAILED = "rollback_failed"
    INTERRUPTED = "interrupted"
    BLOCKED = "blocked"
    """Stopped at an approval gate nobody could answer."""


ENDED_RUN_STATUSES = frozenset(set(RunStatus) - {RunStatus.PENDING, RunStatus.RUNNING})
"""How a run (one session of it) can end: what `run_finished` says."""


class NodeRole(StrEnum):
    """Why a step is in the plan: the body, `finally`, or generated around another step."""

    MAIN = "main"
    FINALLY = "finally"
    RESCUE = "rescue"
    ROLLBACK = "rollback"
    GUARD = "guard"


class LogLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
