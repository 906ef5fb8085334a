"""Every rule: a unique code and name, a severity, docs with examples that prove it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recoverctl.lint.config import LintConfig
from recoverctl.lint.registry import RULES
from recoverctl.lint.runner import lint_files

IDS = [r.code for r in RULES]


def test_codes_and_names_are_unique_and_well_formed() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert re.fullmatch(r"RC[1-9]\d\d", rule.code), rule.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
        assert rule.summary and rule.severity


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_doc_has_why_and_both_examples(rule) -> None:  # type: ignore[no-untyped-def]
    assert len(rule.doc.why) > 40
    assert rule.doc.problematic.startswith("version: 1")
    assert rule.doc.correct.startswith("version: 1")


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_problematic_example_triggers_the_rule_and_correct_does_not(rule, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.yaml"
    bad.write_text(rule.doc.problematic)
    good.write_text(rule.doc.correct)
    if rule.code == "RC404":  # its correct example is "with a scenario file beside it"
        (tmp_path / "good.test.yaml").write_text(
            "version: 1\nscenarios:\n  - {name: plain, expect: {}}\n"
        )
    config = LintConfig(select=[rule.code])
    bad_result, good_result = lint_files([bad, good], config)
    assert not bad_result.invalid, [d.message for d in bad_result.findings]
    assert not good_result.invalid, [d.message for d in good_result.findings]
    assert {f.code for f in bad_result.findings} == {rule.code}
    assert good_result.findings == []


def test_docs_rules_md_is_current() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "tools/gen_rules_doc.py", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
