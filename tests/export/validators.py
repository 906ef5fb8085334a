"""The targets' own validators: Argo's JSON Schema (made strict) and npm's asl-validator.

Without asl-validator installed the Step Functions checks are skipped locally,
but `.ci/run` installs it and sets RECOVERCTL_REQUIRE_VALIDATORS, which turns
a missing validator into a failure: CI never passes by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import ROOT

ARGO_SCHEMA = Path(__file__).parent / "third_party" / "argo-workflow.schema.json"
NODE_MODULES = ROOT / ".ci" / "cache" / "node" / "node_modules"


@cache
def argo_validator() -> Draft202012Validator:
    """The upstream schema with IntOrString widened and unknown keys forbidden."""
    schema = json.loads(ARGO_SCHEMA.read_text(encoding="utf-8"))
    definitions = schema["definitions"]
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["integer", "string"]}
    for definition in definitions.values():
        if definition.get("type") == "object" and "properties" in definition:
            definition.setdefault("additionalProperties", False)
    return Draft202012Validator(schema)


def argo_errors(document: Any) -> list[str]:
    """Errors against the document's own kind (precise paths), then the official `oneOf`."""
    validator = argo_validator()
    kind = document.get("kind") if isinstance(document, dict) else None
    by_kind = {
        key: value for key, value in validator.schema.items() if key not in ("oneOf", "type")
    }
    by_kind["$ref"] = f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}"
    errors = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in Draft202012Validator(by_kind).iter_errors(document)
    ]
    if not errors and not validator.is_valid(document):
        errors.append("matches no kind of the Argo schema (Workflow, WorkflowTemplate, ...)")
    return errors


def _tool(name: str) -> str | None:
    local = NODE_MODULES / ".bin" / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def require_tool(name: str) -> str:
    tool = _tool(name)
    if tool is None:
        if os.environ.get("RECOVERCTL_REQUIRE_VALIDATORS"):
            pytest.fail(f"{name} is not installed (.ci/run installs it from npm)")
        pytest.skip(f"{name} is not installed: run .ci/run once, or npm install it")
    return tool


def asl_errors(paths: list[Path]) -> dict[Path, str]:
    """asl-validator's verdict on each file: {} when all are valid, else path → its output."""
    tool = require_tool("asl-validator")
    problems: dict[Path, str] = {}
    for path in paths:
        result = subprocess.run(
            [tool, "--json-path", str(path)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or "is valid" not in result.stdout:
            problems[path] = result.stdout + result.stderr
    return problems


def jsonata_eval(cases: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Evaluate JSONata expressions with variable bindings, using the jsonata npm package."""
    require_tool("asl-validator")
    if not (NODE_MODULES / "jsonata").is_dir():
        if os.environ.get("RECOVERCTL_REQUIRE_VALIDATORS"):
            pytest.fail("the jsonata npm package is missing (it comes with asl-validator)")
        pytest.skip("the jsonata npm package is not installed under .ci/cache/node")
    script = """
const jsonata = require(process.argv[1]);
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const out = [];
  for (const [expr, bindings] of cases) {
    try { const v = await jsonata(expr).evaluate({}, bindings); out.push({value: v === undefined ? null : v}); }
    catch (e) { out.push({error: String(e.message || e)}); }
  }
  process.stdout.write(JSON.stringify(out));
})();
"""
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "-e", script, str(NODE_MODULES / "jsonata")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(result.stdout))
