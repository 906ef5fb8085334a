"""Where a `{{ value }}` sits in a shell command, so its quoting is right there too.

Every value rendered into a `run:` string is quoted (or, holding a secret,
referenced as `"$RECOVERCTL_HIDDEN_n"`). That is right between words, but an
author often writes `'{{ x }}'` or `"--name={{ x }}"`, and a quoted value
inside the author's quotes is wrong: `'"$VAR"'` is a literal, `"'a b'"` keeps
its quotes. So before the template is compiled, each `{{ … }}` inside the
author's single or double quotes is wrapped to close those quotes around it
and reopen them after: `'abc{{ x }}def'` becomes `'abc'{{ x }}'def'`, which the
shell joins back into one word with the value quoted on its own.
"""

from __future__ import annotations

_CLOSE = {"{{": "}}", "{%": "%}", "{#": "#}"}


def requote(source: str) -> str:
    """`source` with every `{{ … }}` lifted out of the shell quotes around it."""
    out: list[str] = []
    quote: str | None = None  # None, "'" or '"'
    i = 0
    while i < len(source):
        opener = source[i : i + 2]
        if opener in _CLOSE:
            end = source.find(_CLOSE[opener], i + 2)
            end = len(source) if end < 0 else end + 2
            tag = source[i:end]
            if opener == "{{" and quote is not None:
                out.append(f"{quote}{tag}{quote}")
            else:
                out.append(tag)
            i = end
            continue
        char = source[i]
        out.append(char)
        if char == "\\" and quote != "'" and i + 1 < len(source):
            out.append(source[i + 1])  # an escaped character changes no quoting
            i += 2
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        i += 1
    return "".join(out)
