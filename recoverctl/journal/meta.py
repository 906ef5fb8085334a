"""meta.json as a typed value: the index entry of one run (`runs`, `stats`, resume).

meta.json is an index, not the record (the journal is): it is read tolerantly — a
field of the wrong type reads as unknown, never as a crash — and keys this version
does not know are kept when it is written back, so an older recoverctl resuming a
newer run's folder loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recoverctl.model.status import RunStatus

UNREADABLE = "unreadable"
"""The status of a run whose meta.json cannot be read."""


@dataclass(frozen=True, slots=True)
class StepSummary:
    status: str
    attempts: int = 0
    duration: float = 0.0


@dataclass(slots=True)
class RunMeta:
    run_id: str
    runbook: str = ""
    path: str = ""
    """The runbook's absolute path when it ran."""
    sha256: str = ""
    plan_hash: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """As shown (secrets masked)."""
    started: float | None = None
    rto: float | None = None
    status: str = RunStatus.PENDING
    pid: int | None = None
    """The process running it, while it runs (with `pid_identity`, its boot id and start)."""
    pid_identity: str | None = None
    exit_code: int | None = None
    duration: float | None = None
    finished: float | None = None
    path_taken: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    steps: dict[str, StepSummary] = field(default_factory=dict)
    alert_fingerprints: list[str] = field(default_factory=list)
    """The firing alerts it was started from (`run --from-alert`): the per-alert cooldown."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know: written back as they were."""

    @classmethod
    def unreadable(cls, run_id: str) -> RunMeta:
        return cls(run_id=run_id, status=UNREADABLE)

    @classmethod
    def from_dict(cls, data: dict[str, Any], run_id: str) -> RunMeta:
        known = {name for name in cls.__dataclass_fields__ if name != "extra"} | {"v"}
        steps = data.get("steps")
        return cls(
            run_id=_text(data.get("run_id")) or run_id,
            runbook=_text(data.get("runbook")),
            path=_text(data.get("path")),
            sha256=_text(data.get("sha256")),
            plan_hash=_text(data.get("plan_hash")),
            params=data["params"] if isinstance(data.get("params"), dict) else {},
            started=_number(data.get("started")),
            rto=_number(data.get("rto")),
            status=_text(data.get("status")) or "?",
            pid=_integer(data.get("pid")),
            pid_identity=_text(data.get("pid_identity")) or None,
            exit_code=_integer(data.get("exit_code")),
            duration=_number(data.get("duration")),
            finished=_number(data.get("finished")),
            path_taken=[str(p) for p in data.get("path_taken") or [] if isinstance(p, str)]
            if isinstance(data.get("path_taken"), list)
            else [],
            failed_step=_text(data.get("failed_step")) or None,
            error=_text(data.get("error")) or None,
            steps={
                str(sid): StepSummary(
                    status=_text(step.get("status")) or "?",
                    attempts=_integer(step.get("attempts")) or 0,
                    duration=_number(step.get("duration")) or 0.0,
                )
                for sid, step in (steps.items() if isinstance(steps, dict) else ())
                if isinstance(step, dict)
            },
            alert_fingerprints=[
                str(f) for f in data.get("alert_fingerprints") or [] if isinstance(f, str)
            ]
            if isinstance(data.get("alert_fingerprints"), list)
            else [],
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "runbook": self.runbook,
            "path": self.path,
            "sha256": self.sha256,
            "plan_hash": self.plan_hash,
            "params": self.params,
            "started": self.started,
            "rto": self.rto,
            "status": str(self.status),
        }
        if self.alert_fingerprints:
            out["alert_fingerprints"] = self.alert_fingerprints
        if self.pid is not None:
            out["pid"], out["pid_identity"] = self.pid, self.pid_identity
        if self.finished is not None:
            out.update(
                exit_code=self.exit_code,
                duration=self.duration,
                finished=self.finished,
                path_taken=self.path_taken,
                failed_step=self.failed_step,
                error=self.error,
                steps={
                    sid: {"status": str(s.status), "attempts": s.attempts, "duration": s.duration}
                    for sid, s in self.steps.items()
                },
            )
        return {**self.extra, **out}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
