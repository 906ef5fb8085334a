"""Secrets never leave the process: every text bound for an event passes here.

A secret does not only appear as itself. recoverctl shell-quotes it into
commands, JSON-escapes it into bodies and URL-encodes it into query strings,
and libraries quote it back in their error messages (`repr` escapes a pasted
trailing `\\r`). Every one of those forms is masked, longest first, so no
spelling of a secret survives in a journal, a view or a report.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from recoverctl.model.masking import MASK


def secret_forms(secret: str) -> set[str]:
    """The spellings of `secret` that recoverctl itself or a library's error text produces."""
    forms: set[str] = set()
    for base in {secret, secret.strip()}:  # a pasted token is often trimmed before use
        forms |= {
            base,
            repr(base)[1:-1],  # Python's escaping, as in httpx's "Invalid header value b'…\\r'"
            json.dumps(base)[1:-1],
            json.dumps(base, ensure_ascii=False)[1:-1],
            shlex.quote(base),
            quote(base, safe=""),
            quote(base),
            quote_plus(base, safe=""),
        }
        if "'" in base:
            # shlex.quote splits a quote into '"'"': the pieces between appear on their own too
            forms.update(piece for piece in base.split("'") if len(piece) >= 4)
    return {form for form in forms if form}


class Redactor:
    """Replaces every occurrence of any secret value, in any of its forms, with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self._compile(secrets)

    def _compile(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}))
        forms: set[str] = set()
        for secret in self.secrets:
            forms |= secret_forms(secret)
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def add(self, secret: str) -> None:
        """A value that became secret during the run (an output declared `secret: true`):
        masked from now on, in this run's every later event."""
        if secret and secret not in self.secrets:
            self._compile([*self.secrets, secret])

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(MASK, value)

    def contains_secret(self, value: str) -> bool:
        return self._pattern is not None and self._pattern.search(value) is not None

    def value(self, value: Any) -> Any:
        """Redact inside any JSON-like value."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def extended(self, secrets: Iterable[str]) -> Redactor:
        """This redactor plus more secrets (a sub-runbook's own)."""
        return Redactor([*self.secrets, *secrets])
