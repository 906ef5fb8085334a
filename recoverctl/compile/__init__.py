"""Compile: the model → an immutable Plan with its static facts.

`compile_plan` is imported on first use: a run whose plan comes from the cache
never needs the compiler (nor the semantic checks it imports), only the Plan's
classes to unpickle it.
"""

from typing import TYPE_CHECKING, Any

from recoverctl.compile.plan import Edge, EdgeKind, Plan, PlanNode

if TYPE_CHECKING:
    from recoverctl.compile.compiler import compile_plan

__all__ = ["Edge", "EdgeKind", "Plan", "PlanNode", "compile_plan"]


def __getattr__(name: str) -> Any:
    if name == "compile_plan":
        from recoverctl.compile.compiler import compile_plan

        return compile_plan
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
