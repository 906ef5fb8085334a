"""`type: list` params: from -p, a params file, an env variable or a default; checked per item."""

from __future__ import annotations

from pathlib import Path

import pytest

from recoverctl.model.runbook import Param
from recoverctl.model.source import Span
from recoverctl.validate.params import coerce
from tests.conftest import invoke, run_cli
from tests.helpers import runbook_data, write_runbook

HOSTS = {"type": "list", "items": "string", "default": ["db-2", "db-3"]}


def _runbook(tmp_path: Path, **params: object) -> Path:
    out = tmp_path / "out"
    return write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "show",
                "run": f"printf '%s|%s|%s\\n' {{{{ params.hosts | length }}}} "
                f"{{{{ params.hosts | join(' ') }}}} {{{{ params.hosts }}}} > {out}",
                "timeout": "10s",
            },
            params=params or {"hosts": HOSTS},
        ),
    )


def _out(tmp_path: Path) -> str:
    return (tmp_path / "out").read_text().strip()


def test_the_default_a_comma_list_and_a_json_list(tmp_path: Path) -> None:
    path = _runbook(tmp_path)
    assert invoke(["run", "-q", str(path)]).exit_code == 0
    assert _out(tmp_path) == '2|db-2 db-3|["db-2", "db-3"]'  # a list prints as JSON
    assert invoke(["run", "-q", str(path), "-p", "hosts=a, b ,c"]).exit_code == 0
    assert _out(tmp_path) == '3|a b c|["a", "b", "c"]'
    assert invoke(["run", "-q", str(path), "-p", 'hosts=["x y", "z"]']).exit_code == 0
    assert _out(tmp_path) == '2|x y z|["x y", "z"]'


def test_a_params_file_and_an_env_variable(tmp_path: Path) -> None:
    path = _runbook(tmp_path, hosts={**HOSTS, "env": "HOSTS"})
    values = tmp_path / "values.yaml"
    values.write_text("hosts: [p, q, r, s]\n")
    assert invoke(["run", "-q", str(path), "--params-file", str(values)]).exit_code == 0
    assert _out(tmp_path).startswith("4|p q r s|")
    assert invoke(["run", "-q", str(path)], env={"HOSTS": "e1,e2"}).exit_code == 0
    assert _out(tmp_path).startswith("2|e1 e2|")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a,,b", "has an empty item"),
        ("a,b,", "has an empty item"),
        ('["a", ', "starts like a JSON list but is not one"),
    ],
)
def test_a_malformed_list_is_refused_before_anything_runs(
    tmp_path: Path, given: str, expected: str
) -> None:
    path = _runbook(tmp_path)
    result = invoke(["run", "-q", str(path), "-p", f"hosts={given}"])
    assert result.exit_code == 2, result.stderr
    assert expected in result.stderr and "param 'hosts'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_items_are_checked_against_their_type_and_the_choices() -> None:
    ports = Param("ports", "list", Span.point(1, 1), items="integer")
    assert coerce(ports, "5432,5433") == [5432, 5433]
    assert coerce(ports, [5432, "5433"]) == [5432, 5433]  # a params file or the values store
    with pytest.raises(ValueError, match="item 2: found 'x'; expected an integer"):
        coerce(ports, "5432,x")
    with pytest.raises(ValueError, match="expected a list of integer items"):
        coerce(ports, 5432)
    regions = Param("regions", "list", Span.point(1, 1), items="string", choices=("eu", "us"))
    assert coerce(regions, "eu,us") == ["eu", "us"]
    with pytest.raises(ValueError, match="item 2: found 'ap'; expected one of: eu, us"):
        coerce(regions, "eu,ap")
    assert coerce(regions, "") == []


def test_a_secret_list_is_masked_item_by_item(tmp_path: Path) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "show", "log": "{{ params.tokens | join(',') }} / {{ params.tokens }}"},
            params={"tokens": {"type": "list", "secret": True, "required": True}},
        ),
    )
    result = run_cli(["run", "--no-tty", str(path), "-p", "tokens=s3cr3t-one,s3cr3t-two"])
    assert result.returncode == 0, result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "list", "default": "db-2"}, "expected a list of string items"),
        ({"type": "list", "items": "integer", "default": [1, "two"]}, "expected an integer"),
        ({"type": "string", "items": "string"}, "expected `items` only with `type: list`"),
        ({"type": "list", "choices": ["a"], "default": ["a", "b"]}, "defaults to 'b'"),
    ],
)
def test_declaration_mistakes_are_positioned_errors(
    tmp_path: Path, spec: dict[str, object], message: str
) -> None:
    path = write_runbook(tmp_path, runbook_data({"id": "a", "log": "x"}, params={"hosts": spec}))
    result = invoke(["validate", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert f"{path}:" in result.stderr


def test_a_list_default_without_a_type_is_a_list_of_strings(tmp_path: Path) -> None:
    path = _runbook(tmp_path, hosts={"default": ["h1"]})
    assert invoke(["run", "-q", str(path), "-p", "hosts=h1,h2"]).exit_code == 0
    assert _out(tmp_path).startswith("2|h1 h2|")


@pytest.mark.parametrize("target", ["argo", "step-functions"])
def test_exports_carry_a_list_default_and_say_its_choices_are_lost(
    tmp_path: Path, target: str
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data(
            {"id": "show", "run": "echo {{ params.regions | join(' ') }}", "timeout": "10s"},
            params={"regions": {"type": "list", "choices": ["eu", "us"], "default": ["eu"]}},
        ),
    )
    strict = run_cli(["export", str(path), "--to", target])
    assert strict.returncode != 0 and "choices of list param 'regions'" in strict.stderr
    lossy = run_cli(["export", str(path), "--to", target, "--lossy"])
    assert lossy.returncode == 0, lossy.stderr
    assert '["eu"]' in lossy.stdout or '[\\"eu\\"]' in lossy.stdout or "- eu" in lossy.stdout


def test_plan_shows_a_list_param_as_templates_print_it(tmp_path: Path) -> None:
    result = invoke(["plan", str(_runbook(tmp_path)), "-p", "hosts=db-2,db-3"])
    assert result.exit_code == 0, result.stderr
    assert 'params: hosts=["db-2", "db-3"]' in result.stdout


def test_hostile_items_stay_one_word_each_in_a_shell_command(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "show",
                "run": f"printf '%s\\n' {{{{ params.hosts | join(',') }}}} {{{{ params.hosts }}}} > {out}",
                "timeout": "10s",
            },
            params={"hosts": {"type": "list"}},
        ),
    )
    hostile = "a;touch PWNED, $(touch PWNED2) ,`touch PWNED3`,-oProxyCommand=x"
    result = invoke(["run", "-q", str(path), "-p", f"hosts={hostile}"])
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "a;touch PWNED,$(touch PWNED2),`touch PWNED3`,-oProxyCommand=x"
    assert lines[1].startswith('["a;touch PWNED"')
    assert not list(tmp_path.glob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_list_param_survives_a_sigkill_and_the_resume(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    log, gate = tmp_path / "log", tmp_path / "go"
    path = write_runbook(
        tmp_path,
        runbook_data(
            {
                "id": "first",
                "run": f"echo {{{{ params.hosts | join(' ') }}}} >> {log}",
                "timeout": "10s",
            },
            {
                "id": "wait",
                "run": f"while [ ! -f {gate} ]; do sleep 0.1; done",
                "timeout": "1m",
                "idempotent": True,
            },
            {
                "id": "last",
                "run": f"echo {{{{ params.hosts | length }}}} >> {log}",
                "timeout": "10s",
            },
            params={"hosts": {"type": "list", "required": True}},
        ),
    )
    state = {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", "--no-tty", str(path), "-p", "hosts=db-2,db-3"],
        env=state,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    gate.touch()
    run_id = next((tmp_path / "state" / "runs").iterdir()).name
    resumed = run_cli(["resume", run_id], env={"RECOVERCTL_STATE_DIR": str(tmp_path / "state")})
    assert resumed.returncode == 0, resumed.stderr
    assert log.read_text().split() == ["db-2", "db-3", "2"]  # first ran once; the list is intact
