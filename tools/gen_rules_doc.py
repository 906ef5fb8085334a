"""Writes docs/rules.md from the rules' own docs (`--check` in CI keeps it current)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recoverctl.lint.registry import RULES, VALIDATION_CHECKS, rule_anchor  # noqa: E402

TARGET = ROOT / "docs" / "rules.md"


def render() -> str:
    lines = [
        "# Lint rules",
        "",
        "`recoverctl lint` checks that a runbook is a good recovery, not just a well-formed file.",
        "Suppress a finding with `# recoverctl: noqa RC201` on its line; choose rules with",
        "`--select`/`--ignore` or `[tool.recoverctl.lint]` in pyproject.toml (`select`, `ignore`,",
        "`fail-on`, `max-paths`, `max-depth`), or a `lint:` mapping in `.recoverctl.yaml`.",
        "Generated from `recoverctl/lint/rules/*.md` by `tools/gen_rules_doc.py`.",
        "",
        "| code | name | severity | what it finds |",
        "|---|---|---|---|",
    ]
    for rule in RULES:
        lines.append(
            f"| [{rule.code}](#{rule_anchor(rule.code, rule.name)}) | `{rule.name}` | {rule.severity.value} | {rule.summary} |"
        )
    lines.append("")
    for rule in RULES:
        module = sys.modules[type(rule).__module__].__file__
        text = Path(str(module)).with_suffix(".md").read_text(encoding="utf-8").strip()
        lines += [
            text.replace("# ", "## ", 1).replace("\n## ", "\n### "),
            f"\nSeverity: {rule.severity.value}.",
            "",
        ]
    lines += [
        "## Validation errors",
        "",
        "A file that does not validate is reported with one of these codes instead of an RC",
        "rule (SARIF lists them as rules too). They are always errors: fix them first.",
        "",
    ]
    for code, summary, why in VALIDATION_CHECKS:
        lines += [f"### validation: {code}", "", f"{summary[0].upper()}{summary[1:]}.", "", why, ""]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print("docs/rules.md is stale: run python tools/gen_rules_doc.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
