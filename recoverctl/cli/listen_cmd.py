"""`recoverctl listen ROUTES`: receive alerts (Alertmanager, PagerDuty, JSON) and start the
runbook each alert's route names (cli/listen_server.py; docs/alerts.md)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.cli.journal_options import StateDirOption
from recoverctl.errors import RecoverctlError

MIN_SECRET = 16
"""A shared secret shorter than this is refused: it guards who may start a recovery."""


@command(
    epilog="Example:\n\n  RECOVERCTL_LISTEN_SECRET=... recoverctl listen alerts.yaml\n\n"
    "  then in Alertmanager: url: http://127.0.0.1:9095/alerts/db-failover, with "
    "http_config.authorization.credentials set to the same secret",
)
@reports_errors
def listen(
    routes: Annotated[Path, typer.Argument(help="The routes file: alert URL → runbook.")],
    state_dir: StateDirOption = None,
) -> None:
    """Receive alerts over HTTP and start the runbook each one's route names."""
    from recoverctl.cli.journal_options import open_store
    from recoverctl.cli.listen_server import Listener, serve
    from recoverctl.validate.listen_config import load_listen_config

    config = load_listen_config(routes)
    secret = os.environ.get(config.secret_env, "")
    if len(secret) < MIN_SECRET:
        raise RecoverctlError(
            message=f"${config.secret_env} must hold the shared secret (at least {MIN_SECRET} "
            f"characters); {'it is unset' if not secret else 'it is too short'}",
            hint="anyone who can reach the listener could start a recovery without it; "
            "generate one with: openssl rand -hex 32",
        )
    store = open_store(state_dir)
    listener = Listener(config, secret.encode("utf-8"), store.root)
    server = serve(listener)
    stop = threading.Event()

    def shut(signum: int, _frame: object) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, shut)
    names = ", ".join(f"/alerts/{name} → {route.runbook}" for name, route in config.routes.items())
    listener.say(f"listening on http://{config.host}:{server.server_address[1]} ({names})")
    sys.stderr.flush()
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    running = [c for c in listener.children if c.poll() is None]
    left = f"; {len(running)} run(s) it started go on" if running else ""
    listener.say(f"stopped{left}")
