"""JSON Schema validation, with every error explained at its line:col.

jsonschema reports what failed in schema terms ("is not valid under any of
the given schemas"); an operator needs what was found, what was expected and
how to fix it: validate/schema_explain.py turns each error into that. Valid
files take the generated fast validator and never import jsonschema.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from recoverctl.load import LoadedDocument
from recoverctl.model.source import Diagnostic
from recoverctl.validate.schema_explain import Explainer

if TYPE_CHECKING:
    from jsonschema import Draft7Validator


def schema_text(name: str = "runbook") -> str:
    """A published JSON Schema (`runbook`, `scenarios`), as shipped inside the package."""
    return resources.files("recoverctl").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")


@cache
def runbook_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@cache
def _validator() -> Draft7Validator:
    """jsonschema, imported only when a file is invalid: its errors carry paths we explain."""
    from jsonschema import Draft7Validator

    return Draft7Validator(runbook_schema())


def schema_diagnostics(doc: LoadedDocument) -> list[Diagnostic]:
    """Every schema violation in a runbook, explained and positioned."""
    if is_valid_fast(doc.data):
        return []
    return explain_errors(doc, _validator())


def scenario_schema_diagnostics(doc: LoadedDocument) -> list[Diagnostic]:
    """Every schema violation in a scenario file, explained the same way."""
    from jsonschema import Draft7Validator

    return explain_errors(doc, Draft7Validator(json.loads(schema_text("scenarios"))))


def explain_errors(doc: LoadedDocument, validator: Draft7Validator) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for error in validator.iter_errors(doc.data):
        out.extend(Explainer(doc).explain(error))
    return out


def is_valid_fast(data: Any) -> bool:
    """The generated validator: ~50x faster than jsonschema, so valid files pay little.

    It only says yes or no; a no sends the document through jsonschema, whose
    errors carry the paths we explain.
    """
    from fastjsonschema import JsonSchemaException

    from recoverctl.validate._fast_schema import validate as fast_validate  # type: ignore[attr-defined]

    try:
        fast_validate(data)
    except JsonSchemaException:
        return False
    return True


def config_schema_diagnostics(doc: LoadedDocument) -> list[Diagnostic]:
    """The user's config file (cli/notify_config.py): the runbook's `notify` section, alone."""
    from jsonschema import Draft7Validator

    runbook = runbook_schema()
    schema = {
        "$schema": runbook["$schema"],
        "title": "recoverctl config",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "notify": runbook["properties"]["notify"],
            "coordination": {
                "type": "string",
                "x-expected": "a redis:// or postgresql:// URL",
                "pattern": "^(redis|rediss|postgres|postgresql)://",
            },
        },
        "definitions": runbook["definitions"],
    }
    return explain_errors(doc, Draft7Validator(schema))
