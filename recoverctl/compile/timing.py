"""Worst-case durations: what a step can cost when everything goes wrong slowly.

The bound follows the engine's own policy, so it is the real worst case of a
run and not a guess: every attempt runs to its timeout, every backoff waits
its longest, guards and rescue handlers run too, a branch takes its slowest
case, and a parallel group is list-scheduled on its slots in order, the way
the scheduler starts them.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from recoverctl.model.runbook import Step


def attempt_bound(step: Step, call_worst: float | None = None) -> float:
    """Longest one attempt of an action step can take (inf when nothing bounds it):
    the step's timeout, or the action's own bound when shorter (a call: its plan's)."""
    limit = step.timeout if step.timeout is not None else math.inf
    intrinsic = call_worst if call_worst is not None else step.body.bound()  # type: ignore[union-attr]
    return min(limit, intrinsic)


def with_retries(step: Step, attempt: float) -> float:
    """All attempts at their longest plus the longest backoff waits between them."""
    if attempt == 0:
        return 0.0
    return attempt * step.retry.attempts + step.retry.total_wait()


def schedule(durations: Sequence[float], slots: int) -> tuple[float, int]:
    """Makespan of starting `durations` in order on `slots` workers, and the last finisher."""
    if not durations:
        return 0.0, -1
    free = [(0.0, slot) for slot in range(max(1, slots))]
    heapq.heapify(free)
    makespan, last = 0.0, 0
    for index, duration in enumerate(durations):
        start, slot = heapq.heappop(free)
        finish = start + duration
        if finish >= makespan:
            makespan, last = finish, index
        heapq.heappush(free, (finish, slot))
    return makespan, last
