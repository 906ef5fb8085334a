"""The idempotency key a command gets (RECOVERCTL_IDEMPOTENCY_KEY): one definition for the
engine and for an exported machine's runner, so both give a step the same key."""

from __future__ import annotations

import hashlib


def idempotency_key(run_id: str, full_id: str) -> str:
    """Stable across retries and resume: the first 32 hex digits of the SHA-256 of
    `<run id>/<the step's full id>` (two items of a fan-out, two calls: two keys)."""
    return hashlib.sha256(f"{run_id}/{full_id}".encode()).hexdigest()[:32]
