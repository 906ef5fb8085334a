"""`recoverctl lint` through the CLI: golden output in every format, exit codes, selection, config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    output = result.stdout.replace(LINT.resolve().as_uri(), "file:///<lint-cases>")
    check_golden(LINT / f"{case}.{fmt}", output)


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


def test_sarif_maps_to_the_repository_and_survives_moved_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative URIs under %SRCROOT%, a fingerprint per result that does not change when
    lines above move, a helpUri for every rule, and schema errors as a rule of their own."""
    (tmp_path / "runbooks").mkdir()
    source = (LINT / "unsafe.yaml").read_text()
    (tmp_path / "runbooks" / "unsafe.yaml").write_text(source)
    (tmp_path / "runbooks" / "broken.yaml").write_text("version: 1\nname: x\nsteps: []\n")
    monkeypatch.chdir(tmp_path)

    def scan() -> dict[str, Any]:
        result = invoke(["lint", "runbooks", "--format", "sarif"])
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    first = scan()
    run = first["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert {loc["uri"] for loc in locations} == {"runbooks/unsafe.yaml", "runbooks/broken.yaml"}
    assert all(loc["uriBaseId"] == "%SRCROOT%" for loc in locations)
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert all(rule["helpUri"].startswith("https://") for rule in rules.values())
    assert rules["RC201"]["helpUri"].endswith("rules.md#rc201-destructive-without-rollback")
    schema_results = [r for r in run["results"] if r["ruleId"] == "schema"]
    assert schema_results and rules["schema"]["helpUri"].endswith("#validation-schema")
    assert all(r["ruleIndex"] == list(rules).index(r["ruleId"]) for r in run["results"])
    fingerprints = [r["partialFingerprints"]["recoverctl/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)
    (tmp_path / "runbooks" / "unsafe.yaml").write_text("# a comment added on top\n\n" + source)
    moved = scan()["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["recoverctl/v1"] for r in moved) == sorted(fingerprints)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved] != [
        r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
    ]


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
    assert "RC201  destructive-without-rollback" in listed and len(listed.splitlines()) == 26
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


def test_force_color_colours_lint_output_and_no_color_wins() -> None:
    import subprocess
    import sys

    def lint(**env: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        return subprocess.run(
            [sys.executable, "-m", "recoverctl", "lint", str(LINT / "unsafe.yaml")],
            capture_output=True,
            text=True,
            env={**base, **env},
            check=False,
        )

    forced, plain, both = lint(FORCE_COLOR="1"), lint(), lint(FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[" in forced.stdout and "RC201" in forced.stdout
    assert "\x1b[" not in plain.stdout  # piped: plain
    assert "\x1b[" not in both.stdout  # NO_COLOR wins (no-color.org)
    assert forced.returncode == plain.returncode == both.returncode == 1
