"""Every runbook example in docs/format.md validates and compiles: the docs cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recoverctl.compile import compile_plan
from recoverctl.validate.pipeline import check_file
from tests.conftest import ROOT

FORMAT = ROOT / "docs" / "format.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", FORMAT.read_text(encoding="utf-8"), flags=re.S)


def test_there_are_examples_for_every_kind() -> None:
    text = "\n".join(BLOCKS)
    for key in [
        "run:",
        "http:",
        "wait_for:",
        "sleep:",
        "approval:",
        "log:",
        "assert:",
        "call:",
        "parallel:",
        "steps:",
        "branch:",
        "rollback:",
        "rescue:",
        "skip_if:",
        "outputs:",
        "locks:",
        "finally:",
        "params:",
        "objectives:",
        "defaults:",
        "concurrency:",
    ]:
        assert key in text, key


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_validates(index: int, tmp_path: Path) -> None:
    # laid out as in a checkout (docs/ beside runbooks/) so relative call: paths resolve
    (tmp_path / "runbooks").symlink_to(ROOT / "runbooks")
    (tmp_path / "docs").mkdir()
    path = tmp_path / "docs" / f"example-{index}.yaml"
    path.write_text(BLOCKS[index], encoding="utf-8")
    checked = check_file(path)
    assert checked.runbook is not None, [
        f"{d.location()}: {d.message}" for d in checked.diagnostics
    ]
    compile_plan(checked.runbook, checked.callees)
