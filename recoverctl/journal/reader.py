"""Reads a journal back: every good record, and a positioned note for every bad one.

A power cut can tear the last line; a disk or a hand edit can spoil one in
the middle. Neither may make a run unreadable: a torn tail is dropped (and
the writer truncates it before appending, see `torn_tail_offset`), a corrupt
or unknown record is skipped and reported with its line, and the rest
replays. What the reader refuses is a journal written by a newer
recoverctl: guessing at a format it does not know would replay a false story.

Every field is checked against its event's type before it is built, so a
record with `"text": true` is a reported bad record, not a crash later in a
view (`bool has no splitlines`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.engine.events import EVENT_SCHEMA_VERSION, EVENT_TYPES, Event, RunStarted
from recoverctl.errors import RecoverctlError
from recoverctl.model.source import Diagnostic, Severity, Span


@dataclass(slots=True)
class Journal:
    events: list[Event]
    records: list[dict[str, Any]]
    torn_tail: bool
    """The last line was cut by a crash and was ignored."""
    problems: list[Diagnostic] = field(default_factory=list)
    """Records that were skipped, each at its line: corrupt, unknown or of the wrong shape."""
    good_bytes: int = 0
    """Length of the journal up to the end of its last complete line."""

    @property
    def plan_hash(self) -> str | None:
        return next((r.get("plan_hash") for r in self.records if r.get("plan_hash")), None)

    @property
    def started(self) -> RunStarted | None:
        return next((e for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def last_seq(self) -> int:
        return max((int(r.get("seq", 0)) for r in self.records), default=0)


def read_journal(path: Path) -> Journal:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecoverctlError(
            message=f"no journal at {path}",
            hint="the run was stopped before it recorded anything, so no step had started: "
            "run the runbook again",
        ) from None
    except OSError as exc:
        raise RecoverctlError(message=f"cannot read the journal {path}: {exc.strerror}") from None
    return parse_journal(raw, path)


def parse_journal(raw: bytes, path: Path) -> Journal:
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    journal = Journal([], [], torn_tail=bool(tail.strip()), good_bytes=len(raw) - len(tail))
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            record = _record(line)
        except _BadRecord as bad:
            if number == len(complete) and not journal.torn_tail:
                # a last line that ends in a newline but does not parse: torn by a crash too
                journal.torn_tail = True
                journal.good_bytes -= len(line) + 1
                break
            journal.problems.append(
                Diagnostic(
                    path,
                    Span.point(number, 1),
                    f"skipped journal record: {bad}",
                    "journal",
                    Severity.WARNING,
                    hint="the other records are read; the run's state may lack this event",
                )
            )
            continue
        except _Newer as newer:
            raise RecoverctlError(
                [Diagnostic(path, Span.point(number, 1), str(newer), "journal")],
            ) from None
        journal.records.append(record)
        journal.events.append(_event(record))
    return journal


class _BadRecord(Exception):
    pass


class _Newer(Exception):
    pass


def _record(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise _BadRecord(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise _BadRecord(f"expected an object, found {type(record).__name__}")
    version = record.get("v", EVENT_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _BadRecord(f"`v` must be a whole number, found {version!r}")
    if version > EVENT_SCHEMA_VERSION:
        raise _Newer(
            f"this journal was written by a newer recoverctl (record format v{version}; this "
            f"one reads up to v{EVENT_SCHEMA_VERSION}): upgrade recoverctl to read it"
        )
    kind = record.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise _BadRecord(f"unknown event {kind!r} (expected one of: {known})")
    seq = record.get("seq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise _BadRecord(f"`seq` must be a whole number, found {seq!r}")
    for name, allowed in _field_types(cls).items():
        if name in record and not _fits(record[name], allowed):
            expected = " or ".join(sorted(allowed))
            raise _BadRecord(
                f"{kind}.{name}: expected {expected}, found {type(record[name]).__name__}"
            )
    for name in _required(cls):
        if name not in record:
            raise _BadRecord(f"{kind} record without its `{name}`")
    return record


def _event(record: dict[str, Any]) -> Event:
    cls = EVENT_TYPES[record["event"]]
    names = _field_types(cls)
    return cls(**{k: v for k, v in record.items() if k in names})


_TYPES_BY_WORD = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "None": "null",
    "list": "list",
    "dict": "object",
    "Any": "any",
}
_FIELD_TYPES: dict[type, dict[str, frozenset[str]]] = {}
_LARGEST = 1e15
"""Numbers beyond this in a record are corrupt: no timestamp, duration or pid gets there."""


def _field_types(cls: type) -> dict[str, frozenset[str]]:
    """Each field's allowed JSON types, read from the dataclass annotations (`str | None`)."""
    cached = _FIELD_TYPES.get(cls)
    if cached is None:
        cached = {}
        for f in dataclasses.fields(cls):
            allowed = set()
            for written in str(f.type).split("|"):  # the events' annotations nest no unions
                part = written.strip()
                allowed.add(
                    "strings"
                    if part == "list[str]"
                    else _TYPES_BY_WORD.get(part.split("[", 1)[0], "any")
                )
            cached[f.name] = frozenset(allowed)
        _FIELD_TYPES[cls] = cached
    return cached


def _required(cls: type) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


def _fits(value: Any, allowed: frozenset[str]) -> bool:
    if "any" in allowed:
        return True
    if value is None:
        return "null" in allowed
    if isinstance(value, bool):
        return "boolean" in allowed
    if isinstance(value, int | float):
        in_range = math.isfinite(value) and abs(value) < _LARGEST  # a time views can print
        kinds = {"integer", "number"} if isinstance(value, int) else {"number"}
        return in_range and bool(allowed & kinds)
    if isinstance(value, str):
        return "string" in allowed
    if isinstance(value, list):
        if "strings" in allowed:
            return all(isinstance(item, str) for item in value)
        return "list" in allowed
    if isinstance(value, dict):
        return "object" in allowed
    return False
