"""What every part of the Argo export shares: the plan, the templates so far, how values read.

Templates and conditions become Argo expressions here (`{{=...}}`, or
`{{workflow.parameters.x}}` for a lone param); a feature that cannot be
translated is reported to the findings, never dropped silently.
"""

from __future__ import annotations

import re
from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.common import (
    Findings,
    References,
    condition,
    dns_label,
    steps_by_id,
)
from recoverctl.export.expressions import EXPR, Expr, Untranslatable, translate_template
from recoverctl.model.runbook import (
    Expression,
    OnFailure,
    Step,
    Text,
)
from recoverctl.model.walk import all_steps


class Context:
    def __init__(self, plan: Plan, findings: Findings, image: str) -> None:
        self.plan, self.findings, self.image = plan, findings, image
        self.runbook = plan.runbook
        self.steps = steps_by_id(self.runbook)
        self.templates: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.tracked = {
            sid
            for sid in plan.rollback_order
            if (s := self.steps.get(sid)) is not None and s.is_action
        } | {
            s.id
            for s in all_steps(self.runbook)
            if s.is_action and s.on_failure is OnFailure.ABORT and not s.rescue
        }

    def text(self, step: Step, text: Text, refs: References) -> str:
        return argo_string(self.parts(step, text, refs))

    def parts(self, step: Step, text: Text, refs: References) -> list[str | Expr]:
        try:
            return translate_template(text.source, EXPR, refs)
        except Untranslatable as exc:
            self.findings.lost(step, f"the template '{text.source}'", str(exc))
            return [text.source]

    def condition(self, step: Step, expr: Expression, refs: References) -> str:
        try:
            return condition(expr.source, refs, EXPR)
        except Untranslatable as exc:
            self.findings.lost(step, f"the condition '{expr.source}'", str(exc))
            return "true"

    def shell(self, step: Step, text: Text, refs: References) -> tuple[str, dict[str, str]]:
        parts = self.parts(step, text, refs)
        values: dict[str, str] = {}
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                var = f"RC_VALUE_{len(values) + 1}"
                values[var] = argo_string([part])
                out.append(f'"${{{var}}}"')
        return "".join(out), values


_PARAM = re.compile(r"^workflow\.parameters\['([A-Za-z_][A-Za-z0-9_]*)'\]$")


def argo_string(parts: list[str | Expr]) -> str:
    """Literal text and `{{...}}` tags: a lone param reads `{{workflow.parameters.x}}`."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        param = _PARAM.match(part.code)
        out.append(
            "{{workflow.parameters." + param.group(1) + "}}" if param else "{{=" + part.code + "}}"
        )
    return "".join(out)


def as_text(value: object) -> str:
    """A param value as Argo's string parameters carry it (a list as JSON, as templates print it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        import json

        return json.dumps(value)
    return str(value)


def int_or_str(value: float) -> int | str:
    return int(value) if float(value).is_integer() else f"{value:g}"


def status_param(step_id: str) -> str:
    return f"rc-{dns_label(step_id)}-status"


def done(task: str) -> str:
    return f"({task}.Succeeded || {task}.Skipped || {task}.Failed || {task}.Errored)"


def accepts(task: str, failure_too: bool) -> str:
    if failure_too:
        return done(task)
    return f"({task}.Succeeded || {task}.Skipped)"
