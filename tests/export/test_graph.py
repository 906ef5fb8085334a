"""`recoverctl graph`: Mermaid checked by parsing its structure, DOT by Graphviz itself."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, run_cli

MERMAID_NODE = re.compile(
    r'^    (?P<id>[A-Za-z_][A-Za-z0-9_]*)(?P<shape>\[\[|\[|\(\[|\(\(|\{)"(?P<label>[^"]*)"'
)
MERMAID_EDGE = re.compile(
    r'^    (?P<src>[A-Za-z_][A-Za-z0-9_]*) (?P<arrow>-->|-\.->)(\|"(?P<label>[^"]*)"\|)? (?P<dst>[A-Za-z_][A-Za-z0-9_]*)$'
)
RESERVED = {"end", "graph", "subgraph", "style", "class", "classDef", "click"}


def _mermaid(runbook: str) -> tuple[dict[str, str], list[tuple[str, str, str | None, str]]]:
    result = run_cli(["graph", runbook], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str | None, str]] = []
    for line in lines[1:]:
        if line.strip().startswith(("classDef", "class ")):
            continue
        edge = MERMAID_EDGE.match(line)
        if edge:
            edges.append((edge["src"], edge["dst"], edge["label"], edge["arrow"]))
            continue
        node = MERMAID_NODE.match(line)
        assert node, f"not a node or an edge: {line!r}"
        assert node["id"] not in RESERVED
        nodes[node["id"]] = node["label"]
    for src, dst, _, _ in edges:
        assert src in nodes and dst in nodes, (src, dst)
    return nodes, edges


def test_mermaid_shows_sequence_parallel_branches_and_dashed_rollbacks() -> None:
    nodes, edges = _mermaid("runbooks/demo.yaml")
    assert ("n_start", "n_simulate_outage", None, "-->") in edges
    assert {dst for src, dst, _, _ in edges if src == "n_probe__fork"} == {
        "n_service_up",
        "n_disk_free",
        "n_state_dir_ok",
    }
    labels = {label for src, _, label, _ in edges if src == "n_choose"}
    assert labels == {"steps.service_up.ok", "steps.disk_free.outputs.free_kb > 1024", "else"}
    dashed = {(src, dst, label) for src, dst, label, arrow in edges if arrow == "-.->"}
    assert ("n_restart_service", "n_restart_service__rollback", "rollback") in dashed
    assert all(label == "rollback" for _, _, label in dashed)
    # every step of the runbook is drawn
    for step_id in [
        "simulate_outage",
        "warm_users",
        "warm_orders",
        "warm_catalog",
        "verify",
        "report",
    ]:
        assert f"n_{step_id}" in nodes


@pytest.mark.parametrize(
    "runbook",
    sorted(p.name for p in (ROOT / "runbooks").glob("*.yaml") if not p.name.endswith(".test.yaml")),
)
def test_every_example_graphs(runbook: str) -> None:
    _mermaid(f"runbooks/{runbook}")


def test_dot_is_accepted_by_graphviz() -> None:
    if shutil.which("dot") is None:
        import os

        if os.environ.get("CI"):
            pytest.fail("CI installs Graphviz (.ci/run)")
        pytest.skip("Graphviz is not installed")
    for runbook in sorted(
        p for p in (ROOT / "runbooks").glob("*.yaml") if not p.name.endswith(".test.yaml")
    ):
        dot = run_cli(["graph", str(runbook), "--format", "dot"]).stdout
        check = subprocess.run(
            ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr
        assert "<svg" in check.stdout
    svg = run_cli(["graph", "runbooks/db-failover.yaml", "--format", "svg"], cwd=ROOT)
    assert svg.returncode == 0 and svg.stdout.lstrip().startswith("<?xml")


def test_svg_without_graphviz_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        ["graph", "runbooks/demo.yaml", "--format", "svg"], cwd=ROOT, env={"PATH": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "needs Graphviz" in result.stderr
