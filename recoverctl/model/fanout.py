"""Fan-out: one step run once per item of a list, and the ids its items carry.

A `foreach` step runs its body — an action, or a group of steps — once per
item, each item in its own scope: `restart[db-2]` is the item, its rollback
is `restart[db-2].rollback`, a step inside it is `rebuild[shard-1]/flush`.
The ids are stable across a resume (the key is the item's own text, never its
position), so the journal, `show`, resume, rollback and scenario tests all
speak of the same `restart[db-3]`.

Called runbooks nest the same way with `call/inner`; `scoped_id` and
`local_id` are the one place that knows both spellings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from recoverctl.model.text import Text

ON_TARGET_ITEMS = "{{ targets[...] }}"
"""The items of an `on: <target>` step: its target's hosts, read when the step runs."""
ITEM_KEY_FORBIDDEN = re.compile(r"[\[\]/\x00-\x1f\x7f]")
"""An item key is part of step ids: no brackets, no slash, no control characters."""
MAX_ITEM_KEY = 200


@dataclass(frozen=True, slots=True)
class Foreach:
    """How a step fans out: over which items, under which name, how many at once,
    in which waves, and how many failures it tolerates before it stops starting items."""

    items: Text | tuple[object, ...]
    """A template that renders to a list (`{{ params.hosts }}`), or the list itself."""
    var: str = "item"
    """The name the item's value has in the body's templates (`as:`)."""
    key: Text | None = None
    """A template over the item giving its id (`{{ item.name }}`); default: the item itself."""
    max_parallel: int | None = None
    """Items running at once (None: all of a wave at once)."""
    batch: int | None = None
    """Rolling waves of this many items: a wave finishes before the next starts."""
    canary: int = 0
    """The first this-many items run alone, first; any failure among them stops the fan-out."""
    max_failures: int | None = None
    max_failure_percent: float | None = None
    stop_running: bool = False
    """Past the budget, stop the items still running (default: they finish)."""

    def tolerated(self, total: int) -> int:
        """How many items may fail before the fan-out stops and fails (0 unless a budget
        says more: a recovery that fails on one host stops before the next)."""
        budget: list[int] = []
        if self.max_failures is not None:
            budget.append(self.max_failures)
        if self.max_failure_percent is not None:
            budget.append(math.floor(total * self.max_failure_percent / 100 + 1e-9))
        return min(budget) if budget else 0

    def waves(self, total: int) -> list[int]:
        """The sizes of the waves `total` items run in: the canary, then batches (or one
        wave of the rest); within a wave at most `max_parallel` run at once."""
        sizes: list[int] = []
        rest = total
        if self.canary and rest:
            sizes.append(min(self.canary, rest))
            rest -= sizes[-1]
        step = self.batch or rest
        while rest > 0:
            sizes.append(min(step, rest))
            rest -= sizes[-1]
        return sizes

    def rounds(self, total: int) -> int:
        """How many times one item's worst case the fan-out can take: per wave, its
        items in turns of `max_parallel`."""
        width = self.max_parallel
        return sum(math.ceil(size / width) if width else 1 for size in self.waves(total))


_LONE_PARAM = re.compile(r"^\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def lone_param(text: Text) -> str | None:
    """The param a template is nothing but (`{{ params.hosts }}` → `hosts`), or None: the
    plan counts such a list by its default, an export loops over the parameter."""
    lone = _LONE_PARAM.match(text.source)
    return lone.group(1) if lone else None


def item_prefix(step_id: str, key: str) -> str:
    return f"{step_id}[{key}]"


def scoped_id(prefix: str, local: str) -> str:
    """The run-wide id of `local`, a step of a called runbook (`call/`) or of an item
    (`step[key]`): the item itself is `""` inside, its rollback `.rollback`."""
    if prefix.endswith("/") or not local or local.startswith("."):
        return prefix + local
    return f"{prefix}/{local}"


def local_id(prefix: str, full: str) -> str | None:
    """The inverse of `scoped_id`: `full`'s id inside `prefix`, or None when not under it."""
    if prefix.endswith("/"):
        return full[len(prefix) :] if full.startswith(prefix) else None
    if full == prefix:
        return ""
    if full.startswith(prefix) and full[len(prefix)] in "./":
        rest = full[len(prefix) :]
        return rest[1:] if rest[0] == "/" else rest
    return None


def split_item(step_id: str) -> tuple[str, str, str] | None:
    """`rebuild[s1]/flush` → (`rebuild`, `s1`, `/flush`); None when the head is no item."""
    head = step_id.split("/", 1)[0]
    open_at = head.find("[")
    if open_at <= 0:
        return None
    close_at = step_id.find("]", open_at)
    if close_at < 0:
        return None
    return step_id[:open_at], step_id[open_at + 1 : close_at], step_id[close_at + 1 :]


_KEYS = re.compile(r"\[[^\]]*\]")


def is_generated(step_id: str) -> bool:
    """A rollback or guard action (`x.rollback`, `host[db-2.lan].skip_if`): shown on its
    owner's row. A dot inside an item's key (`restart[db-2.lan]`) is no such suffix."""
    return "." in _KEYS.sub("", step_id).rsplit("/", 1)[-1]


def template_id(step_id: str) -> str:
    """The plan's id of what a run id names: `restart[db-3]` → `restart`,
    `restart[db-3].rollback` → `restart.rollback`, `rebuild[s1]/flush` → `flush`."""
    while (item := split_item(step_id)) is not None:
        base, _key, rest = item
        step_id = rest[1:] if rest.startswith("/") else base + rest
    return step_id


def key_problem(key: str) -> str | None:
    """Why `key` cannot name an item (it becomes part of step ids), or None."""
    if not key:
        return "an empty item"
    if len(key) > MAX_ITEM_KEY:
        return f"an item of {len(key)} characters (at most {MAX_ITEM_KEY})"
    bad = ITEM_KEY_FORBIDDEN.search(key)
    if bad is not None:
        return f"item {key!r} holds {bad.group()!r} (no brackets, '/' or control characters)"
    return None
