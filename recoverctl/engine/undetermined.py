"""What a dry run cannot know: a condition that reads a step whose result was made up.

`recoverctl run --dry-run` simulates the steps that change things (and, with
`--probe`, runs the read-only ones for real). A branch, a `when`, a `skip_if` or
an `assert` that reads a simulated step's result cannot be decided on it: the
value is invented. The scheduler then says the decision is undetermined and
shows each case in turn, instead of taking the path the invented value points to.
Scenario tests are not affected: their outcomes are scripted, and they decide.
"""

from __future__ import annotations

from recoverctl.engine.services import Services


def simulated_reads(run: Services, source: str) -> list[str]:
    """The steps `source` reads whose results were made up (only in `run --dry-run`)."""
    if not run.options.explore:
        return []
    from recoverctl.expr.references import parse_expression, references

    read: list[str] = []
    for ref in references(parse_expression(source)):
        if ref.root == "steps" and len(ref.parts) > 1 and ref.parts[1] not in read:
            state = run.state.steps.get(ref.parts[1])
            if state is not None and state.simulated:
                read.append(ref.parts[1])
    return read
