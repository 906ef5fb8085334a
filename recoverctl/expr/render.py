"""Run-time rendering: templates and conditions against a run's context.

Compiled templates are cached by source text; a failure (an undefined name,
a filter that raised) becomes a `RenderError` whose message names what was
being rendered, never a Jinja traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from recoverctl.expr.detect import is_template

if TYPE_CHECKING:
    from jinja2 import Template


class RenderError(Exception):
    """A template or expression that could not be evaluated at run time."""


def _errors() -> tuple[type[Exception], ...]:
    """What rendering may raise; jinja2 is imported only when something is rendered."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    return (TemplateError, SecurityError, ArithmeticError, ValueError, TypeError)


@lru_cache(maxsize=8192)
def _template(source: str, kind: str) -> Template:
    from recoverctl.expr.environment import expression_env, shell_env

    if kind == "shell":
        from recoverctl.expr.shell_quoting import requote

        return shell_env().from_string(requote(source))
    return expression_env().from_string(source)  # the string *is* the template


@lru_cache(maxsize=8192)
def _expression(source: str) -> Any:
    from recoverctl.expr.environment import expression_env

    return expression_env().compile_expression(source, undefined_to_none=False)


def render(source: str, context: dict[str, Any], *, shell: bool = False) -> str:
    """Render a template string; with `shell`, every inserted value is shell-quoted."""
    if not is_template(source):
        return source
    try:
        return str(_template(source, "shell" if shell else "text").render(context))
    except _errors() as exc:
        raise RenderError(_message(exc)) from None


def render_command(
    source: str, context: dict[str, Any], hide: Callable[[str], bool]
) -> tuple[str, dict[str, str]]:
    """A `run:` string for `sh -c`, every value shell-quoted; values `hide` picks (secrets)
    come back as environment variables the command reads, never in its text."""
    from recoverctl.expr.environment import HIDDEN

    values: dict[str, str] = {}
    token = HIDDEN.set((hide, values))
    try:
        return render(source, context, shell=True), values
    finally:
        HIDDEN.reset(token)


_LONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


def render_value(source: str, context: dict[str, Any]) -> Any:
    """For outputs: a lone `{{ expr }}` keeps its type (`{{ stdout | int }}` is an int);
    anything else renders to text. Text is never re-parsed as a literal."""
    lone = _LONE_EXPRESSION.match(source)
    if lone is not None:
        return evaluate(lone.group("expr"), context)
    return render(source, context)


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """The value of a condition such as `steps.check.ok and params.force`."""
    try:
        return _expression(source)(**context)
    except _errors() as exc:
        raise RenderError(_message(exc)) from None


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    text = text.replace("'dict object'", "the value").replace("jinja2.exceptions.", "")
    return f"{type(exc).__name__.replace('UndefinedError', 'undefined')}: {text}"


__all__ = ["RenderError", "evaluate", "render", "render_value"]
