"""Scenario files: loaded with the runbook loader, checked against their schema and their runbook.

Every mistake is positioned like a runbook's: an unknown step id (with a
suggestion), an outcome for a step that is not an action, a case a branch
does not have, a param the runbook does not declare.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recoverctl.compile import Plan, compile_plan
from recoverctl.errors import RecoverctlError
from recoverctl.load import LoadedDocument, load_file
from recoverctl.model.duration import parse_duration
from recoverctl.model.naming import SCENARIO_SUFFIXES, runbook_path_for
from recoverctl.model.runbook import Branch
from recoverctl.model.source import Diagnostic, JsonPath, Span, sorted_unique
from recoverctl.scenario.model import Expectation, Outcome, Scenario, ScenarioFile
from recoverctl.validate.pipeline import check_file
from recoverctl.validate.schema_check import scenario_schema_diagnostics
from recoverctl.validate.suggest import did_you_mean

SUFFIXES = SCENARIO_SUFFIXES

_WORDS = {
    "ok": Outcome(),
    "fail": Outcome(ok=False, exit_code=1, error="exited with 1 (scenario)"),
    "timeout": Outcome(ok=False, exit_code=None, timed_out=True),
}


@dataclass(slots=True)
class Loaded:
    """A scenario file with its runbook's plan, or the problems found."""

    path: Path
    file: ScenarioFile | None
    plan: Plan | None
    diagnostics: list[Diagnostic]


def load_scenarios(path: Path) -> Loaded:
    try:
        doc = load_file(path)
    except RecoverctlError as exc:
        return Loaded(path, None, None, list(exc.diagnostics))
    problems = scenario_schema_diagnostics(doc)
    if problems:
        return Loaded(path, None, None, sorted_unique(problems))
    data: dict[str, Any] = doc.data
    runbook = path.parent / data["runbook"] if "runbook" in data else runbook_path_for(path)
    checked = check_file(runbook)
    if checked.runbook is None:
        where = doc.source_map.value_span(("runbook",)) if "runbook" in data else Span.point(1, 1)
        note = Diagnostic(path, where, f"the runbook under test ({runbook}) is invalid", "scenario")
        return Loaded(path, None, None, [note, *checked.diagnostics])
    plan = compile_plan(checked.runbook, checked.callees)
    builder = _Builder(doc, plan)
    scenarios = tuple(
        builder.scenario(item, ("scenarios", index)) for index, item in enumerate(data["scenarios"])
    )
    if builder.problems:
        return Loaded(path, None, plan, sorted_unique(builder.problems))
    return Loaded(path, ScenarioFile(path, runbook, scenarios), plan, [])


class _Builder:
    def __init__(self, doc: LoadedDocument, plan: Plan) -> None:
        self.doc, self.plan = doc, plan
        self.problems: list[Diagnostic] = []
        self.ids = set(_all_ids(plan))
        self.actions = {sid for sid in self.ids if _is_action(plan, sid)}

    def scenario(self, data: dict[str, Any], path: JsonPath) -> Scenario:
        params = dict(data.get("params", {}))
        declared = {p.name for p in self.plan.runbook.params}
        for name in params:
            if name not in declared:
                self._error(
                    (*path, "params", name),
                    f"unknown param '{name}' for {self.plan.runbook.name}",
                    did_you_mean(name, declared),
                    key=True,
                )
        outcomes: dict[str, tuple[Outcome, ...]] = {}
        for step_id, spec in data.get("steps", {}).items():
            where = (*path, "steps", step_id)
            if self._known(step_id, where) and not self._action(step_id):
                self._error(
                    where,
                    f"'{step_id}' is a group or a branch: only action steps have outcomes",
                    "give outcomes to the steps inside it",
                    key=True,
                )
            outcomes[step_id] = tuple(
                _outcome(item) for item in (spec if isinstance(spec, list) else [spec])
            )
        force = dict(data.get("force", {}))
        for step_id, label in force.items():
            self._check_case(step_id, label, (*path, "force", step_id))
        return Scenario(
            name=data["name"],
            span=self.doc.source_map.value_span(path),
            params=params,
            outcomes=outcomes,
            force=force,
            expect=self.expectation(data["expect"], (*path, "expect")),
        )

    def expectation(self, data: dict[str, Any], path: JsonPath) -> Expectation:
        for key in ("ran", "not_run", "skipped", "rolled_back", "finally"):
            for index, step_id in enumerate(data.get(key, [])):
                self._known(step_id, (*path, key, index))
        for key in ("attempts", "statuses"):
            for step_id in data.get(key, {}):
                self._known(step_id, (*path, key, step_id), key=True)
        for step_id, label in data.get("branches", {}).items():
            self._check_case(step_id, label, (*path, "branches", step_id))
        rolled = data.get("rolled_back")
        return Expectation(
            status=data.get("status"),
            exit_code=data.get("exit_code"),
            ran=tuple(data.get("ran", ())),
            not_run=tuple(data.get("not_run", ())),
            skipped=tuple(data.get("skipped", ())),
            rolled_back=tuple(rolled) if rolled is not None else None,
            branches=dict(data.get("branches", {})),
            attempts=dict(data.get("attempts", {})),
            statuses=dict(data.get("statuses", {})),
            finally_ran=tuple(data.get("finally", ())),
            max_duration=parse_duration(data["max_duration"]) if "max_duration" in data else None,
        )

    def _check_case(self, step_id: str, label: str, where: JsonPath) -> None:
        if not self._known(step_id, where, key=True):
            return
        node = self.plan.nodes.get(step_id)
        if node is None or not isinstance(node.step.body, Branch):
            self._error(where, f"'{step_id}' is not a branch", None, key=True)
            return
        labels = [case.label for case in node.step.body.cases]
        if label not in labels:
            self._error(
                where,
                f"branch '{step_id}' has no case '{label}'; its cases: {', '.join(labels)}",
                did_you_mean(label, labels),
            )

    def _known(self, step_id: str, where: JsonPath, *, key: bool = False) -> bool:
        if step_id in self.ids or ("[" in step_id and self.plan.resolve(step_id) is not None):
            return True  # a fan-out's item too: `restart[db-3]`, `rebuild[s1]/flush`
        self._error(
            where,
            f"unknown step '{step_id}' in {self.plan.runbook.name}",
            did_you_mean(step_id, self.ids),
            key=key,
        )
        return False

    def _action(self, step_id: str) -> bool:
        if step_id in self.actions:
            return True
        node = self.plan.resolve(step_id) if "[" in step_id else None
        return node is not None and node.step.is_action and node.step.kind != "call"

    def _error(self, where: JsonPath, message: str, hint: str | None, *, key: bool = False) -> None:
        span = self.doc.source_map.key_span(where) if key else self.doc.source_map.value_span(where)
        self.problems.append(Diagnostic(self.doc.path, span, message, "scenario", hint=hint))


def _outcome(spec: Any) -> Outcome:
    if isinstance(spec, str):
        return _WORDS[spec]
    exit_code = spec.get("exit_code", 124 if spec.get("timed_out") else 0)
    ok = exit_code == 0 and not spec.get("timed_out", False) and "error" not in spec
    return Outcome(
        ok=ok,
        exit_code=None if spec.get("timed_out") else exit_code,
        stdout=spec.get("stdout", ""),
        stderr=spec.get("stderr", ""),
        outputs=spec.get("outputs"),
        timed_out=spec.get("timed_out", False),
        delay=parse_duration(spec["delay"]) if "delay" in spec else 0.0,
        error=spec.get("error") or (None if ok else f"exited with {exit_code} (scenario)"),
    )


def _all_ids(plan: Plan, prefix: str = "") -> Iterator[str]:
    for node_id, node in plan.nodes.items():
        yield prefix + node_id
        if node.callee is not None:
            yield from _all_ids(node.callee, f"{prefix}{node_id}/")


def _is_action(plan: Plan, step_id: str) -> bool:
    head, _, rest = step_id.partition("/")
    node = plan.nodes.get(head)
    if node is None:
        return False
    if rest and node.callee is not None:
        return _is_action(node.callee, rest)
    return node.step.is_action and node.step.kind != "call"
