"""Who may answer an approval gate, and when the answers add up to a decision.

The rules, in one place so the run, `recoverctl approve` and the tests agree:

- Without `approvers`, only the OS user the run runs as may answer (another of
  their shells, a tmux pane, `sudo -u` that user): no other local user can.
- With `approvers` (user names, `group:NAME` for members of a group), only
  those may answer — the run's own user too only when listed.
- One counted denial decides: the gate is denied.
- Approvals count once per person; the gate passes at `min_approvals` (1 by
  default). When `min_approvals` is written, the person who started the run
  does not count: the four-eyes rule.
- An answer after the decision changes nothing and says so.

A person is an OS user, as the kernel reports the answering process: a name
given with `--as` is recorded next to it, never counted as someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GROUP_PREFIX = "group:"


@dataclass(frozen=True, slots=True)
class Voter:
    user: str
    groups: frozenset[str] = frozenset()
    as_name: str = ""

    def shown(self) -> str:
        return f"{self.user} (as {self.as_name})" if self.as_name else self.user


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one answer did: counted or not, why, and the gate's decision if it now has one."""

    counted: bool
    message: str
    decision: bool | None = None


@dataclass(slots=True)
class Tally:
    """One gate's answers so far."""

    owner: str
    """The OS user the run runs as (who started it)."""
    approvers: tuple[str, ...] = ()
    min_approvals: int | None = None
    approved_by: list[str] = field(default_factory=list)
    """The OS users whose approval counted (each once)."""
    shown: list[str] = field(default_factory=list)
    """The same people as recorded: `alice (as Alice on the bridge)`."""
    decision: bool | None = None
    decided_by: str = ""

    @property
    def need(self) -> int:
        return self.min_approvals or 1

    @property
    def four_eyes(self) -> bool:
        return self.min_approvals is not None

    def allowed(self, voter: Voter) -> bool:
        if not self.approvers:
            return voter.user == self.owner
        users = {a for a in self.approvers if not a.startswith(GROUP_PREFIX)}
        groups = {
            a.removeprefix(GROUP_PREFIX) for a in self.approvers if a.startswith(GROUP_PREFIX)
        }
        return voter.user in users or bool(groups & voter.groups)

    def who_may(self) -> str:
        if not self.approvers:
            return f"only {self.owner}, who runs it (the runbook names no approvers)"
        return "approvers: " + ", ".join(self.approvers)

    def answer(self, voter: Voter, approve: bool) -> Verdict:
        if self.decision is not None:
            said = "approved" if self.decision else "denied"
            return Verdict(False, f"the gate was already {said} by {self.decided_by}")
        if not self.allowed(voter):
            return Verdict(False, f"{voter.user} may not answer this gate; {self.who_may()}")
        if not approve:
            self.decision, self.decided_by = False, voter.shown()
            return Verdict(True, f"denied by {voter.shown()}", False)
        if self.four_eyes and voter.user == self.owner:
            return Verdict(
                False,
                f"{voter.user} started this run: their approval does not count (four-eyes "
                f"rule); {self._remaining()} needed from someone else",
            )
        if voter.user in self.approved_by:
            return Verdict(False, f"{voter.user} already approved; {self._remaining()} needed")
        self.approved_by.append(voter.user)
        self.shown.append(voter.shown())
        if len(self.approved_by) >= self.need:
            self.decision, self.decided_by = True, ", ".join(self.shown)
            return Verdict(True, f"approved by {self.decided_by}", True)
        return Verdict(
            True,
            f"approval {len(self.approved_by)} of {self.need} counted; {self._remaining()} needed",
        )

    def _remaining(self) -> str:
        left = self.need - len(self.approved_by)
        return f"{left} more approval{'s' * (left != 1)}"
