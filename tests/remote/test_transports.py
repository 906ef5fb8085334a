"""kubectl, docker and argv-prefix targets, against recording stand-ins for the CLIs.

No cluster or daemon here: each stand-in writes its argv to a log and runs the
trailing `sh -c SCRIPT` itself, as `kubectl exec` would in the pod, so the whole
path — the job on stdin, the markers, the exit code — is the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from recoverctl.actions.remote import WRAPPER
from tests.conftest import run_cli
from tests.helpers import runbook_data, write_runbook

STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["RECORD"], "a") as log:
    log.write(json.dumps(sys.argv) + "\\n")
i = len(sys.argv) - 1 - sys.argv[::-1].index("sh")
os.execvp("sh", sys.argv[i:])
"""


@pytest.fixture
def clis(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("kubectl", "docker", "ssm-run"):
        tool = bin_dir / name
        tool.write_text(STAND_IN)
        tool.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RECORD": str(tmp_path / "argv.jsonl"),
        "RECOVERCTL_STATE_DIR": str(tmp_path / "state"),
    }


def _run(tmp_path: Path, target: dict[str, Any], env: dict[str, str], **step: Any) -> Any:
    out = tmp_path / "out"
    data = runbook_data(
        {"id": "hello", "on": "t", "run": f"echo hi {{{{ target }}}} >> {out}", **step},
        targets={"t": target},
    )
    result = run_cli(["run", "--no-tty", str(write_runbook(tmp_path, data))], env=env)
    argvs = [json.loads(line) for line in Path(env["RECORD"]).read_text().splitlines()]
    for argv in argvs:
        argv[0] = Path(argv[0]).name  # the stand-in's path: the program is what counts
    return result, argvs, out


def test_kubectl_exec_argv_is_exact(tmp_path: Path, clis: dict[str, str]) -> None:
    target = {
        "kubectl": {
            "pods": ["api-0", "api-1"],
            "namespace": "shop",
            "container": "api",
            "context": "prod",
        }
    }
    result, argvs, out = _run(tmp_path, target, clis)
    assert result.returncode == 0, result.stderr
    assert sorted(argvs) == [
        ["kubectl", "--context", "prod", "-n", "shop", "exec", "-i", pod, "-c", "api", "--",
         "sh", "-c", WRAPPER]
        for pod in ("api-0", "api-1")
    ]  # fmt: skip
    assert sorted(out.read_text().split("\n")[:-1]) == ["hi api-0", "hi api-1"]


def test_docker_exec_argv_is_exact(tmp_path: Path, clis: dict[str, str]) -> None:
    result, argvs, _ = _run(
        tmp_path, {"docker": {"containers": ["redis-1"], "user": "redis"}}, clis
    )
    assert result.returncode == 0, result.stderr
    assert argvs == [["docker", "exec", "-i", "-u", "redis", "redis-1", "sh", "-c", WRAPPER]]


def test_an_argv_prefix_reaches_anything_else(tmp_path: Path, clis: dict[str, str]) -> None:
    target = {
        "command": {"hosts": ["i-0abc"], "argv": ["ssm-run", "--target", "{{ target }}", "--"]}
    }
    result, argvs, out = _run(tmp_path, target, clis)
    assert result.returncode == 0, result.stderr
    assert argvs == [["ssm-run", "--target", "i-0abc", "--", "sh", "-c", WRAPPER]]
    assert out.read_text() == "hi i-0abc\n"


def test_a_remote_exit_code_is_the_command_s_own(tmp_path: Path, clis: dict[str, str]) -> None:
    target = {"docker": {"containers": ["c1"]}}
    result, _, _ = _run(tmp_path, target, clis, run="exit 7")
    assert result.returncode == 1
    assert "c1: exited with 7" in result.stderr


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"kubectl": {"pods": ["--all"]}}, "the host '--all' starts with '-'"),
        (
            {"kubectl": {"pods": ["p"], "namespace": "-n kube-system"}},
            "namespace '-n kube-system' starts with '-'",
        ),
        ({"kubectl": {"pods": ["p"], "container": "a b"}}, "container 'a b' holds a space"),
        (
            {"docker": {"containers": ["c"], "user": "--privileged"}},
            "user '--privileged' starts with '-'",
        ),
        ({"docker": {"containers": ["c;id"]}}, "holds ';'"),
        ({"command": {"hosts": ["h"], "argv": ["-x"]}}, "does not start with a program"),
    ],
)
def test_hostile_values_never_reach_the_client(
    tmp_path: Path, clis: dict[str, str], target: dict[str, Any], expected: str
) -> None:
    data = runbook_data({"id": "hello", "on": "t", "run": "true"}, targets={"t": target})
    result = run_cli(["run", "--no-tty", str(write_runbook(tmp_path, data))], env=clis)
    assert result.returncode == 1
    assert expected in result.stderr
    assert not Path(clis["RECORD"]).exists()  # no client was started at all
