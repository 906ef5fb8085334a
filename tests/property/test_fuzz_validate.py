"""Mutated runbooks never crash the loader, validator or compiler.

Whatever the input, the only outcomes are a valid model (which compiles) or
positioned diagnostics: no exception escapes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoverctl.compile import compile_plan
from recoverctl.validate.pipeline import check_file
from tests.conftest import RUNBOOKS

BASE = yaml.safe_load((RUNBOOKS / "demo.yaml").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "{{ params.x }}",
            "{{",
            "steps.a.ok and",
            "5 minutes",
            "-1s",
            "1h30m",
            "$(touch x)",
            "'; rm -rf /",
            "{% for %}",
            "\x00",
            "é" * 5,
            "run",
            "else",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "run",
                    "when",
                    "steps",
                    "x",
                    "parallel",
                    "branch",
                    "else",
                    "retry",
                    "timeout",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        else:
            parent.append(draw(values))
    return data


def _check(path: Path) -> None:
    checked = check_file(path)
    if checked.runbook is not None:
        compile_plan(checked.runbook, checked.callees)
    else:
        assert checked.diagnostics
        for diagnostic in checked.diagnostics:
            assert diagnostic.span.line >= 1 and diagnostic.span.col >= 1
            assert diagnostic.message


@settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=mutated())
def test_mutated_data_never_crashes(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _check(path)


@settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut=st.integers(0, 4000), insert=st.text(max_size=20), drop=st.integers(0, 30))
def test_mutated_text_never_crashes(tmp_path: Path, cut: int, insert: str, drop: int) -> None:
    text = (RUNBOOKS / "demo.yaml").read_text()
    cut = min(cut, len(text))
    mutated_text = text[:cut] + insert + text[cut + drop :]
    path = tmp_path / "fuzz.yaml"
    path.write_text(mutated_text, encoding="utf-8", errors="surrogatepass")
    _check(path)


@settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")), deadline=None)
@given(data=mutated())
def test_fast_validator_agrees_with_jsonschema(data: Any) -> None:
    """The generated fast path decides validity; it must say what jsonschema says."""
    from recoverctl.validate.schema_check import _validator, is_valid_fast

    assert is_valid_fast(data) == _validator().is_valid(data)
