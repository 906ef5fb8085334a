"""Secret params in exports: from the target's secret store, never written out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from recoverctl.export.runner import SecretUnavailable, execute
from tests.conftest import run_cli
from tests.export.validators import argo_errors

SECRET = "hunter2-default"

RUNBOOK = f"""\
version: 1
name: sec
params:
  token: {{type: string, secret: true, default: {SECRET}}}
  name: {{type: string, default: "a  b*"}}
env:
  API_TOKEN: "{{{{ params.token }}}}"
steps:
  - id: call
    run: curl -H "X-Token={{{{ params.token }}}}" "https://api/{{{{ params.name }}}}"
    timeout: 5s
"""

MISUSED = (
    RUNBOOK
    + """\
  - id: leak
    run: echo "{{ 'Bearer ' ~ params.token }}"
    when: params.token != ''
"""
)


def _export(tmp_path: Path, text: str, target: str, *extra: str) -> tuple[int, str, str]:
    source = tmp_path / "sec.yaml"
    source.write_text(text)
    out = tmp_path / f"out-{target}"
    result = run_cli(["export", str(source), "--to", target, "-o", str(out), *extra])
    return result.returncode, out.read_text() if out.exists() else "", result.stderr


def test_argo_reads_secrets_from_a_kubernetes_secret_and_never_writes_them(
    tmp_path: Path,
) -> None:
    code, text, stderr = _export(tmp_path, RUNBOOK, "argo", "--secrets", "db-creds")
    assert code == 0, stderr
    assert SECRET not in text
    assert "warning: the default of secret param 'token' is approximated" in stderr
    manifest = yaml.safe_load(text)
    assert argo_errors(manifest) == []
    assert [p["name"] for p in manifest["spec"]["arguments"]["parameters"]] == ["name"]
    env = {e["name"]: e for e in manifest["spec"]["templates"][1]["container"]["env"]}
    reference = {"valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "token"}}}
    assert {k: v for k, v in env["API_TOKEN"].items() if k != "name"} == reference
    assert {k: v for k, v in env["RC_VALUE_1"].items() if k != "name"} == reference


def test_step_functions_passes_secret_ids_to_the_runner_never_values(tmp_path: Path) -> None:
    code, text, stderr = _export(tmp_path, RUNBOOK, "step-functions")
    assert code == 0, stderr
    assert SECRET not in text
    task = json.loads(text)["States"]["call"]["Arguments"]["Payload"]
    assert task["secrets"] == {
        "API_TOKEN": "recoverctl/sec/token",
        "RC_VALUE_1": "recoverctl/sec/token",
    }
    assert "token" not in json.dumps(json.loads(text)["States"]["Start"])


def test_a_secret_the_workflow_would_hold_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    for target in ("argo", "step-functions"):
        code, text, stderr = _export(tmp_path, MISUSED, target)
        assert code == 2 and text == ""
        assert "sec.yaml:12:5: error: step 'leak': a secret param in" in stderr
        assert "sec.yaml:12:5: error: step 'leak': secret param 'token' in 'params.token" in stderr
        code, text, stderr = _export(tmp_path, MISUSED, target, "--lossy")
        assert code == 0 and SECRET not in text and "Bearer" not in text
        assert "{{" not in text.replace("{{workflow.", "").replace("{{=", "")
        assert "this command could not be exported" in text  # fails loudly, never runs half


def test_a_value_inside_the_authors_double_quotes_stays_one_word(tmp_path: Path) -> None:
    """`"https://api/{{ params.name }}"`: the value is lifted out of the quotes, as a run
    does; a quoted variable inside them would end them (split and globbed)."""
    code, text, _ = _export(tmp_path, RUNBOOK, "argo")
    assert code == 0
    template = yaml.safe_load(text)["spec"]["templates"][1]["container"]
    command = template["command"][-1]
    argo = {"{{workflow.parameters.name}}": "a  b*"}  # what Argo substitutes
    env = {e["name"]: argo.get(e.get("value"), e.get("value", "s3cr3t")) for e in template["env"]}
    shown = subprocess.run(
        ["sh", "-c", command.replace("curl", "printf '[%s]\\n'", 1)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.split("\n")[:3] == ["[-H]", "[X-Token=s3cr3t]", "[https://api/a  b*]"]


def test_the_runner_reads_secrets_and_masks_them_in_what_it_returns() -> None:
    payload = {
        "step": "s",
        "kind": "run",
        "shell": True,
        "command": ['echo "got ${RC_VALUE_1}"; echo "${RC_VALUE_1}" >&2; exit 3'],
        "secrets": {"RC_VALUE_1": "app/token"},
    }
    outcome = execute(payload, secrets={"app/token": "s3cr3t"}.__getitem__)
    assert outcome.error == "Recoverctl.ExitCode.3" and outcome.cause == "exited with 3: ***"
    ok = execute({**payload, "command": ['echo "got ${RC_VALUE_1}"']}, secrets=lambda _: "s3cr3t")
    assert ok.output is not None and ok.output["stdout"] == "got ***\n"


def test_a_secret_that_cannot_be_read_fails_the_task_by_its_id() -> None:
    payload = {"step": "s", "kind": "run", "shell": True, "command": ["true"]}
    payload["secrets"] = {"RC_VALUE_1": "app/token"}
    assert execute(payload).error == "Recoverctl.Secret"

    def missing(secret_id: str) -> str:
        raise SecretUnavailable(f"cannot read secret '{secret_id}': ResourceNotFoundException")

    outcome = execute(payload, secrets=missing)
    assert outcome.error == "Recoverctl.Secret" and "app/token" in str(outcome.cause)
