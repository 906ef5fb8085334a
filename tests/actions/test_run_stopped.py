"""A command stopped by a cancel or a timeout: what the record gets when it had already
exited by then (the event loop had not seen it yet)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from recoverctl.actions.base import AttemptResult
from recoverctl.actions.run import run
from recoverctl.model.actions import RunAction
from recoverctl.model.source import Span
from recoverctl.model.text import Text


class Context:
    """The few services `run` uses, recording what it is told."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.completed: AttemptResult | None = None
        self.streamed: list[str] = []

    def remote(self) -> None:
        return None

    def render(self, text: Text, *, shell: bool = False) -> str:
        return text.source

    def environment(self) -> Mapping[str, str]:
        return {"PATH": "/usr/bin:/bin"}

    def working_directory(self) -> str | None:
        return None

    def output(self, stream: str, text: str) -> None:
        self.streamed.append(text)

    def process_started(self, pid: int) -> None:
        self.pids.append(pid)

    def exited_before_stopped(self, result: AttemptResult) -> None:
        self.completed = result


def _argv(*words: str) -> RunAction:
    span = Span(1, 1, 1, 1)
    return RunAction(command=tuple(Text(w, span) for w in words), shell=False)


def _cancelled_after_exit(action: RunAction, ctx: Context) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(run(action, ctx))  # type: ignore[arg-type]
        while not ctx.pids:
            await asyncio.sleep(0.001)
        time.sleep(0.3)  # the command exits while the loop is blocked: it has not seen it
        task.cancel()  # handled before the loop reads the exit
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_command_that_exited_before_its_cancel_is_reported_done_with_its_output() -> None:
    ctx = Context()
    _cancelled_after_exit(_argv("/bin/sh", "-c", "echo did-it"), ctx)
    assert ctx.completed is not None and ctx.completed.ok
    assert ctx.completed.stdout == "did-it\n" and ctx.streamed == ["did-it\n"]


def test_a_command_that_failed_before_its_cancel_is_cancelled_as_before() -> None:
    ctx = Context()
    _cancelled_after_exit(_argv("/bin/sh", "-c", "exit 3"), ctx)
    assert ctx.completed is None


def test_a_command_still_running_at_its_cancel_is_killed_not_done(tmp_path: Path) -> None:
    ctx = Context()
    _cancelled_after_exit(_argv("/bin/sleep", "30"), ctx)
    assert ctx.completed is None
