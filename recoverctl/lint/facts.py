"""Shared readings of a runbook that several rules need."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.expr.detect import is_template
from recoverctl.expr.references import (
    ExpressionSyntaxError,
    Reference,
    parse_expression,
    parse_template,
    references,
)
from recoverctl.model.runbook import (
    Branch,
    Expression,
    Group,
    Runbook,
    Step,
    Text,
    action_templates,
)
from recoverctl.model.walk import body_steps


def may_be_skipped(runbook: Runbook) -> set[str]:
    """Steps that can end `skipped`: guarded by `when`, or inside a branch case or guarded group."""
    out: set[str] = set()

    def visit(steps: tuple[Step, ...], inherited: bool) -> None:
        for step in steps:
            skippable = inherited or step.when is not None
            if skippable:
                out.add(step.id)
            if isinstance(step.body, Branch):
                for case in step.body.cases:
                    visit(case.steps, True)
            elif isinstance(step.body, Group):
                visit(step.body.steps, skippable)

    visit(runbook.steps, False)
    return out


def texts(step: Step) -> Iterator[tuple[str, Text]]:
    """(where, template) for the step's own templates: its action, env and outputs."""
    for where, text, _ in action_templates(step.body):
        yield where, text
    for name, value in step.env:
        yield f"env.{name}", value
    for output in step.outputs:
        yield f"outputs.{output.name}", output.template


def fanout_texts(runbook: Runbook) -> Iterator[Text]:
    """The templates of targets and fan-outs: hosts, settings, items and keys."""
    for target in runbook.targets:
        if isinstance(target.hosts, Text):
            yield target.hosts
        yield from (value for _, value in target.options)
        yield from target.argv
        if target.inventory is not None:
            yield target.inventory
    for step in body_steps(runbook):
        fan = step.foreach
        if fan is not None and step.on is None and isinstance(fan.items, Text):
            yield fan.items
        if fan is not None and fan.key is not None:
            yield fan.key


def reads(source: str, *, expression: bool = False) -> list[Reference]:
    """The names a template or expression reads (nothing when it does not parse)."""
    try:
        if expression:
            return references(parse_expression(source))
        if not is_template(source):
            return []
        return references(parse_template(source))
    except ExpressionSyntaxError:
        return []


def conditions(step: Step) -> Iterator[Expression]:
    if step.when is not None:
        yield step.when
    if isinstance(step.skip_if, Expression):
        yield step.skip_if
    if isinstance(step.body, Branch):
        for case in step.body.cases:
            if case.when is not None:
                yield case.when
