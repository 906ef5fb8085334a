"""The plan as an AWS Step Functions state machine (Amazon States Language, JSONata).

Every action step's result is kept in a workflow variable (`$s_<id>`:
status, ok, exit_code, stdout, outputs), so conditions read earlier steps
the way runbook expressions do. Step Functions scopes variables to a
Parallel branch, so each branch hands its results out as its output and the
Parallel state keeps them as `$g_<group>`; a failing branch does not fail
the Parallel state (that would lose what its siblings completed) but ends
with a marker the state after the Parallel routes on.

Commands, HTTP checks and `wait_for` checks run in a Task state on the
command runner resource (`--resource`); the runner's contract (input and
output) is in docs/export.md. Failures are caught and routed: to the step's
rescue steps, onwards (`on_failure: continue`), to the compensation chain
(`rollback`) or straight to `finally` (`abort`). The compensation chain
undoes, last first, every step whose variable says it succeeded.
"""

from recoverctl.export.asl.machine import to_asl
from recoverctl.export.asl.names import state_name, var

__all__ = ["state_name", "to_asl", "var"]
