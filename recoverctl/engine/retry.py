"""Retries through tenacity, with our RetryPolicy deciding the numbers.

tenacity runs the loop (stop, wait, before-sleep hook, injected sleep); the
waits come from `RetryPolicy.wait_before_retry`, the same function the
compiler's worst case uses, so the plan's bound and the run agree. A step
with a single attempt does not need the loop, so tenacity is imported only
when a run first retries something (start-up is part of every run's cost).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from recoverctl.actions.base import AttemptResult
from recoverctl.model.runbook import RetryPolicy, Step

if TYPE_CHECKING:
    from tenacity import RetryCallState


def policy_wait(policy: RetryPolicy, rng: random.Random | None = None) -> Callable[..., float]:
    """The wait before retry n: the policy's bound, scaled into [½, 1] with jitter."""
    chance = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def wait(retry_state: RetryCallState) -> float:
        seconds = policy.wait_before_retry(retry_state.attempt_number)
        if policy.jitter:
            seconds *= chance.uniform(0.5, 1.0)
        return seconds

    return wait


def effective_attempts(step: Step) -> int:
    """A step marked `idempotent: false` is retried only when its own retry says so."""
    if step.idempotent is False and not step.retry.explicit:
        return 1
    return step.retry.attempts


async def with_retries(
    step: Step,
    attempt: Callable[[int], Awaitable[AttemptResult]],
    *,
    sleep: Callable[[float], Awaitable[None]],
    retryable: Callable[[AttemptResult], bool],
    on_retry: Callable[[int, float], object],
    rng: random.Random | None = None,
) -> AttemptResult:
    """Run `attempt(n)` until it succeeds, is not retryable, or attempts run out."""
    attempts = effective_attempts(step)
    if attempts <= 1:
        return await attempt(1)
    from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt

    counter = 0

    async def one() -> AttemptResult:
        nonlocal counter
        counter += 1
        return await attempt(counter)

    def before_sleep(state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        on_retry(state.attempt_number + 1, delay)

    def last_result(state: RetryCallState) -> AttemptResult:
        assert state.outcome is not None  # noqa: S101 - tenacity always sets it here
        result: AttemptResult = state.outcome.result()
        return result

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=policy_wait(step.retry, rng),
        retry=retry_if_result(lambda r: not r.ok and retryable(r)),
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=last_result,
    )
    result: AttemptResult = await retrying(one)
    return result
