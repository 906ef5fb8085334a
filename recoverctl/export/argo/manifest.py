"""The Workflow manifest: parameters, the main DAG, and the exit handler (rollbacks, then finally)."""

from __future__ import annotations

from typing import Any

from recoverctl.compile.plan import Plan
from recoverctl.export.argo.context import Context, as_text, done, status_param
from recoverctl.export.argo.dag import Dag, DagBuilder, no_results_in_exit_handler, task_field
from recoverctl.export.common import (
    Findings,
    References,
    dns_label,
    whole_seconds,
)
from recoverctl.export.expressions import EXPR
from recoverctl.export.options import DEFAULT_IMAGE
from recoverctl.export.secrets import unwritten_default
from recoverctl.model.runbook import (
    OnFailure,
)


def to_argo(
    plan: Plan,
    findings: Findings,
    *,
    image: str = DEFAULT_IMAGE,
    template: bool = False,
    secrets: str | None = None,
) -> dict[str, Any]:
    """The Workflow manifest; lost features are reported to `findings`."""
    return _Manifest(Context(plan, findings, image, secrets)).manifest(template=template)


class _Manifest:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dag_ = DagBuilder(ctx)
        self.main_refs = References(
            EXPR,
            self.ctx.steps,
            param=lambda name: f"workflow.parameters['{name}']",
            step_field=task_field,
            run={"id": "workflow.name", "name": "workflow.name"},
            secrets=self.ctx.secret_params,
        )
        self.exit_refs = References(
            EXPR,
            self.ctx.steps,
            param=lambda name: f"workflow.parameters['{name}']",
            step_field=no_results_in_exit_handler,
            run={
                "id": "workflow.name",
                "name": "workflow.name",
                "status": "lower(workflow.status)",
            },
            secrets=self.ctx.secret_params,
        )

    def manifest(self, *, template: bool) -> dict[str, Any]:
        rb = self.ctx.runbook
        main: list[dict[str, Any]] = []
        self.dag_.sequence(rb.steps, [], [], Dag(main, self.main_refs))
        self.ctx.templates.insert(0, {"name": "main", "dag": {"tasks": main}})
        spec: dict[str, Any] = {"entrypoint": "main"}
        exit_tasks = self._exit_handler()
        if exit_tasks:
            spec["onExit"] = "exit-handler"
            self.ctx.templates.insert(1, {"name": "exit-handler", "dag": {"tasks": exit_tasks}})
        params = self._parameters()
        if params:
            spec["arguments"] = {"parameters": params}
        if rb.timeout is not None:
            spec["activeDeadlineSeconds"] = whole_seconds(
                None, self.ctx.findings, "timeout", rb.timeout, at=("timeout",)
            )
        if rb.concurrency is not None:
            spec["parallelism"] = rb.concurrency
        spec["templates"] = self.ctx.templates
        name = dns_label(rb.name)
        metadata: dict[str, Any] = {
            "labels": {"app.kubernetes.io/managed-by": "recoverctl"},
            "annotations": {
                "recoverctl.dev/runbook": rb.path.name,
                "recoverctl.dev/plan-hash": self.ctx.plan.hash,
            },
        }
        metadata["name" if template else "generateName"] = name if template else f"{name}-"
        if rb.description:
            metadata["annotations"]["workflows.argoproj.io/description"] = rb.description
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowTemplate" if template else "Workflow",
            "metadata": metadata,
            "spec": spec,
        }

    def _parameters(self) -> list[dict[str, Any]]:
        out = []
        for param in self.ctx.runbook.params:
            if param.secret:  # read from the Kubernetes Secret, never a parameter
                if param.default is not None:
                    source = f"containers read key '{param.name}' of Secret '{self.ctx.store.name}'"
                    self.ctx.findings.approximated(
                        None, *unwritten_default(param.name, "manifest", source)
                    )
                continue
            entry: dict[str, Any] = {"name": param.name}
            if param.default is not None:
                entry["value"] = as_text(param.default)
            if param.description:
                entry["description"] = param.description
            if param.choices and param.type == "list":
                self.ctx.findings.lost(
                    None,
                    f"the choices of list param '{param.name}'",
                    "an Argo parameter's enum is one value, not each item of a list",
                    ("params", param.name, "choices"),
                )
            elif param.choices:
                entry["enum"] = [as_text(c) for c in param.choices]
            if param.env:
                self.ctx.findings.lost(
                    None,
                    f"param '{param.name}' read from ${param.env}",
                    "a workflow has no operator shell to read it from; set it at submit time",
                    ("params", param.name, "env"),
                )
            out.append(entry)
        return out

    def _exit_handler(self) -> list[dict[str, Any]]:
        dag = Dag([], self.exit_refs)
        aborted = [
            f"workflow.outputs.parameters['{status_param(sid)}'] == 'failed'"
            for sid in sorted(self.ctx.tracked)
            if self.ctx.steps[sid].on_failure is OnFailure.ABORT
        ]
        after: list[str] = []
        for sid in self.ctx.plan.rollback_order:
            step = self.ctx.steps[sid]
            if step.rollback is None:
                continue
            if sid not in self.ctx.tracked:
                self.ctx.findings.lost(
                    step, "the rollback of a group", "only action steps are undone"
                )
                continue
            completed = [
                "workflow.status != 'Succeeded'",
                f"workflow.outputs.parameters['{status_param(sid)}'] == 'succeeded'",
                *(f"!({a})" for a in aborted),
            ]
            name = self.dag_.task(step.rollback, after, completed, dag, continue_on_failure=True)
            after = [done(name)]
        self.dag_.sequence(self.ctx.runbook.finally_steps, after, [], dag)
        return dag.tasks
