"""`foreach`: one step run once per item, in waves, within a failure budget.

Each item runs in a child engine on the item plan the compiler made (one step,
id `""`; compile/compiler.py `item_runbook`), the way a called runbook does
(engine/calls.py): its events carry the item's ids (`restart[db-2]`,
`restart[db-2].rollback`, `rebuild[s1]/flush`), its state and values are its
own, and its templates see the run's names plus the item (`as:`).

The list is read once and journaled (`FanoutPlanned`); a resume runs those
items, not a list read again, and never runs an item that completed. Waves:
the canary alone first, then each batch; within a wave at most `max_parallel`
at once. When failures pass the budget — or any canary fails — no new item
starts, the running ones finish, the rest are recorded as not started, and the
fan-out fails (its `on_failure` decides what that does). A rollback undoes the
items that completed, last first (engine/saga.py finds them by their ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from recoverctl.actions.hosts import Remote
from recoverctl.actions.remote import TargetError, resolve, stop_leftover
from recoverctl.compile.plan import Plan
from recoverctl.engine.attempts import Attempts
from recoverctl.engine.calls import ChildRun
from recoverctl.engine.events import FanoutPlanned, StepFinished, StepStarted
from recoverctl.engine.failure import FailurePolicy
from recoverctl.engine.services import RunAborted, Services
from recoverctl.expr.render import RenderError, render, render_value
from recoverctl.load.inventory import InventoryError, read_inventory
from recoverctl.model.fanout import Foreach, item_prefix, key_problem, local_id
from recoverctl.model.runbook import Step, Text
from recoverctl.model.status import OK_STEP_STATUSES, StepStatus
from recoverctl.model.targets import Target

MAX_ITEMS = 10_000
"""More items than any fleet a runbook should touch in one step: a list this long is
far more likely a template gone wrong (a file read as lines) than a fleet."""


class FanoutError(Exception):
    """The items could not be read: the fan-out fails before any item starts."""


class FanoutHost(Services, Protocol):
    def item_child(
        self,
        plan: Plan,
        prefix: str,
        scope: Mapping[str, Any],
        *,
        resumed: bool,
        remote: Remote | None = None,
    ) -> ChildRun:
        """An engine for one item: its ids under `prefix`, `scope` its item variable."""


async def run_foreach(
    host: FanoutHost, step: Step, policy: FailurePolicy, attempts: Attempts, replaying: bool
) -> None:
    fan = step.foreach
    node = host.plan.nodes.get(step.id)
    assert fan is not None and node is not None and node.item is not None  # noqa: S101
    started = host.clock.monotonic()
    planned = host.state.fanouts.get(step.id) if replaying else None
    if planned is None:
        unknown = _simulated_items(step, host)
        if unknown:
            host.note(
                "info",
                f"'{step.id}': its items are undetermined (they come from "
                f"{', '.join(unknown)}, simulated in this dry run): it fans out when it runs",
            )
            host.emit(
                StepFinished(
                    step_id=step.id,
                    status=StepStatus.SUCCEEDED,
                    simulated=True,
                    reason=f"items undetermined: they come from {', '.join(unknown)} (simulated)",
                )
            )
            return
        try:
            values = read_items(step, host)
            keys = item_keys(fan, values, host)
        except FanoutError as exc:
            await policy.fail(step, f"foreach: {exc}", 0, 0.0)
            return
        event = FanoutPlanned(
            step_id=step.id,
            keys=keys,
            values=values,
            waves=fan.waves(len(keys)),
            max_parallel=fan.max_parallel,
            tolerated=fan.tolerated(len(keys)),
        )
        host.emit(event)
        planned = event
    count = len(planned.keys)
    what = f"on {step.on}" if step.on else "foreach"
    host.emit(
        StepStarted(step_id=step.id, attempt=1, action=f"{what}: {count} item{'s' * (count != 1)}")
    )
    if count == 0:  # a green step that did nothing must say so
        host.note("warning", f"'{step.id}': the list of items is empty; nothing ran")
    run = _Fanout(host, step, fan, node.item, planned, replaying)
    try:
        await run.waves()
    except (RunAborted, asyncio.CancelledError) as stopped:
        run.not_started("the run stopped")
        host.emit(
            StepFinished(
                step_id=step.id,
                status=StepStatus.CANCELLED,
                duration=host.clock.monotonic() - started,
                # a failure, or from outside: the run's timeout, Ctrl-C, a group's timeout
                reason="stopped by a failure" if isinstance(stopped, RunAborted) else "cancelled",
            )
        )
        raise
    duration = host.clock.monotonic() - started
    outputs = run.outputs()
    if run.over_budget:
        await policy.fail(step, run.verdict(), 1, duration)
        return
    attempts.finish(step, StepStatus.SUCCEEDED, 1, duration, None, outputs, reason=run.verdict())


class _Fanout:
    """One fan-out's items, their waves, and the tally its budget is checked against."""

    def __init__(
        self,
        host: FanoutHost,
        step: Step,
        fan: Foreach,
        item_plan: Plan,
        planned: FanoutPlanned,
        replaying: bool,
    ) -> None:
        self.host, self.step, self.fan, self.item_plan = host, step, fan, item_plan
        self.keys = list(planned.keys)
        self.value_of = dict(zip(planned.keys, planned.values, strict=False))
        """Each item's value by its key (an item id names its key, never its position)."""
        self.sizes, self.tolerated = list(planned.waves), planned.tolerated
        self.max_parallel = planned.max_parallel
        self.replaying = replaying
        self.failed: list[str] = []
        self.stop: str | None = None
        """Why no new item starts (the budget, a canary), once that is so."""
        self.running: dict[str, asyncio.Task[None]] = {}
        self.stopped: set[str] = set()
        """Items stopped while running because the budget was exceeded (`stop_running`)."""
        self.hostvars: dict[str, dict[str, str]] | None = None

    @property
    def over_budget(self) -> bool:
        return self.stop is not None or len(self.failed) > self.tolerated

    def status(self, key: str) -> str:
        state = self.host.state.steps.get(item_prefix(self.step.id, key))
        return state.status if state is not None else StepStatus.PENDING

    async def waves(self) -> None:
        index = 0
        for number, size in enumerate(self.sizes):
            wave = self.keys[index : index + size]
            index += size
            if self.stop is not None:
                break
            canary = number == 0 and bool(self.fan.canary) and len(self.sizes) > 1
            await self._wave(wave, canary)
        self.not_started(self.stop or "")

    async def _wave(self, wave: list[str], canary: bool) -> None:
        slots = asyncio.Semaphore(self.max_parallel) if self.max_parallel else None

        async def one(key: str) -> None:
            try:
                async with slots if slots is not None else contextlib.nullcontext():
                    await self._item(key, canary)
            except asyncio.CancelledError:
                if key not in self.stopped:  # the run is stopping, not just this item
                    raise

        async with asyncio.TaskGroup() as group:
            for key in wave:
                group.create_task(one(key))

    async def _item(self, key: str, canary: bool) -> None:
        if self.stop is not None:
            return  # recorded as not started once the wave is over
        prefix = item_prefix(self.step.id, key)
        if self.replaying and self.status(key) in (*OK_STEP_STATUSES,):
            return  # completed before the resume: never run again
        value = self.value_of[key]
        remote: Remote | None = None
        if self.step.on is not None:
            try:
                if self.hostvars is None:
                    self.hostvars = target_hosts(self._target(), self.host)[1]
                remote = remote_for(self.host, self.step, key, self.hostvars)
            except (TargetError, FanoutError) as exc:  # this host only: it counts as failed
                self.host.emit(StepStarted(step_id=prefix, attempt=1, action=f"on {key}"))
                self.host.emit(
                    StepFinished(step_id=prefix, status=StepStatus.FAILED, error=str(exc))
                )
                self._failed(key, canary)
                return
        if remote is not None and self.replaying:
            await self._stop_leftovers(prefix, remote)
        child = self.host.item_child(
            self.item_plan, prefix, {self.fan.var: value}, resumed=self.replaying, remote=remote
        )
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task
        self.running[key] = task
        try:
            with contextlib.suppress(RunAborted):  # its failure is in its own record
                await child.run_steps()
        except asyncio.CancelledError:
            if key in self.stopped:
                self.host.note("warning", f"'{prefix}': stopped while running: {self.stop}")
            raise
        finally:
            self.running.pop(key, None)
        if self.status(key) in OK_STEP_STATUSES:
            return
        self._failed(key, canary)

    async def _stop_leftovers(self, prefix: str, remote: Remote) -> None:
        """Before an item runs again after a crash: what the crashed run left on its host."""
        for step_id, state in list(self.host.state.steps.items()):
            if state.remote is None or state.final or local_id(prefix, step_id) is None:
                continue
            _host, pgid, tag = state.remote
            said = await stop_leftover(remote, pgid, tag)
            self.host.note("warning" if "stopped" in said else "error", f"'{step_id}': {said}")

    def _target(self) -> Target:
        target = self.host.plan.runbook.target(self.step.on or "")
        assert target is not None  # noqa: S101 - validation checked it
        return target

    def _failed(self, key: str, canary: bool) -> None:
        self.failed.append(key)
        if self.stop is not None:
            return
        if canary:
            self.stop = f"canary item '{key}' failed"
        elif len(self.failed) > self.tolerated:
            self.stop = f"the failure budget ({self._budget()}) was exceeded"
        if self.stop is not None and self.fan.stop_running:
            for other, task in self.running.items():  # killed as on Ctrl-C, here or there
                if other != key:
                    self.stopped.add(other)
                    task.cancel()

    def not_started(self, why: str) -> None:
        for key in self.keys:
            prefix = item_prefix(self.step.id, key)
            state = self.host.state.steps.get(prefix)
            if state is None or not state.final:
                reason = f"not started: {why}" if why else "not started"
                self.host.emit(
                    StepFinished(step_id=prefix, status=StepStatus.CANCELLED, reason=reason)
                )

    def _budget(self) -> str:
        allowed = self.tolerated
        return "no failure allowed" if allowed == 0 else f"{allowed} allowed"

    def outputs(self) -> dict[str, Any]:
        """What the steps after the fan-out read: keys by outcome, and each item's record."""
        states = {
            key: self.host.state.steps.get(item_prefix(self.step.id, key)) for key in self.keys
        }
        by_status: dict[str, list[str]] = {"succeeded": [], "failed": [], "skipped": []}
        items: dict[str, Any] = {}
        for key, state in states.items():
            status = state.status if state is not None else StepStatus.PENDING
            if status in OK_STEP_STATUSES:
                by_status["succeeded" if status == StepStatus.SUCCEEDED else "skipped"].append(key)
            else:
                by_status["failed"].append(key)
            items[key] = {"status": status, "outputs": dict(state.outputs) if state else {}}
        return {**by_status, "items": items}

    def verdict(self) -> str:
        total = len(self.keys)
        ok = sum(1 for key in self.keys if self.status(key) in OK_STEP_STATUSES)
        failed = [key for key in self.keys if self.status(key) in _FAILED]
        parts = [f"{ok} of {total} items succeeded"]
        if failed:
            shown = ", ".join(failed[:5]) + (
                f" and {len(failed) - 5} more" if len(failed) > 5 else ""
            )
            parts.append(f"failed: {shown}")
        stopped = [key for key in self.keys if key in self.stopped and key not in failed]
        if stopped:
            parts.append(f"{len(stopped)} stopped while running")
        unstarted = total - ok - len(failed) - len(stopped)
        if unstarted:
            parts.append(f"{unstarted} not started")
        if self.stop is not None:
            parts.append(self.stop)
        elif failed:
            parts.append(f"within the failure budget ({self._budget()})")
        return "; ".join(parts)


_FAILED = (StepStatus.FAILED, StepStatus.TIMED_OUT)


def read_items(step: Step, host: Services) -> list[Any]:
    """The fan-out's list: an `on:` step's target hosts, else `items`."""
    if step.on is not None:
        target = host.plan.runbook.target(step.on)
        assert target is not None  # noqa: S101 - validation checked it
        return list(target_hosts(target, host)[0])
    assert step.foreach is not None  # noqa: S101 - a fan-out
    return listed(step.foreach.items, host.context())


def remote_for(
    host: Services, step: Step, key: str, hostvars: dict[str, dict[str, str]] | None = None
) -> Remote:
    """How item `key` of `on:` step `step` reaches its host; raises TargetError for a
    host or setting that cannot be used (the item fails, the others go on)."""
    target = host.plan.runbook.target(step.on or "")
    assert target is not None  # noqa: S101 - validation checked it
    if hostvars is None:
        hostvars = target_hosts(target, host)[1]
    context = host.context({"target": key})
    try:
        return resolve(target, key, lambda text: render(text.source, context), hostvars.get(key))
    except RenderError as exc:
        raise TargetError(f"{key}: target '{target.name}': {exc}") from None
    except TargetError as exc:
        raise TargetError(f"{key}: {exc}") from None


def target_hosts(target: Target, host: Services) -> tuple[list[str], dict[str, dict[str, str]]]:
    """A target's hosts — written out, a template, or an inventory's group — and the
    connection variables the inventory gives them."""
    if target.inventory is not None:
        path = Path(render(target.inventory.source, host.context())).expanduser()
        if not path.is_absolute():
            path = Path(host.runbook_dir()) / path
        try:
            return read_inventory(path, target.group)
        except InventoryError as exc:
            raise FanoutError(str(exc)) from None
    if target.hosts is None:
        raise FanoutError(f"target '{target.name}' lists no hosts")
    hosts = [str(h) for h in listed(target.hosts, host.context())]
    return hosts, {}


def _simulated_items(step: Step, host: FanoutHost) -> list[str]:
    """`run --dry-run`: the simulated steps a fan-out's item list (or an `on:` step's hosts)
    is read from."""
    from recoverctl.engine.undetermined import simulated_reads
    from recoverctl.expr.references import parse_template, references

    if not host.options.explore:
        return []
    source: Text | None = None
    if step.on is not None:  # an `on:` step's hosts may be an earlier step's output
        target = host.plan.runbook.target(step.on)
        source = target.hosts if target is not None and isinstance(target.hosts, Text) else None
    elif step.foreach is not None and isinstance(step.foreach.items, Text):
        source = step.foreach.items
    if source is None:
        return []
    found: list[str] = []
    for ref in references(parse_template(source.source)):
        found += [s for s in simulated_reads(host, str(ref)) if s not in found]
    return found


def listed(items: Text | tuple[object, ...], context: dict[str, Any]) -> list[Any]:
    """A list written out, or rendered (a list value; JSON text of a list; else text, one
    item per non-empty line — what `kubectl get -o name` prints)."""
    if isinstance(items, tuple):
        return list(items)
    source = items.source
    try:
        value = render_value(source, context)
    except RenderError as exc:
        raise FanoutError(f"items '{source}' could not be rendered: {exc}") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, Mapping) or not isinstance(value, list | tuple):
        raise FanoutError(
            f"items '{source}' gave {type(value).__name__} {value!r:.60}; expected a list"
        )
    if len(value) > MAX_ITEMS:
        raise FanoutError(f"items '{source}' gave {len(value)} items; at most {MAX_ITEMS}")
    return list(value)


def item_keys(fan: Foreach, values: list[Any], host: Services) -> list[str]:
    """Each item's key (its id is `step[key]`): its text, or `key:` rendered over it.
    Refused: a key that could not be part of an id, and two items with the same key."""
    keys: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(values):
        key = _key(fan.key, fan.var, value, host)
        problem = key_problem(key)
        if problem is not None:
            raise FanoutError(f"item {index + 1}: {problem}")
        if key in seen:
            raise FanoutError(
                f"item {index + 1}: {key!r} is in the list twice; expected each item once"
                + ("" if fan.key else " (for objects, `key:` names what tells them apart)")
            )
        seen.add(key)
        keys.append(key)
    return keys


def _key(template: Text | None, var: str, value: Any, host: Services) -> str:
    if template is not None:
        try:
            return render(template.source, host.context({var: value})).strip()
        except RenderError as exc:
            raise FanoutError(f"key '{template.source}' could not be rendered: {exc}") from None
    if isinstance(value, Mapping | list):
        raise FanoutError(
            f"the items are {type(value).__name__}s; expected `key:` to name each, "
            f"e.g. key: '{{{{ {var}.name }}}}'"
        )
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
