"""The CLI as users meet it: real subprocesses and typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from recoverctl import __version__
from tests.conftest import ROOT, RUNBOOKS, invoke, run_cli

EXAMPLES = sorted(p for p in RUNBOOKS.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"recoverctl {__version__}"


@pytest.mark.parametrize(
    "command",
    [
        "validate",
        "plan",
        "schema",
        "run",
        "runs",
        "show",
        "resume",
        "rollback",
        "report",
        "stats",
        "lint",
        "graph",
        "test",
    ],
)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = invoke([command, "--help"], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Example" in result.output


def test_no_arguments_shows_help() -> None:
    result = run_cli([])
    assert "validate" in result.stdout + result.stderr


def test_schema_command_prints_the_published_file() -> None:
    result = run_cli(["schema"])
    assert result.returncode == 0
    published = (ROOT / "schemas" / "runbook.schema.json").read_text(encoding="utf-8")
    assert result.stdout == published
    jsonschema.Draft202012Validator.check_schema(json.loads(result.stdout))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_examples_validate_and_start_with_the_modeline(example: Path) -> None:
    assert example.read_text().startswith(
        "# yaml-language-server: $schema=../schemas/runbook.schema.json"
    )
    result = invoke(["validate", str(example)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok  {example}")


def test_validate_a_folder_reports_each_file() -> None:
    result = run_cli(["validate", "runbooks"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(EXAMPLES)


def test_validate_reports_every_invalid_file_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("version: 1\nname: g\nsteps:\n  - {id: a, run: 'true'}\n")
    (tmp_path / "bad.yaml").write_text("version: 1\nname: b\nsteps:\n  - {id: a, rn: 'true'}\n")
    (tmp_path / "worse.yaml").write_text("version: 1\nname: w\nsteps: {}\n")
    result = run_cli(["validate", str(tmp_path)])
    assert result.returncode == 2
    assert "good.yaml" in result.stdout
    assert "bad.yaml:4:13: error: unknown key 'rn'" in result.stderr
    assert "hint: did you mean 'run'?" in result.stderr
    assert "worse.yaml:3:8: error: found a mapping; expected a list" in result.stderr
    assert "2 of 3 files invalid" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_empty_folder_exit_2(tmp_path: Path) -> None:
    result = run_cli(["validate", str(tmp_path / "nope.yaml")])
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.yaml'}:1:1: error: no such file" in result.stderr
    result = run_cli(["validate", str(tmp_path)])
    assert result.returncode == 2
    assert "no runbooks found in folder" in result.stderr


def test_usage_errors_exit_2() -> None:
    result = run_cli(["plan"])
    assert result.returncode == 2
    result = run_cli(["plan", "runbooks/demo.yaml", "--format", "xml"], cwd=ROOT)
    assert result.returncode == 2
    assert "xml" in result.stderr


def test_plan_text_shows_structure_and_rto(tmp_path: Path) -> None:
    result = run_cli(["plan", "runbooks/db-failover.yaml", "-p", "primary=db-1"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out  # piped: no escape codes
    for expected in [
        "probe",
        "parallel",
        "branch",
        "when not steps.primary_up.ok",
        "else",
        "rollback order",
        "promote → fence_primary",
        "worst case",
        "against RTO 5m",
        "critical path",
        "params: primary=db-1",
    ]:
        assert expected in out, expected


def test_plan_json_is_parseable_and_complete() -> None:
    result = run_cli(["plan", "runbooks/demo.yaml", "--format", "json"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["runbook"]["name"] == "demo"
    assert data["steps"] == ["simulate_outage", "probe", "choose", "verify"]
    assert data["rto_met"] is True
    assert data["worst_case_seconds"] > 0
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["choose"]["cases"][0]["when"] == "steps.service_up.ok"
    assert nodes["restart_service"]["retry"]["attempts"] == 3
    assert nodes["warm_users"]["rollback"] == "warm_users.rollback"


def test_plan_param_errors_point_at_the_declaration() -> None:
    result = run_cli(
        ["plan", "runbooks/db-failover.yaml", "-p", "primry=db-1", "-p", "primary_port=abc"],
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "unknown param 'primry'" in result.stderr
    assert "hint: did you mean 'primary'?" in result.stderr
    assert (
        "param 'primary_port' from -p primary_port: found 'abc'; expected an integer"
        in result.stderr
    )
    assert "runbooks/db-failover.yaml:" in result.stderr


def test_plan_bad_assignment_is_a_usage_error() -> None:
    result = run_cli(["plan", "runbooks/demo.yaml", "-p", "novalue"], cwd=ROOT)
    assert result.returncode == 2
    assert "-p expects name=value" in result.stderr


def test_plan_params_file_and_secrets(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yaml"
    runbook.write_text(
        "version: 1\nname: s\nparams:\n  token: {type: string, secret: true, required: true}\n"
        "  n: {type: integer, default: 1}\nsteps:\n  - {id: a, run: 'echo {{ params.n }}'}\n"
    )
    params = tmp_path / "p.yaml"
    params.write_text("token: hunter2\nn: 5\n")
    result = run_cli(["plan", str(runbook), "--params-file", str(params)])
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    assert "token=***" in result.stdout and "n=5" in result.stdout
    result = run_cli(["plan", str(runbook)])
    assert result.returncode == 2
    assert "missing required param 'token'" in result.stderr
    result = run_cli(["plan", str(runbook), "--format", "json"], env={})
    assert result.returncode == 2


def test_a_runbook_from_standard_input(tmp_path: Path) -> None:
    """`-` reads the runbook from stdin for validate, lint and plan; messages say <stdin>."""
    good = (ROOT / "runbooks" / "demo.yaml").read_text()
    bad = "version: 1\nname: x\nsteps: []\n"
    ok = run_cli(["validate", "-"], input=good)
    assert ok.returncode == 0 and "ok  <stdin>  (demo" in ok.stdout
    invalid = run_cli(["validate", "-"], input=bad)
    assert invalid.returncode == 2 and "<stdin>:3:8: error" in invalid.stderr
    assert "    3 | steps: []" in invalid.stderr  # the snippet comes from the same bytes
    lint = run_cli(["lint", "-"], input=good)
    assert lint.returncode == 0 and "RC404" not in lint.stdout  # no file to look beside
    assert "<stdin>:3:8" in run_cli(["lint", "-"], input=bad).stdout
    plan = run_cli(["plan", "-", "--format", "json"], input=good)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["runbook"]["name"] == "demo"
    empty = run_cli(["validate", "-"], input="")
    assert empty.returncode == 2 and "<stdin>:1:1: error: the file is empty" in empty.stderr


def test_shell_completion_completes_commands_and_choices() -> None:
    """typer's completion, through the installed `recoverctl` script as a shell calls it."""
    import os
    import shutil
    import subprocess
    import sys

    script = shutil.which("recoverctl", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if script is None:
        pytest.skip("recoverctl is not installed as a script (pip install -e .)")

    def complete(words: str, index: int) -> list[str]:
        env = {
            **os.environ,
            "_RECOVERCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
        }
        done = subprocess.run([script], env=env, capture_output=True, text=True, check=False)
        return done.stdout.split()

    assert complete("recoverctl va", 1) == ["validate"]
    assert complete("recoverctl lint --format ", 3) == ["text", "json", "sarif", "github"]
    # (--show-completion detects the shell it runs under: there is none under pytest)


@pytest.mark.parametrize("where", ["under-a-file", "immutable"])
def test_an_unusable_state_folder_is_the_users_to_fix_not_a_bug(tmp_path: Path, where: str) -> None:
    """Exit 2 with what to change (never 70, "a bug in recoverctl"), before any step runs."""
    import shutil
    import subprocess

    marker = tmp_path / "ran"
    runbook = tmp_path / "rb.yaml"
    runbook.write_text(
        f"version: 1\nname: x\nsteps:\n  - id: a\n    run: touch {marker}\n    timeout: 5s\n"
    )
    if where == "under-a-file":
        (tmp_path / "file").write_text("")
        state = tmp_path / "file" / "state"
    else:
        state = tmp_path / "locked"
        state.mkdir()
        if (
            shutil.which("chattr") is None
            or subprocess.run(
                ["chattr", "+i", str(state)], capture_output=True, check=False
            ).returncode
        ):
            pytest.skip("chattr +i is not available on this filesystem")
    try:
        result = run_cli(["run", str(runbook)], env={"RECOVERCTL_STATE_DIR": str(state)})
    finally:
        if where == "immutable":
            subprocess.run(["chattr", "-i", str(state)], check=False)
    assert result.returncode == 2, result.stderr
    assert "cannot create the state folder" in result.stderr
    assert "hint: choose a folder of yours with --state-dir" in result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


def test_every_command_is_in_the_lazy_dispatch_table() -> None:
    """`recoverctl NAME` mounts only NAME's module: the table must name every command."""
    from recoverctl.cli.app import COMMAND_MODULES, register_commands
    from recoverctl.cli.commands import DECLARED

    register_commands()
    declared = {
        options.get("name") or function.__name__.replace("_", "-"): function.__module__
        for function, options in DECLARED
    }
    assert {name: f"recoverctl.cli.{m}" for name, m in COMMAND_MODULES.items()} == declared


def test_a_command_runs_with_only_its_own_module_mounted(tmp_path: Path) -> None:
    probe = (
        "import sys; from recoverctl.cli import app, register_commands; "
        "register_commands(['validate', 'x.yaml']); "
        "print(sorted(c.name or c.callback.__name__ for c in app.registered_commands)); "
        "print('recoverctl.cli.export_cmd' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.split("\n")[:2] == ["['validate']", "False"]


def test_a_run_from_the_plan_cache_loads_no_validator_compiler_or_yaml(tmp_path: Path) -> None:
    """The cached plan is all a run needs: the compiler, the semantic checks and the YAML
    loader are start-up a run does not pay (issue 22)."""
    runbook = tmp_path / "one.yaml"
    runbook.write_text('{"version": 1, "name": "one", "steps": [{"id": "s", "run": ["true"]}]}')
    env = {
        "PATH": "/usr/bin:/bin",
        "RECOVERCTL_STATE_DIR": str(tmp_path / "state"),
        "RECOVERCTL_CACHE_DIR": str(tmp_path / "cache"),
    }
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['recoverctl', 'run', '-q', {str(runbook)!r}]\n"
        "try:\n    runpy.run_module('recoverctl', run_name='__main__')\n"
        "except SystemExit as done:\n    code = done.code\n"
        "heavy = ('recoverctl.compile.compiler', 'recoverctl.validate.semantics', "
        "'recoverctl.load.yaml_loader', 'yaml', 'jsonschema', 'rich')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    for expected in ("0 ['recoverctl.compile.compiler'", "0 []"):  # cold, then cached
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
        assert done.stdout.startswith(expected), done.stdout + done.stderr
