"""The schema in a real editor's language server (yaml-language-server, over LSP).

What an author sees: completion offers the step keys and snippets, hover explains
a key, and mistakes read plainly: a typo key, a duration in words, a step with two
actions. `.ci/run` installs yaml-language-server from npm; CI fails without it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docs.lsp import LanguageServer

SCHEMA = ROOT / "schemas" / "runbook.schema.json"


def _server_command() -> list[str] | None:
    local = ROOT / ".ci" / "cache" / "node" / "node_modules" / ".bin" / "yaml-language-server"
    found = str(local) if local.exists() else shutil.which("yaml-language-server")
    return [found, "--stdio"] if found else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanguageServer]:
    command = _server_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("yaml-language-server is required in CI (.ci/run installs it from npm)")
        pytest.skip("yaml-language-server is not installed")
    ls = LanguageServer(command, tmp_path_factory.mktemp("editor"))
    yield ls
    ls.close()


def _open(server: LanguageServer, tmp_path: Path, body: str) -> tuple[str, list[str]]:
    """Open a runbook with the modeline; its diagnostics' messages by line (0-based)."""
    text = f"# yaml-language-server: $schema={SCHEMA.as_uri()}\n{body}"
    uri = server.open(tmp_path / f"runbook-{server.next_id}.yaml", text)  # a new document
    messages = [
        f"{d['range']['start']['line']}: {d['message']}" for d in server.wait_diagnostics(uri)
    ]
    return uri, messages


HEAD = "version: 1\nname: x\nsteps:\n  - id: a\n"


def test_completion_offers_step_keys_and_snippets(server: LanguageServer, tmp_path: Path) -> None:
    uri, messages = _open(server, tmp_path, HEAD + "    \n")
    assert messages == [] or all("Missing property" in m for m in messages)
    labels = {item["label"] for item in server.complete(uri, 5, 4)}
    assert {"run", "http", "wait_for", "timeout", "retry", "rollback", "skip_if"} <= labels
    assert "step: run a command" in labels  # defaultSnippets for a new step
    hover = server.hover(uri, 4, 6)
    assert "unique step id" in hover


def test_a_valid_runbook_has_no_diagnostics(server: LanguageServer, tmp_path: Path) -> None:
    _, messages = _open(server, tmp_path, (ROOT / "runbooks" / "demo.yaml").read_text())
    assert messages == []


def test_mistakes_read_plainly(server: LanguageServer, tmp_path: Path) -> None:
    _, typo = _open(server, tmp_path, HEAD + "    run: 'true'\n    timout: 5s\n")
    assert typo == ["6: Property timout is not allowed."]
    _, duration = _open(server, tmp_path, HEAD + "    run: 'true'\n    timeout: 5 minutes\n")
    assert len(duration) == 1 and "expected a duration greater than zero" in duration[0]
    assert 'Expected "number"' not in duration[0]
    _, two = _open(server, tmp_path, HEAD + "    run: 'true'\n    http: {url: 'http://x'}\n")
    assert two and all("a step has exactly one of: run, http" in m for m in two)
    assert not any("Matches multiple schemas" in m for m in two)
