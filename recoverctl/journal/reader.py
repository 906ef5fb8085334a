"""Reads a journal back, tolerating the torn last line a crash can leave."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recoverctl.engine.events import Event, RunStarted, event_from_dict
from recoverctl.errors import RecoverctlError
from recoverctl.model.source import Diagnostic, Span


@dataclass(slots=True)
class Journal:
    events: list[Event]
    records: list[dict[str, Any]]
    torn_tail: bool
    """The last line was cut by a crash and was ignored."""

    @property
    def plan_hash(self) -> str | None:
        return self.records[0].get("plan_hash") if self.records else None

    @property
    def started(self) -> RunStarted | None:
        return next((e for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def last_seq(self) -> int:
        return int(self.records[-1]["seq"]) if self.records else 0


def read_journal(path: Path) -> Journal:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecoverctlError(message=f"no journal at {path}") from None
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    events: list[Event] = []
    records: list[dict[str, Any]] = []
    torn = bool(tail.strip())
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            events.append(event_from_dict(record))
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(complete) and not tail.strip():
                torn = True  # the last complete-looking line is the torn one
                break
            raise RecoverctlError(
                [
                    Diagnostic(
                        path, Span.point(number, 1), f"corrupt journal record: {exc}", "journal"
                    )
                ]
            ) from None
        records.append(record)
    return Journal(events, records, torn)
