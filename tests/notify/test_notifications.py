"""Notifications on run events, delivered to a real receiver on 127.0.0.1 by the CLI."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook
from tests.notify.receiver import Receiver

SECRET = "tok-5ecr3t-value"


def channels(url: str, **only: list[str]) -> dict[str, Any]:
    """A webhook, a Slack and a PagerDuty channel, all at the receiver."""
    made = {
        "audit": {
            "webhook": {
                "url": f"{url}/hook",
                "headers": {"Authorization": "Bearer {{ params.tok }}"},
            }
        },
        "chat": {"slack": {"url": f"{url}/slack"}},
        "pager": {"pagerduty": {"routing_key": "{{ params.tok }}", "url": f"{url}/pd"}},
    }
    for name, events in only.items():
        made[name]["on"] = events
    return made


def secret_param() -> dict[str, Any]:
    return {"tok": {"type": "string", "secret": True, "default": SECRET}}


def events(state: Path, kind: str) -> list[dict[str, Any]]:
    (journal,) = state.glob("runs/*/journal.jsonl")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    return [r for r in records if r["event"] == kind]


def test_a_run_that_rolls_back_tells_every_channel_in_order(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = runbook_data(
        run_step("stop_writes", "true", rollback={"run": "true"}),
        run_step("promote", "echo {{ params.tok }} >&2; exit 3"),
        params=secret_param(),
        notify=channels(receiver.url),
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 1, result.stderr

    hook = receiver.bodies("/hook")
    assert [b["event"] for b in hook] == ["started", "rolling_back", "rolled_back"]
    run_id = hook[0]["run_id"]
    assert hook[2]["status"] == "rolled_back" and hook[2]["step_id"] == "promote"
    assert f"recoverctl show {run_id}" in hook[2]["text"]
    assert [b["event_action"] for b in receiver.bodies("/pd")] == ["trigger"] * 3
    assert {b["dedup_key"] for b in receiver.bodies("/pd")} == {run_id}
    assert receiver.bodies("/pd")[0]["routing_key"] == SECRET  # the receiver needs the real key
    assert all(
        r.headers["Authorization"] == f"Bearer {SECRET}"
        for r in receiver.received
        if r.path == "/hook"
    )
    assert "rolled back at promote" in receiver.bodies("/slack")[-1]["text"]

    delivered = events(tmp_path / "s", "notification")
    assert len(delivered) == 9 and all(d["ok"] and d["attempts"] == 1 for d in delivered)
    assert {(d["channel"], d["on"]) for d in delivered} >= {
        ("pager", "rolled_back"),
        ("chat", "started"),
    }
    # the secret reaches the receiver, never the record or the other messages
    journal = next((tmp_path / "s").glob("runs/*/journal.jsonl")).read_text()
    assert SECRET not in journal
    assert all(SECRET not in json.dumps(r.body) for r in receiver.received if r.path != "/pd")
    assert "notified: 9 of 9" in result.stderr
    assert "notified audit (webhook): rolled_back" in result.stderr


def test_pagerduty_resolves_a_run_that_succeeds_with_the_run_id(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = runbook_data(
        run_step("a", "true"),
        params=secret_param(),
        notify={"pager": channels(receiver.url)["pager"]},
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 0, result.stderr
    started, resolved = receiver.bodies("/pd")
    assert started["event_action"] == "trigger" and started["payload"]["class"] == "started"
    assert resolved == {
        "routing_key": SECRET,
        "event_action": "resolve",
        "dedup_key": started["dedup_key"],
    }


def one_success_told(tmp_path: Path, receiver: Receiver) -> tuple[Any, dict[str, Any]]:
    """A one-step run that tells the receiver it succeeded: the CLI's result, the delivery."""
    data = runbook_data(
        run_step("a", "true"),
        notify={"audit": {"webhook": {"url": f"{receiver.url}/hook"}, "on": ["succeeded"]}},
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 0, result.stderr
    (delivered,) = events(tmp_path / "s", "notification")
    return result, delivered


@pytest.mark.slow  # seconds of real waiting: the slow stage of .ci/run
def test_a_failing_receiver_is_retried_with_backoff_and_the_attempts_are_recorded(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    _, delivered = one_success_told(tmp_path, receiver)
    assert delivered["ok"] and delivered["attempts"] == 3
    assert len(receiver.received) == 3


def test_a_refusing_receiver_is_not_retried_and_never_fails_the_run(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.fail_first, receiver.status = 99, 400
    result, delivered = one_success_told(tmp_path, receiver)
    assert not delivered["ok"] and delivered["attempts"] == 1
    assert delivered["error"] == "127.0.0.1 answered HTTP 400: no"
    assert (
        "NOTIFY FAILED audit (webhook): succeeded not delivered: 127.0.0.1 answered HTTP 400"
        in result.stderr
    )
    assert "notified: 0 of 1" in result.stderr


@pytest.mark.slow
def test_a_hanging_receiver_never_holds_the_run_back(tmp_path: Path, receiver: Receiver) -> None:
    receiver.hang = 5
    data = runbook_data(
        run_step("a", "sleep 0.2"),
        run_step("b", "true"),
        notify={
            "audit": {"webhook": {"url": f"{receiver.url}/hook"}, "timeout": "1s", "attempts": 2}
        },
    )
    began = time.monotonic()
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    took = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    (finished,) = events(tmp_path / "s", "run_finished")
    assert finished["duration"] < 1.5  # the steps did not wait for the receiver
    delivered = events(tmp_path / "s", "notification")
    assert [d["on"] for d in delivered] == ["started", "succeeded"]
    assert all(not d["ok"] for d in delivered)
    assert delivered[0]["error"].startswith(
        "gave up after 2 attempts: 127.0.0.1 did not answer within 1s"
    )
    assert took < 15  # bounded: two notices of two 1 s attempts each, plus backoff


def test_the_gate_notice_carries_the_command_that_answers_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    marker = tmp_path / "promoted"
    data = runbook_data(
        run_step("prepare", "true"),
        {"id": "gate", "timeout": "1m", "approval": {"prompt": "Promote db-2?"}},
        run_step("promote", f"touch {marker}"),
        notify={
            "audit": {"webhook": {"url": f"{receiver.url}/hook"}, "on": ["waiting_for_approval"]}
        },
    )
    env = {**os.environ, "RECOVERCTL_STATE_DIR": str(tmp_path / "s"), "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recoverctl", "run", str(write_runbook(tmp_path, data))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        receiver.wait_for(1)
        (notice,) = receiver.bodies("/hook")
        assert notice["event"] == "waiting_for_approval" and notice["step_id"] == "gate"
        assert "Promote db-2?" in notice["text"]
        approve = shlex.split(notice["approve"])
        assert approve[:2] == ["recoverctl", "approve"] and notice["deny"].startswith(
            "recoverctl deny "
        )
        answered = subprocess.run(
            [sys.executable, "-m", "recoverctl", *approve[1:], "-m", "from the page"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert answered.returncode == 0, answered.stderr
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert marker.exists()


def test_a_command_channel_gets_the_notice_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "notices.jsonl"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\n{{ cat; echo " $RECOVERCTL_NOTIFY_EVENT"; }} >> {out}\n')
    script.chmod(0o755)
    data = runbook_data(
        run_step("a", "true"),
        notify={
            "local": {"command": [str(script)], "on": ["succeeded"]},
            "broken": {
                "command": ["sh", "-c", "echo nope >&2; exit 4"],
                "attempts": 2,
                "on": ["succeeded"],
            },
        },
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 0, result.stderr
    document, event = out.read_text().rsplit(" ", 1)
    assert json.loads(document)["event"] == "succeeded" and event.strip() == "succeeded"
    broken = next(d for d in events(tmp_path / "s", "notification") if d["channel"] == "broken")
    assert broken["error"] == "gave up after 2 attempts: sh exited 4: nope"


def test_dry_runs_and_no_notify_send_nothing(tmp_path: Path, receiver: Receiver) -> None:
    data = runbook_data(
        run_step("a", "true"), notify={"audit": {"webhook": {"url": f"{receiver.url}/hook"}}}
    )
    path = str(write_runbook(tmp_path, data))
    assert run_cli(["run", path, "--dry-run"]).returncode == 0
    assert run_cli(["run", path, "--no-notify", "--state-dir", str(tmp_path / "s")]).returncode == 0
    time.sleep(0.3)
    assert receiver.received == []
    assert events(tmp_path / "s", "notification") == []


def test_the_config_file_adds_channels_for_every_runbook(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"notify:\n  team:\n    slack: {{url: '{receiver.url}/slack'}}\n    on: [succeeded]\n"
    )
    path = str(write_runbook(tmp_path, runbook_data(run_step("a", "true"))))
    result = run_cli(
        ["run", path, "--state-dir", str(tmp_path / "s")], env={"RECOVERCTL_CONFIG": str(config)}
    )
    assert result.returncode == 0, result.stderr
    (message,) = receiver.bodies("/slack")
    assert message["text"].startswith("test: succeeded")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("notify:\n  team:\n    slak: {url: x}\n", ":3:5: error: unknown key 'slak'"),
        (
            "notify:\n  team:\n    slack: {url: x}\n    on: [finished]\n",
            ":4:10: error: found 'finished'",
        ),
        ("notify: [\n", ":2:1: error:"),
    ],
)
def test_a_malformed_config_file_stops_before_the_first_step(
    tmp_path: Path, config: str, expected: str
) -> None:
    (tmp_path / "config.yaml").write_text(config)
    marker = tmp_path / "ran"
    path = str(write_runbook(tmp_path, runbook_data(run_step("a", f"touch {marker}"))))
    result = run_cli(
        ["run", path, "--state-dir", str(tmp_path / "s")],
        env={"RECOVERCTL_CONFIG": str(tmp_path / "config.yaml")},
    )
    assert result.returncode == 2, result.stderr
    assert f"config.yaml{expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_a_named_config_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    path = str(write_runbook(tmp_path, runbook_data(run_step("a", "true"))))
    result = run_cli(["run", path], env={"RECOVERCTL_CONFIG": str(tmp_path / "nope.yaml")})
    assert result.returncode == 2
    assert "RECOVERCTL_CONFIG names" in result.stderr and "nothing was run" in result.stderr


def test_a_channel_is_validated_with_positions(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", "true"),
        notify={"x": {"webhook": {"url": "http://h/"}, "slack": {"url": "http://h/"}}},
    )
    result = run_cli(["validate", str(write_runbook(tmp_path, data))])
    assert result.returncode == 2
    assert (
        "rb.yaml:" in result.stderr
        and "notification 'x' has both 'webhook' and 'slack'" in result.stderr
    )


def test_a_resumed_run_tells_of_its_resumption_not_again_of_what_happened_before(
    tmp_path: Path, receiver: Receiver
) -> None:
    fixed = tmp_path / "fixed"
    data = runbook_data(
        run_step("a", "true"),
        run_step("b", f"test -e {fixed}", on_failure="abort"),
        notify={"audit": {"webhook": {"url": f"{receiver.url}/hook"}}},
    )
    state = ["--state-dir", str(tmp_path / "s")]
    first = run_cli(["run", str(write_runbook(tmp_path, data)), *state])
    assert first.returncode == 1, first.stderr
    assert [b["event"] for b in receiver.bodies("/hook")] == ["started", "failed"]
    run_id = receiver.bodies("/hook")[0]["run_id"]
    fixed.touch()
    again = run_cli(["resume", run_id, *state])
    assert again.returncode == 0, again.stderr
    hook = receiver.bodies("/hook")
    assert [b["event"] for b in hook] == ["started", "failed", "started", "succeeded"]
    assert hook[2]["title"] == "test: recovery resumed" and hook[2]["run_id"] == run_id


def test_a_webhook_host_that_does_not_resolve_is_recorded_not_fatal(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("a", "true"),
        notify={
            "gone": {
                "webhook": {"url": "http://recoverctl-test.invalid/hook"},
                "on": ["succeeded"],
                "attempts": 1,
                "timeout": "3s",
            }
        },
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 0, result.stderr
    (delivered,) = events(tmp_path / "s", "notification")
    assert not delivered["ok"]
    assert delivered["error"].startswith(
        (
            "gave up after 1 attempt: cannot reach recoverctl-test.invalid",
            "gave up after 1 attempt: recoverctl-test.invalid did not answer",
        )
    )


def test_a_hostile_header_value_is_refused_by_name_and_never_recorded(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = runbook_data(
        run_step("a", "true"),
        params={"tok": {"type": "string", "secret": True, "default": f"{SECRET}\r\nX-Evil: 1"}},
        notify={
            "audit": {
                "webhook": {
                    "url": f"{receiver.url}/hook",
                    "headers": {"Authorization": "{{ params.tok }}"},
                },
                "on": ["succeeded"],
            }
        },
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--state-dir", str(tmp_path / "s")]
    )
    assert result.returncode == 0, result.stderr
    (delivered,) = events(tmp_path / "s", "notification")
    assert not delivered["ok"] and delivered["attempts"] == 0
    assert delivered["error"].startswith("header 'Authorization': its value holds")
    assert receiver.received == []
    journal = next((tmp_path / "s").glob("runs/*/journal.jsonl")).read_text()
    assert SECRET not in journal and SECRET not in result.stderr
