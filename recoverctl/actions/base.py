"""What an action gets from the engine, and what it gives back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from recoverctl.clock import Clock
from recoverctl.model.runbook import Step, Text

if TYPE_CHECKING:
    from recoverctl.actions.hosts import Remote


@dataclass(slots=True)
class AttemptResult:
    """The outcome of one attempt of one action."""

    ok: bool
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    timed_out: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    """Kind-specific result names for outputs and conditions (status, headers, body, json)."""
    retryable: bool = True
    """False for failures no retry can fix (a template that cannot render)."""
    outputs: dict[str, Any] | None = None
    """Outputs given directly (a scenario's mock) instead of computed from the result."""
    invented: bool = False
    """A dry run's stand-in with nothing behind it: its outputs cannot be computed, and
    that is no failure. Every other result — real or scripted by a scenario — gets the
    run's semantics exactly."""

    def names(self) -> dict[str, Any]:
        """The result as the names `outputs`, `retry.when` and `until` can read."""
        names: dict[str, Any] = {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": self.exit_code,
            "error": self.error,
            "timed_out": self.timed_out,
            "json": None,
            "status": None,
            "headers": {},
            "body": None,
        }
        names.update(self.data)
        if names["json"] is None and self.stdout.lstrip()[:1] in ("{", "["):
            import contextlib
            import json

            with contextlib.suppress(ValueError):
                names["json"] = json.loads(self.stdout)
        return names


class ActionContext(Protocol):
    """The engine's services for an action attempt."""

    step: Step
    clock: Clock
    run_id: str
    dry_run: bool

    @property
    def scripted_id(self) -> str:
        """The id scenario outcomes use for this step."""

    def render(self, text: Text, *, shell: bool = False) -> str:
        """A template rendered with the run's context (shell-quoted with `shell`)."""

    def render_command(self, text: Text) -> tuple[str, dict[str, str]]:
        """A `run:` string for `sh -c`, and the secret values it reads from its environment."""

    def environment(self) -> Mapping[str, str]:
        """The full environment for a command of this step."""

    def remote_environment(self) -> dict[str, str]:
        """What a command on a target's host gets: the runbook's and the step's `env:` and
        the RECOVERCTL_ variables — never this machine's environment."""

    def remote(self) -> Remote | None:
        """The host this step's commands run on (`on: <target>`), or None: here."""

    def working_directory(self) -> str | None: ...

    def output(self, stream: str, text: str) -> None:
        """Stream a chunk of output to the run's subscribers."""

    def process_started(self, pid: int) -> None:
        """Record a command's process group, so a resume can find what a crash left running."""

    def remote_started(self, host: str, pgid: int, tag: str) -> None:
        """Record a command's process group on a target's host (a resume stops it)."""

    def exited_before_stopped(self, result: AttemptResult) -> None:
        """The command had already exited when a timeout or a cancel came to stop it: what
        it did is done, and the record must say so (a sibling's failure must not turn a
        finished step into a cancelled one that no rollback undoes)."""

    def log(self, level: str, message: str) -> None: ...

    async def approve(self, prompt: str, default: bool) -> tuple[bool, str]:
        """Ask for approval; returns (approved, who/how)."""

    def answered(self, prompt: str, approved: bool, who: str) -> None:
        """Record the answer to an approval gate, with who gave it."""

    def holds(self, expression: str, names: dict[str, Any]) -> bool:
        """Whether `expression` holds with the result `names` added to the context."""

    def context(self) -> dict[str, Any]:
        """The template context at this point of the run (params, steps, run, env)."""

    def poll(self, polls: int, error: str | None) -> None:
        """Report one poll of a `wait_for`."""


Handler = Callable[[Any, ActionContext], Awaitable[AttemptResult]]
