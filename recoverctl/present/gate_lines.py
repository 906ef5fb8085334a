"""One wording for a waiting gate and each answer to it: the plain log, the live view
and the reports' timeline all say the same."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from recoverctl.engine.events import ApprovalAnswered, ApprovalRequested, ApprovalVote
from recoverctl.fit import printable
from recoverctl.model.duration import format_duration


def gate_waiting(event: ApprovalRequested) -> str:
    who = (
        "approvers: " + ", ".join(event.approvers)
        if event.approvers
        else f"answered by {event.owner or 'the run’s user'}"
    )
    need = f"; {event.min_approvals} approvals, not the starter's" if event.four_eyes else ""
    bound = f"; no answer in {format_duration(event.timeout)}: its default" if event.timeout else ""
    line = f"{event.step_id}: waiting for approval ({who}{need}{bound})"
    if event.answer_with:
        line += f"; answer from any shell: {event.answer_with} (or recoverctl deny …)"
    return line


def waiting_lines(
    waiting: Iterable[ApprovalRequested], votes: Mapping[str, ApprovalVote]
) -> list[str]:
    """The live view's lines for gates answered from other shells: the command first
    (short enough for 60 columns), then the latest answer."""
    lines: list[str] = []
    for gate in waiting:
        who = ", ".join(gate.approvers) if gate.approvers else gate.owner
        need = f", {gate.min_approvals} needed" if gate.min_approvals > 1 else ""
        how = "; approve or deny from any shell:" if gate.answer_with else ""
        lines.append(f"⏸ {gate.step_id} waits for approval ({who}{need}){how}")
        if gate.answer_with:  # on a line of its own: a 60-column terminal shows it whole
            lines.append(f"  {gate.answer_with}")
        if gate.step_id in votes:
            lines.append("  last: " + gate_vote(votes[gate.step_id]))
    return lines


def gate_line(event: ApprovalRequested | ApprovalVote | ApprovalAnswered) -> str:
    if isinstance(event, ApprovalRequested):
        return gate_waiting(event)
    if isinstance(event, ApprovalVote):
        return gate_vote(event)
    return f"{event.step_id}: {'approved' if event.approved else 'denied'} by {event.who}"


def gate_vote(event: ApprovalVote) -> str:
    said = "approve" if event.approved else "deny"
    person = f"{event.user} (as {event.as_name})" if event.as_name else event.user
    if event.host:
        person += f" on {event.host}, via the team backend"
    comment = f' — "{printable(event.comment)}"' if event.comment else ""
    what = event.message if event.counted else f"not counted: {event.message}"
    return f"{event.step_id}: {person} said {said}{comment}: {what}"
