"""What a rule is: a stable code and name, a severity, a doc beside it, and a check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from recoverctl.compile.plan import Plan
from recoverctl.model.runbook import Runbook, Step
from recoverctl.model.source import Diagnostic, Severity, Span


@dataclass(frozen=True, slots=True)
class LintContext:
    """What a rule may read: the model, the plan, and the settings."""

    runbook: Runbook
    plan: Plan
    max_paths: int = 64
    max_depth: int = 5


@dataclass(frozen=True, slots=True)
class RuleDoc:
    why: str
    problematic: str
    correct: str


class Rule:
    """Subclass, set the class attributes, implement `check`; put `<module>.md` beside it."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        raise NotImplementedError

    def finding(
        self, ctx: LintContext, span: Span, message: str, *, hint: str | None = None
    ) -> Diagnostic:
        return Diagnostic(
            ctx.runbook.path, span, message, self.code, self.severity, hint, self.name
        )

    def at_step(
        self,
        ctx: LintContext,
        step: Step,
        message: str,
        *,
        key: str | None = None,
        hint: str | None = None,
    ) -> Diagnostic:
        """A finding on a step, on one of its keys when given."""
        span = ctx.runbook.source_map.key_span((*step.path, key)) if key else _id_span(ctx, step)
        return self.finding(ctx, span, message, hint=hint)

    @cached_property
    def doc(self) -> RuleDoc:
        import sys

        return load_doc(Path(str(sys.modules[type(self).__module__].__file__)).with_suffix(".md"))


def _id_span(ctx: LintContext, step: Step) -> Span:
    return ctx.runbook.source_map.value_span((*step.path, "id")) if step.path else step.span


_SECTION = re.compile(r"^## (?P<title>.+)$", re.M)
_YAML = re.compile(r"```yaml\n(?P<body>.*?)```", re.S)


def load_doc(path: Path) -> RuleDoc:
    """A rule's doc: `## Why`, `## Problematic` and `## Correct` sections, examples in yaml blocks."""
    text = path.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    matches = list(_SECTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group("title").strip().lower()] = text[match.end() : end].strip()

    def example(name: str) -> str:
        found = _YAML.search(sections.get(name, ""))
        return found.group("body") if found else ""

    return RuleDoc(sections.get("why", ""), example("problematic"), example("correct"))
