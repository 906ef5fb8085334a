"""`--output json`: one JSON object per event on stdout, for CI and other tools.

Each line is `{"v": 1, "event": "<kind>", "ts": …, "mono": …, …fields}`;
docs/events.md and schemas/events.schema.json describe every kind. Textual
fields are already redacted by the engine.
"""

from __future__ import annotations

import json
from typing import TextIO

from recoverctl.engine.events import EVENT_SCHEMA_VERSION, Event


class JsonLines:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        record = {"v": EVENT_SCHEMA_VERSION, **event.to_dict()}
        self.stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self.stream.flush()
