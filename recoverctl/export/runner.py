"""The command runner of an exported Step Functions machine: one task payload, run here.

docs/export.md is the contract: the payload says what to run (`kind: run` a
command, `kind: http` a request) with its templates already evaluated by the
machine; the runner answers `{"exit_code", "stdout", "stderr"}` or fails the
task with the error `Recoverctl.ExitCode.<code>` (what `retry.when:
exit_code == N` retries on). It gives a command what `recoverctl run` gives
it: RECOVERCTL_RUN_ID, RECOVERCTL_STEP, RECOVERCTL_ATTEMPT and
RECOVERCTL_IDEMPOTENCY_KEY (computed as the engine computes it, from the run
id and the step's full id), a process group of its own that a timeout kills
whole, stdin closed, output kept within the same bounds.

`faults` are `recoverctl run --inject` faults (`fail:STEP`, `timeout:STEP`,
`delay:STEP=5s`), so a game day can break the exported machine exactly as it
breaks a local run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recoverctl.engine.idempotency import idempotency_key
from recoverctl.engine.injection import Fault

CAPTURE_LIMIT = 256 * 1024
"""Bytes of each stream returned (the tail): a task's output is limited to 256 KiB."""
KILL_GRACE = 2.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """A task's answer: `output` on success, else `error` and `cause`."""

    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def full_id(payload: Mapping[str, Any]) -> str:
    """The step as a run names it: a fan-out's item as `step[key]`."""
    step = str(payload.get("step", ""))
    item = payload.get("item")
    return f"{step}[{item}]" if item is not None else step


SecretReader = Callable[[str], str]
"""A secret's id → its value (Secrets Manager's GetSecretValue, for `recoverctl worker`)."""


class SecretUnavailable(Exception):
    """A secret the payload names cannot be read: the task fails, saying which (never its value)."""


def execute(
    payload: Mapping[str, Any],
    faults: Mapping[str, Fault] | None = None,
    secrets: SecretReader | None = None,
) -> Outcome:
    """Run one task payload; never raises for what the payload asks. Secret values (the
    payload's `secrets`: variable → secret id) are read here, passed in the environment and
    masked in what goes back: the machine and its history never hold them."""
    try:
        hidden = _read_secrets(payload, secrets)
    except SecretUnavailable as exc:
        return Outcome(error="Recoverctl.Secret", cause=str(exc))
    return _masked(_execute(payload, faults, hidden), hidden.values())


def _read_secrets(payload: Mapping[str, Any], reader: SecretReader | None) -> dict[str, str]:
    wanted = payload.get("secrets") or {}
    if wanted and reader is None:
        raise SecretUnavailable("this runner has no secret store to read secrets from")
    values: dict[str, str] = {}
    for variable, secret_id in wanted.items():
        assert reader is not None  # noqa: S101 - checked above
        values[str(variable)] = reader(str(secret_id))
    return values


def _masked(outcome: Outcome, values: Iterable[str]) -> Outcome:
    secrets = sorted((v for v in values if v), key=len, reverse=True)
    if not secrets:
        return outcome

    def mask(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        for value in secrets:
            text = text.replace(value, "***")
        return text

    output = {k: mask(v) for k, v in outcome.output.items()} if outcome.output else None
    return Outcome(output=output, error=outcome.error, cause=mask(outcome.cause))


RUN_TIMEOUT = "Recoverctl.RunTimeout"
"""The error for a step the run's deadline stopped or did not let start."""


def group_timeout(group_id: str) -> str:
    """The error for a step a group's deadline stopped or did not let start."""
    return f"Recoverctl.GroupTimeout.{group_id}"


@dataclass(frozen=True, slots=True)
class _Deadline:
    at: float
    """Epoch seconds."""
    error: str
    cause: str


def _first_deadline(payload: Mapping[str, Any]) -> _Deadline | None:
    """The earliest of the run's deadline (`deadline`) and its groups' (`group_deadlines`)."""
    found: list[_Deadline] = []
    if payload.get("deadline") is not None:
        what = payload.get("run_timeout")
        cause = (
            f"the run's timeout of {what} was reached" if what else "the run's timeout was reached"
        )
        found.append(_Deadline(float(payload["deadline"]) / 1000, RUN_TIMEOUT, cause))
    for group in payload.get("group_deadlines") or []:
        name = str(group.get("group"))
        found.append(
            _Deadline(
                float(group["at"]) / 1000,
                group_timeout(name),
                f"group '{name}' timed out after {group.get('timeout')}",
            )
        )
    return min(found, key=lambda d: d.at) if found else None


def _left(payload: Mapping[str, Any]) -> float | None:
    """Seconds to the first deadline over the step; None: no deadline."""
    first = _first_deadline(payload)
    return None if first is None else first.at - time.time()


def _run_timed_out(payload: Mapping[str, Any]) -> Outcome:
    first = _first_deadline(payload)
    assert first is not None  # noqa: S101 - only called past a deadline
    return Outcome(error=first.error, cause=first.cause)


def _bound(payload: Mapping[str, Any], own: float | None) -> tuple[float | None, bool]:
    """The attempt's time limit: its own timeout or what is left to the run's deadline,
    whichever ends first; True when the deadline is the limit."""
    left = _left(payload)
    if left is not None and (own is None or left < own):
        return max(left, 0.0), True
    return own, False


def _execute(
    payload: Mapping[str, Any], faults: Mapping[str, Fault] | None, hidden: dict[str, str]
) -> Outcome:
    fault = (faults or {}).get(full_id(payload)) or (faults or {}).get(str(payload.get("step")))
    left = _left(payload)
    if fault is not None and fault.kind != "fail" and (left is None or left > 0):
        own = float(payload.get("timeout") or 0) + 5  # a hang: the state's timeout fires first
        pause, by_deadline = _bound(payload, own if fault.kind == "timeout" else fault.delay)
        time.sleep(pause or 0)
        if fault.kind == "timeout" and not by_deadline:
            return Outcome(error="Recoverctl.Timeout", cause="injected hang")
    left = _left(payload)
    if left is not None and left <= 0:  # nothing starts after the run's deadline
        return _run_timed_out(payload)
    if fault is not None and fault.kind == "fail":
        return Outcome(error="Recoverctl.ExitCode.1", cause="injected failure")
    kind = payload.get("kind")
    if kind == "run":
        return _run(payload, hidden)
    if kind == "http":
        return _http(payload)
    return Outcome(error="Recoverctl.BadPayload", cause=f"unknown kind {kind!r}")


def _environment(payload: Mapping[str, Any], hidden: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (payload.get("env") or {}).items()})
    env.update(hidden)
    run_id = str(payload.get("run_id", ""))
    env["RECOVERCTL_RUN_ID"] = run_id
    env["RECOVERCTL_STEP"] = full_id(payload)
    env["RECOVERCTL_ATTEMPT"] = str(payload.get("attempt", 1))
    env["RECOVERCTL_IDEMPOTENCY_KEY"] = idempotency_key(run_id, full_id(payload))
    return env


def _run(payload: Mapping[str, Any], hidden: Mapping[str, str]) -> Outcome:
    command = [str(part) for part in payload.get("command") or []]
    if not command:
        return Outcome(error="Recoverctl.BadPayload", cause="no command")
    argv = ["/bin/sh", "-c", command[0]] if payload.get("shell") else command
    own = payload.get("timeout")
    timeout, by_deadline = _bound(payload, float(own) if own else None)
    try:
        proc = subprocess.Popen(  # the runbook's command, as the machine rendered it
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(payload, hidden),
            cwd=payload.get("cwd") or None,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        return Outcome(error="Recoverctl.ExitCode.127", cause=f"command not found: {exc.filename}")
    except (NotADirectoryError, PermissionError, ValueError) as exc:
        return Outcome(error="Recoverctl.ExitCode.126", cause=str(exc))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        if by_deadline:
            return _run_timed_out(payload)
        return Outcome(error="Recoverctl.Timeout", cause=f"timed out after {own}s")
    out, err = _tail(stdout), _tail(stderr)
    if proc.returncode != 0:
        code = proc.returncode if proc.returncode > 0 else 128 - proc.returncode
        last = err.strip().splitlines()[-1:] or [""]
        return Outcome(
            error=f"Recoverctl.ExitCode.{code}",
            cause=f"exited with {proc.returncode}" + (f": {last[0][:500]}" if last[0] else ""),
        )
    return Outcome(output={"exit_code": 0, "stdout": out, "stderr": err})


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's group, SIGKILL after a grace period: no child outlives it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=KILL_GRACE)
        if proc.returncode is not None:
            return


def _tail(data: bytes) -> str:
    return data[-CAPTURE_LIMIT:].decode("utf-8", errors="replace")


def _http(payload: Mapping[str, Any]) -> Outcome:
    import httpx

    expect = payload.get("expect") or {}
    timeout, by_deadline = _bound(
        payload, float(payload.get("request_timeout") or payload.get("timeout") or 30)
    )
    try:
        response = httpx.request(
            str(payload.get("method", "GET")),
            str(payload.get("url")),
            headers={str(k): str(v) for k, v in (payload.get("headers") or {}).items()},
            content=payload.get("body"),
            json=payload.get("json"),
            timeout=timeout,
            verify=bool(payload.get("verify", True)),
            follow_redirects=bool(payload.get("follow_redirects", False)),
        )
    except httpx.TimeoutException:
        if by_deadline:
            return _run_timed_out(payload)
        return Outcome(error="Recoverctl.Http", cause=f"no answer within {timeout:g}s")
    except httpx.HTTPError as exc:
        return Outcome(error="Recoverctl.Http", cause=f"{type(exc).__name__}: {exc}")
    statuses = list(expect.get("status") or [200, 299])
    if expect.get("status_is_range", True):
        wanted = statuses[0] <= response.status_code <= statuses[-1]
    else:
        wanted = response.status_code in statuses
    text = response.text[-CAPTURE_LIMIT:]
    if not wanted or ("body" in expect and str(expect["body"]) not in text):
        return Outcome(
            error="Recoverctl.Http", cause=f"HTTP {response.status_code}, not what was expected"
        )
    return Outcome(
        output={"exit_code": 0, "stdout": text, "stderr": "", "status": response.status_code}
    )
