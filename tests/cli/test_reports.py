"""Machine outputs read by their real consumers: JUnit by junitparser and junit2html,
metrics by prometheus_client's parser (and promtool where installed), annotations by
@actions/core's escaping rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def test_a_green_run_gives_a_green_junit_file_that_parses_whatever_the_output(
    tmp_path: Path,
) -> None:
    junitparser = pytest.importorskip("junitparser")
    junit = tmp_path / "junit.xml"
    path = write_runbook(
        tmp_path,
        runbook_data(
            run_step(
                "probe",
                "printf '\\033[31mdown\\033[0m \\001\\002 bell\\007\\n'; exit 1",
                on_failure="continue",
            ),
            run_step("fix", "printf 'ok \\033]0;title\\007\\n'"),
        ),
    )
    result = run_cli(["run", str(path), "--no-journal", "--junit", str(junit)])
    assert result.returncode == 0, result.stderr
    xml = junitparser.JUnitXml.fromfile(str(junit))
    suite = next(iter(xml))
    assert suite.failures == 0 and suite.errors == 0 and suite.tests == 2
    cases = {case.name: case for case in suite}
    (skipped,) = cases["probe"].result
    assert isinstance(skipped, junitparser.Skipped)
    assert "tolerated" in skipped.message
    assert "\x1b" not in junit.read_text() and "\x01" not in junit.read_text()
    _renders_with_junit2html(junit, tmp_path)


def _renders_with_junit2html(junit: Path, tmp_path: Path) -> None:
    """junit2html, the report CI systems publish, renders the file (it fails on bad XML)."""
    import shutil
    import subprocess

    tool = shutil.which("junit2html")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("junit2html is required in CI (the [test] extra installs it)")
        pytest.skip("junit2html is not installed")
    html = tmp_path / "report.html"
    done = subprocess.run(
        [tool, str(junit), str(html)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "<html" in html.read_text(errors="replace").lower()


def test_a_step_that_failed_the_run_is_a_junit_failure(tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    junit = tmp_path / "junit.xml"
    path = write_runbook(tmp_path, runbook_data(run_step("a", "echo \\033[1mboom >&2; exit 3")))
    result = run_cli(["run", str(path), "--no-journal", "--junit", str(junit)])
    assert result.returncode == 1
    suite = next(iter(junitparser.JUnitXml.fromfile(str(junit))))
    assert suite.failures == 1
    _renders_with_junit2html(junit, tmp_path)


def test_metrics_parse_with_prometheus_client_and_keep_full_precision(tmp_path: Path) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    metrics = tmp_path / "m.prom"
    path = write_runbook(
        tmp_path,
        runbook_data(run_step("a", name='quote " and \\\\ back'), objectives={"rto": "5m"}),
    )
    result = run_cli(["run", str(path), "--no-journal", "--metrics", str(metrics)])
    assert result.returncode == 0, result.stderr
    families = {f.name: f for f in parser.text_string_to_metric_families(metrics.read_text())}
    (finished,) = families["recoverctl_run_timestamp_seconds"].samples
    import time

    assert abs(finished.value - time.time()) < 60  # 6 significant digits would be 77 min off
    assert families["recoverctl_run_rto_seconds"].samples[0].value == 300
    assert {s.labels["step"] for s in families["recoverctl_step_attempts"].samples} == {"a"}
    import shutil
    import subprocess

    promtool = shutil.which("promtool")  # Debian's prometheus package; optional
    if promtool is not None:
        done = subprocess.run(
            [promtool, "check", "metrics"],
            input=metrics.read_text(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_github_annotations_escape_properties_and_data_as_actions_core_does(
    tmp_path: Path,
) -> None:
    path = write_runbook(
        tmp_path,
        runbook_data({"id": "pick", "branch": [{"when": "true", "steps": [run_step("x")]}]}),
        name="odd,name:1.yaml",
    )
    result = run_cli(["lint", str(path), "--format", "github"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert lines
    for line in lines:
        properties, _, message = line[2:].partition("::")
        assert "odd%2Cname%3A1.yaml" in properties
        assert "\r" not in message
