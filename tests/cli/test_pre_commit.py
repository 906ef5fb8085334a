"""The hooks under real pre-commit, in a repository that also holds other YAML files.

A runbooks repository has docker-compose files, GitHub workflows and the
`.pre-commit-config.yaml` itself; `files: \\.ya?ml$` hands them all to the
hooks, which must check the runbooks and skip the rest quietly. pre-commit
installs the hooks from a clone of this working tree (at a commit made for the
test), as it would from the published repository at a tag.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _hook_repository(tmp_path: Path) -> tuple[Path, str]:
    """This working tree as a git repository with one commit tagged like a release."""
    hooks = tmp_path / "hooks"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = hooks / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(hooks, "init", "-q")
    _git(hooks, "add", "-A")
    _git(hooks, "commit", "-qm", "hooks")
    _git(hooks, "tag", "v0.0.0-test")
    return hooks, "v0.0.0-test"


def test_hooks_check_runbooks_and_skip_other_yaml(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None or shutil.which("git") is None:
        if os.environ.get("CI"):
            pytest.fail("pre-commit and git are required in CI (the [test] extra installs it)")
        pytest.skip("pre-commit is not installed")
    hooks, rev = _hook_repository(tmp_path)
    repo = tmp_path / "runbooks-repo"
    (repo / "runbooks").mkdir(parents=True)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "runbooks" / "demo.yaml", repo / "runbooks" / "demo.yaml")
    shutil.copy(ROOT / "runbooks" / "demo.test.yaml", repo / "runbooks" / "demo.test.yaml")
    (repo / "docker-compose.yaml").write_text(
        'version: "3.8"\nname: app\nservices:\n  web:\n    image: nginx\n'
    )
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "name: CI\non: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo hi\n"
    )
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n"
        "      - id: recoverctl-validate\n      - id: recoverctl-lint\n"
        "        args: [--fail-on, error]\n"
    )
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}

    def run_hooks() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pre-commit", "run", "--all-files", "--color", "never"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    clean = run_hooks()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "recoverctl validate" in clean.stdout and "Passed" in clean.stdout
    assert "docker-compose" not in clean.stdout and "ci.yml" not in clean.stdout

    (repo / "runbooks" / "broken.yaml").write_text(
        "version: 1\nname: broken\nowner: sre\nstep:\n  - id: a\n    run: 'true'\n"
    )
    _git(repo, "add", "-A")
    broken = run_hooks()
    assert broken.returncode == 1
    assert "runbooks/broken.yaml:" in broken.stdout  # a runbook with a typo is still checked
    assert "docker-compose" not in broken.stdout and "ci.yml" not in broken.stdout
