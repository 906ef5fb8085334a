"""Secret params in an export: read from the target's secret store, never written out.

A `secret: true` param is not an input of the exported workflow — Argo shows
parameters in its UI and API, Step Functions keeps an execution's input and
variables in its history — and its default is never written. Its value comes
from the target's own store at the moment a command runs:

- Argo: a Kubernetes Secret (`export --secrets NAME`, default
  `<runbook>-secrets`), one key per param, read by the container as an
  environment variable (`valueFrom.secretKeyRef`);
- Step Functions: AWS Secrets Manager (`export --secrets PREFIX`, default
  `recoverctl/<runbook>/`), one secret per param, read by the command runner
  (the payload's `secrets` names the variable and the secret id) — never by
  the machine, whose variables are in the history.

So a secret reaches a step as a whole template value in a shell command or as
an `env:` value, where it becomes one environment variable. Anywhere else (a
condition, a URL, a word of a larger string) the workflow itself would have to
hold it: that is named as lost, at the place it is written, and nothing of it
is written.

The exporters' References resolve a secret param to a marker expression; the
functions here find it in translated parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recoverctl.export.expressions import Expr
from recoverctl.model.runbook import Runbook

_MARK = re.compile(r"__recoverctl_secret__\('([A-Za-z_][A-Za-z0-9_]*)'\)")

WHERE = (
    "a secret reaches a step only as a whole template value in a shell command or in "
    "`env:` (one environment variable, read from the secret store); here the workflow "
    "itself would hold it"
)


def marker(name: str) -> str:
    """What a secret param translates to: found again by `lone` and `mentioned`."""
    return f"__recoverctl_secret__('{name}')"


def lone(part: str | Expr) -> str | None:
    """The secret param a part is, when it is exactly one."""
    if not isinstance(part, Expr):
        return None
    code = part.code.strip()
    while code.startswith("(") and code.endswith(")") and not _MARK.fullmatch(code):
        code = code[1:-1].strip()
    match = _MARK.fullmatch(code)
    return match.group(1) if match else None


def mentioned(parts: list[str | Expr]) -> list[str]:
    """Every secret param the translated parts read."""
    return [name for p in parts if isinstance(p, Expr) for name in _MARK.findall(p.code)]


def secret_params(runbook: Runbook) -> frozenset[str]:
    return frozenset(p.name for p in runbook.params if p.secret)


def unwritten_default(name: str, where: str, source: str) -> tuple[str, str, tuple[str, ...]]:
    """The warning for a secret's default, which is never written: (feature, how, at)."""
    return (
        f"the default of secret param '{name}'",
        f"it is not written (it would be readable in the {where}); {source}",
        ("params", name, "default"),
    )


@dataclass(frozen=True, slots=True)
class Secret:
    """A value the runner reads from the store at run time (Step Functions: the secret id)."""

    ref: str


@dataclass(frozen=True, slots=True)
class Store:
    """Where an export's secrets come from."""

    name: str
    """Argo: the Kubernetes Secret; Step Functions: the Secrets Manager name prefix."""

    @classmethod
    def for_step_functions(cls, runbook: Runbook, prefix: str | None) -> Store:
        return cls(prefix if prefix is not None else f"recoverctl/{runbook.name}/")

    def secret_id(self, param: str) -> str:
        """Step Functions: the Secrets Manager id of one param."""
        return f"{self.name}{param}"
