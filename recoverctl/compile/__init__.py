"""Compile: the model → an immutable Plan with its static facts."""

from recoverctl.compile.compiler import compile_plan
from recoverctl.compile.plan import Edge, EdgeKind, Plan, PlanNode

__all__ = ["Edge", "EdgeKind", "Plan", "PlanNode", "compile_plan"]
