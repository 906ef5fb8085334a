"""One entry point for `recoverctl export`: translate, check the shape, serialise.

The manifest is only returned when every lost feature was allowed
(`--lossy`) and the round-trip shape check agrees with the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from recoverctl.compile.plan import Plan
from recoverctl.errors import RecoverctlError
from recoverctl.exitcodes import ExitCode
from recoverctl.export.argo import to_argo
from recoverctl.export.asl import to_asl
from recoverctl.export.common import Findings, durations_from_params
from recoverctl.export.expressions import Untranslatable
from recoverctl.export.options import ExportOptions, Target
from recoverctl.export.shape import shape_differences
from recoverctl.model.source import Diagnostic, Span


@dataclass(slots=True)
class Exported:
    text: str
    warnings: list[Diagnostic] = field(default_factory=list)


def export_plan(plan: Plan, target: Target, options: ExportOptions) -> Exported:
    """The target's document as text, and the features `--lossy` let it drop."""
    findings = Findings(plan.runbook, target.label, options.lossy)
    durations_from_params(findings)
    try:
        if target is Target.argo:
            document = to_argo(
                plan,
                findings,
                image=options.image,
                template=options.template,
                secrets=options.secrets,
            )
        else:
            document = to_asl(
                plan,
                findings,
                resource=options.resource,
                function=options.function,
                approval_function=options.approval_function,
                secrets=options.secrets,
            )
    except Untranslatable as exc:
        span = exc.step.span if exc.step is not None else Span(1, 1, 1, 1)
        raise RecoverctlError(
            [
                Diagnostic(
                    file=plan.runbook.path,
                    span=span,
                    message=f"cannot export to {target.label}: {exc}",
                    code="export",
                    hint="rename the step",
                )
            ]
        ) from None
    findings.raise_if_blocking()
    problems = shape_differences(plan, "argo" if target is Target.argo else "asl", document)
    if problems:
        raise RecoverctlError(
            message=f"the {target.label} export does not have the plan's shape (a recoverctl bug): "
            + "; ".join(problems),
            exit_code=ExitCode.FAILED,
            hint="please report it with the runbook; nothing was written",
        )
    return Exported(_serialise(target, document), findings.sorted())


def _serialise(target: Target, document: dict[str, object]) -> str:
    if target is Target.step_functions:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    import yaml

    class _Dumper(yaml.SafeDumper):
        """Multi-line strings (shell scripts) as readable `|` blocks."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value and not value.endswith((" ", "\n\n")) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
