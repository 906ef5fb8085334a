"""`recoverctl lint` through the CLI: golden output in every format, exit codes, selection, config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import GOLDEN, ROOT, check_golden, invoke, run_cli

LINT = GOLDEN / "lint"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
@pytest.mark.parametrize("case", ["unsafe", "suppressed"])
def test_golden_output(case: str, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(LINT)
    result = invoke(["lint", f"{case}.yaml", "--format", fmt])
    assert result.exit_code == (1 if case == "unsafe" else 0), result.output
    check_golden(
        LINT / f"{case}.{fmt}",
        result.stdout.replace('recoverctl", "version": ', 'recoverctl", "version": '),
    )


def _sarif_schema() -> dict[str, object] | None:
    candidates = [
        os.environ.get("RECOVERCTL_SARIF_SCHEMA", ""),
        str(ROOT / ".ci" / "cache" / "sarif-schema-2.1.0.json"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return json.loads(Path(candidate).read_text())  # type: ignore[no-any-return]
    return None


def test_sarif_validates_against_the_sarif_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = _sarif_schema()
    if schema is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI must provide the SARIF 2.1.0 schema (.ci/run fetches it from the npm registry)"
            )
        pytest.skip("SARIF schema not available (set RECOVERCTL_SARIF_SCHEMA)")
    monkeypatch.chdir(LINT)
    document = json.loads(invoke(["lint", "unsafe.yaml", "--format", "sarif"]).stdout)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert document["runs"][0]["results"]


def test_exit_codes_and_fail_on(tmp_path: Path) -> None:
    assert run_cli(["lint", "runbooks/"], cwd=ROOT).returncode == 0
    assert run_cli(["lint", str(LINT / "unsafe.yaml")]).returncode == 1
    assert (
        run_cli(
            ["lint", str(LINT / "unsafe.yaml"), "--select", "RC4", "--fail-on", "error"]
        ).returncode
        == 0
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nsteps: []\n")
    result = run_cli(["lint", str(bad)])
    assert result.returncode == 2 and f"{bad}:3:8" in result.stdout


def test_select_and_ignore_by_code_prefix_and_name() -> None:
    result = run_cli(
        [
            "lint",
            str(LINT / "unsafe.yaml"),
            "--select",
            "RC2",
            "--ignore",
            "retry-on-non-idempotent",
            "--format",
            "json",
        ]
    )
    codes = {f["code"] for f in json.loads(result.stdout)}
    assert codes == {"RC201", "RC205"}
    unknown = run_cli(["lint", str(LINT / "unsafe.yaml"), "--select", "RC999"])
    assert unknown.returncode == 2 and "unknown rule 'RC999'" in unknown.stderr


def test_project_config_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.recoverctl.lint]\nignore = ["RC4", "RC304"]\nfail-on = "error"\n'
    )
    runbook = tmp_path / "rb.yaml"
    runbook.write_text("version: 1\nname: x\nsteps:\n  - {id: a, run: 'true'}\n")
    result = run_cli(["lint", "rb.yaml", "--format", "json"], cwd=tmp_path)
    codes = {f["code"] for f in json.loads(result.stdout)}
    assert codes == {"RC301"}
    assert result.returncode == 0  # only a warning, and fail-on is error
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / ".recoverctl.yaml").write_text("lint:\n  select: [RC301]\n")
    assert {
        f["code"]
        for f in json.loads(run_cli(["lint", "rb.yaml", "--format", "json"], cwd=tmp_path).stdout)
    } == {"RC301"}


def test_list_rules_and_explain() -> None:
    listed = run_cli(["lint", "--list-rules"]).stdout
    assert "RC201  destructive-without-rollback" in listed and len(listed.splitlines()) == 22
    explained = run_cli(["lint", "--explain", "destructive-without-rollback"]).stdout
    assert (
        explained.startswith("# RC201 destructive-without-rollback") and "## Correct" in explained
    )
    missing = run_cli(["lint", "--explain", "RC20"])
    assert missing.returncode == 2


def test_a_crashing_rule_is_an_internal_error_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from recoverctl.lint.rules.rc102_branch_without_else import BranchWithoutElse

    def boom(self, ctx):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(BranchWithoutElse, "check", boom)
    runbook = tmp_path / "rb.yaml"
    runbook.write_text("version: 1\nname: x\nsteps:\n  - {id: a, run: 'true', timeout: 1s}\n")
    result = invoke(["lint", str(runbook), "--format", "json"])
    findings = json.loads(result.stdout)
    internal = [f for f in findings if f["code"] == "RC000"]
    assert internal and "ZeroDivisionError" in internal[0]["message"]
    assert any(f["code"] == "RC304" for f in findings)  # the other rules still ran


def test_many_files_are_linted_in_parallel(tmp_path: Path) -> None:
    for index in range(20):
        (tmp_path / f"rb{index}.yaml").write_text(
            f"version: 1\nname: r{index}\nsteps:\n  - {{id: a, run: 'true'}}\n"
        )
    result = run_cli(["lint", str(tmp_path), "--format", "json"])
    findings = json.loads(result.stdout)
    assert len({f["file"] for f in findings}) == 20
