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
    dns_label,
    shell_command,
    steps_by_id,
    target_condition,
    template_parts,
)
from recoverctl.export.expressions import EXPR, Expr
from recoverctl.export.secrets import Store, lone, secret_params
from recoverctl.model.runbook import (
    Expression,
    OnFailure,
    Step,
    Text,
)
from recoverctl.model.walk import all_steps


class Context:
    def __init__(
        self, plan: Plan, findings: Findings, image: str, secrets: str | None = None
    ) -> None:
        self.plan, self.findings, self.image = plan, findings, image
        self.runbook = plan.runbook
        self.store = Store(secrets or f"{dns_label(self.runbook.name)}-secrets")
        self.secret_params = secret_params(self.runbook)
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
        """A template as an Argo string ("" when it cannot be exported)."""
        return argo_string(self.parts(step, text, refs) or [""])

    def parts(
        self, step: Step, text: Text, refs: References, *, secrets: bool = False
    ) -> list[str | Expr] | None:
        return template_parts(self.findings, step, text, EXPR, refs, secrets=secrets)

    def condition(self, step: Step, expr: Expression, refs: References) -> str:
        return target_condition(self.findings, step, expr, EXPR, refs)

    def secret_ref(self, name: str) -> EnvValue:
        """The container reads the param from the Kubernetes Secret: never a parameter."""
        return {"valueFrom": {"secretKeyRef": {"name": self.store.name, "key": name}}}

    def env_value(self, step: Step, text: Text, refs: References) -> str | EnvValue:
        parts = self.parts(step, text, refs, secrets=True)
        if parts is not None and len(parts) == 1 and (name := lone(parts[0])) is not None:
            return self.secret_ref(name)
        return self.text(step, text, refs)

    def shell(
        self, step: Step, text: Text, refs: References
    ) -> tuple[str, dict[str, str | EnvValue]]:
        source, values = shell_command(self.findings, step, text, EXPR, refs)
        return source, {
            variable: self.secret_ref(value) if isinstance(value, str) else argo_string([value])
            for variable, value in values
        }


EnvValue = dict[str, Any]
"""A container env entry's source other than a plain value (`valueFrom: ...`)."""


def env_entry(name: str, value: str | EnvValue) -> dict[str, Any]:
    return {"name": name, "value": value} if isinstance(value, str) else {"name": name, **value}


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
