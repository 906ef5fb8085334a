"""`regex_search`, `regex_replace`, `regex_findall`: Ansible's regular-expression filters,
bounded. Patterns and the text they run over may be hostile (a runbook's author, an
alert's label, a command's output): with the `regex` module every match has a timeout,
so `(a+)+$` on a long line is stopped and said to be, instead of holding the event loop
— and with it every timeout and Ctrl-C of the run — forever.
"""

from __future__ import annotations

from typing import Any

from jinja2.exceptions import FilterArgumentError

REGEX_SECONDS = 1.0
"""The most one filter call may spend matching."""


def _compile(pattern: Any, ignorecase: bool, multiline: bool) -> Any:
    import regex

    flags = (regex.IGNORECASE if ignorecase else 0) | (regex.MULTILINE if multiline else 0)
    try:
        return regex.compile(str(pattern), flags | regex.VERSION0)
    except regex.error as exc:
        raise FilterArgumentError(
            f"the pattern /{pattern}/ is not a regular expression: {exc}"
        ) from None


def _bounded(name: str, pattern: Any, value: Any, call: Any) -> Any:
    try:
        return call()
    except TimeoutError:
        raise FilterArgumentError(
            f"{name}: matching /{pattern}/ against {len(str(value))} characters took more than "
            f"{REGEX_SECONDS:g}s and was stopped (a pattern that backtracks: simplify it)"
        ) from None


def regex_search(
    value: Any, pattern: Any, *groups: Any, ignorecase: bool = False, multiline: bool = False
) -> Any:
    """The first match (or, with `'\\\\1'`/`'\\\\g<name>'` arguments, those groups as a list); none: null."""
    compiled = _compile(pattern, ignorecase, multiline)
    found = _bounded(
        "regex_search", pattern, value, lambda: compiled.search(str(value), timeout=REGEX_SECONDS)
    )
    if found is None:
        return None
    if not groups:
        return found.group(0)
    picked = []
    for group in groups:
        text = str(group)
        if isinstance(group, int) and not isinstance(group, bool):
            picked.append(found.group(group))
        elif len(text) == 1 and ord(text) < 32:  # '\1' in a Jinja string is chr(1)
            picked.append(found.group(ord(text)))
        elif text.startswith("\\g<") and text.endswith(">"):
            picked.append(found.group(text[3:-1]))
        elif text.startswith("\\") and text[1:].isdigit():
            picked.append(found.group(int(text[1:])))
        else:
            raise FilterArgumentError(
                f"regex_search: unknown group {text!r} (write '\\\\1' or '\\\\g<name>')"
            )
    return picked


def regex_findall(
    value: Any, pattern: Any, ignorecase: bool = False, multiline: bool = False
) -> list[Any]:
    compiled = _compile(pattern, ignorecase, multiline)
    return _bounded(  # type: ignore[no-any-return]
        "regex_findall", pattern, value, lambda: compiled.findall(str(value), timeout=REGEX_SECONDS)
    )


def regex_replace(
    value: Any,
    pattern: Any,
    replacement: Any = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
) -> str:
    compiled = _compile(pattern, ignorecase, multiline)
    # '\\1' written in a Jinja string arrives as chr(1): it meant the group
    wanted = "".join(f"\\{ord(c)}" if 0 < ord(c) < 10 else c for c in str(replacement))
    return _bounded(  # type: ignore[no-any-return]
        "regex_replace",
        pattern,
        value,
        lambda: compiled.sub(wanted, str(value), count=count, timeout=REGEX_SECONDS),
    )


FILTERS = {
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "regex_replace": regex_replace,
}
