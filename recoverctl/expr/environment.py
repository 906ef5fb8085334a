"""The sandboxed Jinja2 environments, built once per process."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
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
    from recoverctl.expr.regex_filters import FILTERS

    env.filters.update(FILTERS)
    return env


def _text_finalize(value: Any) -> Any:
    """One spelling for every value a template prints: `true`/`false`, nothing for null, JSON
    for lists and mappings.

    A param gives `false`, an output computed by a comparison gives Python's `False`:
    both must read the same in a command, a header or a message.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return _to_json(value)  # a list param or a parsed output: JSON, never Python's repr
    return value


HIDDEN: ContextVar[tuple[Callable[[str], bool], dict[str, str]] | None] = ContextVar(
    "recoverctl_hidden_values", default=None
)
"""While a command is rendered: which values must not appear in it, and where they go."""


def _shell_finalize(value: Any) -> str:
    """Quote every value a template puts into a shell command.

    A value holding a secret is not written into the command at all — every local user
    can read a command line in `ps` — but passed in an environment variable the command
    expands: `"$RECOVERCTL_HIDDEN_0"`.
    """
    text = str(_text_finalize(value))
    hidden = HIDDEN.get()
    if hidden is not None and hidden[0](text):
        name = f"RECOVERCTL_HIDDEN_{len(hidden[1])}"
        hidden[1][name] = text
        return f'"${name}"'
    return shlex.quote(text)


class RunUndefined(StrictUndefined):
    """An undefined name, explained: an optional param without a value says so."""

    @property
    def _undefined_message(self) -> str:
        owner, name = self._undefined_obj, self._undefined_name
        unset = getattr(owner, "unset", None)
        if isinstance(unset, frozenset) and name in unset:
            return (
                f"param '{name}' has no value (it is optional and has no default); pass it "
                f"with -p {name}=..., or write `params.{name} | default('...')`"
            )
        return str(super()._undefined_message)


MAX_BITS = 4096
"""The largest number a template may compute (`**`), in bits."""
MAX_REPEAT = 1_000_000
"""The longest text or list a template may build by repetition (`*`)."""


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, and no arithmetic that never ends: `{{ 9 ** (9 ** 9) }}` would
    hold the event loop — and with it every timeout and Ctrl-C — for hours. Intercepted
    operators are also never folded at compile time, so validation cannot hang either."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if (
            operator == "**"
            and _numbers(left, right)
            and right > 0
            and abs(left) > 1
            and right * math.log2(abs(left)) > MAX_BITS
        ):
            raise SecurityError(f"{left!r} ** {right!r} is larger than {MAX_BITS} bits: refused")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_REPEAT
                ):
                    raise SecurityError(
                        f"repeating {len(seq)} items {times} times is over {MAX_REPEAT}: refused"
                    )
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`params.keys`, `steps.values.ok`, `outputs.items`: a name the runbook gave wins
        over a method of the mapping that holds it. Jinja prefers the attribute, so a
        param called `keys` read as the bound method `dict.keys` — in a command, a
        condition, a header. The run's own views (`params`, `steps`) never expose
        methods at all: a name they do not hold is undefined, and says so."""
        if isinstance(obj, Mapping):
            if attribute in obj:
                return obj[attribute]
            if getattr(type(obj), "names_only", False):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


@cache
def expression_env() -> ImmutableSandboxedEnvironment:
    """For conditions and plain templates: undefined names are errors."""
    return _configure(
        BoundedSandbox(undefined=RunUndefined, autoescape=False, finalize=_text_finalize)
    )


@cache
def shell_env() -> ImmutableSandboxedEnvironment:
    """For `run:` strings: like `expression_env`, and every value is shell-quoted."""
    return _configure(
        BoundedSandbox(undefined=RunUndefined, autoescape=False, finalize=_shell_finalize)
    )
