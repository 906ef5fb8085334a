"""Run-time rendering: templates and conditions against a run's context.

Compiled templates are cached by source text; a failure (an undefined name,
a filter that raised) becomes a `RenderError` whose message names what was
being rendered, never a Jinja traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from jinja2 import Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from recoverctl.expr.environment import expression_env, shell_env
from recoverctl.expr.references import is_template


class RenderError(Exception):
    """A template or expression that could not be evaluated at run time."""


def _keep_type(values: Iterable[Any]) -> Any:
    """A lone `{{ expr }}` keeps its type; anything else is text.

    Unlike Jinja's own native mode, text is never re-parsed as a literal:
    `{{ stdout | trim }}` of `{"n": 1}` stays the string the command printed.
    """
    head = list(islice(values, 2))
    if not head:
        return None
    if len(head) == 1:
        return head[0]
    return "".join(str(v) for v in chain(head, values))


class _NativeSandbox(ImmutableSandboxedEnvironment):
    """Sandboxed, and a lone `{{ expr }}` keeps its type (an int stays an int) for outputs."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(_keep_type)


@lru_cache(maxsize=1)
def _native_env() -> _NativeSandbox:
    from jinja2 import StrictUndefined

    env = _NativeSandbox(undefined=StrictUndefined, autoescape=False)
    env.filters.update(expression_env().filters)
    return env


@lru_cache(maxsize=8192)
def _template(source: str, kind: str) -> Template:
    env = {"shell": shell_env, "text": expression_env, "native": _native_env}[kind]()
    return env.from_string(source)


@lru_cache(maxsize=8192)
def _expression(source: str) -> Any:
    return expression_env().compile_expression(source, undefined_to_none=False)


def render(source: str, context: dict[str, Any], *, shell: bool = False) -> str:
    """Render a template string; with `shell`, every inserted value is shell-quoted."""
    if not is_template(source):
        return source
    try:
        return str(_template(source, "shell" if shell else "text").render(context))
    except (TemplateError, SecurityError, ArithmeticError, ValueError, TypeError) as exc:
        raise RenderError(_message(exc)) from None


def render_value(source: str, context: dict[str, Any]) -> Any:
    """Render keeping native types: `{{ stdout | int }}` gives an int, for outputs."""
    if not is_template(source):
        return source
    try:
        return _template(source, "native").render(context)
    except (TemplateError, SecurityError, ArithmeticError, ValueError, TypeError) as exc:
        raise RenderError(_message(exc)) from None


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """The value of a condition such as `steps.check.ok and params.force`."""
    try:
        return _expression(source)(**context)
    except (TemplateError, SecurityError, ArithmeticError, ValueError, TypeError) as exc:
        raise RenderError(_message(exc)) from None


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    text = text.replace("'dict object'", "the value").replace("jinja2.exceptions.", "")
    return f"{type(exc).__name__.replace('UndefinedError', 'undefined')}: {text}"


__all__ = ["Context", "RenderError", "evaluate", "render", "render_value"]
