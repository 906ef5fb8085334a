"""RC501: yes/no/on/off read as booleans where a word was probably meant."""

from __future__ import annotations

from collections.abc import Iterator

from recoverctl.lint.rule import LintContext, Rule
from recoverctl.model.source import Diagnostic, Severity


class Yaml11Boolean(Rule):
    code = "RC501"
    name = "yaml11-boolean"
    severity = Severity.WARNING
    summary = "a YAML 1.1 boolean word (yes, no, on, off) is used as a value"

    def check(self, ctx: LintContext) -> Iterator[Diagnostic]:
        for path, word in sorted(ctx.runbook.yaml11_booleans.items(), key=lambda kv: str(kv[0])):
            yield self.finding(
                ctx,
                ctx.runbook.source_map.value_span(path),
                f"'{word}' is read as the boolean {str(word.lower() in ('y', 'yes', 'on')).lower()} "
                "(YAML 1.1), which other YAML readers treat as text",
                hint=f"write true/false for a boolean, or quote it: '{word}'",
            )
