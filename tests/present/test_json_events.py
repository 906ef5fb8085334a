"""`--output json`: every line parses and matches the published event schema."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema

from tests.conftest import ROOT


def test_json_event_stream_matches_its_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads((ROOT / "schemas" / "events.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "recoverctl",
            "run",
            "runbooks/demo.yaml",
            "--output",
            "json",
            "-q",
            "-p",
            f"workdir={tmp_path}/d",
            "-p",
            "fail_verify=true",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == ""  # -q with json: the human view is off
    records = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {r["event"] for r in records}
    assert {
        "run_started",
        "step_started",
        "branch_decided",
        "retry_scheduled",
        "rollback_started",
        "step_rolled_back",
        "rollback_finished",
        "run_finished",
    } <= kinds
    for record in records:
        errors = list(validator.iter_errors(record))
        assert not errors, (record, [e.message for e in errors])
    assert records[-1]["event"] == "run_finished" and records[-1]["exit_code"] == 1


def test_event_docs_and_schema_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "tools/gen_event_schema.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
