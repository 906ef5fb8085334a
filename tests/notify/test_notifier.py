"""The notifier's bound at the end of a run: what is not delivered by then is recorded as such."""

from __future__ import annotations

import asyncio
from typing import Any

from recoverctl.engine.events import Event, NotificationDelivered, RunFinished, RunStarted
from recoverctl.model.notify import Channel, NotifyEvent
from recoverctl.model.source import Span
from recoverctl.model.text import Text
from recoverctl.notify.notice import NoticeMaker
from recoverctl.notify.notifier import Notifier
from tests.notify.receiver import Receiver

SPAN = Span(1, 1, 1, 1)


def webhook(name: str, url: str, **options: Any) -> Channel:
    return Channel(
        name=name, kind="webhook", span=SPAN, options=(("url", Text(url, SPAN)),), **options
    )


def test_close_waits_a_bounded_time_then_records_what_was_not_delivered(receiver: Receiver) -> None:
    receiver.hang = 3
    recorded: list[Event] = []

    async def scenario() -> None:
        notifier = Notifier(
            (webhook("slow", f"{receiver.url}/hook", timeout=10.0, attempts=1),),
            NoticeMaker("rb", "run-1"),
            emit=recorded.append,
            context=dict,
            end_wait=0.3,
        )
        notifier(RunStarted(run_id="run-1", runbook="rb", path="rb.yaml", plan_hash="h", params={}))
        notifier(RunFinished(run_id="run-1", status="succeeded", exit_code=0, duration=1.0))
        await asyncio.sleep(0.1)
        await notifier.close()

    asyncio.run(scenario())
    delivered = [e for e in recorded if isinstance(e, NotificationDelivered)]
    assert [(d.on, d.ok) for d in delivered] == [("started", False), ("succeeded", False)]
    assert (
        delivered[0].error == "the run ended: not delivered within 0.3s of its end (still trying)"
    )
    assert delivered[1].error == "the run ended: not delivered within 0.3s of its end"


def test_each_run_event_is_told_once_and_a_gate_each_time_it_waits() -> None:
    maker = NoticeMaker("rb", "run-1")
    started = RunStarted(run_id="run-1", runbook="rb", path="rb.yaml", plan_hash="h", params={})
    assert maker.notice(started) is not None and maker.notice(started) is None
    from recoverctl.engine.events import ApprovalRequested

    gate = ApprovalRequested(step_id="gate", answer_with="recoverctl approve run-1 gate")
    first, second = maker.notice(gate), maker.notice(gate)
    assert first is not None and second is not None
    assert first.deny == "recoverctl deny run-1 gate"
    other = RunFinished(run_id="child", status="failed", exit_code=1, duration=1.0)
    assert maker.notice(other) is None  # not this run's end
    ended = maker.notice(RunFinished(run_id="run-1", status="blocked", exit_code=4, duration=1.0))
    assert ended is not None and ended.event is NotifyEvent.FAILED
