"""Every command that reads a journal, over journals damaged every way a disk or a hand can.

A real run's folder is copied per case and its journal spoiled (bytes flipped,
cut anywhere, lines dropped, swapped or duplicated, fields given wrong types,
numbers out of range, records from the future); then `show`, `report` in
every format, `runs`, `stats`, `resume` and `rollback` run on it. Each must end
with a documented exit code and a message — never an internal error.
`RECOVERCTL_FUZZ_JOURNALS` sets the count (CI: 60; bench/hardening.py: 1,000).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.helpers import run_step, runbook_data, write_runbook

CASES = int(os.environ.get("RECOVERCTL_FUZZ_JOURNALS", "60"))
DOCUMENTED = {0, 1, 2, 3, 4, 5, 130}

WRONG_VALUES = [None, True, 1e308, -1, "x", [], {}, [1, "a"], {"k": None}, 10**20, "\x1b[2J"]


def _spoil(lines: list[str], rng: random.Random) -> str:
    text = "".join(lines)
    how = rng.randrange(8)
    if how == 0:  # flip bytes
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return data.decode("utf-8", errors="replace")
    if how == 1:  # cut anywhere
        return text[: rng.randrange(len(text))]
    if how == 2:  # drop, swap or repeat lines
        spoiled = list(lines)
        i, j = rng.randrange(len(spoiled)), rng.randrange(len(spoiled))
        choice = rng.randrange(3)
        if choice == 0:
            del spoiled[i]
        elif choice == 1:
            spoiled[i], spoiled[j] = spoiled[j], spoiled[i]
        else:
            spoiled.insert(i, spoiled[j])
        return "".join(spoiled)
    if how in (3, 4, 5):  # a field of the wrong type or out of range
        spoiled = list(lines)
        i = rng.randrange(len(spoiled))
        record = json.loads(spoiled[i])
        key = rng.choice(list(record))
        record[key] = rng.choice(WRONG_VALUES)
        spoiled[i] = json.dumps(record) + "\n"
        return "".join(spoiled)
    if how == 6:  # an unknown or future record
        spoiled = list(lines)
        spoiled.insert(
            rng.randrange(len(spoiled)),
            json.dumps({"v": rng.choice([1, 2, 99]), "seq": 0, "event": rng.choice(["x", "log"])})
            + "\n",
        )
        return "".join(spoiled)
    return rng.choice(["", "\n", "null\n", "[]\n", "{}\n"])  # nothing usable at all


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("journal-fuzz")
    path = write_runbook(
        base,
        runbook_data(
            run_step("probe", "echo up", outputs={"state": "{{ stdout | trim }}"}),
            {
                "id": "pick",
                "branch": [
                    {
                        "when": "steps.probe.outputs.state == 'up'",
                        "steps": [run_step("fix", "true", rollback={"run": "true"})],
                    },
                    {"else": [run_step("other")]},
                ],
            },
            run_step("verify", "exit 1"),
        ),
    )
    os.environ["RECOVERCTL_STATE_DIR"] = str(base / "state")
    try:
        result = invoke(["run", str(path), "--no-tty", "-q"])
    finally:
        del os.environ["RECOVERCTL_STATE_DIR"]
    assert result.exit_code == 1, result.output
    (run_dir,) = (base / "state" / "runs").iterdir()
    return run_dir, path.read_text()


COMMANDS = [
    ["show"],
    ["report"],
    ["report", "--format", "json"],
    ["report", "--format", "junit"],
    ["report", "--format", "prometheus"],
    ["resume", "--force", "--rerun"],
    ["rollback", "--force", "--yes"],
]


def test_no_damaged_journal_makes_any_command_fail_internally(
    tmp_path: Path, real_run: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = real_run
    lines = (run_dir / "journal.jsonl").read_text().splitlines(keepends=True)
    rng = random.Random(20261202)  # noqa: S311 - reproducible damage, not cryptography
    for case in range(CASES):
        state = tmp_path / f"s{case}"
        target = state / "runs" / run_dir.name
        shutil.copytree(run_dir, target)
        (target / "journal.jsonl").write_text(_spoil(lines, rng), encoding="utf-8")
        monkeypatch.setenv("RECOVERCTL_STATE_DIR", str(state))
        command = COMMANDS[case % len(COMMANDS)]
        result = invoke([command[0], run_dir.name, *command[1:]])
        crashed = result.exception if not isinstance(result.exception, SystemExit) else None
        assert crashed is None, (case, command, repr(crashed), result.output)
        assert result.exit_code in DOCUMENTED, (case, command, result.output)
        assert "internal error" not in result.output, (case, command, result.output)
        for listing in (["runs"], ["stats"]):
            listed = invoke(listing)
            assert listed.exception is None or isinstance(listed.exception, SystemExit)
            assert listed.exit_code == 0, (case, listing, listed.output)
