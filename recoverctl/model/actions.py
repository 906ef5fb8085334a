"""The action values: one small frozen value per step kind.

Each says how it is described (`describe`, as written), which templates it holds
(`templates`: where, the text, whether it lands in a shell) and how long one
attempt can take on its own (`bound`), so lint, validation, the compiler and the
exporters ask the value instead of a case per kind.
model/kinds.py lists the kinds and what each may do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from recoverctl.model.text import Expression, Text


@dataclass(frozen=True, slots=True)
class RunAction:
    """A command: `shell` runs `command[0]` through `sh -c`, else `command` is argv."""

    kind: ClassVar[str] = "run"
    command: tuple[Text, ...]
    shell: bool

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return math.inf

    def describe(self) -> str:
        if self.shell:
            return self.command[0].source
        return " ".join(part.source for part in self.command)

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        for part in self.command:
            yield "run", part, self.shell


@dataclass(frozen=True, slots=True)
class HttpExpect:
    statuses: tuple[int, ...] | None = None
    status_range: tuple[int, int] | None = (200, 299)
    body: str | None = None
    json: tuple[tuple[str, Any], ...] = ()

    def accepts(self, status: int) -> bool:
        if self.statuses is not None:
            return status in self.statuses
        low, high = self.status_range or (200, 299)
        return low <= status <= high

    def describe_status(self) -> str:
        if self.statuses is not None:
            return ", ".join(str(s) for s in self.statuses)
        low, high = self.status_range or (200, 299)
        return f"{low}-{high}"


@dataclass(frozen=True, slots=True)
class HttpAction:
    kind: ClassVar[str] = "http"
    url: Text
    method: str = "GET"
    headers: tuple[tuple[str, Text], ...] = ()
    body: Text | None = None
    json: Any = None
    timeout: float | None = None
    verify: bool = True
    follow_redirects: bool = False
    expect: HttpExpect = HttpExpect()
    ca_bundle: Text | None = None
    """A PEM file of the CAs to trust instead of the system's (private PKI)."""
    client_cert: Text | None = None
    """A PEM client certificate (mutual TLS), with `client_key` unless the file holds both."""
    client_key: Text | None = None

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return self.timeout if self.timeout is not None else math.inf

    def describe(self) -> str:
        return f"{self.method} {self.url.source}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        yield "http.url", self.url, False
        for name, tls in (
            ("ca_bundle", self.ca_bundle),
            ("client_cert", self.client_cert),
            ("client_key", self.client_key),
        ):
            if tls is not None:
                yield f"http.{name}", tls, False
        for name, value in self.headers:
            yield f"http.headers.{name}", value, False
        if self.body is not None:
            yield "http.body", self.body, False


@dataclass(frozen=True, slots=True)
class WaitForAction:
    """Poll `check` every `interval` until it succeeds and `until` holds."""

    kind: ClassVar[str] = "wait_for"
    check: RunAction | HttpAction
    interval: float = 2.0
    timeout: float | None = None
    until: Expression | None = None
    fail_if: Expression | None = None
    """Stop waiting at once, failed, when it holds on a poll's result (error rate > 50%)."""
    consecutive: int = 1
    """How many polls in a row must succeed (and hold `until`) before the wait is over."""

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return self.timeout if self.timeout is not None else math.inf

    def describe(self) -> str:
        from recoverctl.model.duration import format_duration

        return f"wait for {self.check.describe()} every {format_duration(self.interval)}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        for where, text, shell in self.check.templates():
            yield f"wait_for.{where}", text, shell


@dataclass(frozen=True, slots=True)
class SleepAction:
    kind: ClassVar[str] = "sleep"
    seconds: float

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return self.seconds

    def describe(self) -> str:
        from recoverctl.model.duration import format_duration

        return f"sleep {format_duration(self.seconds)}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        return iter(())


@dataclass(frozen=True, slots=True)
class ApprovalAction:
    kind: ClassVar[str] = "approval"
    prompt: Text
    default_approve: bool = False
    approvers: tuple[str, ...] = ()
    """Who may answer (user names, `group:NAME`); empty: the run's own OS user."""
    min_approvals: int | None = None
    """Distinct people needed; when set, the one who started the run does not count."""

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return math.inf  # it waits for an answer until the step's timeout

    def describe(self) -> str:
        return f"approval: {self.prompt.source}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        yield "approval", self.prompt, False


@dataclass(frozen=True, slots=True)
class Webhook:
    url: Text
    timeout: float = 10.0
    required: bool = False


@dataclass(frozen=True, slots=True)
class LogAction:
    kind: ClassVar[str] = "log"
    message: Text
    level: str = "info"
    webhook: Webhook | None = None

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return self.webhook.timeout if self.webhook is not None else 0.0

    def describe(self) -> str:
        return f"log: {self.message.source}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        yield "log", self.message, False
        if self.webhook is not None:
            yield "log.webhook.url", self.webhook.url, False


@dataclass(frozen=True, slots=True)
class AssertAction:
    kind: ClassVar[str] = "assert"
    that: tuple[Expression, ...]
    message: Text | None = None

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return 0.0

    def describe(self) -> str:
        return "assert " + " and ".join(f"({e.source})" for e in self.that)

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        if self.message is not None:
            yield "assert.message", self.message, False


@dataclass(frozen=True, slots=True)
class CallAction:
    kind: ClassVar[str] = "call"
    runbook: Text
    path: Path
    """The called file, resolved against the calling file's folder."""
    params: tuple[tuple[str, Text], ...] = ()

    def bound(self) -> float:
        """Seconds one attempt takes on its own, whatever the step's timeout (inf: unbounded)."""
        return math.inf  # the called plan's worst case bounds it (compile/timing.py)

    def describe(self) -> str:
        return f"call {self.runbook.source}"

    def templates(self) -> Iterator[tuple[str, Text, bool]]:
        """Every template it renders: (where it sits, the text, whether it lands in a shell)."""
        for name, value in self.params:
            yield f"call.params.{name}", value, False


Action = (
    RunAction
    | HttpAction
    | WaitForAction
    | SleepAction
    | ApprovalAction
    | LogAction
    | AssertAction
    | CallAction
)
