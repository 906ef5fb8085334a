"""Reports from a run's state and events: JSON, JUnit XML, Prometheus text, a Markdown timeline.

All are built from the same replayed state the views use, so a report read
tomorrow says exactly what the operator saw tonight. Secrets never reach
them: events are redacted at the source.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any
from xml.etree import ElementTree as ET

from recoverctl.compile.plan import Plan
from recoverctl.engine.events import (
    ApprovalAnswered,
    ApprovalRequested,
    ApprovalVote,
    BranchDecided,
    Event,
    LogMessage,
    OperatorOverride,
    RetryScheduled,
    RollbackStarted,
    RunFinished,
    RunResumed,
    RunStarted,
    StepFinished,
    StepRolledBack,
)
from recoverctl.engine.state import RunState, StepState
from recoverctl.fit import plain, printable, show_value
from recoverctl.model.duration import format_duration
from recoverctl.model.runbook import OnFailure
from recoverctl.present.gate_lines import gate_line

REPORT_VERSION = 1


def report_json(plan: Plan, state: RunState) -> str:
    rb = plan.runbook
    rto = rb.objectives.rto
    data: dict[str, Any] = {
        "version": REPORT_VERSION,
        "run_id": state.run_id,
        "runbook": {"name": rb.name, "path": str(rb.path), "sha256": rb.sha256},
        "plan_hash": plan.hash,
        "status": state.status,
        "exit_code": state.exit_code,
        "duration_seconds": state.duration,
        "error": state.error,
        "failed_step": state.failed_step,
        "objectives": {"rto": rto, "rpo": rb.objectives.rpo},
        "rto_met": None
        if rto is None or state.duration is None
        else state.rto_verdict(rto) == "met",
        "rto_verdict": None if rto is None else state.rto_verdict(rto),
        "worst_case_seconds": None if math.isinf(plan.worst_case) else plan.worst_case,
        "decisions": [
            {"step": d.step_id, "case": d.label, "case_index": d.case_index, "values": d.values}
            for d in state.decisions
        ],
        "rolled_back": state.rolled_back(),
        "rollback_failed": [
            sid for sid, s in state.steps.items() if s.rollback == "rollback_failed"
        ],
        "notifications": [
            {
                "channel": n.channel,
                "kind": n.channel_kind,
                "on": n.on,
                "ok": n.ok,
                "attempts": n.attempts,
                "error": n.error,
            }
            for n in state.notifications
        ],
        "steps": {
            sid: {
                "status": s.status,
                "attempts": s.attempts,
                "duration_seconds": s.duration,
                "exit_code": s.exit_code,
                "outputs": s.outputs,
                "error": s.error,
                "reason": s.reason,
                "rescued": s.rescued,
                "rollback": s.rollback,
                "override": s.override,
            }
            for sid, s in state.steps.items()
        },
    }
    return json.dumps(data, indent=2, default=str) + "\n"


def junit_xml(plan: Plan, state: RunState) -> str:
    """One testcase per action step; failures and skips as JUnit readers expect them."""
    cases = [
        (sid, s)
        for sid, s in state.steps.items()
        if _is_action(plan, sid) and s.status != "pending"
    ]
    failures = sum(1 for sid, s in cases if _failed_the_run(plan, sid, s))
    skipped = sum(
        1 for sid, s in cases if s.status in ("skipped", "cancelled") or _tolerated(plan, sid, s)
    )
    suites = ET.Element(
        "testsuites",
        name="recoverctl",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{state.duration or 0:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=plan.runbook.name,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{state.duration or 0:.3f}",
        timestamp=_iso(time.time()),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", state.run_id),
        ("status", state.status),
        ("plan_hash", plan.hash),
    ):
        ET.SubElement(properties, "property", name=name, value=xml_text(str(value)))
    for sid, s in cases:
        case = ET.SubElement(
            suite, "testcase", name=sid, classname=plan.runbook.name, time=f"{s.duration:.3f}"
        )
        if _failed_the_run(plan, sid, s):
            failure = ET.SubElement(
                case, "failure", message=xml_text(s.error or s.status), type=s.status
            )
            failure.text = xml_text(s.stderr or s.stdout or "")
        elif _tolerated(plan, sid, s):
            reason = f"failed and tolerated (on_failure: continue): {s.error or s.status}"
            ET.SubElement(case, "skipped", message=xml_text(reason))
        elif s.status in ("skipped", "cancelled"):
            ET.SubElement(case, "skipped", message=xml_text(s.reason or s.status))
        if s.stdout:
            ET.SubElement(case, "system-out").text = xml_text(s.stdout)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _failed(s: StepState) -> bool:
    return s.status in ("failed", "timed_out") and not s.rescued


def _tolerated(plan: Plan, step_id: str, s: StepState) -> bool:
    """A failure the runbook expects and goes on from (a probe whose failure is an answer)."""
    node = plan.nodes.get(step_id.rsplit("/", 1)[-1])
    return _failed(s) and node is not None and node.step.on_failure is OnFailure.CONTINUE


def _failed_the_run(plan: Plan, step_id: str, s: StepState) -> bool:
    """Red in CI only for what failed the run: a green run gives a green report."""
    return _failed(s) and not _tolerated(plan, step_id, s)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text an XML 1.0 parser accepts: terminal escapes and other control characters out."""
    return _NOT_XML.sub("", printable(text))


def prometheus_text(plan: Plan, state: RunState) -> str:
    """For node_exporter's textfile collector: the run and each step as gauges.

    Written by prometheus_client, the format's own implementation: full-precision
    values (a finish time printed with 6 digits was 77 minutes off) and label escaping.
    """
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry(auto_describe=True)
    base = {"runbook": plan.runbook.name}

    def gauge(name: str, help_text: str, labels: tuple[str, ...]) -> Gauge:
        return Gauge(name, help_text, ["runbook", *labels], registry=registry)

    gauge(
        "recoverctl_run_duration_seconds", "Time to recovery: first start to end.", ("status",)
    ).labels(**base, status=state.status).set(state.duration or 0.0)
    gauge("recoverctl_run_success", "1 when the run succeeded.", ()).labels(**base).set(
        1.0 if state.status == "succeeded" else 0.0
    )
    finished = (state.started or time.time()) + (state.duration or 0.0)
    gauge("recoverctl_run_timestamp_seconds", "When the run finished (Unix time).", ()).labels(
        **base
    ).set(finished)
    if plan.runbook.objectives.rto is not None:
        gauge("recoverctl_run_rto_seconds", "The runbook's recovery time objective.", ()).labels(
            **base
        ).set(plan.runbook.objectives.rto)
    durations = gauge(
        "recoverctl_step_duration_seconds", "Duration of each step.", ("step", "status")
    )
    attempts = gauge("recoverctl_step_attempts", "Attempts each step took.", ("step",))
    for sid, s in state.steps.items():
        if s.status != "pending":
            durations.labels(**base, step=sid, status=s.status).set(s.duration)
            attempts.labels(**base, step=sid).set(float(s.attempts))
    return generate_latest(registry).decode("utf-8")


def markdown_timeline(plan: Plan, state: RunState, events: list[Event]) -> str:
    """A post-mortem: what ran when, decisions, retries, rollbacks, time to recovery vs the RTO."""
    rb = plan.runbook
    start = next(
        (e.ts for e in events if isinstance(e, RunStarted)), events[0].ts if events else 0.0
    )
    lines = [f"# Recovery report: {rb.name}, run {state.run_id}", ""]
    rto = rb.objectives.rto
    lines += [
        f"- **Result:** {state.status} (exit {state.exit_code})",
        f"- **Started:** {_iso(start)}",
        f"- **Time to recovery:** {format_duration(state.duration or 0)}"
        + (f" against an RTO of {format_duration(rto)}: {state.rto_verdict(rto)}" if rto else ""),
        f"- **Path taken:** {'; '.join(f'{d.step_id} → {d.label}' for d in state.decisions) or 'no branches'}",
    ]
    if state.error:
        lines.append(f"- **Why it failed:** {state.error}")
    if state.undone:
        lines.append(f"- **Rolled back:** {', '.join(state.rolled_back()) or 'nothing'}")
    if state.rollback_failures():
        lines.append(f"- **Rollback FAILED for:** {', '.join(state.rollback_failures())}")
    lines += ["", "## Timeline", "", "| time | event |", "|---|---|"]
    open_session = False
    last_ts = start
    for event in events:
        if isinstance(event, RunResumed) and open_session:
            lines.append(
                f"| +{format_duration(max(0.0, last_ts - start))} | run interrupted: the "
                "process stopped without finishing (killed, or the machine went down) |"
            )
        if isinstance(event, RunStarted | RunResumed):
            open_session = True
        elif isinstance(event, RunFinished):
            open_session = False
        last_ts = event.ts
        text = _timeline_entry(event, plan)
        if text:
            lines.append(
                f"| +{format_duration(max(0.0, event.ts - start))} | {text.replace('|', '/')} |"
            )
    lines += ["", "## Steps", "", "| step | status | attempts | duration |", "|---|---|---|---|"]
    for sid, s in state.steps.items():
        if s.status != "pending":
            lines.append(f"| {sid} | {s.status} | {s.attempts} | {format_duration(s.duration)} |")
    return printable("\n".join(lines)) + "\n"


def _timeline_entry(event: Event, plan: Plan) -> str | None:
    if isinstance(event, RunStarted):
        return f"run started ({', '.join(f'{k}={plain(v)}' for k, v in event.params.items()) or 'no params'})"
    if isinstance(event, RunResumed):
        return "run resumed" + (f"; running again: {', '.join(event.rerun)}" if event.rerun else "")
    if isinstance(event, OperatorOverride):
        return f"operator {event.who}: {event.action} {event.step_id}" + (
            f" ({event.reason})" if event.reason else ""
        )
    if isinstance(event, StepFinished) and event.status not in ("skipped",):
        extra = f": {event.error}" if event.error else ""
        if not _is_action(plan, event.step_id) or not event.attempts:
            return f"{event.step_id} {event.status}{extra}"
        tries = f"{event.attempts} attempts" if event.attempts > 1 else "1 attempt"
        return f"{event.step_id} {event.status} after {tries}{extra}"
    if isinstance(event, ApprovalRequested | ApprovalVote | ApprovalAnswered):
        return gate_line(event)
    if isinstance(event, RetryScheduled):
        return f"{event.step_id}: retry {event.next_attempt} in {format_duration(event.delay)}"
    if isinstance(event, BranchDecided):
        seen = ", ".join(f"{k} = {show_value(v)}" for k, v in event.values.items())
        return f"decision {event.step_id} → {event.label or 'no case'}" + (
            f" ({seen})" if seen else ""
        )
    if isinstance(event, RollbackStarted):
        return f"rollback started: {event.reason}"
    if isinstance(event, StepRolledBack):
        return (
            f"{event.step_id} rolled back"
            if event.ok
            else f"rollback of {event.step_id} FAILED: {event.error}"
        )
    if isinstance(event, LogMessage) and event.level in ("warning", "error"):
        return f"{event.level}: {event.message}"
    if isinstance(event, RunFinished):
        return f"run finished: {event.status}"
    return None


def _is_action(plan: Plan, step_id: str) -> bool:
    node = plan.nodes.get(step_id.rsplit("/", 1)[-1])
    return node is None or node.step.is_action


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
