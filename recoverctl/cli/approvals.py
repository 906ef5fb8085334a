"""Who answers approval gates: `--yes`, the operator at the terminal, or nobody (exit 2)."""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys
from typing import TYPE_CHECKING

from recoverctl.engine.runner import ApprovalUnavailable, Approver, Engine
from recoverctl.model.runbook import Step

if TYPE_CHECKING:
    from recoverctl.present.live_view import LiveView


def operator() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return "unknown operator"


class AutoApprover(Approver):
    """`--yes`: every gate approved, recorded as approved by the operator who said so."""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        return True, f"{operator()} (--yes)"


class NoTerminal(Approver):
    """No terminal and no --yes: never hang waiting for input that cannot come."""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        raise ApprovalUnavailable(step.id, prompt)


class TerminalApprover(Approver):
    """Asks on the terminal with context; reads stdin without a thread, so a timeout leaves nothing behind."""

    def __init__(self, live: LiveView | None = None) -> None:
        self.live = live
        self.engine: Engine | None = None
        self._step_id = ""

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        self._step_id = step.id
        if self.live is not None:
            self.live.pause()
        try:
            sys.stderr.write(self._context(step, prompt, default))
            sys.stderr.flush()
            return await self._read(default)
        finally:
            if self.live is not None:
                self.live.resume()

    def _context(self, step: Step, prompt: str, default: bool) -> str:
        lines = [f"\n?? approval needed for step '{step.id}': {prompt}"]
        if self.engine is not None:
            state = self.engine.state
            done = [sid for sid in state.completed if "." not in sid][-6:]
            decisions = [f"{d.step_id} → {d.label}" for d in state.decisions if d.label]
            upcoming = self._upcoming(step)
            if done:
                lines.append(f"   done so far: {', '.join(done)}")
            if decisions:
                lines.append(f"   decisions: {'; '.join(decisions)}")
            if upcoming:
                lines.append(f"   next: {', '.join(upcoming)}")
        if step.timeout is not None:
            answer = "approve" if default else "deny"
            lines.append(f"   no answer within {step.timeout:g}s means: {answer}")
        lines.append(f"Approve? {'[Y/n]' if default else '[y/N]'} ")
        return "\n".join(lines)

    def _upcoming(self, step: Step) -> list[str]:
        assert self.engine is not None  # noqa: S101 - checked by the caller
        ids = [node.id for node in self.engine.plan.walk() if node.step.is_action]
        if step.id not in ids:
            return []
        return ids[ids.index(step.id) + 1 :][:5]

    async def _read(self, default: bool) -> tuple[bool, str]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()
        fd = sys.stdin.fileno()

        def readable() -> None:
            line = sys.stdin.readline()
            if not answer.done():
                answer.set_result(line)

        loop.add_reader(fd, readable)
        try:
            line = await answer
        finally:
            loop.remove_reader(fd)
        if not line:  # EOF (Ctrl-D, the terminal went away) is no answer, least of all "yes"
            raise ApprovalUnavailable(self._step_id, "the terminal closed before an answer")
        text = line.strip().lower()
        if not text:
            return default, f"{operator()} (default answer)"
        return text in ("y", "yes"), operator()
