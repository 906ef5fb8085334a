"""Issue 4 benchmark: the live view stays smooth with 200 steps, 20 running at once, chatty output.

Run: python bench/bench_view.py   (writes bench/results/view.md)
The view redraws at most 8 times a second, so a frame must render well inside 125 ms.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from bench.common import RESULTS, machine
from recoverctl.compile import compile_plan
from recoverctl.engine.events import StepFinished, StepOutput, StepStarted
from recoverctl.load import load_text
from recoverctl.present.live_view import LiveView
from recoverctl.validate.build import build_runbook


def _plan():  # type: ignore[no-untyped-def]
    groups = []
    for g in range(10):
        members = "\n".join(
            f"      - {{id: s{g}_{i}, run: 'sleep 1', timeout: 10s}}" for i in range(20)
        )
        groups.append(f"  - id: g{g}\n    parallel:\n{members}")
    text = "version: 1\nname: wide\nobjectives: {rto: 10m}\nsteps:\n" + "\n".join(groups) + "\n"
    return compile_plan(build_runbook(load_text(text, Path("wide.yaml"))))


def main() -> None:
    plan = _plan()
    view = LiveView(plan, Console(file=io.StringIO(), width=120, force_terminal=True))
    now = 0.0
    # groups 0-4 finished, group 5 running with 20 members, each printing a lot
    for g in range(5):
        view(StepStarted(step_id=f"g{g}", attempt=1, action="parallel", mono=now))
        for i in range(20):
            view(StepStarted(step_id=f"s{g}_{i}", attempt=1, mono=now))
            view(
                StepFinished(
                    step_id=f"s{g}_{i}", status="succeeded", attempts=1, duration=1.0, mono=now
                )
            )
        view(StepFinished(step_id=f"g{g}", status="succeeded", attempts=1, duration=1.0, mono=now))
    view(StepStarted(step_id="g5", attempt=1, action="parallel", mono=now))
    for i in range(20):
        view(StepStarted(step_id=f"s5_{i}", attempt=1, mono=now))
    started = time.perf_counter()
    for line in range(20_000):  # 20,000 output chunks arriving between frames
        view(
            StepOutput(
                step_id=f"s5_{line % 20}", stream="stdout", text=f"progress line {line}\n", mono=now
            )
        )
    ingest = (time.perf_counter() - started) / 20_000
    frames = []
    for _ in range(50):
        started = time.perf_counter()
        buffer = io.StringIO()
        Console(file=buffer, width=120, force_terminal=True).print(view.render())
        frames.append(time.perf_counter() - started)
    lines = buffer.getvalue().count("\n")
    report = [
        "# live view benchmark",
        "",
        f"Machine: {machine()}",
        "",
        "200 steps in 10 parallel groups; 5 groups finished (folded), 20 steps running, 20,000 output chunks.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| render one frame (median of 50) | **{statistics.median(frames) * 1000:.1f} ms** (budget: 125 ms at 8 fps) |",
        f"| slowest frame | {max(frames) * 1000:.1f} ms |",
        f"| handle one output event | {ingest * 1e6:.1f} µs |",
        f"| lines on screen | {lines} (finished groups folded) |",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "view.md").write_text("\n".join(report), encoding="utf-8")
    print("\n".join(report))


if __name__ == "__main__":
    main()
