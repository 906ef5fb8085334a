"""`recoverctl approve` / `deny`: answer a run's approval gate from any shell.

The answer goes to the run over its gate socket (cli/gate_channel.py), which
says at once what it did: counted (and whether the gate is now decided),
refused and why, too late. Nothing is written anywhere else: the run journals
every answer it receives, so the record is the run's own.

Exit status: 0 when the answer counted; 2 when it changed nothing (refused,
already decided, not waiting, no such run) — with the reason on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import StateDirOption, open_store
from recoverctl.errors import RecoverctlError
from recoverctl.exitcodes import ExitCode

CommentOption = Annotated[
    str | None, typer.Option("--comment", "-m", help="Why: recorded with the answer.")
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Your name as people know it, recorded next to your OS user (who counts is "
        "the OS user the kernel reports, never this).",
    ),
]
OwnerOption = Annotated[
    str | None,
    typer.Option(
        "--owner", help="The user whose run it is, when runs of that id are found for several."
    ),
]
RunArgument = Annotated[
    str, typer.Argument(help="The run id (your own runs: a unique prefix is enough).")
]
StepArgument = Annotated[
    str | None, typer.Argument(help="The gate's step id (default: the gate waiting now).")
]


def _gate_command(approve: bool) -> Callable[..., None]:
    """`approve` and `deny`: the same arguments, the other answer."""

    def answer(
        run_id: RunArgument,
        step: StepArgument = None,
        comment: CommentOption = None,
        as_name: AsOption = None,
        owner: OwnerOption = None,
        state_dir: StateDirOption = None,
    ) -> None:
        _answer(
            run_id,
            step,
            approve=approve,
            comment=comment,
            as_name=as_name,
            owner=owner,
            state_dir=state_dir,
        )

    return answer


approve = command(
    name="approve",
    help="Approve the gate a run is waiting at, from any shell that can reach the run.",
    epilog="Examples:\n\n  recoverctl approve 20261124T031500Z-5f2c1a\n\n"
    "  recoverctl approve 20261124T031500Z-5f2c1a promote_gate -m 'lag is 0, go' --as 'Ana (SRE)'",
)(reports_errors(_gate_command(True)))
deny = command(
    name="deny",
    help="Deny the gate a run is waiting at: one counted denial decides.",
    epilog="Example:\n\n  recoverctl deny 20261124T031500Z-5f2c1a -m 'replica lag too high'",
)(reports_errors(_gate_command(False)))


def _answer(
    run_id: str,
    step: str | None,
    *,
    approve: bool,
    comment: str | None,
    as_name: str | None,
    owner: str | None,
    state_dir: Path | None,
) -> None:
    from recoverctl.cli import gate_channel
    from recoverctl.cli.gate_approver import user_name

    full = _own_run_id(run_id, state_dir) or run_id
    found = gate_channel.find_sockets(full)
    if owner is not None:
        found = [(path, uid) for path, uid in found if user_name(uid) == owner]
    request = {
        "run_id": full,
        "step": step,
        "approve": approve,
        "comment": comment or "",
        "as": as_name or "",
    }
    if not found:
        reply = _through_the_team(full, request)
        if reply is None:
            raise RecoverctlError(message=_not_waiting(full, state_dir), exit_code=ExitCode.INVALID)
        _said(f"run {full} (through the team backend)", reply, step)
        return
    if len(found) > 1:
        owners = ", ".join(user_name(uid) for _, uid in found)
        raise RecoverctlError(
            message=f"runs with id {full} are waiting for several users ({owners})",
            hint="say whose with --owner USER",
            exit_code=ExitCode.INVALID,
        )
    path, uid = found[0]
    try:
        reply = gate_channel.ask(path, request)
    except (ConnectionRefusedError, FileNotFoundError):  # it ended, or died, just now
        raise RecoverctlError(
            message=_not_waiting(full, state_dir, gone=True), exit_code=ExitCode.INVALID
        ) from None
    except (OSError, ValueError) as exc:
        raise RecoverctlError(
            message=f"run {full} did not answer ({exc}); nothing was recorded",
            exit_code=ExitCode.INVALID,
        ) from None
    _said(f"run {full}" + (f" of {user_name(uid)}" if uid != _uid() else ""), reply, step)


def _said(whose: str, reply: dict[str, Any], step: str | None) -> None:
    """What the run did with the answer: exit 0 when it counted, 2 (with why) when not."""
    message = str(reply.get("message", ""))
    if not reply.get("counted"):
        raise RecoverctlError(
            message=f"{whose}: not counted: {message}", exit_code=ExitCode.INVALID
        )
    gate = reply.get("step", step or "")
    sys.stdout.write(f"{whose}, gate '{gate}': {message}\n")


def _through_the_team(run_id: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """No run of that id on this machine: ask the team's coordination backend, if any."""
    from recoverctl.cli.team_lock import coordination_url

    url = coordination_url()
    if url is None:
        return None
    from recoverctl.cli.remote_gates import answer_remotely
    from recoverctl.coordination.backend import BackendDown
    from recoverctl.coordination.connect import open_backend

    backend = open_backend(url)
    try:
        return answer_remotely(backend, run_id, request)
    except BackendDown as down:
        raise RecoverctlError(
            message=f"no run {run_id} waits on this machine, and the team backend cannot be "
            f"asked: {down}; nothing was answered",
            exit_code=ExitCode.INVALID,
        ) from None


def _uid() -> int:
    import os

    return os.getuid()


def _own_run_id(run_id: str, state_dir: Path | None) -> str | None:
    """The full id of one of this user's runs that `run_id` names (or a prefix of)."""
    try:
        return open_store(state_dir).find(run_id).run_id
    except RecoverctlError:
        return None


def _not_waiting(run_id: str, state_dir: Path | None, *, gone: bool = False) -> str:
    """Why no run is there to answer: it ended, it died, or it is not ours to see."""
    from recoverctl.cli.history_cmd import load_run

    try:
        loaded = load_run(run_id, state_dir)
    except RecoverctlError:
        if gone:
            return (
                f"run {run_id} is not running any more (its process is gone); nothing was answered"
            )
        return (
            f"no run {run_id} is waiting at a gate on this machine (no such run of yours, and "
            "no other user's run of that id listens for answers)"
        )
    from recoverctl.engine.state import replay
    from recoverctl.model.status import RunStatus

    status = replay(loaded.events).status
    if status in (RunStatus.INTERRUPTED, RunStatus.BLOCKED):
        return (
            f"run {run_id} stopped ({status}) and waits for no answer now; "
            f"`recoverctl resume {run_id}` continues it and asks again"
        )
    if status in (RunStatus.PENDING, RunStatus.RUNNING):
        return (
            f"run {run_id} is not running any more (its process is gone; its journal stops "
            f"while it was {status}); nothing was answered; `recoverctl resume {run_id}` "
            "continues it and asks again"
        )
    return f"run {run_id} has ended ({status}); there is nothing to answer"
