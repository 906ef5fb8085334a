"""What one attempt of one step gets from the engine (the actions' `ActionContext`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recoverctl.actions.base import AttemptResult
from recoverctl.actions.hosts import Remote
from recoverctl.clock import Clock
from recoverctl.engine.events import (
    ApprovalAnswered,
    LogMessage,
    ProcessStarted,
    RemoteProcessStarted,
    StepOutput,
    WaitPolled,
)
from recoverctl.engine.services import Services
from recoverctl.expr.render import evaluate, render, render_command
from recoverctl.model.runbook import HttpAction, LogAction, RunAction, Step, Text


class StepRun:
    """The engine's services, bound to one step and attempt."""

    def __init__(self, engine: Services, step: Step, attempt: int) -> None:
        self.engine, self.step, self.attempt = engine, step, attempt
        self.clock: Clock = engine.clock
        self.run_id = engine.options.run_id
        self.dry_run = engine.options.dry_run
        self.completed: AttemptResult | None = None
        """Set when the command had exited before a timeout or a cancel could stop it."""

    @property
    def scripted_id(self) -> str:
        """The step's id as scenarios name it: prefixed with its call steps inside sub-runbooks."""
        return self.engine.full_id(self.step.id)

    def context(self) -> dict[str, Any]:
        return self.engine.context()

    def render(self, text: Text, *, shell: bool = False) -> str:
        return render(text.source, self.engine.context(), shell=shell)

    def render_command(self, text: Text) -> tuple[str, dict[str, str]]:
        return render_command(
            text.source, self.engine.context(), self.engine.redactor.contains_secret
        )

    def holds(self, expression: str, names: dict[str, Any]) -> bool:
        return bool(evaluate(expression, self.engine.context(names)))

    def remote(self) -> Remote | None:
        return self.engine.remote

    def remote_environment(self) -> dict[str, str]:
        engine = self.engine
        env = dict(engine.runbook_environment())
        return self._step_environment(env)

    def environment(self) -> Mapping[str, str]:
        return self._step_environment(dict(self.engine.base_environment()))

    def _step_environment(self, env: dict[str, str]) -> dict[str, str]:
        engine = self.engine
        if self.step.env:
            context = engine.context()
            for name, value in self.step.env:
                env[name] = render(value.source, context)
        env["RECOVERCTL_RUN_ID"] = self.run_id
        env["RECOVERCTL_STEP_ID"] = self.engine.full_id(self.step.id)
        env["RECOVERCTL_ATTEMPT"] = str(self.attempt)
        env["RECOVERCTL_IDEMPOTENCY_KEY"] = engine.idempotency_key_for(self.step.id)
        token = engine.fencing_token()
        if token is not None:
            env["RECOVERCTL_FENCING_TOKEN"] = token
        return env

    def working_directory(self) -> str | None:
        """Where the step's commands run: the runbook's folder, or `cwd` relative to it.

        One rule for every relative path a runbook holds (`cwd`, `./bin/x` in `run`,
        `call:`): it means the same wherever recoverctl is started from.
        """
        folder = self.engine.runbook_dir()
        if self.step.cwd is None:
            return folder
        return str(Path(folder) / render(self.step.cwd.source, self.engine.context()))

    def output(self, stream: str, text: str) -> None:
        if any(output.secret for output in self.step.outputs):
            return  # the credential is in this output, and not known yet to be masked
        self.engine.emit(StepOutput(step_id=self.step.id, stream=stream, text=text))

    def process_started(self, pid: int) -> None:
        from recoverctl.processes import identity

        self.engine.emit(ProcessStarted(step_id=self.step.id, pid=pid, identity=identity(pid)))

    def remote_started(self, host: str, pgid: int, tag: str) -> None:
        self.engine.emit(RemoteProcessStarted(step_id=self.step.id, host=host, pgid=pgid, tag=tag))

    def exited_before_stopped(self, result: AttemptResult) -> None:
        self.completed = result

    def log(self, level: str, message: str) -> None:
        self.engine.emit(LogMessage(step_id=self.step.id, level=level, message=message))

    def poll(self, polls: int, error: str | None) -> None:
        self.engine.emit(
            WaitPolled(
                step_id=self.step.id,
                polls=polls,
                error=error,
            )
        )

    async def approve(self, prompt: str, default: bool) -> tuple[bool, str]:
        return await self.engine.approver.ask(self.step, prompt, default)

    def answered(self, prompt: str, approved: bool, who: str) -> None:
        self.engine.emit(
            ApprovalAnswered(step_id=self.step.id, approved=approved, who=who, prompt=prompt)
        )

    def describe(self) -> str:
        """The action as it will run: the rendered command, URL or message."""
        body = self.step.body
        if isinstance(body, RunAction):
            if body.shell:
                return self.render(body.command[0], shell=True)
            return " ".join(self.render(part) for part in body.command)
        if isinstance(body, LogAction):
            return f"log: {self.render(body.message)}"
        if isinstance(body, HttpAction):
            return f"{body.method} {self.render(body.url)}"
        return body.describe()  # type: ignore[union-attr]
