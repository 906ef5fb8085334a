"""A fan-out as a Map state: one run or http step per item, `max_parallel` at once.

The iteration is the step's task alone: it retries as the step does and
assigns nothing (an iteration cannot write the machine's variables), so a
failed item fails the Map, and the Map's Catch records the step and routes
the failure as the step's `on_failure` says. An inline Map starts no item
after a failed one, as recoverctl's default budget does, and stops the items
still running, as `stop_running: true` does (without it, and with more than
one item at once, that difference is reported: common.fanout_loss).

After the Map the step's record holds what recoverctl's fan-out outputs hold:
the keys that succeeded (here: all of them) and each item's result by key.
"""

from __future__ import annotations

import json
from typing import Any

from recoverctl.export.asl.builder import Builder
from recoverctl.export.asl.names import FailTo, Scope, state_name, var
from recoverctl.export.asl.tasks import Tasks, idempotency_key
from recoverctl.model.fanout import Foreach, lone_param
from recoverctl.model.runbook import Step

ITEM = "$states.context.Map.Item.Value"
"""The item, where the Map's ItemSelector reads it."""
INPUT = "$states.input.item"
"""The item, where the iteration's task reads it (the ItemSelector's output)."""


class Maps:
    def __init__(self, builder: Builder, tasks: Tasks) -> None:
        self.b, self.tasks = builder, tasks

    def map(self, step: Step, fan: Foreach, nxt: str, fail_to: FailTo, scope: Scope) -> str:
        inner = Scope({}, scope.chain, scope.refs.with_local(**{fan.var: INPUT}))
        task = self.tasks.runner_task(step, inner)
        payload = task["Arguments"].get("Payload", task["Arguments"])
        payload["item"] = "{% $states.input.key %}"  # the runner's record names the item
        payload["idempotency_key"] = idempotency_key(  # one key per item, as in a run
            json.dumps(step.id + "[") + " & $states.input.key & " + json.dumps("]")
        )
        retry = self.tasks.retry(step)
        if retry:
            task["Retry"] = retry
        record = self.tasks.success_record(step, self.tasks.runner_result(), inner)
        task["Output"] = '{% {"key": $states.input.key, "record": ' + record + "} %}"
        task["End"] = True
        first = self.b.add(inner.states, f"{state_name(step.id)}-item", task)
        items = (
            list(fan.items)
            if isinstance(fan.items, tuple)
            else "{% $params." + str(lone_param(fan.items)) + " %}"
        )
        done = (
            '{"status": "succeeded", "ok": true, "outputs": {'
            '"succeeded": [$states.result.key], "failed": [], "skipped": [], '
            '"items": $merge($append([{}], $states.result.{key: '
            '{"status": "succeeded", "outputs": record.outputs}}))}}'
        )
        state: dict[str, Any] = {
            "Type": "Map",
            "Items": items,
            "ItemSelector": {"item": "{% " + ITEM + " %}", "key": self._key(step, fan, scope)},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": first,
                "States": inner.states,
            },
            "Assign": {f"s_{var(step.id)}": "{% " + done + " %}"},
            "Next": nxt,
            "Catch": self.tasks.catches(step, fail_to(), scope),
        }
        if fan.max_parallel:
            state["MaxConcurrency"] = fan.max_parallel
        return self.b.add(scope.states, step.id, state)

    def _key(self, step: Step, fan: Foreach, scope: Scope) -> str:
        """The item's id, as recoverctl makes it: `key:` over the item, or the item as text."""
        if fan.key is None:
            return "{% $string(" + ITEM + ") %}"
        outer = Scope(scope.states, scope.chain, scope.refs.with_local(**{fan.var: ITEM}))
        return "{% " + self.b.text(step, fan.key, outer) + " %}"
