"""The shape of the tree: no import circles anywhere (the layer contract is lint-imports').

grimp reads every import, inside functions and under TYPE_CHECKING too: a circle
hidden in a function body is still a circle a maintainer has to untangle.
"""

from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("recoverctl")


def test_no_module_imports_one_that_imports_it_back(graph: grimp.ImportGraph) -> None:
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(imported, module)
        }
    )
    assert circles == []


def test_the_parts_of_the_engine_never_import_the_engine(graph: grimp.ImportGraph) -> None:
    parts = ["attempts", "failure", "scheduler", "saga", "calls", "step_context", "services"]
    for part in parts:
        assert not graph.chain_exists(f"recoverctl.engine.{part}", "recoverctl.engine.runner")
