"""Gates answered from another machine, through the team's coordination backend.

On one machine `recoverctl approve` reaches a run over its gate socket, and who
answers is the OS user the kernel reports. With a coordination backend
(docs/coordination.md) a waiting gate is also announced there, and `recoverctl
approve RUN_ID` on any machine that has the backend's URL leaves its answer
there; the run takes it, counts it by the same rules (model/approvals.py),
journals it with the machine it came from, and replies. Across machines, who
answered is the answering machine's OS user as that machine says — trusted as
far as the backend's credentials are: document who holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, Protocol

from recoverctl.coordination.backend import BackendDown, TeamLock
from recoverctl.processes import os_user


class GateServer(Protocol):
    """What answers a gate (cli/gate_approver.py's GateServer)."""

    run_id: str

    def answer_from(self, request: dict[str, Any]) -> dict[str, Any]: ...


POLL = 0.5
"""How often a waiting gate looks for answers left in the backend."""
REPLY_WAIT = 10.0


async def relay(server: GateServer, remote: TeamLock, decided: asyncio.Future[bool]) -> None:
    """Until the gate is decided: take the answers left for this run, answer each."""
    while not decided.done():
        # a backend down: the socket still answers, and the lease thread says if the lock is lost
        with contextlib.suppress(BackendDown):
            await answer_waiting(server, remote)
        await asyncio.sleep(POLL)


async def answer_waiting(server: GateServer, remote: TeamLock) -> None:
    for answer_id, request in await asyncio.to_thread(remote.take, server.run_id):
        reply = server.answer_from(request)
        await asyncio.to_thread(remote.reply, answer_id, reply)


async def announce(remote: TeamLock, run_id: str, info: dict[str, Any], ttl: float) -> bool:
    try:
        await asyncio.to_thread(remote.announce, run_id, info, ttl)
    except BackendDown:
        return False
    return True


async def withdraw(server: GateServer, remote: TeamLock) -> None:
    """The gate ended: the answers that came meanwhile are told so, then it is withdrawn."""
    with contextlib.suppress(BackendDown):
        await answer_waiting(server, remote)
    await asyncio.to_thread(remote.withdraw, server.run_id)


def answer_remotely(
    remote: TeamLock, run_id: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """`recoverctl approve` on another machine: the run's reply, or None when no gate of
    `run_id` is announced. Raises BackendDown."""
    if remote.waiting(run_id) is None:
        return None
    sent = {**request, "user": os_user(), "host": socket.gethostname()}
    answer_id = remote.post(run_id, sent)
    reply = remote.await_reply(answer_id, REPLY_WAIT)
    if reply is not None:
        return reply
    if remote.unpost(run_id, answer_id):
        return {
            "counted": False,
            "message": f"run {run_id} did not take the answer within "
            f"{REPLY_WAIT:g}s (its gate may have just ended); it was taken back, nothing counted",
        }
    reply = remote.await_reply(answer_id, REPLY_WAIT / 2)
    return reply or {
        "counted": False,
        "message": f"run {run_id} took the answer but did not reply; `recoverctl show "
        f"{run_id}` on its machine lists every answer it counted",
    }
