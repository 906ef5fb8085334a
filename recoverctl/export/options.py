"""The export targets and their options: cheap to import, for the CLI's start-up."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_IMAGE = "docker.io/library/alpine:3.20"
"""Argo: a small image with a POSIX shell."""
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
"""Step Functions: the Lambda invoke integration, the default command runner resource."""
DEFAULT_FUNCTION = "recoverctl-runner"


class Target(StrEnum):
    argo = "argo"
    step_functions = "step-functions"

    @property
    def label(self) -> str:
        return "Argo Workflows" if self is Target.argo else "AWS Step Functions"


@dataclass(frozen=True, slots=True)
class ExportOptions:
    lossy: bool = False
    template: bool = False
    image: str = DEFAULT_IMAGE
    resource: str = LAMBDA_INVOKE
    function: str = DEFAULT_FUNCTION
    approval_function: str | None = None
    secrets: str | None = None
    """Where secret params come from: Argo's Kubernetes Secret, Step Functions' Secrets
    Manager prefix (export/secrets.py; None: named after the runbook)."""
