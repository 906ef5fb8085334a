"""The plan as an Argo Workflow (or WorkflowTemplate).

Shape: the main flow is one `dag` template, so every condition can read any
earlier step as `tasks['name']` (Argo scopes `tasks.` to one DAG; nesting a
template per group would hide results from later groups). Sequences chain
`depends`, parallel groups fan out from the same predecessors, branch cases
are tasks guarded by "this case and no earlier one" conditions. Each action
is a template: `run` a container (`sh -c` for shell commands), `sleep` and
`approval` a `suspend`, `http` an HTTP template, `wait_for` a recursive
poll. Rollbacks and `finally` run in the `onExit` handler: a compensation
runs when the workflow did not succeed and its step's recorded status (a
global output parameter) says it completed, last first.
"""

from recoverctl.export.argo.manifest import to_argo
from recoverctl.export.argo.templates import STATUS_FILE

__all__ = ["STATUS_FILE", "to_argo"]
