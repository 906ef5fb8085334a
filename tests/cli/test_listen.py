"""`recoverctl listen`: alerts POSTed over HTTP start their route's runbook — checked with
curl-like requests and with a real Alertmanager sending its webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_from_alert import alertmanager, pagerduty
from tests.conftest import ROOT, run_cli
from tests.e2e.conftest import free_port, need
from tests.helpers import run_step, runbook_data, write_runbook

SECRET = "a-listen-secret-0123456789"


@dataclass
class Listening:
    url: str
    process: subprocess.Popen[str]
    state: Path
    marker: Path

    def post(
        self, route: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = httpx.post(
            f"{self.url}/alerts/{route}",
            content=data,
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=10,
        )
        return response.status_code, response.json()

    def ran(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.marker.exists() and len(lines := self.marker.read_text().splitlines()) >= count:
                return lines
            time.sleep(0.05)
        return self.marker.read_text().splitlines() if self.marker.exists() else []


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[Listening]:
    marker = tmp_path / "ran"
    data = runbook_data(
        run_step("act", f"echo {{{{ params.shard }}}} >> {marker}"),
        params={"shard": {"type": "string", "from_alert": "labels.instance"}},
        name="cache-failover",
    )
    write_runbook(tmp_path, data, name="runbook.yaml")
    port = free_port()
    (tmp_path / "listen.yaml").write_text(
        f"bind: 127.0.0.1:{port}\nroutes:\n  cache:\n    runbook: runbook.yaml\n    dedup: 1h\n"
    )
    state = tmp_path / "state"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recoverctl",
            "listen",
            str(tmp_path / "listen.yaml"),
            "--state-dir",
            str(state),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RECOVERCTL_LISTEN_SECRET": SECRET, "NO_COLOR": "1"},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "listening on http://127.0.0.1:" in line, line
    yield Listening(f"http://127.0.0.1:{port}", process, state, marker)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


def test_an_alert_starts_its_runbook_once_per_alert_group(listening: Listening) -> None:
    code, answer = listening.post("cache", alertmanager("shard-7"), bearer())
    assert code == 202 and answer["status"] == "started", answer
    assert listening.ran(1) == ["shard-7"]
    log = Path(answer["log"]).read_text()
    assert "started from an Alertmanager alert (1 firing," in log

    code, again = listening.post("cache", alertmanager("shard-7"), bearer())  # the repeat
    assert code == 200 and again["status"] == "duplicate" and again["pid"] == answer["pid"]
    other = alertmanager("shard-8")
    other["alerts"][0]["fingerprint"] = "fpshard8"
    code, third = listening.post("cache", other, bearer())
    assert code == 202, third
    assert sorted(listening.ran(2)) == ["shard-7", "shard-8"]
    journals = list(listening.state.glob("runs/*/journal.jsonl"))
    assert len(journals) == 2


def test_signed_requests_are_accepted_and_anything_else_refused(listening: Listening) -> None:
    body = json.dumps(alertmanager("shard-1")).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (
        listening.post("cache", body, {"X-Recoverctl-Signature": f"sha256={signature}"})[0] == 202
    )
    incident = pagerduty()
    incident["event"]["data"]["title"] = "x"
    raw = json.dumps(incident).encode()
    signed = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    code, answer = listening.post("cache", raw, {"X-PagerDuty-Signature": f"v1=0000,v1={signed}"})
    assert code == 202, answer  # the run itself then fails: the incident has no labels.instance
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Recoverctl-Signature": "sha256=00"}):
        assert listening.post("cache", body, headers) == (
            401,
            {"error": "the secret or signature is missing or wrong"},
        )
    assert listening.ran(1) == ["shard-1"]


def test_bad_requests_get_clear_answers_and_start_nothing(listening: Listening) -> None:
    assert listening.post("nope", alertmanager("a"), bearer())[0] == 404
    code, answer = listening.post("cache", b'{"alerts": [', bearer())
    assert code == 400 and "not valid JSON" in answer["error"]
    code, answer = listening.post("cache", alertmanager("a", status="resolved"), bearer())
    assert (code, answer["status"]) == (200, "ignored")
    code, answer = listening.post("cache", b"x" * (5 * 1024 * 1024), bearer())
    assert code == 413
    time.sleep(0.5)
    assert not listening.marker.exists()


def test_a_run_it_started_outlives_the_listener(tmp_path: Path, listening: Listening) -> None:
    slow = tmp_path / "runbook.yaml"
    slow.write_text(slow.read_text().replace("run: echo", "run: sleep 1.5; echo"))
    # the routes were validated at start; the runbook is read again by each run
    assert listening.post("cache", alertmanager("shard-3"), bearer())[0] == 202
    time.sleep(0.3)
    listening.process.send_signal(signal.SIGTERM)
    _, err = listening.process.communicate(timeout=30)
    assert "stopped; 1 run(s) it started go on" in err
    assert listening.ran(1) == ["shard-3"]


@pytest.mark.parametrize(
    ("routes", "env", "expected"),
    [
        (
            "routes:\n  a:\n    runbook: missing.yaml\n",
            SECRET,
            "listen.yaml:3:14: error: route 'a' names a runbook that is not valid",
        ),
        (
            "routes:\n  a:\n    runbok: x.yaml\n",
            SECRET,
            "listen.yaml:3:5: error: unknown key 'runbok'",
        ),
        (
            "routes:\n  a:\n    runbook: ok.yaml\n",
            "",
            "$RECOVERCTL_LISTEN_SECRET must hold the shared secret",
        ),
    ],
)
def test_the_listener_refuses_to_start_on_a_bad_routes_file_or_no_secret(
    tmp_path: Path, routes: str, env: str, expected: str
) -> None:
    write_runbook(tmp_path, runbook_data(run_step("a")), name="ok.yaml")
    (tmp_path / "listen.yaml").write_text(routes)
    result = run_cli(
        ["listen", str(tmp_path / "listen.yaml")], env={"RECOVERCTL_LISTEN_SECRET": env}
    )
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_the_documented_example_is_valid_and_alertmanager_accepts_its_config() -> None:
    examples = ROOT / "docs" / "examples"
    assert (
        run_cli(["lint", str(examples / "incident-loop.yaml"), "--fail-on", "info"]).returncode == 0
    )
    assert run_cli(["test", str(examples / "incident-loop.yaml")]).returncode == 0
    need("amtool (Debian's prometheus-alertmanager)", shutil.which("amtool"))
    checked = subprocess.run(
        ["amtool", "check-config", str(examples / "alertmanager.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    from recoverctl.validate.listen_config import load_listen_config

    config = load_listen_config(examples / "listen.yaml")
    assert config.routes["cache-failover"].runbook == (examples / "incident-loop.yaml").resolve()
    assert "/alerts/cache-failover" in (examples / "alertmanager.yml").read_text()


@pytest.mark.slow
def test_a_real_alertmanager_posting_to_the_listener_starts_the_run(
    tmp_path: Path, listening: Listening
) -> None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    need("Alertmanager (Debian's prometheus-alertmanager)", binary)
    assert binary is not None
    (tmp_path / "secret").write_text(SECRET)
    port, cluster = free_port(), free_port()
    (tmp_path / "am.yml").write_text(
        "route:\n  receiver: recoverctl\n  group_by: [instance]\n  group_wait: 0s\n  group_interval: 1s\n"
        "receivers:\n  - name: recoverctl\n    webhook_configs:\n"
        f"      - url: {listening.url}/alerts/cache\n        send_resolved: false\n"
        f"        http_config:\n          authorization:\n            credentials_file: {tmp_path / 'secret'}\n"
    )
    am = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster}",
            "--cluster.advertise-address=127.0.0.1:0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        alert = [
            {
                "labels": {"alertname": "CacheShardCold", "instance": "shard-42"},
                "annotations": {"summary": "cold"},
            }
        ]
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(
                    f"http://127.0.0.1:{port}/api/v2/alerts", json=alert, timeout=5
                ).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "Alertmanager never came up"
                time.sleep(0.2)
        assert listening.ran(1, timeout=60) == ["shard-42"]
        (journal,) = listening.state.glob("runs/*/journal.jsonl")
        started = json.loads(journal.read_text().splitlines()[0])
        assert started["alert"]["source"] == "alertmanager"
        assert re.fullmatch(r"[0-9a-f]{16}", started["alert"]["fingerprints"][0])
    finally:
        am.terminate()
        am.communicate(timeout=30)
