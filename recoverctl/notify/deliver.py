"""Sending one notice over one channel: rendered, bounded, retried with tenacity.

Each attempt is bounded by the channel's timeout (a receiver that hangs costs
that, never the run); a connection failure, a timeout, 408, 429 and 5xx are
tried again with exponential backoff and jitter, other answers (a 400 for a
malformed key, a 404 for a deleted webhook) are final. Errors name the
receiver's host, never its URL: webhook URLs and routing keys are credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from recoverctl.actions.http import bad_header, root_reason
from recoverctl.model.notify import PAGERDUTY_URL, Channel
from recoverctl.notify.formats import pagerduty_event, slack_message
from recoverctl.notify.notice import Notice

OUTPUT_KEPT = 400
"""Characters of a failing command's output (or a refusing server's body) kept for the record."""


class Retryable(Exception):
    """Worth another attempt: the receiver may be back in a moment."""


class Refused(Exception):
    """Final: another attempt would get the same answer."""


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


async def deliver(
    channel: Channel,
    notice: Notice,
    context: dict[str, Any],
    *,
    first_wait: float = 0.5,
    progress: list[int] | None = None,
) -> Delivery:
    """Every attempt the channel allows, until one succeeds or the answer is final
    (`progress[0]`: the attempt under way, for a record made while it is)."""
    from tenacity import (
        AsyncRetrying,
        RetryError,
        retry_if_exception_type,
        stop_after_attempt,
        wait_exponential,
        wait_random,
    )

    attempts = 0
    try:
        send = _sender(channel, notice, context)
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(channel.attempts),
            # 0.5 s, 1 s, 2 s… plus jitter: receivers back from an outage are not stampeded
            wait=wait_exponential(multiplier=first_wait, max=8 * first_wait)
            + wait_random(0, first_wait),
            retry=retry_if_exception_type(Retryable),
        ):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                if progress is not None:
                    progress[:] = [attempts]
                await send()
    except Refused as exc:
        return Delivery(ok=False, attempts=attempts, error=str(exc))
    except RetryError as exc:
        last = exc.last_attempt.exception()
        tries = f"{attempts} attempt{'s' * (attempts != 1)}"
        return Delivery(ok=False, attempts=attempts, error=f"gave up after {tries}: {last}")
    return Delivery(ok=True, attempts=attempts)


def _sender(channel: Channel, notice: Notice, context: dict[str, Any]) -> Any:
    """The coroutine function that makes one attempt; rendering errors are final."""
    from recoverctl.expr.render import render

    def value(name: str, default: str | None = None) -> str:
        text = channel.option(name)
        if text is None:
            if default is None:
                raise Refused(f"no {name}")
            return default
        try:
            return render(text.source, context)
        except Exception as exc:  # a template error: the notice cannot be addressed
            raise Refused(f"cannot render {name}: {exc}") from None

    if channel.kind == "command":
        try:
            argv = [render(part.source, context) for part in channel.argv]
        except Exception as exc:
            raise Refused(f"cannot render the command: {exc}") from None
        return lambda: _run_command(argv, notice, channel.timeout)
    headers = {}
    for name, text in channel.headers:
        try:
            headers[name] = render(text.source, context)
        except Exception as exc:
            raise Refused(f"cannot render header {name}: {exc}") from None
    problem = bad_header(headers)  # a secret ending in a newline: named, never quoted
    if problem is not None:
        raise Refused(problem)
    if channel.kind == "slack":
        url, body = value("url"), slack_message(notice)
    elif channel.kind == "pagerduty":
        url = value("url", PAGERDUTY_URL)
        body = pagerduty_event(notice, value("routing_key"), value("severity", "critical"))
    else:
        url, body = value("url"), notice.document()
    _check_url(url)
    return lambda: _post(url, body, headers, channel.timeout)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        raise Refused(f"expected an http(s) URL with a host, found {shown}")


async def _post(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> None:
    import httpx

    host = urlsplit(url).hostname or "?"
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(
                url, json=body, headers={"User-Agent": "recoverctl", **headers}
            )
    except httpx.TimeoutException:
        raise Retryable(f"{host} did not answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise Retryable(f"cannot reach {host}: {root_reason(exc)}") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    said = response.text[:OUTPUT_KEPT].strip()
    problem = f"{host} answered HTTP {status}" + (f": {said}" if said else "")
    if status in (408, 429) or status >= 500:
        raise Retryable(problem)
    raise Refused(problem)


async def _run_command(argv: list[str], notice: Notice, timeout: float) -> None:
    env = {
        **os.environ,
        "RECOVERCTL_NOTIFY_EVENT": notice.event.value,
        "RECOVERCTL_RUN_ID": notice.run_id,
    }
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a timeout kills what it started too
        )
    except OSError as exc:
        raise Refused(f"cannot run {argv[0]}: {exc.strerror}") from None
    document = json.dumps(notice.document()).encode("utf-8")
    try:
        output, _ = await asyncio.wait_for(process.communicate(document), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise Retryable(f"{argv[0]} did not finish within {timeout:g}s (killed)") from None
    if process.returncode != 0:
        said = output.decode("utf-8", "replace")[-OUTPUT_KEPT:].strip()
        raise Retryable(f"{argv[0]} exited {process.returncode}" + (f": {said}" if said else ""))
