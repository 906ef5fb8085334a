"""What a local and a remote command share: spawning in a process group, output
captured and streamed within bounds, and the stops still under way at the run's end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from recoverctl.actions.base import ActionContext, AttemptResult

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
