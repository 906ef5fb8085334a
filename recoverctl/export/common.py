"""What both exporters share: lost-feature findings, names, durations, step results.

A feature the target cannot express faithfully is never dropped silently:
each exporter reports it here with the step and the reason. Without
`--lossy` the findings are errors and nothing is written; with it they are
warnings and the export goes ahead without that feature.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from recoverctl.errors import RecoverctlError
from recoverctl.export.expressions import (
    Dialect,
    Expr,
    ParamTypes,
    Resolver,
    Untranslatable,
    lone_expression,
    translate,
    translate_template,
)
from recoverctl.export.secrets import WHERE, lone, marker, mentioned
from recoverctl.expr.shell_quoting import requote
from recoverctl.model.duration import format_duration, parse_duration
from recoverctl.model.fanout import Foreach, lone_param
from recoverctl.model.runbook import (
    CallAction,
    Expression,
    Group,
    Runbook,
    Step,
    Text,
    WaitForAction,
)
from recoverctl.model.source import Diagnostic, JsonPath, Severity, Span, sorted_unique
from recoverctl.model.walk import all_steps

RESULT_FIELDS = ("ok", "status", "exit_code", "stdout", "outputs")
"""The parts of `steps.<id>` an exported condition or template may read."""


@dataclass(slots=True)
class Findings:
    """Features lost in translation, positioned at the step that uses them."""

    runbook: Runbook
    target: str
    lossy: bool
    found: list[Diagnostic] = field(default_factory=list)

    def lost(
        self,
        step: Step | None,
        feature: str,
        reason: str,
        at: JsonPath = (),
        span: Span | None = None,
    ) -> None:
        """`step` (or the runbook key at `at`, or `span`) uses `feature`, which the target
        cannot express: an error, or a warning with --lossy."""
        hint = (
            None
            if self.lossy
            else "change the runbook, or pass --lossy to export without this feature"
        )
        self._add(
            step,
            f"{feature} cannot be exported to {self.target}: {reason}",
            Severity.WARNING if self.lossy else Severity.ERROR,
            hint,
            span or self._span(step, at),
        )

    def approximated(self, step: Step | None, feature: str, how: str, at: JsonPath = ()) -> None:
        """`feature` is kept but not exactly (0.5 s becomes 1 s): a warning, never a refusal,
        since nothing a user relies on changes."""
        message = f"{feature} is approximated on {self.target}: {how}"
        self._add(step, message, Severity.WARNING, None, self._span(step, at))

    def _span(self, step: Step | None, at: JsonPath) -> Span:
        return step.span if step is not None else self.runbook.source_map.key_span(at)

    def _add(
        self, step: Step | None, message: str, severity: Severity, hint: str | None, span: Span
    ) -> None:
        where = f"step '{step.id}': " if step is not None else ""
        self.found.append(
            Diagnostic(
                file=self.runbook.path,
                span=span,
                message=where + message,
                code="export",
                severity=severity,
                hint=hint,
            )
        )

    def sorted(self) -> list[Diagnostic]:
        """In file order (exporters emit in their own order; ASL's is back to front)."""
        return sorted_unique(self.found)

    def raise_if_blocking(self) -> None:
        if not self.lossy and any(d.severity is Severity.ERROR for d in self.found):
            raise RecoverctlError(self.sorted())


def param_types(runbook: Runbook) -> ParamTypes:
    """The params' types as the translator uses them (export/expressions.py ParamTypes)."""
    params = runbook.params
    return ParamTypes(
        integers=frozenset(p.name for p in params if p.type == "integer"),
        lists=frozenset(p.name for p in params if p.type == "list"),
        joinable_lists=frozenset(
            p.name for p in params if p.type == "list" and p.items in (None, "string", "integer")
        ),
    )


def template_parts(
    findings: Findings,
    step: Step,
    text: Text,
    dialect: Dialect,
    refs: References,
    *,
    secrets: bool = False,
) -> list[str | Expr] | None:
    """A template's literal text and target expressions; None when it cannot be exported
    (said once, here). Only `secrets=True` callers may receive a secret's marker."""
    try:
        parts = translate_template(text.source, dialect, refs)
    except Untranslatable as exc:
        findings.lost(step, f"the template '{text.source}'", str(exc))
        return None
    if not secrets:
        for name in mentioned(parts):
            findings.lost(step, f"secret param '{name}' in '{text.source}'", WHERE)
            return None
    return parts


ShellValue = Expr | str
"""What a shell command's variable holds: a translated expression, or (a str) the name of
the secret param the target's store gives it."""


def shell_command(
    findings: Findings, step: Step, text: Text, dialect: Dialect, refs: References
) -> tuple[str, list[tuple[str, ShellValue]]]:
    """A shell command whose templates become quoted variables (`"${RC_VALUE_1}"`): one
    word each, never code, in the order written. Each value is lifted out of the author's
    quotes first, as a run does it: inside "..." a quoted "${VAR}" would end the author's
    quotes (split, globbed). A command that cannot be exported is LOST_COMMAND."""
    lifted = Text(requote(text.source), text.span)
    parts = template_parts(findings, step, lifted, dialect, refs, secrets=True)
    if parts is None:
        return LOST_COMMAND, []
    out: list[str] = []
    values: list[tuple[str, ShellValue]] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        variable = f"RC_VALUE_{len(values) + 1}"
        secret = lone(part)
        if secret is None and mentioned([part]):
            findings.lost(step, f"a secret param in '{text.source}'", WHERE)
            return LOST_COMMAND, []
        values.append((variable, secret if secret is not None else part))
        out.append(f'"${{{variable}}}"')
    return "".join(out), values


def target_condition(
    findings: Findings, step: Step, expr: Expression, dialect: Dialect, refs: References
) -> str:
    """A condition in the target's language; `true` (and a finding) when it cannot be."""
    try:
        translated = condition(expr.source, refs, dialect)
    except Untranslatable as exc:
        findings.lost(step, f"the condition '{expr.source}'", str(exc))
        return "true"
    for name in mentioned([Expr(translated)]):
        findings.lost(step, f"secret param '{name}' in '{expr.source}'", WHERE)
        return "true"
    return translated


def whole_seconds(
    step: Step | None, findings: Findings, what: str, seconds: float, at: JsonPath = ()
) -> int:
    """Seconds as the positive integer both targets require, rounding up (and saying so)."""
    rounded = max(1, math.ceil(seconds))
    if rounded != seconds:
        findings.approximated(
            step, what, f"{seconds:g}s is rounded up to {rounded}s (whole seconds only)", at
        )
    return rounded


def note_wait_for_retry(step: Step, findings: Findings) -> None:
    """Both targets repeat a wait_for's check until its deadline; retrying the whole wait
    (what `retry:` on a wait_for step means) is not expressed."""
    if step.retry.attempts > 1:
        findings.lost(
            step, "retry of a wait_for", "its checks repeat until the deadline; the wait does not"
        )


def dns_label(step_id: str) -> str:
    """A step id as a Kubernetes-style name: lower case, digits and `-`."""
    return re.sub(r"[^a-z0-9-]+", "-", step_id.lower()).strip("-") or "step"


_EXPR_NAMES = frozenset(
    [
        "abs",
        "all",
        "and",
        "any",
        "ceil",
        "concat",
        "contains",
        "count",
        "date",
        "duration",
        "false",
        "filter",
        "find",
        "first",
        "flatten",
        "float",
        "floor",
        "get",
        "in",
        "int",
        "join",
        "keys",
        "last",
        "len",
        "let",
        "lower",
        "map",
        "matches",
        "max",
        "mean",
        "median",
        "min",
        "nil",
        "none",
        "not",
        "now",
        "one",
        "or",
        "reduce",
        "repeat",
        "replace",
        "reverse",
        "round",
        "sort",
        "split",
        "string",
        "sum",
        "timezone",
        "trim",
        "true",
        "type",
        "uniq",
        "upper",
        "values",
        "sprig",
    ]
)
"""Names that mean something in Argo's expressions: a task so named breaks `depends`
(argoproj/argo-workflows#12037, #12308)."""


def argo_task_name(step_id: str) -> str:
    """A step's Argo task and template name: a DNS label that is not an expression keyword."""
    name = dns_label(step_id)
    return f"{name}-step" if name in _EXPR_NAMES else name


LOST_COMMAND = (
    "echo 'recoverctl export: this command could not be exported (see the export "
    "warnings)' >&2; exit 70"
)
"""What `--lossy` writes for a command it could not translate: it fails, loudly, where the
runbook's text would otherwise run as shell code with its `{{ templates }}` left in."""


StepField = Callable[[Step, str, tuple[str, ...]], str]
"""(step, field, rest of the name) → the target's expression for that result."""


@dataclass(slots=True)
class References:
    """Resolves the names runbook expressions read, for one target and one place in it."""

    dialect: Dialect
    steps: dict[str, Step]
    param: Callable[[str], str]
    step_field: StepField
    run: dict[str, str]
    local: dict[str, str] = field(default_factory=dict)
    stored_outputs: bool = False
    """Outputs are recorded with the step's result (ASL), not recomputed from its stdout (Argo)."""
    secrets: frozenset[str] = frozenset()
    """Secret params: they read as a marker (export/secrets.py), never as an input."""
    param_types: ParamTypes = field(default_factory=ParamTypes)
    """What the translator may rely on of the params' types (Step Functions: typed JSON)."""

    def __call__(self, parts: tuple[str, ...]) -> str:
        root = parts[0]
        if root in self.local:  # an item's fields: `{{ node.name }}`
            return ".".join((self.local[root], *parts[1:]))
        if root == "params" and len(parts) == 2:
            if parts[1] in self.secrets:
                return marker(parts[1])
            return self.param(parts[1])
        if root == "run" and len(parts) == 2 and parts[1] in self.run:
            return self.run[parts[1]]
        if root == "steps" and len(parts) >= 3 and parts[1] in self.steps:
            step, name = self.steps[parts[1]], parts[2]
            if name not in RESULT_FIELDS or (name == "outputs") != (len(parts) == 4):
                raise Untranslatable(f"`{'.'.join(parts)}` is not a result the target records")
            if len(parts) == 3:
                return self.step_field(step, name, ())
            if self.stored_outputs:
                return self.step_field(step, name, parts[3:])
            return self.output(step, parts[3])
        raise Untranslatable(f"`{'.'.join(parts)}` has no equivalent")

    def output(self, step: Step, name: str) -> str:
        """An output is its template, evaluated over the step's recorded stdout and exit code."""
        output = next((o for o in step.outputs if o.name == name), None)
        if output is None:
            raise Untranslatable(f"step '{step.id}' has no output '{name}'")
        local = {
            "stdout": self.step_field(step, "stdout", ()),
            "exit_code": self.step_field(step, "exit_code", ()),
        }
        scoped = self.with_local(**local)
        lone = lone_expression(output.template.source)
        if lone is not None:
            return f"({translate(lone, self.dialect, scoped)})"
        return join_parts(
            translate_template(output.template.source, self.dialect, scoped), self.dialect
        )

    def with_local(self, **local: str) -> References:
        """These names too (an item's `as:`, a result's `stdout`), and the ones already here."""
        return replace(self, local={**self.local, **local})  # secrets and types kept


def join_parts(parts: list[str | Expr], dialect: Dialect) -> str:
    """Literal text and expressions as one string-valued target expression."""
    pieces = [
        dialect.const(p) if isinstance(p, str) else dialect.to_string(p.code) for p in parts
    ] or [dialect.const("")]
    return "(" + f" {dialect.concat} ".join(pieces) + ")"


def condition(source: str, refs: Resolver, dialect: Dialect) -> str:
    """A runbook condition as a strict boolean in the target language."""
    return dialect.truthy(translate(source, dialect, refs))


def steps_by_id(runbook: Runbook) -> dict[str, Step]:
    """Every step (rescue, rollback and guard steps too) by id."""
    return {step.id: step for step in all_steps(runbook)}


def fanout_loss(
    step: Step, fan: Foreach, *, loops_objects: bool, guards: bool, stops_running: bool
) -> str | None:
    """What a target's loop over one action (Argo's withItems/withParam, Step Functions'
    Map) would need to run this fan-out as recoverctl does — or None: it runs it exactly.
    Both keep `max_parallel` and stop starting items at the first failure (recoverctl's
    default budget). `loops_objects`: the target loops over written objects and names
    items by `key:`; `guards`: it evaluates `skip_if` per item; `stops_running`: a failed
    item stops the ones still running (recoverctl's `stop_running`), else they finish."""
    if step.on is not None:
        return "a transport to the target's hosts (an exported step runs in the engine's pod or runner)"
    if not step.is_action or isinstance(step.body, CallAction | WaitForAction):
        return "a loop over a group, a call or a wait (a loop over one run or http step is)"
    if fan.canary or fan.batch:
        return "a canary and rolling batches (waves that finish before the next starts)"
    if fan.max_failures or fan.max_failure_percent:
        return "a failure budget (the loop stops starting items at the first failed one)"
    if step.rollback is not None:
        return "an undo for each completed item"
    if step.skip_if is not None and not guards:
        return "skip_if per item"
    if fan.key is not None and not loops_objects:
        return "items named by `key:`"
    if isinstance(fan.items, tuple):
        scalars = all(isinstance(item, str | int | float | bool) for item in fan.items)
        if not (loops_objects or scalars):
            return "a written list of objects"
    elif lone_param(fan.items) is None:
        return "a loop over anything but a list param or a written list"
    if fan.stop_running and not stops_running:
        return "stop_running (the loop lets the running items finish)"
    if stops_running and not fan.stop_running and fan.max_parallel != 1:
        return (
            "letting the running items finish when one fails (the loop stops them; "
            "with max_parallel: 1 or stop_running: true it is the same)"
        )
    return None


def note_fanout_loss(step: Step, findings: Findings, *, how: str) -> None:
    """A fan-out the target cannot loop exactly: said at the step, never exported as one
    run of it passed off as the fan-out. `how`: what the target would need."""
    if step.foreach is None:
        return
    what = f"`on: {step.on}` (a step on each host of a target)" if step.on else "`foreach`"
    findings.lost(
        step,
        what,
        f"{how} is not generated; exported, the body would run once, not per item, "
        "without the waves and the failure budget",
    )


def limited(body: Group) -> bool:
    """A parallel group whose `max_parallel` is below its width: not all at once."""
    return body.parallel and body.max_parallel is not None and body.max_parallel < len(body.steps)


def note_group_losses(
    step: Step,
    body: Group,
    findings: Findings,
    *,
    timeout: str | None,
    max_parallel: str | None,
) -> None:
    """What a target cannot keep of a group: its own timeout, its rescue, and a
    `max_parallel` below its width (`timeout`, `max_parallel`: the target's reasons; None
    where the target keeps it)."""
    if timeout is not None and step.timeout_explicit and step.timeout is not None:
        findings.lost(step, "a group timeout", timeout)
    if step.rescue:
        findings.lost(step, "rescue of a group", "only action steps' rescue is exported")
    if max_parallel is not None and limited(body):
        findings.lost(step, f"max_parallel: {body.max_parallel}", max_parallel)


def durations_from_params(findings: Findings) -> None:
    """A duration read from a param is exported as the value the plan holds (its default):
    the exported workflow's parameter of that name does not change it. Said where it is
    written, once, however many steps inherit it."""
    for ref in findings.runbook.duration_params:
        findings.lost(
            None,
            f"`{ref.key}` read from params.{ref.param}",
            f"the export holds the param's default, {format_duration(parse_duration(ref.value))}; "
            "the exported workflow's parameter does not change it",
            span=ref.span,
        )


def unexpressed(step: Step, findings: Findings, target: str) -> None:
    """What an action declares that neither export can express: named at the step."""
    from recoverctl.model.runbook import HttpAction, WaitForAction

    body = step.body
    if isinstance(body, WaitForAction):
        if body.fail_if is not None:
            findings.lost(
                step,
                f"wait_for.fail_if '{body.fail_if.source}'",
                f"{target} polls until success or its bound, it cannot stop early on a condition",
            )
        if body.consecutive > 1:
            findings.lost(
                step,
                f"wait_for.consecutive: {body.consecutive}",
                f"{target} stops at the first successful poll",
            )
        body = body.check
    if isinstance(body, HttpAction):
        for name in ("ca_bundle", "client_cert", "client_key"):
            if getattr(body, name) is not None:
                findings.lost(
                    step, f"http.{name}", f"{target} runs the request without the runbook's files"
                )
