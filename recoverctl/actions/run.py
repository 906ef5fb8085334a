"""`run`: a command in its own process group, output streamed and bounded.

A timeout or a cancellation kills the whole group (SIGTERM, then SIGKILL
after a grace period), so no child outlives its step. Children that detach
on purpose (`nohup … &` with their output redirected) are left alone when
the command itself exits normally: starting a service is a legitimate step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.remote import run_remote
from recoverctl.model.runbook import RunAction
from recoverctl.processes import TAG_VARIABLE, signal_tagged

CAPTURE_LIMIT = 1024 * 1024
"""Bytes of each stream kept for outputs and reports (the tail, when longer)."""
STREAM_LIMIT = 256 * 1024
"""Bytes of each stream sent to subscribers per attempt; the rest is counted, not shown."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL for a process group that must stop."""
DRAIN_GRACE = 0.2
"""After the command exits, how long to wait for pipes held open by detached children."""


STOPPING: set[asyncio.Future[None]] = set()
"""Process groups being stopped. A second interrupt stops waiting for them where the step
was, so the run waits for them at its end (`stopped`): no process outlives its run."""


async def stopped() -> None:
    """Return when every process group being stopped is gone (SIGKILL after the grace)."""
    while STOPPING:
        await asyncio.gather(*list(STOPPING), return_exceptions=True)


class Capture:
    """Keeps the tail of a stream and forwards whole lines, within limits."""

    def __init__(self, ctx: ActionContext, stream: str) -> None:
        self.ctx, self.stream = ctx, stream
        self.buffer = bytearray()
        self.total = 0
        self.streamed = 0
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.buffer += chunk
        if len(self.buffer) > CAPTURE_LIMIT:
            del self.buffer[: len(self.buffer) - CAPTURE_LIMIT]
        data = self.pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data[-STREAM_LIMIT:]
            return
        lines, self.pending = data[: cut + 1], data[cut + 1 :]
        self._forward(lines)

    def close(self) -> None:
        if self.pending:
            self._forward(self.pending + b"\n")
            self.pending = b""
        if self.streamed >= STREAM_LIMIT:
            hidden = self.total - self.streamed
            self.ctx.output(
                self.stream, f"[recoverctl: {hidden} more bytes of {self.stream} not shown]\n"
            )

    def _forward(self, data: bytes) -> None:
        room = STREAM_LIMIT - self.streamed
        if room <= 0:
            return
        piece = data[:room]
        self.streamed += len(piece)
        self.ctx.output(self.stream, piece.decode("utf-8", errors="replace"))

    def text(self) -> str:
        return self.buffer.decode("utf-8", errors="replace")


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
    spawned = await spawn(argv, {**ctx.environment(), **hidden, TAG_VARIABLE: tag}, cwd)
    if isinstance(spawned, AttemptResult):
        return spawned
    proc, transport, exited = spawned
    ctx.process_started(proc.pid)
    out, err = Capture(ctx, "stdout"), Capture(ctx, "stderr")
    assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - PIPE was asked for
    readers = [
        asyncio.ensure_future(pump(proc.stdout, out.feed)),
        asyncio.ensure_future(pump(proc.stderr, err.feed)),
    ]
    try:
        # the command's own exit, not its pipes': `server &` keeps them open for hours.
        # Shielded: a timeout or Ctrl-C cancelling this wait must not cancel `exited`, which
        # the kill below waits on (a cancelled `exited` ended the kill before its SIGKILL)
        await asyncio.shield(exited)
        _done, pending = await asyncio.wait(readers, timeout=DRAIN_GRACE)
        for task in pending:
            task.cancel()
        code = transport.get_returncode()
        transport.close()  # done reading, whatever a detached child still holds open
        assert code is not None  # noqa: S101 - the protocol said it exited
    except BaseException:
        for task in readers:
            task.cancel()
        kill = asyncio.ensure_future(_kill_group(proc, transport, exited, tag))
        STOPPING.add(kill)  # a second Ctrl-C must not cut it short: the run waits for it
        kill.add_done_callback(STOPPING.discard)
        await asyncio.shield(kill)
        raise
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


async def spawn(
    argv: list[str], env: dict[str, str], cwd: str | None, *, stdin: bytes | None = None
) -> (
    tuple[asyncio.subprocess.Process, asyncio.SubprocessTransport, asyncio.Future[None]]
    | AttemptResult
):
    """The command started in its own process group, or why it could not start; `stdin`
    is written to it and closed (a remote job's script), else it reads nothing."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _Protocol(exited, limit=65536, loop=loop),
            *argv,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group: a timeout kills the whole tree
        )
    except FileNotFoundError as exc:
        missing = exc.filename or argv[0]
        return AttemptResult(ok=False, exit_code=127, error=f"command not found: {missing}")
    except NotADirectoryError:
        return AttemptResult(ok=False, error=f"working directory is not a directory: {cwd}")
    except PermissionError as exc:
        return AttemptResult(
            ok=False, exit_code=126, error=f"permission denied: {exc.filename or argv[0]}"
        )
    except ValueError:  # "embedded null byte": no argument or variable can carry a NUL
        return AttemptResult(
            ok=False,
            retryable=False,
            error="a value passed to the command holds a NUL byte, which no argument or "
            "environment variable can carry; hint: strip it (e.g. `| replace('\\x00', '')`)",
        )
    process = asyncio.subprocess.Process(transport, protocol, loop)
    if stdin is not None and process.stdin is not None:
        process.stdin.write(stdin)
        process.stdin.close()
    return process, transport, exited


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's own protocol, telling us when the process exits (its `wait()` also waits
    for every pipe to close)."""

    def __init__(self, exited: asyncio.Future[None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._exited = exited

    def process_exited(self) -> None:
        super().process_exited()
        if not self._exited.done():
            self._exited.set_result(None)


async def pump(stream: asyncio.StreamReader, feed: Callable[[bytes], None]) -> None:
    while chunk := await stream.read(65536):
        feed(chunk)


async def _kill_group(
    proc: asyncio.subprocess.Process,
    transport: asyncio.SubprocessTransport,
    exited: asyncio.Future[None],
    tag: str,
) -> None:
    """Stop everything the attempt started: its process group and every process carrying its
    tag — children that `setsid` or double-fork out of the group too — then reap the leader.

    SIGTERM first, SIGKILL after a grace period; the pipes are closed whatever still holds
    them, so a kill can never wait on a child's open stdout.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    signal_tagged(tag, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), KILL_GRACE)
    # SIGKILL the group even when the leader died: its children may still be there
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    signal_tagged(tag, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), KILL_GRACE)
    transport.close()  # whatever still holds the pipes
