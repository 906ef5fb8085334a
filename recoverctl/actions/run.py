"""`run`: a command in its own process group, output streamed and bounded.

A timeout or a cancellation kills the whole group (SIGTERM, then SIGKILL
after a grace period), so no child outlives its step. Children that detach
on purpose (`nohup … &` with their output redirected) are left alone when
the command itself exits normally: starting a service is a legitimate step.
A step on a target's host goes through actions/remote.py instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.child import Child, start
from recoverctl.actions.process import DRAIN_GRACE, KILL_GRACE, STOPPING, Capture, stopped
from recoverctl.actions.remote import run_remote
from recoverctl.model.runbook import RunAction
from recoverctl.processes import TAG_VARIABLE, signal_tagged

__all__ = ["run", "stopped"]


async def run(action: RunAction, ctx: ActionContext) -> AttemptResult:
    remote = ctx.remote()
    if remote is not None:  # on a target's host (`on:`): actions/remote.py
        return await run_remote(action, ctx, remote)
    hidden: dict[str, str] = {}
    if action.shell:
        command, hidden = ctx.render_command(action.command[0])
        argv = ["/bin/sh", "-c", command]
    else:
        argv = [ctx.render(part) for part in action.command]
    cwd = ctx.working_directory()
    if cwd is not None and not Path(cwd).is_dir():
        what = "is not a directory" if Path(cwd).exists() else "does not exist"
        return AttemptResult(ok=False, retryable=False, error=f"working directory {what}: {cwd}")
    tag = os.urandom(8).hex()
    out, err = Capture(ctx, "stdout"), Capture(ctx, "stderr")
    child = await start(
        argv, {**ctx.environment(), **hidden, TAG_VARIABLE: tag}, cwd, out.feed, err.feed
    )
    if isinstance(child, AttemptResult):
        return child
    ctx.process_started(child.pid)
    try:
        # the command's own exit, not its pipes': `server &` keeps them open for hours.
        # Shielded: a timeout or Ctrl-C cancelling this wait must not cancel `exited`, which
        # the kill below waits on (a cancelled `exited` ended the kill before its SIGKILL)
        await asyncio.shield(child.exited)
        await child.drained(DRAIN_GRACE)
        code = child.returncode()
        child.close()  # done reading, whatever a detached child still holds open
        assert code is not None  # noqa: S101 - it exited
    except BaseException:
        if child.exit_now() == 0:  # it finished as it was being stopped: it did its work
            ctx.exited_before_stopped(_result(0, out, err))
        kill = asyncio.ensure_future(_kill_group(child, tag))
        STOPPING.add(kill)  # a second Ctrl-C must not cut it short: the run waits for it
        kill.add_done_callback(STOPPING.discard)
        await asyncio.shield(kill)
        raise
    return _result(code, out, err)


def _result(code: int, out: Capture, err: Capture) -> AttemptResult:
    out.close()
    err.close()
    if code < 0:
        error = f"killed by signal {signal.Signals(-code).name}"
    elif code:
        error = f"exited with {code}"
    else:
        error = None
    return AttemptResult(
        ok=code == 0, exit_code=code, stdout=out.text(), stderr=err.text(), error=error
    )


async def _kill_group(child: Child, tag: str) -> None:
    """Stop everything the attempt started: its process group and every process carrying its
    tag — children that `setsid` or double-fork out of the group too — then reap the leader.

    SIGTERM first, SIGKILL after a grace period; the pipes are closed whatever still holds
    them, so a kill can never wait on a child's open stdout.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGTERM)
    signal_tagged(tag, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(child.exited), KILL_GRACE)
    # SIGKILL the group even when the leader died: its children may still be there
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    signal_tagged(tag, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(child.exited), KILL_GRACE)
    child.close()  # whatever still holds the pipes
