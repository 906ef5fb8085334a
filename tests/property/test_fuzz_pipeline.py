"""Generated runbooks — valid ones and mutants of them — through every stage a user reaches:
validate, lint, plan (text and JSON), dry run, and export to Argo and Step Functions.

The only allowed outcomes are a result or positioned diagnostics; any other
exception is a bug. 500 cases in CI; the long run is

    FUZZ_CASES=10000 pytest tests/property/test_fuzz_pipeline.py -q

(results in bench/RESULTS.md, "Hardening").
"""

from __future__ import annotations

import copy
import io
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recoverctl.compile import compile_plan
from recoverctl.errors import RecoverctlError
from recoverctl.export.options import ExportOptions, Target
from recoverctl.export.targets import export_plan
from recoverctl.lint.config import LintConfig
from recoverctl.lint.runner import lint_files
from recoverctl.model.source import Span
from recoverctl.present.plan_json import plan_to_json
from recoverctl.present.plan_view import render_plan
from recoverctl.scenario.model import Expectation, Scenario
from recoverctl.scenario.runner import run_scenario
from recoverctl.validate.pipeline import check_file
from tests.property.test_fuzz_validate import values

CASES = int(os.environ.get("FUZZ_CASES", "500"))

texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "{{ params.word }}",
            "echo {{ params.word }} > /dev/null",
            "$(touch /tmp/pwned)",
            "'; rm -rf / #",
            "{{ ''.__class__.__mro__ }}",
            "{{ params.word ~ '\\n' }}",
            "é∂ƒ©˙∆",
            "\u202e\u200b",
            "x" * 10_000,
        ]
    ),
)
conditions = st.sampled_from(
    [
        "true",
        "false",
        "params.count > 2",
        "params.word == 'a'",
        "not params.flag",
        "params.flag and params.count <= 3",
        "params.word | length > 1",
    ]
)
durations = st.sampled_from(["1s", "500ms", "2m", "1h", 5, 0.25])


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"s{self.n}"


def _action(draw: st.DrawFn, ids: _Ids) -> dict[str, Any]:
    kind = draw(st.sampled_from(["run", "argv", "sleep", "log", "assert", "http", "wait_for"]))
    step: dict[str, Any] = {"id": ids.next()}
    if kind == "run":
        step["run"] = draw(texts) or "true"
    elif kind == "argv":
        step["run"] = ["printf", "%s", draw(texts)]
    elif kind == "sleep":
        step["sleep"] = draw(durations)
    elif kind == "log":
        step["log"] = draw(texts) or "message"
    elif kind == "assert":
        step["assert"] = {"that": draw(conditions)}
    elif kind == "http":
        step["http"] = {"url": "http://127.0.0.1:9/{{ params.word }}", "timeout": "1s"}
    else:
        step["wait_for"] = {"run": "true", "interval": "1s", "timeout": "3s"}
    if draw(st.booleans()) and "wait_for" not in step:  # a wait's own timeout is its bound
        step["timeout"] = draw(durations)
    if draw(st.integers(0, 3)) == 0 and kind != "approval":  # approvals are never retried
        step["retry"] = {"attempts": draw(st.integers(1, 4)), "delay": draw(durations)}
    if draw(st.integers(0, 3)) == 0:
        step["on_failure"] = draw(st.sampled_from(["abort", "continue", "rollback"]))
    if draw(st.integers(0, 3)) == 0:
        step["rollback"] = {"run": "true"}
    if draw(st.integers(0, 4)) == 0:
        step["rescue"] = [{"id": ids.next(), "run": "true"}]
    if draw(st.integers(0, 4)) == 0:
        step["when"] = draw(conditions)
    if draw(st.integers(0, 5)) == 0:
        step["locks"] = ["shared"]
    if draw(st.integers(0, 5)) == 0:
        step["name"] = draw(texts)
    return step


@st.composite
def runbooks(draw: st.DrawFn) -> dict[str, Any]:
    ids = _Ids()

    def steps(depth: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(draw(st.integers(1, 3))):
            shape = draw(st.sampled_from(["action", "action", "parallel", "steps", "branch"]))
            if depth >= 3 or shape == "action":
                out.append(_action(draw, ids))
            elif shape == "branch":
                cases: list[dict[str, Any]] = [
                    {"when": draw(conditions), "steps": steps(depth + 1)}
                    for _ in range(draw(st.integers(1, 2)))
                ]
                if draw(st.booleans()):
                    cases.append({"else": steps(depth + 1)})
                out.append({"id": ids.next(), "branch": cases})
            else:
                group: dict[str, Any] = {"id": ids.next(), shape: steps(depth + 1)}
                if shape == "parallel" and draw(st.booleans()):
                    group["max_parallel"] = draw(st.integers(1, 3))
                out.append(group)
        return out

    data: dict[str, Any] = {
        "version": 1,
        "name": draw(st.sampled_from(["fuzz", "db-failover", "cache.rebuild_2"])),
        "params": {
            "word": {"type": "string", "default": draw(texts)},
            "count": {"type": "integer", "default": draw(st.integers(0, 5))},
            "flag": {"type": "boolean", "default": draw(st.booleans())},
        },
        "steps": steps(0),
    }
    if draw(st.booleans()):
        data["finally"] = [{"id": ids.next(), "log": "done {{ run.status }}"}]
    if draw(st.booleans()):
        data["timeout"] = draw(durations)
    return data


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid runbook, or one with 1-3 random mutations (keys, types, nesting, values)."""
    data = draw(runbooks())
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3]))):
        _mutate(draw, data)
    return data


def _mutate(draw: st.DrawFn, data: dict[str, Any]) -> None:
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, prefix: tuple[Any, ...]) -> None:
        if prefix:
            paths.append(prefix)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*prefix, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*prefix, index))

    walk(data, ())
    path = draw(st.sampled_from(paths))
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
    if action == "replace":
        parent[path[-1]] = draw(values)
    elif action == "delete":
        del parent[path[-1]]
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[path[-1]]))  # duplicate ids, duplicate steps
    elif isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(values)


def _through_everything(path: Path) -> str:
    """validate → lint → plan → dry run → export; returns how far a case got."""
    checked = check_file(path)
    if checked.runbook is None:
        assert checked.diagnostics
        for diagnostic in checked.diagnostics:
            assert diagnostic.span.line >= 1 and diagnostic.span.col >= 1 and diagnostic.message
        return "invalid"
    (linted,) = lint_files([path], LintConfig())
    assert all(d.code != "RC000" for d in linted.findings), linted.findings  # no rule crashed
    plan = compile_plan(checked.runbook, checked.callees)
    plan_to_json(plan, {})
    from rich.console import Console

    Console(file=io.StringIO(), width=80).print(render_plan(plan, {}, frozenset()))
    scenario = Scenario("fuzz", Span(1, 1, 1, 1), {}, {}, {}, Expectation())
    result = run_scenario(plan, scenario)
    assert result.exit_code in (0, 1, 2, 3, 4), result.exit_code
    for target in Target:
        try:
            export_plan(plan, target, ExportOptions(lossy=True))
        except RecoverctlError as exc:  # untranslatable names: a positioned refusal is fine
            assert exc.message
    return "ran"


@settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=inputs())
def test_generated_runbooks_never_crash_any_stage(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _through_everything(path)


def test_the_generator_reaches_the_later_stages(tmp_path: Path) -> None:
    """Not a vacuous fuzzer: most unmutated cases are valid and get as far as the dry run."""
    reached: list[str] = []

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(data=runbooks())
    def sample(data: dict[str, Any]) -> None:
        path = tmp_path / "sample.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        reached.append(_through_everything(path))

    sample()
    assert reached.count("ran") >= len(reached) * 0.9, reached
