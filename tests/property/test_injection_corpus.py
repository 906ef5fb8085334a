"""Hostile values in params, outputs and env: never executed, never a crash, never a sandbox escape.

One runbook takes each payload as a param, passes it through an output and an
environment variable into shell commands, argv lists and templates; the marker
file a successful injection would create must never appear, and the value
must arrive byte for byte.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from recoverctl.engine.bus import EventBus
from recoverctl.engine.executor import RealExecutor
from recoverctl.engine.runner import Engine, RunOptions
from recoverctl.validate.params import resolve_params
from tests.helpers import build, run_step, runbook_data

SHELL = [
    "$(touch PWNED)",
    "`touch PWNED`",
    "; touch PWNED",
    "&& touch PWNED",
    "|| touch PWNED",
    "| touch PWNED",
    "a\ntouch PWNED",
    "a\rtouch PWNED",
    "' ; touch PWNED ; '",
    '" ; touch PWNED ; "',
    "$((1+1))",
    "${IFS}touch${IFS}PWNED",
    "> PWNED",
    "< /etc/passwd",
    ">> PWNED",
    "2> PWNED",
    "& touch PWNED &",
    "\\; touch PWNED",
    "$'\\x41'",
    "~root",
    "*",
    "?",
    "[a-z]*",
    "{a,b}",
    "!!",
    "#comment",
    "-rf",
    "--help",
    "$HOME",
    "${PATH}",
    "$0",
    "'",
    '"',
    "\\",
]
TEMPLATE = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ self }}",
    "{{ config }}",
    "{{ params }}",
    "{#",
    "{{",
    "}}",
    "{%",
    "{{ range(10**9) | list }}",
    "{{ steps }}",
]
YAMLISH = [
    "!!python/object/apply:os.system ['touch PWNED']",
    "&a [*a]",
    "*alias",
    "- item",
    "key: value",
    "? complex",
    "null",
    "~",
    "yes",
    "0x1F",
    "1e400",
    "NaN",
    "---",
    "...",
]
UNICODE = [
    "é ü ß 漢字",
    "\u202etxt.exe",
    "\u0000".replace("\u0000", "nul-free"),
    "zero\u200bwidth",
    "🔥" * 10,
]
CORPUS = SHELL + TEMPLATE + YAMLISH + UNICODE


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("payload", CORPUS)
def test_payload_is_data_everywhere(tmp_path: Path, payload: str) -> None:
    out = tmp_path / "out"
    data = runbook_data(
        run_step(
            "echo",
            f"printf '%s' {{{{ params.value }}}} > {out}.shell",
            timeout="5s",
            outputs={"same": "{{ stdout }}"},
        ),
        run_step(
            "argv",
            "true",
            run=["printf", "%s", "{{ params.value }}"],
            timeout="5s",
            outputs={"back": "{{ stdout }}"},
        ),
        run_step(
            "env",
            f'printf "%s" "$VALUE" > {out}.env',
            env={"VALUE": "{{ steps.argv.outputs.back }}"},
            timeout="5s",
        ),
        run_step(
            "again", f"printf '%s' {{{{ steps.argv.outputs.back }}}} > {out}.output", timeout="5s"
        ),
        # the author's own quotes around a template (lifted out of them when rendering)
        run_step("quoted", f"printf '%s' '{{{{ params.value }}}}' > {out}.sq", timeout="5s"),
        run_step("dquoted", f'printf "%s" "[{{{{ params.value }}}}]" > {out}.dq', timeout="5s"),
        # a secret travels in the command's environment, never in its text
        run_step("secret", f"printf '%s' {{{{ params.token }}}} > {out}.secret", timeout="5s"),
        run_step(
            "secretq", f'printf "%s" "<{{{{ params.token }}}}>" > {out}.secretq', timeout="5s"
        ),
        {"id": "log", "log": "value was {{ params.value }}"},
        params={"value": {"type": "string"}, "token": {"type": "string", "secret": True}},
    )
    runbook, plan = build(tmp_path, data)
    params = resolve_params(runbook, {"value": payload, "token": payload}, {})
    engine = Engine(
        plan,
        RunOptions(
            run_id="corpus",
            params=params.values,
            secrets=params.secret_values(),
            environ={"PATH": "/usr/bin:/bin"},
        ),
        bus=EventBus(),
        executor=RealExecutor(),
    )
    import os

    here = Path.cwd()
    os.chdir(tmp_path)  # a successful injection would create PWNED here
    try:
        code = asyncio.run(engine.run())
    finally:
        os.chdir(here)
    assert code == 0, engine.state.error
    assert not (tmp_path / "PWNED").exists()
    for suffix in ("shell", "env", "output", "sq", "secret"):
        assert Path(f"{out}.{suffix}").read_bytes().decode() == payload, (
            suffix
        )  # no newline translation
    assert Path(f"{out}.dq").read_bytes().decode() == f"[{payload}]"
    assert Path(f"{out}.secretq").read_bytes().decode() == f"<{payload}>"
