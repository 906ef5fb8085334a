"""Checks the JSON Schema cannot express, over the built model.

Duplicate ids, `else` placement, expression syntax, and above all the names
an expression reads: an unknown param, step or output is an error with a
suggestion, and so is a step that cannot have finished when it is read (a
later step, a sibling in the same parallel group, an enclosing group).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from recoverctl.expr.detect import is_template
from recoverctl.expr.references import (
    ExpressionSyntaxError,
    Reference,
    parse_expression,
    parse_template,
    references,
)
from recoverctl.model.duration import format_duration
from recoverctl.model.fanout import ON_TARGET_ITEMS
from recoverctl.model.kinds import NEVER_RETRIED
from recoverctl.model.runbook import (
    AssertAction,
    Branch,
    CallAction,
    Expression,
    Foreach,
    Group,
    Runbook,
    Step,
    Text,
    WaitForAction,
    action_templates,
)
from recoverctl.model.source import Diagnostic, Span
from recoverctl.model.walk import all_steps
from recoverctl.validate.durations import is_duration
from recoverctl.validate.suggest import did_you_mean
from recoverctl.validate.visibility import Visibility

CONTEXT_ROOTS = frozenset({"params", "steps", "run", "runbook", "env"})
FAILURE_ROOT = "failure"
RESULT_NAMES = frozenset({"stdout", "stderr", "exit_code", "json", "status", "headers", "body"})
RETRY_NAMES = RESULT_NAMES | {"error", "timed_out"}
STEP_FIELDS = frozenset(
    {"status", "ok", "exit_code", "stdout", "stderr", "outputs", "attempts", "duration", "error"}
)
FANOUT_FIELDS = STEP_FIELDS
FANOUT_OUTPUTS = frozenset({"succeeded", "failed", "skipped", "items"})
"""What a fan-out step offers the steps after it: its items' keys by outcome, and
`items`: each item's status and outputs by key."""
RUN_FIELDS = frozenset({"id", "name", "status"})
RUNBOOK_FIELDS = frozenset({"name", "path", "dir"})
FAILURE_FIELDS = frozenset({"step", "error", "status"})


@dataclass(frozen=True, slots=True)
class _Scope:
    """What an expression at some point of the runbook may read."""

    at: str | None = None
    """The step whose expression is being read (None: the runbook's own env)."""
    failure: bool = False
    local: frozenset[str] = frozenset()
    fanouts: tuple[str, ...] = ()
    """The `foreach` steps whose body holds this point (their item names are in `local`)."""


def check_semantics(runbook: Runbook) -> list[Diagnostic]:
    """Every semantic problem in `runbook` (its schema already holds)."""
    return _Checker(runbook).run()


class _Checker:
    def __init__(self, runbook: Runbook) -> None:
        self.runbook = runbook
        self.out: list[Diagnostic] = []
        self.steps: dict[str, Step] = {}
        self.params = {p.name for p in runbook.params}
        self.visibility = Visibility(runbook)
        self.fanned = _fan_owners(runbook)
        """Each step inside a fan-out → the `foreach` steps around it."""

    def run(self) -> list[Diagnostic]:
        self._index()
        self._check_params()
        self._sequence(self.runbook.steps, _Scope())
        self._sequence(self.runbook.finally_steps, _Scope(failure=True))
        for text in (value for _, value in self.runbook.env):
            self._template(text, _Scope(), shell=False)
        return self.out

    # -- structure ----------------------------------------------------------------------

    def _index(self) -> None:
        for step in all_steps(self.runbook):
            if "." in step.id:
                continue  # generated ids (x.rollback, x.skip_if) cannot collide
            first = self.steps.get(step.id)
            if first is not None:
                self._error(
                    step.span,
                    f"duplicate step id '{step.id}' (previously defined at {first.span}); "
                    "expected every id once in the runbook",
                    hint="ids name steps in expressions, the journal and resume: rename one",
                )
                continue
            self.steps[step.id] = step

    def _check_params(self) -> None:
        for param in self.runbook.params:
            if param.items is not None and param.type != "list":
                self._error(
                    param.span,
                    f"param '{param.name}' has `items: {param.items}` but is a {param.type}; "
                    "expected `items` only with `type: list`",
                    hint="drop `items`, or make it `type: list`",
                )
            item_type = param.items if param.type == "list" else param.type
            python_type = _PARAM_TYPES.get(item_type or "string", str)
            values: list[tuple[str, Any]] = []
            defaults: list[Any] = []
            if param.default is not None:
                if param.type == "list" and not isinstance(param.default, list):
                    self._error(
                        param.span,
                        f"param '{param.name}' has default {param.default!r}; expected a list "
                        f"of {item_type} items",
                        hint=f"write it as a YAML list: default: [{param.default!r}]",
                    )
                else:
                    defaults = param.default if param.type == "list" else [param.default]
                    label = "a default item" if param.type == "list" else "default"
                    values += [(label, value) for value in defaults]
            values += [("choice", choice) for choice in param.choices or ()]
            for label, value in values:
                if not _is_type(value, python_type) or (
                    item_type == "duration" and not is_duration(value)
                ):
                    self._error(
                        param.span,
                        f"param '{param.name}' has {label} {value!r}; expected "
                        f"{_A_TYPE.get(item_type or '', item_type)}",
                    )
            outside = [d for d in defaults if param.choices and d not in param.choices]
            if outside:
                self._error(
                    param.span,
                    f"param '{param.name}' defaults to {outside[0]!r}, "
                    f"which is not one of its choices {list(param.choices or ())!r}",
                )
            if param.required and param.default is not None:
                self._error(
                    param.span,
                    f"param '{param.name}' is required and has a default; expected one or the other",
                    hint="drop `required: true`: a default already makes the value known",
                )

    def _sequence(self, steps: Iterable[Step], scope: _Scope) -> None:
        for step in steps:
            self._step(step, scope)

    def _step(self, step: Step, scope: _Scope) -> None:
        scope = replace(scope, at=step.id)
        if step.when is not None:
            self._expression(step.when, scope)
        if step.foreach is not None:
            scope = self._foreach(step, step.foreach, scope)
        if isinstance(step.skip_if, Expression):
            self._expression(step.skip_if, scope)
        elif isinstance(step.skip_if, Step):
            self._action(step.skip_if, replace(scope, at=step.skip_if.id))
        body = step.body
        if isinstance(body, Group):
            self._sequence(body.steps, scope)
        elif isinstance(body, Branch):
            self._branch(step, body, scope)
        else:
            self._action(step, scope)
        handlers = replace(scope, failure=True)
        self._sequence(step.rescue, handlers)
        if step.rollback is not None:
            self._action(step.rollback, replace(handlers, at=step.rollback.id))

    def _foreach(self, step: Step, fan: Foreach, scope: _Scope) -> _Scope:
        """The items are read outside the fan-out; everything else once per item."""
        spans = self.runbook.source_map
        if step.on is not None:
            if not (isinstance(fan.items, Text) and fan.items.source == ON_TARGET_ITEMS):
                self._error(
                    spans.key_span((*step.path, "foreach")),
                    f"step '{step.id}' has both `on: {step.on}` and `foreach:`; expected one "
                    "(`on:` already fans out over the target's hosts)",
                    hint="put max_parallel, batch, canary and the budget under `strategy:`",
                )
            if self.runbook.target(step.on) is None:
                known = [t.name for t in self.runbook.targets]
                self._error(
                    spans.value_span((*step.path, "on")),
                    f"unknown target '{step.on}'; "
                    + (f"declared: {', '.join(known)}" if known else "the runbook declares none"),
                    hint=did_you_mean(step.on, known)
                    or f"declare it: targets: {{{step.on}: {{ssh: {{hosts: [...]}}}}}}",
                )
        elif isinstance(fan.items, Text):
            self._template(fan.items, scope, shell=False)
        if fan.var in CONTEXT_ROOTS | {FAILURE_ROOT} | scope.local:
            self._error(
                self.runbook.source_map.value_span((*step.path, "foreach", "as")),
                f"foreach.as '{fan.var}' of step '{step.id}' hides a name templates already "
                "have; expected a name of its own",
                hint=f"e.g. as: {step.id}_item",
            )
        inner = replace(scope, local=scope.local | {fan.var}, fanouts=(*scope.fanouts, step.id))
        if fan.key is not None:
            self._template(fan.key, inner, shell=False)
        return inner

    def _branch(self, step: Step, body: Branch, scope: _Scope) -> None:
        for index, case in enumerate(body.cases):
            if case.when is None and index != len(body.cases) - 1:
                self._error(
                    case.span,
                    f"'else' is case {index + 1} of {len(body.cases)} in branch '{step.id}'; "
                    "expected it last: the cases after it can never run",
                    hint="move the else case to the end of the branch",
                )
            if case.when is not None:
                self._expression(case.when, scope)
            self._sequence(case.steps, scope)

    def _action(self, step: Step, scope: _Scope) -> None:
        body = step.body
        self._bounds(step)
        for _, text, shell in action_templates(body):
            self._template(text, scope, shell=shell)
        for expression, local in _expressions(body):
            self._expression(expression, replace(scope, local=local))
        for _, text in step.env:
            self._template(text, scope, shell=False)
        if step.cwd is not None:
            self._template(step.cwd, scope, shell=False)
        if step.retry.when is not None and step.retry.explicit:
            self._expression(step.retry.when, replace(scope, local=RETRY_NAMES))
        for output in step.outputs:
            self._template(output.template, replace(scope, local=RESULT_NAMES), shell=False)

    def _bounds(self, step: Step) -> None:
        """Retries and timeouts that say something the engine will not do."""
        spans = self.runbook.source_map
        if step.kind in NEVER_RETRIED and step.retry.explicit and step.retry.attempts > 1:
            self._error(
                spans.value_span((*step.path, "retry")),
                f"step '{step.id}' is an approval with retry.attempts {step.retry.attempts}; "
                "expected no retry: an operator's answer is final",
                hint="remove `retry:`; a timeout on the step decides what no answer means",
            )
        body = step.body
        if (
            isinstance(body, WaitForAction)
            and step.timeout_explicit
            and (step.timeout or 0) < (body.timeout or 0)
        ):
            self._error(
                spans.value_span((*step.path, "timeout")),
                f"step '{step.id}' has timeout {format_duration(step.timeout or 0)} and "
                f"wait_for.timeout {format_duration(body.timeout or 0)}; expected the step's "
                "timeout to leave the wait its time",
                hint="wait_for.timeout is the wait's bound: drop the step's timeout, or lower "
                "wait_for.timeout",
            )

    # -- expressions ---------------------------------------------------------------------

    def _expression(self, expression: Expression, scope: _Scope) -> None:
        try:
            tree = parse_expression(expression.source)
        except ExpressionSyntaxError as exc:
            self._syntax_error(expression.span, expression.source, exc, "expression")
            return
        self._references(references(tree), expression.span, scope)

    def _template(self, text: Text, scope: _Scope, *, shell: bool) -> None:
        if not is_template(text.source):
            return
        try:
            tree = parse_template(text.source)
        except ExpressionSyntaxError as exc:
            self._syntax_error(text.span, text.source, exc, "template")
            return
        self._references(references(tree), text.span, scope)

    def _syntax_error(self, span: Span, source: str, exc: ExpressionSyntaxError, what: str) -> None:
        line = span.line + exc.line - 1 if exc.line > 1 else span.line
        col = span.col if exc.line <= 1 else 1
        self._error(
            Span(line, col, line, col + len(source.splitlines()[0] if source else "") or 1),
            f"invalid {what} '{_clip(source)}': {exc.message}",
            hint="expressions use Jinja2 syntax, e.g. `steps.check.ok and params.force`",
        )

    def _references(self, refs: list[Reference], span: Span, scope: _Scope) -> None:
        for ref in refs:
            problem = self._reference_problem(ref, scope)
            if problem is not None:
                message, hint = problem
                self._error(self._locate(span, ref), message, hint=hint)

    def _reference_problem(self, ref: Reference, scope: _Scope) -> tuple[str, str | None] | None:
        root = ref.root
        if root in scope.local:
            return None
        if root == FAILURE_ROOT:
            if not scope.failure:
                return (
                    "'failure' is only known in rescue, rollback and finally steps",
                    None,
                )
            return _field_problem(ref, FAILURE_FIELDS, "failure")
        if root not in CONTEXT_ROOTS:
            known = sorted(
                CONTEXT_ROOTS | scope.local | ({FAILURE_ROOT} if scope.failure else set())
            )
            return (
                f"unknown name '{root}'; expected one of: {', '.join(known)}",
                did_you_mean(root, known),
            )
        if len(ref.parts) < 2:
            return None  # iterating `params` or `steps` as a whole is fine
        name = ref.parts[1]
        if root == "params" and name not in self.params:
            return (
                f"unknown param '{name}'; "
                + (
                    f"declared: {', '.join(sorted(self.params))}"
                    if self.params
                    else "the runbook declares no params"
                ),
                did_you_mean(name, self.params)
                or f"declare it under params: {name}: {{type: string}}",
            )
        if root == "run":
            return _field_problem(ref, RUN_FIELDS, "run")
        if root == "runbook":
            return _field_problem(ref, RUNBOOK_FIELDS, "runbook")
        if root == "steps":
            return self._step_problem(ref, scope)
        return None

    def _step_problem(self, ref: Reference, scope: _Scope) -> tuple[str, str | None] | None:
        step_id = ref.parts[1]
        step = self.steps.get(step_id)
        if step is None:
            return (f"unknown step '{step_id}'", did_you_mean(step_id, self.steps))
        outside = [owner for owner in self.fanned.get(step_id, ()) if owner not in scope.fanouts]
        if outside:
            return (
                f"step '{step_id}' runs once per item of '{outside[0]}'; expected a reference "
                f"from inside it, where it means this item's '{step_id}'",
                f"outside, read steps.{outside[0]}.outputs.succeeded / failed / items",
            )
        ordering = self.visibility.problem(step_id, scope.at)
        if ordering is not None:
            return ordering, _ordering_hint(ordering, step_id)
        if step.foreach is not None and step_id not in scope.fanouts:  # the whole fan-out
            return _field_problem(ref, FANOUT_FIELDS, f"steps.{step_id}", offset=2) or (
                _field_problem(ref, FANOUT_OUTPUTS, f"steps.{step_id}.outputs", offset=3)
                if len(ref.parts) >= 4 and ref.parts[2] == "outputs"
                else None
            )
        problem = _field_problem(ref, STEP_FIELDS, f"steps.{step_id}", offset=2)
        if problem is not None:
            return problem
        if (
            len(ref.parts) >= 4
            and ref.parts[2] == "outputs"
            and not isinstance(step.body, CallAction)
        ):
            declared = {output.name for output in step.outputs}
            output = ref.parts[3]
            if output not in declared:
                return (
                    f"step '{step_id}' has no output '{output}'; "
                    + (
                        f"declared: {', '.join(sorted(declared))}"
                        if declared
                        else "it declares no outputs"
                    ),
                    did_you_mean(output, declared)
                    or f"declare it: outputs: {{{output}: '{{{{ stdout | trim }}}}'}}",
                )
        return None

    def _locate(self, span: Span, ref: Reference) -> Span:
        """Point at the reference itself inside the expression when it can be found."""
        lines = self.runbook.text.splitlines()
        for needle in (str(ref), ".".join(ref.parts[:2]), ref.root):
            for number in range(span.line, min(span.end_line, len(lines)) + 1):
                text = lines[number - 1]
                start = span.col - 1 if number == span.line else 0
                index = text.find(needle, start)
                if index >= 0:
                    return Span(number, index + 1, number, index + 1 + len(needle))
        return span

    def _error(self, span: Span, message: str, *, hint: str | None = None) -> None:
        self.out.append(Diagnostic(self.runbook.path, span, message, "semantic", hint=hint))


_A_TYPE = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "duration": "a duration greater than zero, such as 30s, 5m or 1h30m",
}

_PARAM_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "duration": (str, int, float),
}


def _fan_owners(runbook: Runbook) -> dict[str, tuple[str, ...]]:
    owners: dict[str, tuple[str, ...]] = {}

    def visit(steps: Iterable[Step], around: tuple[str, ...]) -> None:
        for step in steps:
            if around:
                owners[step.id] = around
            inside = (*around, step.id) if step.foreach is not None else around
            visit(step.children(), inside)
            visit(step.rescue, inside)
            if step.rollback is not None:
                visit((step.rollback,), inside)
            if isinstance(step.skip_if, Step):
                visit((step.skip_if,), inside)

    visit(runbook.steps, ())
    visit(runbook.finally_steps, ())
    return owners


def _is_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and expected is not bool:
        return False
    return isinstance(value, expected)


def _field_problem(
    ref: Reference, fields: frozenset[str], owner: str, offset: int = 1
) -> tuple[str, str | None] | None:
    if len(ref.parts) <= offset:
        return None
    name = ref.parts[offset]
    if name in fields:
        return None
    return (
        f"'{owner}' has no field '{name}'; expected one of: {', '.join(sorted(fields))}",
        did_you_mean(name, fields),
    )


def _ordering_hint(problem: str, step_id: str) -> str | None:
    if "at the same time" in problem:
        return "read it after the parallel group has finished"
    if "runs after" in problem:
        return f"move '{step_id}' earlier, or the reference after it"
    if "encloses" in problem:
        return "read the results of the group's members, or move this after the group"
    return None


def _expressions(body: object) -> Iterator[tuple[Expression, frozenset[str]]]:
    """The conditions of an action, with the result names each may read."""
    if isinstance(body, AssertAction):
        for expression in body.that:
            yield expression, frozenset()
    elif isinstance(body, WaitForAction):
        for condition in (body.until, body.fail_if):
            if condition is not None:
                yield condition, RESULT_NAMES


def _clip(text: str) -> str:
    single = " ".join(text.split())
    return single if len(single) <= 60 else single[:57] + "..."
