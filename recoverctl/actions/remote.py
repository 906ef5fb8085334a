"""Commands on another host: ssh, kubectl exec, docker exec, or any argv prefix.

The command never travels in an argument. Every transport runs the same
fixed wrapper there (`sh -c WRAPPER`) and sends the job — the environment
as `export` lines, the working directory, the command — on stdin, so a
hostile value cannot become an option of ssh or kubectl, and secrets do not
show in a process listing on either side.

The wrapper starts the job in a process group of its own and says which
(`@@recoverctl pgid N` on stderr), then its exit (`@@recoverctl exit N`).
So a timeout or Ctrl-C stops the remote process group — SIGTERM, then
SIGKILL, and every process still carrying the attempt's tag — through a
second connection, verifies it is gone, and only then stops the local
client. An ssh that ends with neither marker never reached its host; one
with a start but no exit lost its connection mid-step: each is reported as
what it is, never as "exited with 255".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shlex
import signal
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recoverctl.actions import process as local
from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.actions.hosts import Remote
from recoverctl.model.duration import format_duration, parse_duration
from recoverctl.model.runbook import RunAction, Text
from recoverctl.model.targets import (
    SAFE_HOST,
    SAFE_JUMP,
    SAFE_USER,
    SAFE_WORD,
    Target,
    Transport,
    value_problem,
)

MARK = "@@recoverctl"
WRAPPER = (
    "job=$(cat); "
    'if command -v setsid >/dev/null 2>&1; then setsid sh -c "$job" </dev/null & '
    'else set -m; sh -c "$job" </dev/null & fi; '
    f'pid=$!; echo "{MARK} pgid $pid" >&2; wait $pid; code=$?; '
    f'echo "{MARK} exit $code" >&2; exit $code'
)
"""Runs the job read from stdin in its own process group, saying which and how it ended."""
KILLER = (
    "read pgid tag; kill -TERM -$pgid 2>/dev/null; i=0; "
    "while kill -0 -$pgid 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; "
    "kill -KILL -$pgid 2>/dev/null; "
    "for p in /proc/[0-9]*; do "
    'if tr "\\000" "\\n" < $p/environ 2>/dev/null | grep -qx "RECOVERCTL_PROCESS_TAG=$tag"; '
    "then kill -KILL ${p#/proc/} 2>/dev/null; fi; done; sleep 0.1; "
    "if kill -0 -$pgid 2>/dev/null; then echo alive; else echo gone; fi"
)
"""Stops a job's process group there (and what left it but kept its tag), then says
whether anything of the group is left."""
REMOTE_KILL_TIMEOUT = 15.0
CONNECT_TIMEOUT = 10.0
_UNREACHABLE = (
    ("Host key verification failed", "host key verification failed", False),
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "the host key has CHANGED", False),
    ("Permission denied", "permission denied", False),
    ("Could not resolve hostname", "unknown host name", False),
    ("Name or service not known", "unknown host name", False),
    ("Connection refused", "connection refused", True),
    ("Connection timed out", "connection timed out", True),
    ("Operation timed out", "connection timed out", True),
    ("No route to host", "no route to host", True),
    ("Network is unreachable", "network unreachable", True),
)


class TargetError(ValueError):
    """A target's settings or host cannot be used (said before anything runs there)."""


def resolve(
    target: Target,
    host: str,
    render: Callable[[Text], str],
    hostvars: dict[str, str] | None = None,
) -> Remote:
    """`host` of `target`, every setting rendered and checked: raises TargetError.
    `hostvars`: an inventory's `ansible_host`, `ansible_port`, `ansible_user` for it."""
    options = {name: render(value).strip() for name, value in target.options}
    vars_ = hostvars or {}
    for ours, theirs in (("port", "ansible_port"), ("user", "ansible_user")):
        if theirs in vars_:
            options[ours] = str(vars_[theirs])

    def checked(what: str, value: str, pattern: re.Pattern[str]) -> str:
        problem = value_problem(what, value, pattern)
        if problem is not None:
            raise TargetError(problem)
        return value

    checked("host", host, SAFE_HOST)
    if target.transport is Transport.SSH:
        address = checked("host", str(vars_.get("ansible_host", host)), SAFE_HOST)
        remote = _ssh(address, options, checked)
        return Remote(host, remote.transport, remote.prefix, remote.joined, remote.master)
    if target.transport is Transport.KUBECTL:
        argv = ["kubectl"]
        if "context" in options:
            argv += ["--context", checked("context", options["context"], SAFE_WORD)]
        if "namespace" in options:
            argv += ["-n", checked("namespace", options["namespace"], SAFE_WORD)]
        argv += ["exec", "-i", host]
        if "container" in options:
            argv += ["-c", checked("container", options["container"], SAFE_WORD)]
        return Remote(host, target.transport, (*argv, "--"))
    if target.transport is Transport.DOCKER:
        argv = ["docker", "exec", "-i"]
        if "user" in options:
            argv += ["-u", checked("user", options["user"], SAFE_WORD)]
        return Remote(host, target.transport, (*argv, host))
    prefix = tuple(render(part) for part in target.argv)
    if not prefix or not prefix[0] or prefix[0].startswith("-"):
        raise TargetError(f"the command prefix {list(prefix)!r} does not start with a program")
    return Remote(host, target.transport, prefix)


def _ssh(host: str, options: dict[str, str], checked: Callable[..., str]) -> Remote:
    name, port = host, options.get("port", "")
    if host.count(":") == 1:  # host:port (an IPv6 address has more colons)
        name, port = host.split(":")
    if port and not port.isdigit():
        raise TargetError(f"the port {port!r} of {host!r} is not a number")
    connect = CONNECT_TIMEOUT
    if "connect_timeout" in options:
        connect = parse_duration(options["connect_timeout"])
    strict = options.get("host_key_checking", "strict")
    argv = [
        "ssh",
        "-T",
        "-o", "BatchMode=yes",
        "-o", f"StrictHostKeyChecking={'accept-new' if strict == 'accept-new' else 'yes'}",
        "-o", f"ConnectTimeout={max(1, round(connect))}",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
    ]  # fmt: skip
    if "known_hosts" in options:
        argv += ["-o", f"UserKnownHostsFile={_no_spaces('known_hosts', options['known_hosts'])}"]
    if "identity_file" in options:
        argv += ["-o", "IdentitiesOnly=yes", "-i", options["identity_file"]]
    if "user" in options:
        argv += ["-l", checked("user", options["user"], SAFE_USER)]
    if port:
        argv += ["-p", port]
    if "jump" in options:
        argv += ["-J", checked("jump host", options["jump"], SAFE_JUMP)]
    control = _control_dir()
    multiplex: list[str] = []
    if control is not None:
        # one master per host *and settings*: a connection made with one target's key and
        # known_hosts must never carry a step of a target with others
        settings = hashlib.sha256("\0".join(argv).encode()).hexdigest()[:12]
        multiplex = [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control}/{settings}-%C",
            "-o", "ControlPersist=60",
        ]  # fmt: skip
    master = (*argv, *multiplex, "-O", "exit", "--", name) if control else ()
    return Remote(host, Transport.SSH, (*argv, *multiplex, "--", name), joined=True, master=master)


def _no_spaces(what: str, value: str) -> str:
    if any(c.isspace() for c in value) or not value:
        raise TargetError(f"the {what} path {value!r} is empty or holds spaces")
    return value


_CONTROL: list[Path | None] = []


def _control_dir() -> Path | None:
    """A folder only this user can enter, for ssh's connection sockets (short: a socket
    path has ~100 bytes). One another user made first is not used: then no reuse."""
    if _CONTROL:
        return _CONTROL[0]
    folder: Path | None = Path(tempfile.gettempdir()) / f"recoverctl-ssh-{os.getuid()}"
    try:
        assert folder is not None  # noqa: S101 - set just above
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            folder = None
    except OSError:
        folder = None
    _CONTROL.append(folder)
    return folder


MASTERS: dict[tuple[str, ...], None] = {}
"""The ssh connection masters this process may have started (closed at the run's end)."""


async def close_masters() -> None:
    """Ask every connection master this run used to exit: nothing of it outlives the run.
    All at once: one after another, twenty hosts add a third of a second to every run."""
    masters = list(MASTERS)
    MASTERS.clear()

    async def close(argv: tuple[str, ...]) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    await asyncio.gather(*(close(argv) for argv in masters))


def job_script(ctx: ActionContext, command: str, hidden: dict[str, str], tag: str) -> str:
    """What the host runs: the step's environment (not this machine's), its working
    directory, the command. Sent on stdin, never as an argument."""
    from recoverctl.processes import TAG_VARIABLE

    lines = ["set +e"]
    for name, value in {**ctx.remote_environment(), **hidden, TAG_VARIABLE: tag}.items():
        lines.append(f"export {name}={shlex.quote(value)}")
    if ctx.step.cwd is not None:  # there, as written: this runbook's folder is not there
        lines.append(f"cd {shlex.quote(ctx.render(ctx.step.cwd))} || exit 1")
    lines.append(command)
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class _Markers:
    """Reads the wrapper's markers out of stderr; passes every other line on."""

    forward: Callable[[bytes], None]
    on_start: Callable[[int], None]
    pgid: int | None = None
    exit: int | None = None
    started_at: float | None = None
    pending: bytes = b""
    lines: list[str] = field(default_factory=list)
    """The client's own last words (ssh's error), for why a host could not be reached."""

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data
            return
        whole, self.pending = data[: cut + 1], data[cut + 1 :]
        kept = bytearray()
        for line in whole.splitlines(keepends=True):
            if line.startswith(MARK.encode()):
                self._marker(line.decode(errors="replace").split())
            else:
                kept += line
                if self.pgid is None:
                    self.lines = [*self.lines[-5:], line.decode(errors="replace").strip()]
        if kept:
            self.forward(bytes(kept))

    def close(self) -> None:
        if self.pending:
            self.forward(self.pending)
            if self.pgid is None:
                self.lines.append(self.pending.decode(errors="replace").strip())
            self.pending = b""

    def _marker(self, words: list[str]) -> None:
        if len(words) == 3 and words[2].isdigit():
            if words[1] == "pgid" and self.pgid is None:
                self.pgid, self.started_at = int(words[2]), time.monotonic()
                self.on_start(self.pgid)
            elif words[1] == "exit":
                self.exit = int(words[2])


async def run_remote(action: RunAction, ctx: ActionContext, remote: Remote) -> AttemptResult:

    hidden: dict[str, str] = {}
    if action.shell:
        command, hidden = ctx.render_command(action.command[0])
    else:
        command = shlex.join(ctx.render(part) for part in action.command)
    tag = os.urandom(8).hex()
    script = job_script(ctx, command, hidden, tag)
    if remote.master:
        MASTERS[remote.master] = None
    started = time.monotonic()
    spawned = await local.spawn(remote.argv(WRAPPER), dict(os.environ), None, stdin=script.encode())
    if isinstance(spawned, AttemptResult):
        spawned.error = f"{remote.host}: {spawned.error} (the {remote.transport} client)"
        return spawned
    proc, transport, exited = spawned
    ctx.process_started(proc.pid)
    out, err = local.Capture(ctx, "stdout"), local.Capture(ctx, "stderr")
    markers = _Markers(err.feed, lambda pgid: ctx.remote_started(remote.host, pgid, tag))
    assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - PIPE was asked for
    readers = [
        asyncio.ensure_future(local.pump(proc.stdout, out.feed)),
        asyncio.ensure_future(local.pump(proc.stderr, markers.feed)),
    ]
    try:
        await asyncio.shield(exited)
        _done, pending = await asyncio.wait(readers, timeout=local.DRAIN_GRACE)
        for task in pending:
            task.cancel()
        code = transport.get_returncode()
        transport.close()
        assert code is not None  # noqa: S101 - the protocol said it exited
    except BaseException:
        for task in readers:
            task.cancel()
        kill = asyncio.ensure_future(_stop(remote, markers, proc, transport, exited, tag, ctx))
        local.STOPPING.add(kill)
        kill.add_done_callback(local.STOPPING.discard)
        await asyncio.shield(kill)
        raise
    markers.close()
    out.close()
    err.close()
    return _outcome(remote, markers, code, out.text(), err.text(), time.monotonic() - started)


def _outcome(
    remote: Remote, markers: _Markers, code: int, stdout: str, stderr: str, took: float
) -> AttemptResult:
    host = remote.host
    if markers.exit is not None:  # the job ran there and ended: its own exit code
        exit_code = markers.exit
        error = None if exit_code == 0 else f"{host}: exited with {exit_code}"
        return AttemptResult(
            ok=exit_code == 0, exit_code=exit_code, stdout=stdout, stderr=stderr, error=error
        )
    if markers.pgid is not None:
        ran = time.monotonic() - (markers.started_at or time.monotonic())
        return AttemptResult(
            ok=False,
            stdout=stdout,
            stderr=stderr,
            error=f"{host}: connection lost after {format_duration(ran)} (the command may "
            f"still be running there: process group {markers.pgid})",
        )
    said = " ".join(line for line in markers.lines if line)
    for needle, reason, retryable in _UNREACHABLE:
        if needle in said:
            hint = ""
            if "host key" in reason:
                hint = "; hint: add its key to known_hosts (ssh-keyscan), or set "
                hint += "host_key_checking: accept-new on the target"
            return AttemptResult(
                ok=False,
                stderr=stderr,
                retryable=retryable,
                error=f"{host}: could not connect: {reason}{hint}",
            )
    why = said[-200:] or f"the {remote.transport} client exited with {code}"
    return AttemptResult(
        ok=False, stderr=stderr, error=f"{host}: could not run the command there: {why}"
    )


async def _stop(
    remote: Remote,
    markers: _Markers,
    proc: asyncio.subprocess.Process,
    transport: asyncio.SubprocessTransport,
    exited: asyncio.Future[None],
    tag: str,
    ctx: ActionContext,
) -> None:
    """The remote process group first (the client's death does not stop it), verified;
    then the local client."""

    if markers.pgid is not None:
        verdict = await _remote_kill(remote, markers.pgid, tag)
        if verdict == "gone":
            ctx.log("info", f"{remote.host}: stopped process group {markers.pgid} there")
        else:
            ctx.log(
                "error",
                f"{remote.host}: could not verify process group {markers.pgid} was stopped "
                f"there ({verdict}); check the host by hand",
            )
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), local.KILL_GRACE)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), local.KILL_GRACE)
    transport.close()


async def stop_leftover(remote: Remote, pgid: int, tag: str) -> str:
    """What a killed run left on `remote` (its journal says which group): stopped, and
    said how it went."""
    if not re.fullmatch(r"[0-9a-f]{1,64}", tag) or pgid <= 1:
        return f"not stopping process group {pgid} on {remote.host}: the record is malformed"
    verdict = await _remote_kill(remote, pgid, tag)
    if verdict == "gone":
        return f"{remote.host}: stopped process group {pgid} that the stopped run left there"
    return f"{remote.host}: could not verify process group {pgid} is gone ({verdict})"


async def _remote_kill(remote: Remote, pgid: int, tag: str) -> str:
    """`gone` when nothing of the group is left there; else what is known."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *remote.argv(KILLER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        out, err = await asyncio.wait_for(
            proc.communicate(f"{pgid} {tag}\n".encode()), REMOTE_KILL_TIMEOUT
        )
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return f"no answer within {format_duration(REMOTE_KILL_TIMEOUT)}"
    except OSError as exc:
        return f"could not start the {remote.transport} client: {exc}"
    answer = out.decode(errors="replace").strip().splitlines()
    if answer and answer[-1] == "gone":
        return "gone"
    if answer and answer[-1] == "alive":
        return "still alive after SIGKILL"
    return err.decode(errors="replace").strip()[-200:] or "no answer"
