"""Whether a string needs rendering at all: no Jinja import for the many that do not."""

from __future__ import annotations


def is_template(text: str) -> bool:
    """Whether a string needs rendering at all (most do not: fast path)."""
    return "{{" in text or "{%" in text or "{#" in text
