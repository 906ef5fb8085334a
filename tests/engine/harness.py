"""Running the engine in tests: builders in, the event list out, no real waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverctl.actions.base import AttemptResult
from recoverctl.engine.bus import EventBus
from recoverctl.engine.events import Event, StepFinished, StepStarted
from recoverctl.engine.executor import Executor, RealExecutor, SimulatedExecutor
from recoverctl.engine.runner import Approver, Engine, RunOptions
from recoverctl.engine.state import RunState
from recoverctl.validate.params import resolve_params
from tests.helpers import build


class FastClock:
    """Real time for timestamps, but sleeps only yield: tests never wait for backoff."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.slept: list[float] = []
        self.offset = 0.0

    def wall(self) -> float:
        return self._time.time() + self.offset

    def monotonic(self) -> float:
        return self._time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds
        await asyncio.sleep(0)


@dataclass
class Outcome:
    code: int
    events: list[Event]
    state: RunState
    clock: FastClock
    engine: Engine = field(repr=False)

    def kinds(self, step_id: str) -> list[str]:
        return [e.kind for e in self.events if getattr(e, "step_id", None) == step_id]

    def status(self, step_id: str) -> str:
        return self.state.steps[step_id].status

    def started_order(self) -> list[str]:
        return [e.step_id for e in self.events if isinstance(e, StepStarted)]

    def finished(self) -> list[tuple[str, str]]:
        return [(e.step_id, e.status) for e in self.events if isinstance(e, StepFinished)]


def fail(code: int = 1, stderr: str = "", **kwargs: Any) -> AttemptResult:
    return AttemptResult(
        ok=False, exit_code=code, stderr=stderr, error=f"exited with {code}", **kwargs
    )


def ok(stdout: str = "", **kwargs: Any) -> AttemptResult:
    return AttemptResult(ok=True, exit_code=0, stdout=stdout, **kwargs)


def run_engine(
    tmp_path: Path,
    data: dict[str, Any],
    *,
    outcomes: dict[str, list[AttemptResult]] | None = None,
    real: bool = False,
    params: dict[str, Any] | None = None,
    approver: Approver | None = None,
    executor: Executor | None = None,
) -> Outcome:
    runbook, plan = build(tmp_path, data)
    resolved = resolve_params(runbook, params or {}, {})
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    clock = FastClock()
    engine = Engine(
        plan,
        RunOptions(
            run_id="test-run",
            params=resolved.values,
            secrets=resolved.secret_values(),
            environ={"PATH": "/usr/bin:/bin"},
            seed=1,
        ),
        bus=bus,
        executor=executor or (RealExecutor() if real else SimulatedExecutor(outcomes)),
        clock=clock,
        approver=approver,
    )
    code = asyncio.run(engine.run())
    return Outcome(code, events, engine.state, clock, engine)


class SteppedClock:
    """Time moves only when the engine sleeps: every timestamp and duration is reproducible."""

    EPOCH = 1_800_000_000.0

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def wall(self) -> float:
        return self.EPOCH + self.now

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def run_with(
    tmp_path: Path,
    data: dict[str, Any],
    subscribers: list[Any],
    *,
    outcomes: dict[str, list[AttemptResult]] | None = None,
    clock: SteppedClock | None = None,
    engine_hook: Callable[[Engine], None] | None = None,
) -> int:
    """Run on the simulated executor and a stepped clock, feeding `subscribers` (views under test).

    `engine_hook` gets the engine before it runs (a test that presses Ctrl-C needs it).
    """
    runbook, plan = build(tmp_path, data)
    resolved = resolve_params(runbook, {}, {})
    bus = EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    engine = Engine(
        plan,
        RunOptions(run_id="20270115T020304Z-abc123", params=resolved.values, environ={}, seed=1),
        bus=bus,
        executor=SimulatedExecutor(outcomes),
        clock=clock or SteppedClock(),
    )
    if engine_hook is not None:
        engine_hook(engine)
    return asyncio.run(engine.run())
