"""Screenshots for the docs, from a real run of runbooks/demo.yaml (with -p fail_verify=true).

Drawn at 80x24, the terminal operators actually have: docs/live-view.svg (mid-run,
while a step waits for its retry), docs/live-view-rollback.svg (mid-rollback, a
compensation running), docs/live-view-end.svg (the final frame) and
docs/summary.svg, using rich's export_svg. Run: python tools/screenshots.py
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from recoverctl.compile import compile_plan  # noqa: E402
from recoverctl.engine.bus import EventBus  # noqa: E402
from recoverctl.engine.events import Event, RetryScheduled, StepStarted  # noqa: E402
from recoverctl.engine.executor import RealExecutor  # noqa: E402
from recoverctl.engine.runner import Engine, RunOptions  # noqa: E402
from recoverctl.present.live_view import LiveView  # noqa: E402
from recoverctl.present.summary import print_summary  # noqa: E402
from recoverctl.validate.params import resolve_params  # noqa: E402
from recoverctl.validate.pipeline import require_valid  # noqa: E402

WIDTH, HEIGHT = 80, 24


def _console() -> Console:
    return Console(record=True, width=WIDTH, height=HEIGHT, file=io.StringIO(), force_terminal=True)


def _svg(view: LiveView, title: str, path: Path) -> None:
    """One frame as the live view draws it on an 80x24 terminal."""
    console = _console()
    view.console = console
    console.print(view.render())
    path.write_text(console.export_svg(title=title), encoding="utf-8")


def main() -> None:
    checked = require_valid(ROOT / "runbooks" / "demo.yaml")
    plan = compile_plan(checked.model)
    with tempfile.TemporaryDirectory() as tmp:
        params = resolve_params(
            checked.model, {"workdir": f"{tmp}/demo", "fail_verify": "true"}, {}
        )
        bus = EventBus()
        view = LiveView(plan, _console())
        bus.subscribe(view)
        shots: dict[str, bool] = {}

        def capture(event: Event) -> None:
            if isinstance(event, RetryScheduled) and "mid" not in shots:
                shots["mid"] = True
                _svg(view, "recoverctl run runbooks/demo.yaml", ROOT / "docs" / "live-view.svg")
            if (
                isinstance(event, StepStarted)
                and event.step_id.endswith(".rollback")
                and "rollback" not in shots
            ):
                shots["rollback"] = True
                _svg(
                    view,
                    "recoverctl run runbooks/demo.yaml -p fail_verify=true (rolling back)",
                    ROOT / "docs" / "live-view-rollback.svg",
                )

        bus.subscribe(capture)
        engine = Engine(
            plan,
            RunOptions(run_id="20261124T031500Z-5f2c1a", params=params.values),
            bus=bus,
            executor=RealExecutor(),
        )
        asyncio.run(engine.run())
    _svg(
        view,
        "recoverctl run runbooks/demo.yaml -p fail_verify=true",
        ROOT / "docs" / "live-view-end.svg",
    )
    console = _console()
    print_summary(console, plan, engine.state)
    (ROOT / "docs" / "summary.svg").write_text(
        console.export_svg(title="recoverctl run: summary"), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
