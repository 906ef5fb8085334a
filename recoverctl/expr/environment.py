"""The sandboxed Jinja2 environments, built once per process."""

from __future__ import annotations

import shlex
from functools import cache
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _to_json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _from_json(value: str) -> Any:
    import json

    return json.loads(value)


def _configure(env: ImmutableSandboxedEnvironment) -> ImmutableSandboxedEnvironment:
    env.filters["to_json"] = _to_json
    env.filters["from_json"] = _from_json
    env.filters["shell_quote"] = lambda v: shlex.quote(str(v))
    return env


def _shell_finalize(value: Any) -> str:
    """Quote every value a template puts into a shell command."""
    if isinstance(value, bool):
        value = str(value).lower()
    return shlex.quote(str(value))


@cache
def expression_env() -> ImmutableSandboxedEnvironment:
    """For conditions and plain templates: undefined names are errors."""
    return _configure(ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False))


@cache
def shell_env() -> ImmutableSandboxedEnvironment:
    """For `run:` strings: like `expression_env`, and every value is shell-quoted."""
    return _configure(
        ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, finalize=_shell_finalize
        )
    )
