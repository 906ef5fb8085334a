"""Who answers approval gates: `--yes`, the operator at the terminal, or nobody (exit 2)."""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys

from recoverctl.engine.runner import ApprovalUnavailable, Approver
from recoverctl.model.runbook import Step


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
    """Asks on the terminal; reads stdin without a thread, so a timeout leaves nothing behind."""

    def __init__(self, before_prompt: object = None) -> None:
        self.before_prompt = before_prompt

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        choices = "[Y/n]" if default else "[y/N]"
        sys.stderr.write(f"\n?? approval needed for step '{step.id}': {prompt} {choices} ")
        sys.stderr.flush()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()
        fd = sys.stdin.fileno()

        def readable() -> None:
            line = sys.stdin.readline()
            if not answer.done():
                answer.set_result(line)

        loop.add_reader(fd, readable)
        try:
            text = (await answer).strip().lower()
        finally:
            loop.remove_reader(fd)
        if not text:
            return default, f"{operator()} (default)"
        return text in ("y", "yes"), operator()
