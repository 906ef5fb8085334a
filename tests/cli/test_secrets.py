"""A secret never reaches a line, the journal, meta.json or a report — in any spelling.

Each case puts a `secret: true` param where a library or the shell would echo
it back in its own error text, runs the real CLI, and searches every output
and every file of the run for the secret and the forms recoverctl produces.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import run_cli
from tests.helpers import runbook_data, write_runbook

SECRET = "tok-Zq8'x$y\r"
"""A pasted token: a quote (shell-quoting splits it), a `$`, and the trailing `\\r` of a file."""

FORMS = [
    SECRET,
    SECRET.strip(),
    repr(SECRET)[1:-1],
    json.dumps(SECRET)[1:-1],
    shlex.quote(SECRET),
    quote(SECRET, safe=""),
    quote(SECRET.strip(), safe=""),
    shlex.quote(SECRET.strip()),
    "Zq8",  # the heart of it: no form may leave even this
    "x%24y",
]

CASES: dict[str, dict[str, Any]] = {
    "http header with a control character": {
        "id": "call_api",
        "http": {
            "url": "http://127.0.0.1:9/health",
            "headers": {"Authorization": "Bearer {{ params.token }}"},
        },
    },
    "url that cannot be reached": {
        "id": "call_api",
        "http": {"url": "http://127.0.0.1:9/{{ params.token | trim | urlencode }}"},
    },
    "command that is not found": {"id": "tool", "run": ["./{{ params.token | trim }}-cli"]},
    "shell command that fails": {
        "id": "tool",
        "run": "echo using {{ params.token }} >&2; exit 3",
    },
    "jinja error that quotes the value": {
        "id": "tool",
        "run": "echo {{ {'a': 1}[params.token | trim] }}",
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_secret_never_leaks(tmp_path: Path, case: str) -> None:
    state = tmp_path / "state"
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {**CASES[case], "timeout": "10s"},
            params={"token": {"type": "string", "secret": True, "env": "APP_TOKEN"}},
        ),
    )
    result = run_cli(
        [
            "run",
            str(path),
            "-v",
            "--output",
            "json",
            "--report",
            str(report),
            "--junit",
            str(junit),
        ],
        env={"RECOVERCTL_STATE_DIR": str(state), "APP_TOKEN": SECRET},
    )
    assert result.returncode == 1, result.stderr
    (run_dir,) = state.glob("runs/*")
    texts = {
        "stderr": result.stderr,
        "stdout": result.stdout,
        "report": report.read_text(),
        "junit": junit.read_text(),
        **{f.name: f.read_text() for f in run_dir.iterdir() if f.name != "runbook.yaml"},
    }
    for where, text in texts.items():
        for form in FORMS:
            assert form not in text, f"{case}: {form!r} leaked into {where}"
    assert "***" in result.stderr or "header 'Authorization'" in result.stderr


def test_a_bad_header_value_is_named_by_its_header(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            CASES["http header with a control character"],
            params={"token": {"type": "string", "secret": True}},
        ),
    )
    result = run_cli(["run", str(path), "--no-journal", "-p", f"token={SECRET}"])
    assert result.returncode == 1
    assert "header 'Authorization': its value holds a carriage return (\\r)" in result.stderr
    assert "| trim" in result.stderr
