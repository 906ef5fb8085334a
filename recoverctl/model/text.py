"""Positioned strings from the runbook: templates (`{{ ... }}`) and conditions."""

from __future__ import annotations

from dataclasses import dataclass

from recoverctl.model.source import Span


@dataclass(frozen=True, slots=True)
class Text:
    """A string from the runbook that may hold `{{ templates }}`, with its position."""

    source: str
    span: Span

    def __str__(self) -> str:
        return self.source


@dataclass(frozen=True, slots=True)
class Expression:
    """A condition (no braces), e.g. `steps.check.ok and params.force`."""

    source: str
    span: Span

    def __str__(self) -> str:
        return self.source
