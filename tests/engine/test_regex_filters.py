"""regex_search / regex_replace / regex_findall in templates: as Ansible names them, bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recoverctl.expr.render import RenderError, render
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ x | regex_search('lag=[0-9]+') }}", "lag=42"),
        ("{{ x | regex_search('lag=([0-9]+)s', '\\\\1') | first }}", "42"),
        ("{{ x | regex_search('(?P<h>db-[0-9])', '\\\\g<h>') | first }}", "db-1"),
        ("{{ x | regex_search('LAG', ignorecase=true) }}", "lag"),
        ("{{ x | regex_search('nothing') is none }}", "true"),
        ("{{ x | regex_replace('db-([0-9])', 'db-\\\\1-new') }}", "lag=42s host=db-1-new"),
        ("{{ x | regex_findall('[a-z]+=') | join(',') }}", "lag=,host="),
    ],
)
def test_the_filters(template: str, expected: str) -> None:
    assert render(template, {"x": "lag=42s host=db-1"}) == expected


def test_a_pattern_that_backtracks_forever_is_stopped_and_said_to_be() -> None:
    began = time.monotonic()
    with pytest.raises(RenderError, match=r"took more than 1s and was stopped"):
        render("{{ y | regex_search('(a+)+$') }}", {"y": "a" * 40_000 + "b"})
    assert time.monotonic() - began < 5


def test_a_bad_pattern_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match=r"the pattern /\(/ is not a regular expression"):
        render("{{ x | regex_search('(') }}", {"x": "a"})


def test_in_a_runbook_as_users_write_them(tmp_path: Path) -> None:
    (tmp_path / "rb.yaml").write_text(
        "version: 1\nname: rx\nsteps:\n"
        "  - id: lag\n    run: echo lag=42s\n"
        "    outputs: {seconds: \"{{ stdout | regex_search('lag=(\\\\d+)s', '\\\\1') | first | int }}\"}\n"
        "  - id: show\n    when: steps.lag.outputs.seconds > 10\n"
        "    run: echo \"{{ steps.lag.stdout | regex_replace('lag=', 'replica lag ') }}\"\n"
    )
    result = run_cli(["run", str(tmp_path / "rb.yaml"), "--no-journal", "-v", "--no-tty"])
    assert result.returncode == 0, result.stderr
    assert "show | replica lag 42s" in result.stderr
