"""Runbook expressions and templates, rewritten in a target engine's own language.

A runbook's conditions are Jinja expressions (`steps.disk_free.outputs.free_kb
> 1024`); Argo evaluates expr-lang (`{{= ... }}`) and Step Functions JSONata
(`{% ... %}`). We translate the Jinja AST node by node into a `Dialect`, and
every name the expression reads goes through a resolver the target supplies
(it knows where a step's result lives in that engine). Anything outside the
subset both targets can evaluate raises `Untranslatable` with the reason, so
the exporter reports it instead of shipping a condition that means something
else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import nodes

from recoverctl.expr.references import dotted_name, parse_expression, parse_template
from recoverctl.model.runbook import Step


class Untranslatable(Exception):
    """An expression (or a name) the target cannot take; `step` is where, once known."""

    def __init__(self, message: str, step: Step | None = None) -> None:
        super().__init__(message)
        self.step = step


Resolver = Callable[[tuple[str, ...]], str]
"""A dotted name (`("params", "primary")`) → the target's expression for it."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one target language spells the operations of the supported subset."""

    name: str
    and_: str
    or_: str
    eq: str
    concat: str
    functions: dict[str, str]
    """Jinja filter / str method → the target's function of one argument."""

    def const(self, value: object) -> str:
        if value is None:
            return "nil" if self.name == "expr" else "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, str):
            if self.name == "expr":
                return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            return json.dumps(value)
        raise Untranslatable(f"the literal {value!r} has no equivalent")

    def not_(self, operand: str) -> str:
        return f"!({operand})" if self.name == "expr" else f"$not({operand})"

    def to_string(self, operand: str) -> str:
        return f"string({operand})" if self.name == "expr" else f"$string({operand})"

    def truthy(self, operand: str) -> str:
        """A condition as a strict boolean, with Python's truthiness (empty → false)."""
        if self.name == "expr":
            return operand
        return f"$boolean({operand})"


EXPR = Dialect(
    name="expr",
    and_="&&",
    or_="||",
    eq="==",
    concat="+",
    functions={
        "trim": "trim",
        "strip": "trim",
        "int": "asInt",
        "float": "asFloat",
        "lower": "lower",
        "upper": "upper",
        "length": "len",
        "string": "string",
    },
)
"""Argo Workflows' expression language (expr-lang with Argo's helpers)."""

JSONATA = Dialect(
    name="jsonata",
    and_="and",
    or_="or",
    eq="=",
    concat="&",
    functions={
        "trim": "$trim",
        "strip": "$trim",
        "int": "$number",
        "float": "$number",
        "lower": "$lowercase",
        "upper": "$uppercase",
        "length": "$length",
        "string": "$string",
    },
)
"""Step Functions' JSONata query language."""

_KINDS = {
    "Call": "function calls",
    "List": "list literals",
    "Tuple": "tuple literals",
    "Dict": "dict literals",
    "Test": "`is` tests",
    "Add": "arithmetic operators",
    "Sub": "arithmetic operators",
    "Mul": "arithmetic operators",
    "Div": "arithmetic operators",
    "FloorDiv": "arithmetic operators",
    "Mod": "arithmetic operators",
    "Pow": "arithmetic operators",
    "Slice": "slices",
}
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)


@dataclass(frozen=True, slots=True)
class ParamTypes:
    """What the translator may know of the params' types (a resolver's `param_types`):
    where Jinja's meaning depends on them (`+` adds or joins, `in` tests items or text)."""

    integers: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()
    joinable_lists: frozenset[str] = frozenset()
    """List params of strings or integers: Jinja's `join` and JSONata's render them alike."""


_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}


def translate(source: str, dialect: Dialect, resolve: Resolver) -> str:
    """A condition (no braces) in the target language."""
    return _Translator(dialect, resolve).node(parse_expression(source))


def translate_template(source: str, dialect: Dialect, resolve: Resolver) -> list[str | Expr]:
    """A template split into literal text and target expressions, in order."""
    tree = parse_template(source)
    parts: list[str | Expr] = []
    translator = _Translator(dialect, resolve)
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise Untranslatable("{% %} statements in templates have no equivalent")
        for item in node.nodes:
            if isinstance(item, nodes.TemplateData):
                parts.append(item.data)
            else:
                parts.append(Expr(translator.node(item)))
    return parts


@dataclass(frozen=True, slots=True)
class Expr:
    """A translated expression inside a template (as opposed to literal text)."""

    code: str


def lone_expression(source: str) -> str | None:
    """The expression of a template that is exactly `{{ expr }}` (outputs keep its type)."""
    tree = parse_template(source)
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    items = tree.body[0].nodes
    if len(items) != 1 or isinstance(items[0], nodes.TemplateData):
        return None
    stripped = source.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        return None
    return stripped[2:-2].strip()


class _Translator:
    def __init__(self, dialect: Dialect, resolve: Resolver) -> None:
        self.dialect, self.resolve = dialect, resolve

    def node(self, node: nodes.Node) -> str:  # noqa: PLR0912 - one case per AST node
        d = self.dialect
        chain = dotted_name(node, strict=True)
        if chain is not None:
            return self.resolve(chain)
        if isinstance(node, nodes.Const):
            return d.const(node.value)
        if isinstance(node, nodes.And):
            return f"({self.node(node.left)} {d.and_} {self.node(node.right)})"
        if isinstance(node, nodes.Or):
            return f"({self.node(node.left)} {d.or_} {self.node(node.right)})"
        if isinstance(node, nodes.Not):
            return d.not_(self.node(node.node))
        if isinstance(node, nodes.Neg):
            return f"-({self.node(node.node)})"
        if isinstance(node, nodes.Compare):
            return self.compare(node)
        if isinstance(node, nodes.CondExpr):
            if node.expr2 is None:
                raise Untranslatable("an inline `if` needs an `else`")
            test, yes, no = self.node(node.test), self.node(node.expr1), self.node(node.expr2)
            return f"({d.truthy(test)} ? {yes} : {no})"
        if isinstance(node, nodes.Filter) and node.node is not None:
            special = self.filter_with_arguments(node)
            if special is not None:
                return special
            return self.function(node.name, node.node, bool(node.args or node.kwargs))
        if isinstance(node, _ARITHMETIC) and self.dialect.name == "jsonata":
            return self.arithmetic(node)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            if node.node.attr == "split" and not (node.args or node.kwargs):
                return self.split(self.node(node.node.node))
            return self.function(node.node.attr, node.node.node, bool(node.args or node.kwargs))
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            index = node.arg.value
            if isinstance(index, int) and not isinstance(index, bool):
                return f"{self.node(node.node)}[{index}]"
        if isinstance(node, nodes.Getattr):
            return f"{self.node(node.node)}.{node.attr}"
        if isinstance(node, nodes.Concat):
            joined = f" {d.concat} ".join(d.to_string(self.node(n)) for n in node.nodes)
            return f"({joined})"
        kind = _KINDS.get(type(node).__name__, f"`{type(node).__name__}` expressions")
        raise Untranslatable(f"{kind} have no equivalent in {d.name}")

    # -- what JSONata can say exactly, where Jinja's meaning is known from the types --------

    def types(self) -> ParamTypes:
        return getattr(self.resolve, "param_types", None) or ParamTypes()

    def param_name(self, node: nodes.Node) -> str | None:
        chain = dotted_name(node, strict=True)
        if chain is not None and len(chain) == 2 and chain[0] == "params":
            return chain[1]
        return None

    def integral(self, node: nodes.Node) -> bool:
        """An integer for certain: Jinja's int arithmetic then renders as JSONata's does."""
        if isinstance(node, nodes.Const):
            return isinstance(node.value, int) and not isinstance(node.value, bool)
        if isinstance(node, nodes.Filter):
            return node.name in ("int", "length", "count") and not (node.args or node.kwargs)
        if isinstance(node, nodes.Neg):
            return self.integral(node.node)
        if isinstance(node, nodes.Add | nodes.Sub | nodes.Mul | nodes.FloorDiv):
            return self.integral(node.left) and self.integral(node.right)
        name = self.param_name(node)
        return name is not None and name in self.types().integers

    def arithmetic(self, node: nodes.BinExpr) -> str:
        """+, -, * and // between integers (Jinja's `+` joins texts and `*` repeats them;
        `/` and `%` differ from JSONata in what they render or in their sign)."""
        if isinstance(node, nodes.Div | nodes.Mod | nodes.Pow) or not (
            self.integral(node.left) and self.integral(node.right)
        ):
            raise Untranslatable(
                "arithmetic is exported between integers only (+, -, *, //: integer params, "
                "integer literals, `| int`, `| length`)"
            )
        left, right = self.node(node.left), self.node(node.right)
        if isinstance(node, nodes.FloorDiv):
            return f"$floor({left} / {right})"
        return f"({left} {node.operator} {right})"

    def filter_with_arguments(self, node: nodes.Filter) -> str | None:
        """`default`, `join` (and `in` below): None for the filters `function` handles."""
        if self.dialect.name != "jsonata" or node.node is None:
            return None
        args = [a.value for a in node.args if isinstance(a, nodes.Const)]
        if len(args) != len(node.args) or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        if node.name == "default" and len(args) == 1:
            name = self.param_name(node.node)
            if name is None:
                raise Untranslatable("`default(…)` is exported for params only")
            value = self.node(node.node)
            return f"($exists({value}) ? {value} : {self.dialect.const(args[0])})"
        if node.name == "join" and len(args) <= 1 and all(isinstance(a, str) for a in args):
            name = self.param_name(node.node)
            if name is None or name not in self.types().joinable_lists:
                raise Untranslatable(
                    "`join(…)` is exported for list params of strings or integers only"
                )
            separator = self.dialect.const(args[0] if args else "")
            return f"$join($map({self.node(node.node)}, $string), {separator})"
        return None

    def membership(self, left: str, container: nodes.Node) -> str:
        """`x in [...]` (literal items) or `x in params.list`: JSONata's `in` is the same."""
        if self.dialect.name == "jsonata":
            if isinstance(container, nodes.List) and all(
                isinstance(item, nodes.Const) for item in container.items
            ):
                items = ", ".join(self.node(item) for item in container.items)
                return f"{left} in [{items}]"
            name = self.param_name(container)
            if name is not None and name in self.types().lists:
                return f"{left} in {self.node(container)}"
        raise Untranslatable(
            f"the `in` operator is exported to {self.dialect.name} only over a written "
            "list or a list param (Step Functions)"
        )

    def split(self, operand: str) -> str:
        """Python's `str.split()`: on runs of whitespace, ignoring it at both ends."""
        if self.dialect.name == "expr":
            return f"sprig.regexSplit('\\\\s+', trim({operand}), -1)"
        return f"$split($trim({operand}), /\\s+/)"

    def compare(self, node: nodes.Compare) -> str:
        left = self.node(node.expr)
        out: list[str] = []
        if any(o.op in ("in", "notin") for o in node.ops):
            if len(node.ops) != 1:
                raise Untranslatable("a chain of comparisons with `in` is not supported")
            operand = node.ops[0]
            held = f"({self.membership(left, operand.expr)})"
            return self.dialect.not_(held) if operand.op == "notin" else held
        for operand in node.ops:
            if operand.op not in _COMPARE:
                raise Untranslatable(f"the `{operand.op}` operator is not supported")
            op = _COMPARE[operand.op]
            if op == "==":
                op = self.dialect.eq
            right = self.node(operand.expr)
            out.append(f"{left} {op} {right}")
            left = right
        joined = f" {self.dialect.and_} ".join(out)
        return f"({joined})"

    def function(self, name: str, operand: nodes.Node, has_args: bool) -> str:
        target = self.dialect.functions.get(name)
        if target is None or has_args:
            call = f"{name}(…)" if has_args else name
            raise Untranslatable(f"`{call}` has no equivalent in {self.dialect.name}")
        inner = self.node(operand)
        if name in ("int", "float"):
            # Jinja's int/float accept surrounding whitespace, as command output has
            if self.dialect.name == "jsonata":
                number = f"$number($trim($string({inner})))"
                return f"$floor({number})" if name == "int" else number
            return f"{target}(trim(string({inner})))"
        if name == "length" and self.dialect.name == "jsonata":
            # Jinja's length counts a list's items or a text's characters; JSONata has one
            # function for each ($length of a list is an error), so ask the value's type
            return f'($type({inner}) = "array" ? $count({inner}) : $length({inner}))'
        return f"{target}({inner})"
