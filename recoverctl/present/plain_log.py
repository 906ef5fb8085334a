"""One plain, timestamped line per event: for CI logs, pipes and NO_COLOR.

No escape codes, no redraws; every line stands alone so `grep` works on it.
"""

from __future__ import annotations

import time
from typing import TextIO

from recoverctl.engine.events import (
    ApprovalAnswered,
    ApprovalRequested,
    ApprovalVote,
    AttemptFailed,
    BranchDecided,
    Event,
    FanoutPlanned,
    FinallyStarted,
    LogMessage,
    NotificationDelivered,
    OperatorOverride,
    RetryScheduled,
    RollbackFinished,
    RollbackStarted,
    RunFinished,
    RunStarted,
    StepFinished,
    StepOutput,
    StepRescued,
    StepRolledBack,
    StepStarted,
    WaitPolled,
)
from recoverctl.fit import clip, printable, show_value
from recoverctl.model.duration import format_duration
from recoverctl.present.gate_lines import gate_vote, gate_waiting

STATUS_WORDS = {
    "succeeded": "ok",
    "failed": "FAILED",
    "timed_out": "TIMEOUT",
    "skipped": "skip",
    "unchanged": "unchanged",
    "cancelled": "cancelled",
    "rolled_back": "undone",
}


def describe_alert(alert: dict[str, object]) -> str:
    """`an Alertmanager alert (2 firing, alert.json)`, `a PagerDuty incident (…)`."""
    source = alert.get("source")
    if source == "alertmanager":
        return f"an Alertmanager alert ({alert.get('alerts', 1)} firing, {alert.get('file')})"
    if source == "pagerduty":
        return f"a PagerDuty incident ({alert.get('file')})"
    return f"a JSON alert ({alert.get('file')})"


def notification_line(event: NotificationDelivered) -> str:
    """`notified oncall (slack): failed`, or why it was not."""
    channel = f"{event.channel} ({event.channel_kind})"
    if event.ok:
        return f"notified {channel}: {event.on}"
    return f"NOTIFY FAILED {channel}: {event.on} not delivered: {event.error}"


class PlainLog:
    """An event subscriber writing lines to `stream`; `verbose` adds step output, `quiet` keeps only the end."""

    def __init__(self, stream: TextIO, *, verbose: bool = False, quiet: bool = False) -> None:
        self.stream, self.verbose, self.quiet = stream, verbose, quiet
        self.groups: set[str] = set()
        self.fanouts: set[str] = set()

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return  # -q: only the summary, which the command prints at the end
        line = self.line(event)
        if line is None:
            return
        stamp = (
            time.strftime("%H:%M:%S", time.localtime(event.ts)) + f".{int(event.ts % 1 * 1000):03d}"
        )
        self.stream.write(f"{stamp} {printable(line)}\n")
        self.stream.flush()

    def line(self, event: Event) -> str | None:  # noqa: PLR0912 - one case per event type
        if isinstance(event, RunStarted):
            params = ", ".join(f"{k}={clip(v, 60)}" for k, v in event.params.items())
            mode = " (dry run: nothing is executed)" if event.dry_run else ""
            if event.scenario:
                mode = f" (dry run: the outcomes of scenario '{event.scenario}', nothing executed)"
            if event.injected:
                mode += f" WITH INJECTED FAULTS: {', '.join(event.injected)}"
            if event.alert:
                mode += f" from {describe_alert(event.alert)}"
            if event.forced:
                mode += f" WITH --force, despite: {event.forced}"
            return f"run      {event.runbook} {event.run_id} started{mode}" + (
                f"; params {params}" if params else ""
            )
        if isinstance(event, FanoutPlanned):
            self.fanouts.add(event.step_id)
            return f"{'items':<8} {event.step_id}: {describe_fanout(event)}"
        if isinstance(event, StepStarted):
            if event.action in ("parallel", "steps", "branch"):
                self.groups.add(event.step_id)
                return f"group    {event.step_id} ({event.action})"
            attempt = f" attempt {event.attempt}" if event.attempt > 1 else ""
            return f"start    {event.step_id}{attempt}: {clip(event.action, 100)}"
        if isinstance(event, StepOutput):
            if not self.verbose:
                return None
            text = event.text.rstrip("\n").replace("\n", f"\n{' ' * 13}{event.step_id} | ")
            return f"{event.stream:<8} {event.step_id} | {text}"
        if isinstance(event, AttemptFailed):
            what = "timed out" if event.timed_out else event.error
            return f"attempt  {event.step_id} #{event.attempt} failed: {what} ({format_duration(event.duration)})"
        if isinstance(event, WaitPolled):
            return f"waiting  {event.step_id}: poll {event.polls}: {event.error}"
        if isinstance(event, RetryScheduled):
            return f"retry    {event.step_id} attempt {event.next_attempt} in {format_duration(event.delay)}"
        if isinstance(event, StepFinished):
            return self._finished(event)
        if isinstance(event, BranchDecided) and event.undetermined:
            return (
                f"branch   {event.step_id} → UNDETERMINED: it reads "
                f"{', '.join(event.undetermined)}, simulated in this dry run; a real run takes "
                f"one of: {', '.join(event.explored)} (each shown in turn)"
            )
        if isinstance(event, BranchDecided):
            seen = ", ".join(f"{k} = {clip(show_value(v), 60)}" for k, v in event.values.items())
            taken = event.label if event.case_index is not None else "no case matched: nothing runs"
            return f"branch   {event.step_id} → {taken}" + (f" ({seen})" if seen else "")
        if isinstance(event, ApprovalRequested):
            return "waiting  " + gate_waiting(event)
        if isinstance(event, ApprovalVote):
            return "answer   " + gate_vote(event)
        if isinstance(event, ApprovalAnswered):
            answer = "approved" if event.approved else "denied"
            return f"approval {event.step_id}: {answer} by {event.who}"
        if isinstance(event, StepRescued):
            return f"rescued  {event.step_id}: its rescue steps succeeded, the run goes on"
        if isinstance(event, RollbackStarted):
            order = " → ".join(event.steps) if event.steps else "nothing to undo"
            return f"ROLLBACK {event.reason}; undoing: {order}"
        if isinstance(event, StepRolledBack):
            return (
                f"undone   {event.step_id}"
                if event.ok
                else f"UNDO FAILED {event.step_id}: {event.error}"
            )
        if isinstance(event, RollbackFinished):
            if event.skipped:
                return "ROLLBACK skipped by a second interrupt: completed steps were NOT undone"
            return "rollback finished" if event.ok else "ROLLBACK FAILED: a human is needed"
        if isinstance(event, FinallyStarted):
            return "finally  running finally steps"
        if isinstance(event, LogMessage):
            source = event.step_id or "recoverctl"
            return f"{event.level:<8} {source}: {event.message}"
        if isinstance(event, NotificationDelivered):
            return notification_line(event)
        if isinstance(event, OperatorOverride):
            said = event.action.removeprefix("step_").replace("rest", "run the rest without asking")
            why = f" ({event.reason})" if event.reason else ""
            return f"operator {event.who}: {said} '{event.step_id}'{why}"
        if isinstance(event, RunFinished):
            error = f": {event.error}" if event.error else ""
            took = event.elapsed if event.elapsed is not None else event.duration
            return f"done     run {event.status} in {format_duration(took)} (exit {event.exit_code}){error}"
        return None

    def _finished(self, event: StepFinished) -> str | None:
        word = STATUS_WORDS.get(event.status, event.status)
        if event.step_id in self.fanouts and event.status == "succeeded":
            took = format_duration(event.duration)
            return f"{word:<8} {event.step_id} {took}: {event.reason}"
        if event.step_id in self.groups and event.status == "succeeded":
            return f"{'ok':<8} {event.step_id} (group) {format_duration(event.duration)}"
        if event.status == "succeeded" and event.reason and event.step_id.endswith(".skip_if"):
            return f"{'check':<8} {event.step_id}: {event.reason}"
        if event.status == "succeeded" and event.simulated:
            return f"{'sim':<8} {event.step_id}: simulated (a dry run: not run, no real result)"
        if event.status == "succeeded":
            attempts = f" after {event.attempts} attempts" if event.attempts > 1 else ""
            outputs = ", ".join(f"{k}={clip(v, 60)}" for k, v in event.outputs.items())
            return f"{word:<8} {event.step_id} {format_duration(event.duration)}{attempts}" + (
                f" → {outputs}" if outputs else ""
            )
        if event.status in ("skipped", "unchanged", "cancelled"):
            return f"{word:<8} {event.step_id}" + (f": {event.reason}" if event.reason else "")
        tail = _tail(event.stderr or event.stdout)
        return f"{word:<8} {event.step_id}: {event.error}" + (f"\n{tail}" if tail else "")


def _tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"{' ' * 13}| {line}" for line in kept)


def describe_fanout(event: FanoutPlanned) -> str:
    """`4 items (db-1, db-2, db-3, …) in waves of 1+2+1, 1 at a time; no failure allowed`."""
    keys = event.keys
    shown = ", ".join(keys[:3]) + (", …" if len(keys) > 3 else "")
    text = f"{len(keys)} item{'s' * (len(keys) != 1)}" + (f" ({shown})" if keys else "")
    if len(event.waves) > 1:
        text += f" in waves of {'+'.join(str(size) for size in event.waves)}"
    if event.max_parallel:
        text += f", {event.max_parallel} at a time"
    allowed = event.tolerated
    return text + ("; no failure allowed" if allowed == 0 else f"; {allowed} failures allowed")
