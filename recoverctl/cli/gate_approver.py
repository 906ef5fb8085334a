"""Approval gates answered from anywhere the run's socket reaches — and from its terminal.

At a gate the run journals that it is waiting (who may answer, how many, the
command that answers), then listens on its gate socket (cli/gate_channel.py)
for `recoverctl approve` / `deny` from any shell; on a terminal it also asks
there, and whichever answers first decides. A gate that names `approvers` or
`min_approvals` is answered only through the socket: the terminal's user is
the one who started the run, and who they are must come from the kernel, not
from a key typed at a prompt. Every answer is journaled as a vote (counted or
not, and why) and the client is told the same at once.

Without a terminal the run waits (bounded by the gate's timeout, then its
default), instead of refusing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recoverctl.cli import gate_channel
from recoverctl.engine.events import ApprovalRequested, ApprovalVote
from recoverctl.engine.runner import Approver
from recoverctl.fit import printable
from recoverctl.model.approvals import Tally, Voter
from recoverctl.model.runbook import ApprovalAction, Step

if TYPE_CHECKING:
    from recoverctl.cli.approvals import TerminalApprover
    from recoverctl.coordination.backend import TeamLock
    from recoverctl.engine.runner import Engine

READ_TIMEOUT = 5.0
"""A client that does not send its answer within this is dropped: it cannot hold a gate."""


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def voter(uid: int, as_name: str = "") -> Voter:
    """The person behind `uid`: their name and their groups, from the system's databases."""
    try:
        entry = pwd.getpwuid(uid)
        ids = os.getgrouplist(entry.pw_name, entry.pw_gid)
        groups = frozenset(g.gr_name for g in (_group(i) for i in ids) if g is not None)
        return Voter(entry.pw_name, groups, as_name)
    except KeyError:
        return Voter(f"uid {uid}", frozenset(), as_name)


def _groups_of(user: str) -> frozenset[str]:
    """A user's groups by this machine's databases (a remote machine's claim is not asked)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return frozenset()
    ids = os.getgrouplist(entry.pw_name, entry.pw_gid)
    return frozenset(g.gr_name for g in (_group(i) for i in ids) if g is not None)


def _group(gid: int) -> grp.struct_group | None:
    try:
        return grp.getgrgid(gid)
    except KeyError:
        return None


@dataclass(slots=True)
class _Open:
    """The gate now waiting, its tally, and the future its decision resolves."""

    step_id: str
    tally: Tally
    decided: asyncio.Future[bool]


@dataclass(slots=True)
class GateServer:
    """The run's gate socket: made at its first gate, removed when the run ends."""

    run_id: str
    path: Path | None = None
    server: asyncio.AbstractServer | None = None
    gate: _Open | None = None
    last: dict[str, str] = field(default_factory=dict)
    """Step id → how its gate ended, for answers that come after."""
    engine: Engine | None = None

    async def start(self) -> bool:
        if self.server is not None:
            return True
        folder = gate_channel.own_dir()
        if folder is None:
            return False
        path = gate_channel.socket_path(folder, self.run_id)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket left by a killed run of this id (a resume)
        try:
            self.server = await asyncio.start_unix_server(
                self._serve, path=str(path), limit=gate_channel.MAX_LINE
            )
            path.chmod(0o666)  # reachable by name; who may answer is checked per answer
        except OSError:
            return False
        self.path = path
        return True

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            uid = gate_channel.peer_uid(sock)
            line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            answer = self._answer(uid, line)
        except (TimeoutError, OSError, ValueError, asyncio.LimitOverrunError):
            answer = {"counted": False, "message": "the request could not be read"}
        with contextlib.suppress(OSError):
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
            writer.close()

    def _answer(self, uid: int, line: bytes) -> dict[str, Any]:
        request = json.loads(line.decode("utf-8", "replace"))
        if not isinstance(request, dict):
            return {"counted": False, "message": f"this is run {self.run_id}"}
        as_name = printable(str(request.get("as") or ""))[:100]
        return self.answer(voter(uid, as_name), request)

    def answer_from(self, request: dict[str, Any]) -> dict[str, Any]:
        """An answer that came through the coordination backend: its person is who the
        answering machine says (its OS user there), with that machine's name recorded."""
        as_name = printable(str(request.get("as") or ""))[:100]
        user = printable(str(request.get("user") or "?"))[:64]
        host = printable(str(request.get("host") or "?"))[:128]
        person = Voter(user, _groups_of(user), as_name)
        return self.answer(person, request, host=host)

    def answer(self, person: Voter, request: dict[str, Any], host: str = "") -> dict[str, Any]:
        if request.get("run_id") != self.run_id:
            return {"counted": False, "message": f"this is run {self.run_id}"}
        step = request.get("step") or None
        as_name = person.as_name
        comment = printable(str(request.get("comment") or ""))[: gate_channel.MAX_COMMENT]
        gate = self.gate
        owner = user_name(os.getuid())
        if gate is None or (step is not None and step != gate.step_id):
            if step is not None and step in self.last:
                return {"counted": False, "message": f"gate '{step}' {self.last[step]}"}
            now = f"it waits at '{gate.step_id}'" if gate else "no gate is waiting now"
            if gate is None and self.last:  # most likely: the one just decided
                last_step, how = list(self.last.items())[-1]
                now += f" (gate '{last_step}' {how})"
            asked = f" at '{step}'" if step else ""
            return {"counted": False, "owner": owner, "message": f"not waiting{asked}: {now}"}
        approve = bool(request.get("approve"))
        verdict = gate.tally.answer(person, approve)
        if self.engine is not None:
            self.engine.emit(
                ApprovalVote(
                    step_id=gate.step_id,
                    approved=approve,
                    user=person.user,
                    as_name=as_name,
                    comment=comment,
                    counted=verdict.counted,
                    message=verdict.message,
                    host=host,
                )
            )
        if verdict.decision is not None and not gate.decided.done():
            gate.decided.set_result(verdict.decision)
        return {
            "counted": verdict.counted,
            "decision": verdict.decision,
            "message": verdict.message,
            "owner": owner,
            "step": gate.step_id,
        }


class GateApprover(Approver):
    """Asks at the terminal (when there is one and the gate allows it) and through the
    gate socket at once; the first decision wins."""

    def __init__(self, run_id: str, terminal: TerminalApprover | None) -> None:
        self.server = GateServer(run_id)
        self.terminal = terminal
        self.run_id = run_id
        self.engine: Engine | None = None
        self.remote: TeamLock | None = None
        """The team's coordination backend, when the run holds its lock there: gates are
        announced and answered there too (cli/remote_gates.py)."""

    def bind(self, engine: Engine) -> None:
        self.engine = self.server.engine = engine
        if self.terminal is not None:
            self.terminal.engine = engine

    async def ask(self, step: Step, prompt: str, default: bool) -> tuple[bool, str]:
        action = step.body
        assert isinstance(action, ApprovalAction)  # noqa: S101 - only gates ask
        owner = user_name(os.getuid())
        tally = Tally(owner, action.approvers, action.min_approvals)
        listening = await self.server.start()
        command = f"recoverctl approve {self.run_id} {step.id}"
        loop = asyncio.get_running_loop()
        gate = _Open(step.id, tally, loop.create_future())
        self.server.gate = gate  # ready for answers before anyone is told how to give them
        relaying = await self._relay(step, prompt, owner, gate)
        listening = listening or relaying is not None  # the team backend reaches it too
        if self.engine is not None:
            self.engine.emit(
                ApprovalRequested(
                    step_id=step.id,
                    prompt=prompt,
                    approvers=list(action.approvers),
                    min_approvals=tally.need,
                    four_eyes=tally.four_eyes,
                    owner=owner,
                    timeout=step.timeout,
                    answer_with=command if listening else "",
                )
            )
        terminal = self.terminal if not (action.approvers or action.min_approvals) else None
        if not listening:
            self.server.gate = None
            if terminal is None:
                return await super().ask(step, prompt, default)  # nobody can answer
            return await terminal.ask(step, prompt, default)
        asked: asyncio.Future[tuple[bool, str]] | None = None
        try:
            if terminal is None:
                approved = await gate.decided
                return approved, tally.decided_by
            terminal.hint = f"or from another shell: {command} (or recoverctl deny)"
            asked = asyncio.ensure_future(terminal.ask(step, prompt, default))
            either: set[asyncio.Future[Any]] = {asked, gate.decided}
            done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if gate.decided in done:
                return gate.decided.result(), tally.decided_by
            approved, who = asked.result()  # no answer at the terminal raises: blocked
            tally.decision, tally.decided_by = approved, who  # later answers are told
            return approved, who
        finally:
            if asked is not None and not asked.done():
                asked.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asked
            if relaying is not None:  # ends after its current answer's reply, never mid-way
                if not gate.decided.done():
                    gate.decided.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(relaying, 15)
            self.server.gate = None
            said = "approved" if tally.decision else "denied"
            self.server.last[step.id] = (
                f"was already {said} by {tally.decided_by}"
                if tally.decision is not None
                else "is no longer waiting (timed out or stopped)"
            )
            if terminal is not None:
                terminal.hint = ""
            if relaying is not None:
                from recoverctl.cli.remote_gates import withdraw

                with contextlib.suppress(Exception):
                    await withdraw(self.server, self.remote)  # type: ignore[arg-type]

    async def _relay(
        self, step: Step, prompt: str, owner: str, gate: _Open
    ) -> asyncio.Task[None] | None:
        """Announce the gate in the team backend and take the answers left there."""
        if self.remote is None:
            return None
        from recoverctl.cli.remote_gates import announce, relay

        info = {"step": step.id, "prompt": prompt, "owner": owner, "host": socket.gethostname()}
        ttl = (step.timeout or 24 * 3600) + 60
        if not await announce(self.remote, self.run_id, info, ttl):
            if self.engine is not None:
                self.engine.note(
                    "warning",
                    f"the gate could not be announced in {self.remote.url}: answers from other "
                    "machines cannot reach it (this machine's still can)",
                )
            return None
        return asyncio.ensure_future(relay(self.server, self.remote, gate.decided))

    async def step_through(self, step: Step, preview: str) -> tuple[str, str]:
        """`run --step` asks on the terminal only: the one driving the run is at it."""
        if self.terminal is None:
            return await super().step_through(step, preview)
        return await self.terminal.step_through(step, preview)

    def reachable(self) -> bool:
        """Whether `recoverctl approve` can reach this run's gates (its socket folder is
        usable); checked before the first step, so an unanswerable gate is refused then."""
        return gate_channel.own_dir() is not None

    async def close(self) -> None:
        await self.server.close()
