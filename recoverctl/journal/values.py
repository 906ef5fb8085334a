"""What resume needs that the journal must not say: the run's values, unredacted.

The journal is redacted and bounded — it is the record people and reports
read. A resumed run must see exactly what the first session saw: a param
whose value merely *contains* a secret, an output computed from a token, a
stdout longer than the journal's 4 KiB tail. Those are kept here, in
`values.jsonl` beside the journal, private (0600, never followed through a
link), one line per fact. Secret params themselves are never stored: resume
asks for them again (their `env:` or `-p`) and refuses without them.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.engine.encode import json_safe

LIMIT = 1024 * 1024
"""Characters kept of one stdout or stderr (the capture's own bound)."""


@dataclass(slots=True)
class Values:
    params: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Step id → {stdout, stderr, outputs} as templates read them."""


class ValuesWriter:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def params(self, values: dict[str, Any], secrets: frozenset[str]) -> None:
        kept = {k: v for k, v in values.items() if k not in secrets}
        self._write({"params": kept})

    def step(self, step_id: str, raw: dict[str, Any]) -> None:
        self._write(
            {
                "step": step_id,
                "stdout": str(raw.get("stdout", ""))[-LIMIT:],
                "stderr": str(raw.get("stderr", ""))[-LIMIT:],
                "outputs": raw.get("outputs", {}),
            }
        )

    def _write(self, record: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the journal is the record; this only helps resume
            self.handle.write(json.dumps(json_safe(record, str), ensure_ascii=False) + "\n")
            self.handle.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()


def read_values(path: Path) -> Values:
    """Every complete line; a torn or spoiled one is skipped (the journal says what ran)."""
    values = Values()
    try:
        raw = path.read_bytes()
    except OSError:
        return values
    for line in raw.split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("params"), dict):
            values.params.update(record["params"])
        elif isinstance(record.get("step"), str):
            values.steps[record["step"]] = {
                "stdout": str(record.get("stdout", "")),
                "stderr": str(record.get("stderr", "")),
                "outputs": record.get("outputs") if isinstance(record.get("outputs"), dict) else {},
            }
    return values
