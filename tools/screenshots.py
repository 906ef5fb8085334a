"""Screenshots for the docs, from a real run of runbooks/demo.yaml (with -p fail_verify=true).

Writes docs/live-view.svg (mid-run, while a step waits for its retry),
docs/live-view-end.svg (after the rollback) and docs/summary.svg, using
rich's export_svg. Run: python tools/screenshots.py
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
from recoverctl.engine.events import Event, RetryScheduled  # noqa: E402
from recoverctl.engine.executor import RealExecutor  # noqa: E402
from recoverctl.engine.runner import Engine, RunOptions  # noqa: E402
from recoverctl.present.live_view import LiveView  # noqa: E402
from recoverctl.present.summary import render_summary  # noqa: E402
from recoverctl.validate.params import resolve_params  # noqa: E402
from recoverctl.validate.pipeline import require_valid  # noqa: E402

WIDTH = 100


def _svg(renderable: object, title: str, path: Path) -> None:
    console = Console(record=True, width=WIDTH, file=io.StringIO(), force_terminal=True)
    console.print(renderable)
    path.write_text(console.export_svg(title=title), encoding="utf-8")


def main() -> None:
    checked = require_valid(ROOT / "runbooks" / "demo.yaml")
    plan = compile_plan(checked.model)
    with tempfile.TemporaryDirectory() as tmp:
        params = resolve_params(
            checked.model, {"workdir": f"{tmp}/demo", "fail_verify": "true"}, {}
        )
        bus = EventBus()
        view = LiveView(plan, Console(file=io.StringIO()))
        bus.subscribe(view)
        shots: dict[str, object] = {}

        def capture(event: Event) -> None:
            if isinstance(event, RetryScheduled) and "mid" not in shots:
                shots["mid"] = view.render()
                _svg(
                    shots["mid"],
                    "recoverctl run runbooks/demo.yaml",
                    ROOT / "docs" / "live-view.svg",
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
        view.render(),
        "recoverctl run runbooks/demo.yaml -p fail_verify=true",
        ROOT / "docs" / "live-view-end.svg",
    )
    _svg(
        render_summary(plan, engine.state), "recoverctl run: summary", ROOT / "docs" / "summary.svg"
    )


if __name__ == "__main__":
    main()
