"""`http`: one request with httpx; status, body and JSON checked against `expect`.

A refused connection, a timeout or an unexpected status is a failed attempt
(retryable like any other), reported in words an operator can act on.
"""

from __future__ import annotations

import json
from typing import Any

from recoverctl.actions.base import ActionContext, AttemptResult
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import HttpAction, Webhook

DEFAULT_TIMEOUT = 30.0
BODY_LIMIT = 1024 * 1024
REGEX_SECONDS = 1.0
"""How long one body match may take before it is stopped (hostile pattern or body)."""


class _TlsFileError(Exception):
    """A CA bundle or client certificate that cannot be loaded: no attempt can succeed."""


def _tls(action: HttpAction, ctx: ActionContext) -> Any:
    """`verify` for httpx: a bool, or an SSL context with the runbook's CAs and client cert."""
    if action.ca_bundle is None and action.client_cert is None:
        return action.verify
    import ssl
    from pathlib import Path

    folder = Path(ctx.working_directory() or ".")

    def path(text: Any, what: str) -> str:
        found = folder / ctx.render(text)
        if not found.is_file():
            raise _TlsFileError(f"the {what} {found} is not a file")
        return str(found)

    try:
        context = ssl.create_default_context(
            cafile=path(action.ca_bundle, "CA bundle") if action.ca_bundle else None
        )
        if not action.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if action.client_cert is not None:
            key = path(action.client_key, "client key") if action.client_key else None
            context.load_cert_chain(path(action.client_cert, "client certificate"), key)
    except ssl.SSLError as exc:
        raise _TlsFileError(f"cannot load the TLS files: {exc.reason or exc}") from None
    except OSError as exc:
        raise _TlsFileError(f"cannot read the TLS files: {exc.strerror}") from None
    return context


async def http(action: HttpAction, ctx: ActionContext) -> AttemptResult:
    import httpx

    url = ctx.render(action.url)
    headers = {name: ctx.render(value) for name, value in action.headers}
    problem = bad_header(headers)
    if problem is not None:
        return AttemptResult(ok=False, error=problem, retryable=False)
    content = ctx.render(action.body) if action.body is not None else None
    payload = _render_json(action.json, ctx) if action.json is not None else None
    timeout = action.timeout or ctx.step.timeout or DEFAULT_TIMEOUT
    try:
        verify = _tls(action, ctx)
    except _TlsFileError as exc:
        return AttemptResult(ok=False, error=str(exc), retryable=False)
    try:
        async with httpx.AsyncClient(
            verify=verify, follow_redirects=action.follow_redirects, timeout=timeout
        ) as client:
            response = await client.request(
                action.method, url, headers=headers, content=content, json=payload
            )
    except httpx.TimeoutException:
        return AttemptResult(
            ok=False,
            timed_out=True,
            error=f"{action.method} {url}: no answer within {format_duration(timeout)}",
        )
    except httpx.ConnectError as exc:
        return AttemptResult(
            ok=False, error=f"{action.method} {url}: cannot connect ({root_reason(exc)})"
        )
    except httpx.HTTPError as exc:
        return AttemptResult(
            ok=False, error=f"{action.method} {url}: {type(exc).__name__}: {root_reason(exc)}"
        )
    except ValueError as exc:  # malformed URL and the like
        return AttemptResult(ok=False, error=f"invalid request to '{url}': {exc}")
    body = response.text[:BODY_LIMIT]
    parsed = _parse_json(response)
    data = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": body,
        "json": parsed,
    }
    error = _check(action, response.status_code, body, parsed, response.headers.get("location"))
    return AttemptResult(ok=error is None, stdout=body, error=error, data=data, exit_code=None)


_CONTROL_NAMES = {"\r": "a carriage return (\\r)", "\n": "a newline (\\n)", "\x00": "a NUL byte"}


def bad_header(headers: dict[str, str]) -> str | None:
    """A header value no server may receive, named by its header — never by its value.

    A token pasted from a file often ends in `\\r` or `\\n`; the HTTP client's own
    error would quote the whole value, secret or not.
    """
    for name, value in headers.items():
        for position, char in enumerate(value):
            if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
                what = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
                return (
                    f"header '{name}': its value holds {what} at position {position + 1} "
                    "(header values cannot hold control characters); hint: strip it where "
                    "the value is set, or in the template with `| trim`"
                )
    return None


def _check(
    action: HttpAction, status: int, body: str, parsed: Any, location: str | None
) -> str | None:
    expect = action.expect
    if not expect.accepts(status):
        message = f"got HTTP {status}, expected {expect.describe_status()}"
        if 300 <= status < 400 and location:
            message += f" (redirect to {location}; set follow_redirects: true to follow it)"
        return message
    if expect.body is not None:
        import regex

        try:
            if not regex.search(expect.body, body, timeout=REGEX_SECONDS):
                return f"body does not match /{expect.body}/"
        except TimeoutError:
            return (
                f"matching /{expect.body}/ against the {len(body)}-character body took more "
                f"than {format_duration(REGEX_SECONDS)} and was stopped (a pattern that backtracks: simplify it)"
            )
    for path, wanted in expect.json:
        found, ok = _lookup(parsed, path)
        if not ok:
            return f"JSON path '{path}' is missing from the response"
        if found != wanted:
            return f"JSON path '{path}' is {found!r}, expected {wanted!r}"
    return None


def _lookup(document: Any, path: str) -> tuple[Any, bool]:
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None, False
    return node, True


def _parse_json(response: Any) -> Any:
    try:
        return json.loads(response.text)
    except ValueError:
        return None


def _render_json(value: Any, ctx: ActionContext) -> Any:
    from recoverctl.model.runbook import Text
    from recoverctl.model.source import UNKNOWN_SPAN

    if isinstance(value, str):
        return ctx.render(Text(value, UNKNOWN_SPAN))
    if isinstance(value, dict):
        return {k: _render_json(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, ctx) for v in value]
    return value


def root_reason(exc: BaseException) -> str:
    """The root cause in words: httpx wraps it ("All connection attempts failed")."""
    import socket
    import ssl

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"host not found ({cause.strerror})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text


async def post_webhook(hook: Webhook, message: str, level: str, ctx: ActionContext) -> str | None:
    """POST a JSON notification; returns an error message, or None when it was delivered."""
    import httpx

    url = ctx.render(hook.url)
    payload = {"text": message, "level": level, "run_id": ctx.run_id, "step": ctx.step.id}
    try:
        async with httpx.AsyncClient(timeout=hook.timeout) as client:
            response = await client.post(url, json=payload)
    except httpx.TimeoutException:
        return f"webhook {url}: no answer within {format_duration(hook.timeout)}"
    except httpx.HTTPError as exc:
        return f"webhook {url}: {root_reason(exc)}"
    if response.status_code >= 300:
        return f"webhook {url}: HTTP {response.status_code}"
    return None
