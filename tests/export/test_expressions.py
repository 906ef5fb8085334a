"""Runbook expressions in expr-lang and JSONata: exact translations, refusals, and a
differential test that evaluates each JSONata translation with the real jsonata package
and compares with what the engine computes for the same values."""

from __future__ import annotations

import random
from typing import Any

import pytest

from recoverctl.export.common import References, condition, join_parts
from recoverctl.export.expressions import (
    EXPR,
    JSONATA,
    ParamTypes,
    Untranslatable,
    translate,
    translate_template,
)
from recoverctl.expr.render import evaluate, render
from recoverctl.model.runbook import Step
from recoverctl.model.source import Span
from tests.export.validators import jsonata_eval


def _refs(dialect: Any, types: ParamTypes | None = None) -> References:
    """Params and step results as plain variables: `$params.x`, `$s_x.field`."""
    step = Step(id="probe", span=Span(1, 1, 1, 1), path=(), body=None)  # type: ignore[arg-type]

    def field(s: Step, name: str, rest: tuple[str, ...]) -> str:
        prefix = "$" if dialect is JSONATA else ""
        return ".".join((f"{prefix}s_{s.id}", name, *rest))

    param = (lambda n: f"$params.{n}") if dialect is JSONATA else (lambda n: f"params.{n}")
    return References(
        dialect,
        {"probe": step},
        param,
        field,
        run={"id": "$id"},
        stored_outputs=True,
        param_types=types or ParamTypes(),
    )


@pytest.mark.parametrize(
    ("source", "expr_lang", "jsonata"),
    [
        ("params.n > 3", "(params.n > 3)", "($params.n > 3)"),
        (
            "steps.probe.ok and not params.force",
            "(s_probe.ok && !(params.force))",
            "($s_probe.ok and $not($params.force))",
        ),
        ("params.mode == 'x'", "(params.mode == 'x')", '($params.mode = "x")'),
        (
            "1 < params.n <= 5",
            "(1 < params.n && params.n <= 5)",
            "(1 < $params.n and $params.n <= 5)",
        ),
        (
            "params.a if params.b else 'c'",
            "(params.b ? params.a : 'c')",
            '($boolean($params.b) ? $params.a : "c")',
        ),
    ],
)
def test_translations(source: str, expr_lang: str, jsonata: str) -> None:
    assert translate(source, EXPR, _refs(EXPR)) == expr_lang
    assert translate(source, JSONATA, _refs(JSONATA)) == jsonata


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("steps.probe.stdout | from_json", "from_json"),
        ("params.n in [1, 2]", "`in` operator"),
        ("range(3)", "function calls have no equivalent"),
        ("params.n + 1 > 2", "arithmetic"),
        ("steps.probe.attempts > 1", "not a result the target records"),
        ("env.HOME == '/'", "`env.HOME` has no equivalent"),
        ("steps.probe.stdout | default('a')", "default(…)"),
    ],
)
def test_what_cannot_be_translated_is_refused_with_the_reason(source: str, reason: str) -> None:
    for dialect in (EXPR, JSONATA) if "in [1, 2]" not in source else (EXPR,):
        with pytest.raises(Untranslatable, match=reason.replace("(", r"\(").replace(")", r"\)")):
            translate(source, dialect, _refs(dialect))


FIXED: list[tuple[str, dict[str, Any]]] = [
    ("steps.probe.ok", {"probe": {"ok": True}}),
    ("steps.probe.ok and params.force", {"probe": {"ok": True}, "force": False}),
    ("not steps.probe.ok or params.n >= 2", {"probe": {"ok": False}, "n": 1}),
    ("steps.probe.outputs.lag < params.n", {"probe": {"outputs": {"lag": 3}}, "n": 10}),
    ("(steps.probe.stdout | trim | int) > 1024", {"probe": {"stdout": " 2048\n"}}),
    ("(steps.probe.stdout | int) == 7", {"probe": {"stdout": "7\n"}}),
    ("steps.probe.stdout.strip() == 't'", {"probe": {"stdout": "t\n"}}),
    ("steps.probe.stdout.split()[1] == 'b'", {"probe": {"stdout": " a \t b  c\n"}}),
    ("(steps.probe.stdout.split()[0] | float) > 1.5", {"probe": {"stdout": "2.5 x"}}),
    ("steps.probe.stdout | lower == 'up'", {"probe": {"stdout": "UP"}}),
    ("steps.probe.stdout | upper == 'UP'", {"probe": {"stdout": "up"}}),
    ("steps.probe.stdout | length > 2", {"probe": {"stdout": "abc"}}),
    ("params.hosts | length == 2", {"hosts": ["db-2", "db-3"]}),  # a list param: its items
    ("params.mode == 'reload' and params.n != 3", {"mode": "reload", "n": 4}),
    ("(params.a if params.n > 1 else params.b) == 'x'", {"a": "x", "b": "y", "n": 2}),
    ("params.mode ~ '-' ~ params.n == 'a-1'", {"mode": "a", "n": 1}),
    ("steps.probe.status == 'succeeded'", {"probe": {"status": "succeeded"}}),
    ("steps.probe.outputs.name", {"probe": {"outputs": {"name": ""}}}),
]


def _contexts(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine's context and the JSONata bindings for the same values."""
    probe = values.get("probe", {})
    params = {k: v for k, v in values.items() if k != "probe"}
    return {"params": params, "steps": {"probe": probe}}, {"params": params, "s_probe": probe}


def _random_cases(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Random comparisons and connectives over ints and strings."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    ops = ["==", "!=", "<", "<=", ">", ">="]
    cases = []
    for _ in range(count):
        a, b = rng.randint(-3, 3), rng.randint(-3, 3)
        op1, op2 = rng.choice(ops), rng.choice(ops)
        joint = rng.choice(["and", "or"])
        negate = rng.choice(["", "not "])
        source = f"{negate}(params.a {op1} params.b) {joint} (steps.probe.outputs.v {op2} {b})"
        cases.append((source, {"a": a, "b": b, "probe": {"outputs": {"v": rng.randint(-3, 3)}}}))
    return cases


def _mismatches(cases: list[tuple[str, dict[str, Any]]], refs: References) -> list[Any]:
    """Each condition's JSONata translation, evaluated by the jsonata package, against the
    engine's own answer for the same values."""
    expressions, expected = [], []
    for source, values in cases:
        context, bindings = _contexts(values)
        expressions.append((condition(source, refs, JSONATA), bindings))
        expected.append(bool(evaluate(source, context)))
    results = jsonata_eval(expressions)
    return [
        (source, want, got)
        for (source, _), want, got in zip(cases, expected, results, strict=True)
        if got != {"value": want}
    ]


def test_jsonata_translations_evaluate_like_the_engine() -> None:
    assert _mismatches(FIXED + _random_cases(seed=9, count=300), _refs(JSONATA)) == []


TYPES = ParamTypes(
    integers=frozenset({"n", "m"}),
    lists=frozenset({"hosts"}),
    joinable_lists=frozenset({"hosts"}),
)
"""n and m are integer params, hosts a list of strings (s: a string param)."""

TYPED: list[tuple[str, dict[str, Any]]] = [
    ("params.n * 2 + 1 == 7", {"n": 3}),
    ("params.n - params.m > 0", {"n": 3, "m": 5}),
    ("params.n // 2 == 1", {"n": 3}),
    ("-params.n // 2 == -2", {"n": 3}),  # floor division rounds down, as $floor does
    ("(steps.probe.stdout | int) * 2 == 14", {"probe": {"stdout": " 7\n"}}),
    ("params.hosts | length * 2 == 4", {"hosts": ["a", "b"]}),
    ("params.s in ['eu', 'us']", {"s": "eu"}),
    ("params.s not in ['eu', 'us']", {"s": "ap"}),
    ("params.n in [1, 2]", {"n": 2}),
    ("'db-2' in params.hosts", {"hosts": ["db-1", "db-2"]}),
    ("'db-9' in params.hosts", {"hosts": ["db-1", "db-2"]}),
    ("params.hosts | join(',') == 'a,b'", {"hosts": ["a", "b"]}),
    ("params.hosts | join == 'ab'", {"hosts": ["a", "b"]}),
    ("params.maybe | default('x') == 'x'", {}),
    ("params.s | default('x') == 'given'", {"s": "given"}),
]


def test_typed_jsonata_translations_evaluate_like_the_engine() -> None:
    """Arithmetic, `in`, `join` and `default` where the types make Jinja's meaning sure."""
    assert _mismatches(TYPED, _refs(JSONATA, TYPES)) == []


def test_typed_templates_render_like_the_engine() -> None:
    refs = _refs(JSONATA, TYPES)
    templates = [
        ("n={{ params.n * 2 + 1 }}", {"n": 3}),
        ("{{ params.hosts | join(' ') }}", {"hosts": ["db-2", "db-3"]}),
        ("r={{ params.s | default('eu') }}", {}),
    ]
    expressions, expected = [], []
    for source, values in templates:
        context, bindings = _contexts(values)
        expressions.append(
            (join_parts(translate_template(source, JSONATA, refs), JSONATA), bindings)
        )
        expected.append(render(source, context))
    results = jsonata_eval(expressions)
    assert [r.get("value") for r in results] == expected


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("params.s + 'x' == 'ax'", "between integers only"),  # Jinja joins texts
        ("params.n * params.s", "between integers only"),  # and repeats them
        ("params.n / 2 > 1", "between integers only"),  # 2.0 renders unlike JSONata's 2
        ("params.n % 2 == 1", "between integers only"),  # the sign of negatives differs
        ("params.s in 'abc'", "`in` operator"),  # a substring test, not membership
    ],
)
def test_typed_refusals(source: str, reason: str) -> None:
    with pytest.raises(Untranslatable, match=reason.replace("(", r"\(")):
        translate(source, JSONATA, _refs(JSONATA, TYPES))
    with pytest.raises(Untranslatable):
        translate(source, EXPR, _refs(EXPR, TYPES))  # Argo's parameters are text
