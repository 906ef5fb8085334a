"""Static reading of expressions and templates: syntax and the names they use.

Validation needs to know, without evaluating anything, that
`steps.replica_lag.outputs.lag < 10` parses and reads step `replica_lag`'s
output `lag`. We parse with Jinja2's own parser and walk the AST.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import TemplateAssertionError
from jinja2.parser import Parser

from recoverctl.expr.environment import expression_env


@dataclass(frozen=True, slots=True)
class Reference:
    """A dotted name read by an expression: `("steps", "probe", "ok")`."""

    parts: tuple[str, ...]

    @property
    def root(self) -> str:
        return self.parts[0]

    def __str__(self) -> str:
        return ".".join(self.parts)


class ExpressionSyntaxError(Exception):
    """An expression or template that does not parse; `line` is 1-based within it."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


MAX_NESTING = 64
"""Brackets, parentheses and braces one expression may nest (documented in docs/format.md)."""
MAX_OPERATORS = 256
"""`and`, `or` and `not` one expression may chain: each is a level of the syntax tree."""


def check_depth(source: str) -> None:
    """Refuse what would nest the parser, the compiler and every later walk past Python's
    stack, before any of them is asked to try (a 3,000-deep list, 1,000 chained `and`)."""
    depth = deepest = 0
    for char in source:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_NESTING + 2:  # `{{` itself counts two
        raise ExpressionSyntaxError(
            f"nested {deepest} levels deep; the limit is {MAX_NESTING}: split it into outputs", 1
        )
    words = source.split()
    operators = sum(1 for word in words if word in ("and", "or", "not"))
    if operators > MAX_OPERATORS:
        raise ExpressionSyntaxError(
            f"{operators} and/or/not in one expression; the limit is {MAX_OPERATORS}: "
            "split it into steps or outputs",
            1,
        )


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> nodes.Expr:
    """The AST of a condition; trailing garbage and unknown filters are errors.

    Cached: generated and copy-pasted runbooks repeat the same expressions.
    """
    check_depth(source)
    env = expression_env()
    try:
        parser = Parser(env, source, state="variable")
        expr = parser.parse_expression()
        if parser.stream.current.type != "eof":
            token = parser.stream.current
            raise ExpressionSyntaxError(
                f"unexpected '{token.value}' after the end of the expression", token.lineno
            )
    except (TemplateSyntaxError, TemplateAssertionError) as exc:
        raise ExpressionSyntaxError(exc.message or str(exc), exc.lineno or 1) from None
    _check_names(expr)
    return expr


@lru_cache(maxsize=4096)
def parse_template(source: str) -> nodes.Template:
    """The AST of a template string; unknown filters and tests are errors."""
    check_depth(source)
    env = expression_env()
    try:
        tree = env.parse(source)
    except (TemplateSyntaxError, TemplateAssertionError) as exc:
        raise ExpressionSyntaxError(exc.message or str(exc), exc.lineno or 1) from None
    _check_names(tree)
    return tree


def _check_names(tree: nodes.Node) -> None:
    """Unknown filters and tests, found by reading the AST instead of compiling it."""
    env = expression_env()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = env.filters if isinstance(node, nodes.Filter) else env.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            raise ExpressionSyntaxError(f"no {kind} named '{node.name}'", node.lineno)


def references(tree: nodes.Node) -> list[Reference]:
    """Every dotted name read in `tree`, outermost chains only, in source order."""
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    found: list[Reference] = []
    _collect(tree, stored, found)
    return found


def _collect(node: nodes.Node, stored: set[str], found: list[Reference]) -> None:
    chain = dotted_name(node)
    if chain is not None:
        if chain[0] not in stored:
            found.append(Reference(chain))
        # still look inside subscripts like steps[params.name]
        for child in _subscript_args(node):
            _collect(child, stored, found)
        return
    for child in node.iter_child_nodes():
        _collect(child, stored, found)


def dotted_name(node: nodes.Node, *, strict: bool = False) -> tuple[str, ...] | None:
    """`steps.a["b"]` → ("steps", "a", "b"); None when `node` is not a name chain.

    A computed subscript (`steps[params.name]`) ends the chain at what precedes
    it, or with `strict` makes the whole node not a name.
    """
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        inner = dotted_name(node.node, strict=strict)
        return (*inner, node.attr) if inner else None
    if isinstance(node, nodes.Getitem):
        inner = dotted_name(node.node, strict=strict)
        if inner is None:
            return None
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return (*inner, node.arg.value)
        return None if strict else inner
    return None


def _subscript_args(node: nodes.Node) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            out.append(node.arg)
        node = node.node
    return out
