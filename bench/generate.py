"""Generated runbooks of any size, shaped like real ones: sequences, parallel groups, branches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def big_runbook(steps: int, *, command: str = "true") -> dict[str, Any]:
    """About `steps` steps in blocks of 10: 4 sequential, a 3-wide parallel group, a 2-case branch."""
    body: list[dict[str, Any]] = []
    block = 0
    while sum(_count(s) for s in body) < steps:
        b = f"b{block}"
        body += [
            {
                "id": f"{b}_s{i}",
                "run": command,
                "timeout": "5s",
                "outputs": {"out": "{{ stdout | trim }}"},
            }
            for i in range(4)
        ]
        body.append(
            {
                "id": f"{b}_par",
                "parallel": [
                    {"id": f"{b}_p{i}", "run": command, "timeout": "5s"} for i in range(3)
                ],
            }
        )
        body.append(
            {
                "id": f"{b}_br",
                "branch": [
                    {
                        "when": f"steps.{b}_s0.ok and steps.{b}_s1.outputs.out == ''",
                        "steps": [{"id": f"{b}_yes", "run": command, "timeout": "5s"}],
                    },
                    {
                        "else": [
                            {
                                "id": f"{b}_no",
                                "run": command,
                                "timeout": "5s",
                                "rollback": {"run": command},
                            }
                        ]
                    },
                ],
            }
        )
        block += 1
    return {"version": 1, "name": f"big-{steps}", "objectives": {"rto": "1h"}, "steps": body}


def sequential_runbook(steps: int, command: str | list[str] = "true") -> dict[str, Any]:
    """`steps` plain sequential steps, the engine-overhead workload (`command`: a shell
    string, or an argv list run without a shell)."""
    return {
        "version": 1,
        "name": f"seq-{steps}",
        "steps": [{"id": f"s{i}", "run": command, "timeout": "10s"} for i in range(steps)],
    }


def _count(step: dict[str, Any]) -> int:
    inner = step.get("parallel") or step.get("steps") or []
    cases = step.get("branch") or []
    total = 1 + sum(_count(s) for s in inner)
    for case in cases:
        total += sum(_count(s) for s in case.get("steps", case.get("else", [])))
    return total


def write(data: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
