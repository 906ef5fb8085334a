"""Serving a Step Functions activity: poll for tasks, run each payload, answer.

`recoverctl worker --activity ARN` runs this on the hosts being recovered; an
exported machine whose tasks name that activity (`export --resource
arn:…:activity:…`) then runs its commands there. Several pollers serve at once,
so the branches of a Parallel state run at once, as in a local run.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from recoverctl.engine.injection import Fault
from recoverctl.export.runner import Outcome, SecretReader, execute

MAX_CAUSE = 32_000
"""SendTaskFailure's cause is at most 32,768 characters."""


class _Busy:
    """The tasks being run: a stopping worker waits for them, never for a long poll."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._count == 0)


def serve(
    client: Any,
    activity_arn: str,
    stop: threading.Event,
    *,
    pollers: int = 4,
    faults: Mapping[str, Fault] | None = None,
    on_task: Callable[[dict[str, Any], Outcome], None] | None = None,
    secrets: SecretReader | None = None,
) -> None:
    """Serve until `stop` is set, then wait for the commands in flight (not for the polls:
    a long poll lasts up to 60 s; the pollers are daemon threads, gone with the process)."""
    name = f"recoverctl@{socket.gethostname()}"
    busy = _Busy()
    for i in range(pollers):
        threading.Thread(
            target=_poll,
            args=(client, activity_arn, f"{name}#{i}", stop, busy, faults or {}, on_task, secrets),
            daemon=True,
            name=f"poller-{i}",
        ).start()
    while not stop.wait(0.5):  # a timed wait: signals reach the main thread between waits
        pass
    busy.wait_idle()


def _poll(
    client: Any,
    activity_arn: str,
    worker: str,
    stop: threading.Event,
    busy: _Busy,
    faults: Mapping[str, Fault],
    on_task: Callable[[dict[str, Any], Outcome], None] | None,
    secrets: SecretReader | None,
) -> None:
    while not stop.is_set():
        try:
            task = client.get_activity_task(activityArn=activity_arn, workerName=worker)
        except Exception:  # the service is away: try again, never die
            stop.wait(1.0)
            continue
        token = task.get("taskToken")
        if not token:
            continue  # the long poll ended empty
        with busy:
            if stop.is_set():  # a task handed out as the worker stops: give it back at once
                outcome = Outcome(error="Recoverctl.WorkerStopped", cause=f"{worker} stopped")
            else:
                payload = _payload(task.get("input"))
                outcome = execute(payload, faults, secrets)
                if on_task is not None:
                    on_task(payload, outcome)
            _answer(client, token, outcome)


def _payload(text: str | None) -> dict[str, Any]:
    """The task's input: the payload itself, or a Lambda-style `{"Payload": ...}`."""
    try:
        payload = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(payload, dict):
        return {}
    inner = payload.get("Payload", payload)
    return inner if isinstance(inner, dict) else {}


def _answer(client: Any, token: str, outcome: Outcome) -> None:
    try:
        if outcome.ok:
            client.send_task_success(taskToken=token, output=json.dumps(outcome.output))
        else:
            client.send_task_failure(
                taskToken=token,
                error=str(outcome.error)[:256],
                cause=str(outcome.cause or "")[:MAX_CAUSE],
            )
    except Exception:  # noqa: S110 - a task that timed out meanwhile: its answer is moot
        pass
