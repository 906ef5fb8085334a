"""Who answers approval gates: `--yes`, the operator at the terminal, or nobody (exit 2)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import re
import socket
import sys
import termios
import tty
from collections.abc import Iterator
from typing import TYPE_CHECKING

from recoverctl.engine.runner import ApprovalUnavailable, Approver, Engine
from recoverctl.fit import printable
from recoverctl.model.duration import format_duration
from recoverctl.model.fanout import is_generated
from recoverctl.model.runbook import Step
from recoverctl.model.status import StepStatus

if TYPE_CHECKING:
    from recoverctl.present.live_view import LiveView


def operator() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return "unknown operator"


class NoTerminal(Approver):
    """No terminal and no --yes: never hang waiting for input that cannot come."""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        raise ApprovalUnavailable(step.id, prompt)


class TerminalApprover(Approver):
    """Asks on the terminal with context; reads stdin without a thread, so a timeout leaves nothing behind.

    With the live view on, the question is drawn inside it and keys are read one at a
    time with echo off: the view (its clock, the running steps) keeps drawing while
    the gate waits, and no frozen copy of it is left in the scrollback.
    """

    def __init__(self, live: LiveView | None = None) -> None:
        self.live = live
        self.engine: Engine | None = None
        self._step_id = ""
        self.hint = ""
        """Another way to answer, shown under the question (the gate socket's command)."""

    def bind(self, engine: Engine) -> None:
        self.engine = engine

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        self._step_id = step.id
        live = self.live
        if live is not None and live.broken is None and sys.stdin.isatty():
            return await self._ask_in_view(live, step, prompt, default)
        # no view (or it failed and plain lines took over): ask on a line of its own
        sys.stderr.write(self._question(step, prompt, default))
        sys.stderr.flush()
        return await self._read_line(default)

    async def step_through(self, step: Step, preview: str) -> tuple[str, str]:
        """`run --step`: the step as it will act, and run / skip / abort / run the rest."""
        self._step_id = step.id
        question = (
            f"\n>> next: '{step.id}': {printable(preview)}\n"
            "   [r]un it, [s]kip it, [a]bort the run, or run the r[e]st without asking? "
        )
        answers = {
            "r": "run",
            "run": "run",
            "s": "skip",
            "skip": "skip",
            "a": "abort",
            "abort": "abort",
            "e": "rest",
            "rest": "rest",
        }
        while True:
            sys.stderr.write(question)
            sys.stderr.flush()
            line = await self._next_line()
            if line is None:  # the terminal went away: never run what nobody saw
                return "abort", f"{operator()} (the terminal closed)"
            picked = answers.get(line.strip().lower())
            if picked is not None:
                return picked, operator()
            sys.stderr.write("   answer r, s, a or e\n")

    async def _next_line(self) -> str | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()
        fd = sys.stdin.fileno()

        def readable() -> None:
            if not answer.done():
                answer.set_result(sys.stdin.readline())

        loop.add_reader(fd, readable)
        try:
            line = await answer
        finally:
            loop.remove_reader(fd)
        return line or None

    def _context(self, step: Step) -> list[str]:
        """What led here: the steps done so far (failures too: often why a gate is asked)."""
        lines: list[str] = []
        if self.engine is None:
            return [self.hint] if self.hint else lines
        state = self.engine.state
        done = [
            f"{GLYPH.get(s.status, '?')} {sid}"
            for sid, s in state.steps.items()
            if s.final
            and s.status not in (StepStatus.SKIPPED, StepStatus.PENDING)
            and not is_generated(sid)
        ][-6:]
        decisions = [f"{d.step_id} → {d.label}" for d in state.decisions if d.label]
        upcoming = self._upcoming(step)
        if done:
            lines.append(f"done so far: {', '.join(done)}")
        if decisions:
            lines.append(f"decisions: {'; '.join(decisions)}")
        if upcoming:
            lines.append(f"next: {', '.join(upcoming)}")
        if self.hint:
            lines.append(self.hint)
        return lines

    def _question(self, step: Step, prompt: str, default: bool) -> str:
        lines = [f"\n?? approval needed for step '{step.id}': {printable(prompt)}"]
        lines += [f"   {line}" for line in self._context(step)]
        if step.timeout is not None:
            answer = "approve" if default else "deny"
            lines.append(f"   no answer within {format_duration(step.timeout)} means: {answer}")
        lines.append(f"Approve? {'[Y/n]' if default else '[y/N]'} ")
        return "\n".join(lines)

    def _upcoming(self, step: Step) -> list[str]:
        assert self.engine is not None  # noqa: S101 - checked by the caller
        ids = [node.id for node in self.engine.plan.walk() if node.step.is_action]
        if step.id not in ids:
            return []
        return ids[ids.index(step.id) + 1 :][:5]

    async def _ask_in_view(
        self, live: LiveView, step: Step, prompt: str, default: bool
    ) -> tuple[bool, str]:
        from recoverctl.present.live_panels import ApprovalPrompt

        deadline = None if step.timeout is None else live.now() + step.timeout
        question = printable(prompt)  # a rendered template: a param may hold escapes
        live.prompt = ApprovalPrompt(step.id, question, self._context(step), default, deadline)
        live.refresh()
        try:
            with _keys_one_by_one(sys.stdin.fileno()):
                line = await self._read_keys(live)
        finally:
            live.prompt = None
            live.refresh()
        return self._answer(line, default)

    async def _read_keys(self, live: LiveView) -> str | None:
        """Keys until Enter (the answer), Ctrl-D or a closed terminal (None)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()
        fd = sys.stdin.fileno()

        def readable() -> None:
            try:
                chunk = os.read(fd, 1024).decode("utf-8", "replace")
            except OSError:
                chunk = ""
            if not chunk or "\x04" in chunk:
                if not answer.done():
                    answer.set_result(None)
                return
            assert live.prompt is not None  # noqa: S101 - cleared only after the answer
            for char in _without_escapes(chunk):
                if char in "\r\n":
                    if not answer.done():
                        answer.set_result(live.prompt.typed)
                    return
                if char in "\x7f\x08":
                    live.prompt.typed = live.prompt.typed[:-1]
                elif char == "\x15":  # Ctrl-U
                    live.prompt.typed = ""
                elif char.isprintable() and len(live.prompt.typed) < 20:
                    live.prompt.typed += char
            live.refresh()

        loop.add_reader(fd, readable)
        try:
            return await answer
        finally:
            loop.remove_reader(fd)

    async def _read_line(self, default: bool) -> tuple[bool, str]:
        return self._answer(await self._next_line(), default)

    def _answer(self, line: str | None, default: bool) -> tuple[bool, str]:
        if line is None:  # EOF (Ctrl-D, the terminal went away) is no answer, least of all "yes"
            raise ApprovalUnavailable(self._step_id, "the terminal closed before an answer")
        text = line.strip().lower()
        if not text:
            return default, f"{operator()} (default answer)"
        return text in ("y", "yes"), operator()


GLYPH = {"succeeded": "✔", "unchanged": "=", "failed": "✘", "timed_out": "⏱", "cancelled": "⊘"}


_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|.)?", re.DOTALL)


def _without_escapes(chunk: str) -> str:
    """Arrow keys and other escape sequences typed at the prompt are not answers."""
    return _ESCAPE.sub("", chunk)


@contextlib.contextmanager
def _keys_one_by_one(fd: int) -> Iterator[None]:
    """No echo, no line editing: each key reaches us; Ctrl-C still interrupts (ISIG stays)."""
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
