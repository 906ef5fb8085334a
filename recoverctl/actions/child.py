"""A local command's process, started and watched without asyncio's subprocess machinery.

asyncio's `subprocess_exec` costs more than the command for short steps: a
waiter thread per child (the child watcher), a transport, a protocol, two
stream readers and two reader tasks. Measured (bench/results/engine.md), it
was most of a 200-step run's time. Here the child is started by
`subprocess.Popen` (vfork + exec in C, with the same process group, env, cwd
and error semantics as before), its pipes and its exit are watched by the
event loop itself: the pipes with `add_reader`, the exit with a process file
descriptor (`os.pidfd_open`, Linux ≥ 5.3) that becomes readable when the
child exits, then reaped with a non-blocking wait. Where pidfd is missing
(another OS, an old kernel, a seccomp filter), `start` falls back to
asyncio's subprocess machinery: slower, same behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Callable

from recoverctl.actions.base import AttemptResult
from recoverctl.actions.process import pump, spawn

Feed = Callable[[bytes], None]
READ_SIZE = 65536


class Child:
    """The running command: `exited` resolves when it exits (not when its pipes close:
    `server &` keeps them open for hours), `returncode` is then set."""

    pid: int
    exited: asyncio.Future[None]

    def returncode(self) -> int | None:
        raise NotImplementedError

    def exit_now(self) -> int | None:
        """The exit code if the command has exited, whether or not the loop has seen it yet
        (reaps it, never blocks); the output already in the pipes is read first."""
        raise NotImplementedError

    async def drained(self, timeout: float) -> None:
        """Wait (up to `timeout`) for the output still in the pipes after the exit."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop reading: whatever a detached child still holds open is left unread. A child
        not yet reaped still is, when it exits."""
        raise NotImplementedError


async def start(
    argv: list[str], env: dict[str, str], cwd: str | None, stdout: Feed, stderr: Feed
) -> Child | AttemptResult:
    """The command started in its own process group (a timeout kills the whole tree),
    stdin closed, its output fed to `stdout` and `stderr`; or why it could not start."""
    if _HAVE_PIDFD:
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except (FileNotFoundError, NotADirectoryError, PermissionError, ValueError) as exc:
            return not_started(exc, argv, cwd)
        try:
            pidfd = os.pidfd_open(popen.pid)
        except OSError:  # the child is ours, so only a kernel without pidfd says no
            return _WaitedChild(popen, stdout, stderr)
        return _PidfdChild(popen, pidfd, stdout, stderr)
    spawned = await spawn(argv, env, cwd)
    if isinstance(spawned, AttemptResult):
        return spawned
    return _AsyncioChild(*spawned, stdout, stderr)


def not_started(exc: OSError | ValueError, argv: list[str], cwd: str | None) -> AttemptResult:
    """Why a command could not start, as the step reports it."""
    if isinstance(exc, FileNotFoundError):
        missing = exc.filename or argv[0]
        return AttemptResult(ok=False, exit_code=127, error=f"command not found: {missing}")
    if isinstance(exc, NotADirectoryError):
        return AttemptResult(ok=False, error=f"working directory is not a directory: {cwd}")
    if isinstance(exc, PermissionError):
        return AttemptResult(
            ok=False, exit_code=126, error=f"permission denied: {exc.filename or argv[0]}"
        )
    return AttemptResult(  # "embedded null byte": no argument or variable can carry a NUL
        ok=False,
        retryable=False,
        error="a value passed to the command holds a NUL byte, which no argument or "
        "environment variable can carry; hint: strip it (e.g. `| replace('\\x00', '')`)",
    )


class _PipesChild(Child):
    """Pipes read by the event loop's own readers; the exit watched by the subclass."""

    def __init__(self, popen: subprocess.Popen[bytes], stdout: Feed, stderr: Feed) -> None:
        self.loop = asyncio.get_running_loop()
        self.popen = popen
        self.pid = popen.pid
        self.exited = self.loop.create_future()
        self.open: dict[int, asyncio.Future[None]] = {}
        self.feeds: dict[int, Feed] = {}
        assert popen.stdout is not None and popen.stderr is not None  # noqa: S101 - PIPE asked
        for pipe, feed in ((popen.stdout, stdout), (popen.stderr, stderr)):
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self.open[fd] = self.loop.create_future()
            self.feeds[fd] = feed
            self.loop.add_reader(fd, self._readable, fd)

    def _readable(self, fd: int) -> bool:
        """Read one chunk; False when nothing is there now (the pipe stays open)."""
        try:
            chunk = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if chunk:
            self.feeds[fd](chunk)
            return True
        self._stop_reading(fd)
        return True

    def _stop_reading(self, fd: int) -> None:
        done = self.open.pop(fd, None)
        if done is None:
            return
        self.loop.remove_reader(fd)
        if not done.done():
            done.set_result(None)

    def returncode(self) -> int | None:
        return self.popen.returncode

    def exit_now(self) -> int | None:
        if not self._reaped():
            return None
        for fd in list(self.open):  # what it wrote before it exited, still in the pipe
            while fd in self.open and self._readable(fd):
                pass
        return self.popen.returncode

    async def drained(self, timeout: float) -> None:
        if self.open:
            await asyncio.wait(list(self.open.values()), timeout=timeout)

    def close(self) -> None:
        for fd in list(self.open):
            self._stop_reading(fd)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()

    def _reaped(self) -> bool:
        """Reap the child if it has exited (never blocks); True when it has."""
        if self.popen.poll() is None:
            return False
        if not self.exited.done():
            self.exited.set_result(None)
        return True


class _PidfdChild(_PipesChild):
    def __init__(
        self, popen: subprocess.Popen[bytes], pidfd: int, stdout: Feed, stderr: Feed
    ) -> None:
        super().__init__(popen, stdout, stderr)
        self.pidfd = pidfd
        self.loop.add_reader(pidfd, self._exit_readable)

    def _exit_readable(self) -> None:
        if self._reaped():
            self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)


class _WaitedChild(_PipesChild):
    """No pidfd: the exit is polled (rarely met: `start` prefers the asyncio fallback)."""

    def __init__(self, popen: subprocess.Popen[bytes], stdout: Feed, stderr: Feed) -> None:
        super().__init__(popen, stdout, stderr)
        self.poll = self.loop.create_task(self._watch())

    async def _watch(self) -> None:
        delay = 0.001
        while not self._reaped():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)


class _AsyncioChild(Child):
    """asyncio's subprocess machinery, where the loop cannot watch a process fd."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        transport: asyncio.SubprocessTransport,
        exited: asyncio.Future[None],
        stdout: Feed,
        stderr: Feed,
    ) -> None:
        self.pid = proc.pid
        self.transport = transport
        self.exited = exited
        assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - PIPE asked
        self.readers = [
            asyncio.ensure_future(pump(proc.stdout, stdout)),
            asyncio.ensure_future(pump(proc.stderr, stderr)),
        ]

    def returncode(self) -> int | None:
        return self.transport.get_returncode()

    def exit_now(self) -> int | None:
        return self.transport.get_returncode()  # as far as asyncio's watcher has seen

    async def drained(self, timeout: float) -> None:
        await asyncio.wait(self.readers, timeout=timeout)

    def close(self) -> None:
        for task in self.readers:
            task.cancel()
        self.transport.close()


def _pidfd_works() -> bool:
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        fd = os.pidfd_open(os.getpid())
    except OSError:
        return False
    with contextlib.suppress(OSError):
        os.close(fd)
    return True


_HAVE_PIDFD = _pidfd_works()
