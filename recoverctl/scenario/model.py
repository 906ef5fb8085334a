"""Scenario files as values: what each scenario mocks and what it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.model.source import Span


@dataclass(frozen=True, slots=True)
class Outcome:
    """One mocked attempt."""

    ok: bool = True
    exit_code: int | None = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, Any] | None = None
    timed_out: bool = False
    delay: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    status: str | None = None
    exit_code: int | None = None
    ran: tuple[str, ...] = ()
    not_run: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    rolled_back: tuple[str, ...] | None = None
    branches: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    finally_ran: tuple[str, ...] = ()
    max_duration: float | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    span: Span
    params: dict[str, Any]
    outcomes: dict[str, tuple[Outcome, ...]]
    force: dict[str, str]
    expect: Expectation


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    path: Path
    runbook: Path
    scenarios: tuple[Scenario, ...]
