"""http, wait_for and log webhooks against a real server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

from recoverctl.engine.events import LogMessage, WaitPolled
from tests.actions.conftest import Server, free_port
from tests.engine.harness import run_engine
from tests.helpers import runbook_data


def _http(step_id: str, url: str, **options: object) -> dict[str, object]:
    return {"id": step_id, "http": {"url": url, **options}, "timeout": "3s"}


def test_http_checks_status_body_and_json_and_exposes_outputs(
    tmp_path: Path, server: Server
) -> None:
    data = runbook_data(
        {
            **_http(
                "health",
                f"{server.url}/health",
                expect={
                    "status": [200],
                    "body": '"ok"',
                    "json": {"status": "ok", "checks.0.db": "up"},
                },
            ),
            "outputs": {"version": "{{ json.version }}", "code": "{{ status }}"},
        },
        {
            "id": "check",
            "assert": ["steps.health.outputs.version == '2.1'", "steps.health.outputs.code == 200"],
        },
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 0, out.state.error
    assert out.state.steps["health"].outputs == {"version": "2.1", "code": 200}


def test_http_failures_say_what_was_wrong(tmp_path: Path, server: Server) -> None:
    port = free_port()
    cases = {
        "json": (
            _http("s", f"{server.url}/degraded", expect={"json": {"status": "ok"}}),
            "JSON path 'status' is 'degraded', expected 'ok'",
        ),
        "status": (_http("s", f"{server.url}/nope"), "got HTTP 404, expected 200-299"),
        "redirect": (
            _http("s", f"{server.url}/moved"),
            "redirect to /health; set follow_redirects: true",
        ),
        "refused": (_http("s", f"http://127.0.0.1:{port}/"), "cannot connect (connection refused)"),
        "timeout": (_http("s", f"{server.url}/slow", timeout="300ms"), "no answer within 300ms"),
    }
    for name, (step, expected) in cases.items():
        (tmp_path / name).mkdir()
        out = run_engine(tmp_path / name, runbook_data(step), real=True)
        assert out.code == 1, name
        assert expected in (out.state.steps["s"].error or ""), (name, out.state.steps["s"].error)


def test_refused_connection_is_retried(tmp_path: Path, server: Server) -> None:
    port = free_port()
    step = {**_http("s", f"http://127.0.0.1:{port}/"), "retry": {"attempts": 3, "delay": "10ms"}}
    out = run_engine(tmp_path, runbook_data(step), real=True)
    assert out.state.steps["s"].attempts == 3


def test_follow_redirects_when_asked(tmp_path: Path, server: Server) -> None:
    out = run_engine(
        tmp_path, runbook_data(_http("s", f"{server.url}/moved", follow_redirects=True)), real=True
    )
    assert out.code == 0


def test_wait_for_polls_until_healthy_and_each_poll_is_an_event(
    tmp_path: Path, server: Server
) -> None:
    server.healthy_after = 3
    data = runbook_data(
        {
            "id": "ready",
            "wait_for": {
                "http": {"url": f"{server.url}/flaky"},
                "interval": "50ms",
                "timeout": "10s",
            },
            "timeout": "20s",
        }
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 0
    polls = [e for e in out.events if isinstance(e, WaitPolled)]
    assert [p.polls for p in polls] == [1, 2, 3]
    assert "got HTTP 503" in (polls[-1].error or "")


def test_wait_for_until_expression_and_timeout_with_last_failure(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    data = runbook_data(
        {
            "id": "lag_ok",
            "wait_for": {
                "run": f"echo x >> {counter}; wc -l < {counter}",
                "until": "stdout | trim | int >= 3",
                "interval": "10ms",
                "timeout": "5s",
            },
            "timeout": "10s",
        }
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 0
    data = runbook_data(
        {
            "id": "never",
            "wait_for": {"run": "echo not yet; exit 1", "interval": "100ms", "timeout": "350ms"},
            "timeout": "10s",
        }
    )
    started = time.monotonic()
    (tmp_path / "b").mkdir()
    out = run_engine(tmp_path / "b", data, real=True)
    assert time.monotonic() - started < 5
    assert out.state.steps["never"].status == "timed_out"
    assert "not ready after" in (out.state.steps["never"].error or "")
    assert "last: exited with 1" in (out.state.steps["never"].error or "")


def test_log_webhook_posts_json_and_failures_do_not_fail_the_run(
    tmp_path: Path, server: Server
) -> None:
    data = runbook_data(
        {
            "id": "page",
            "log": {
                "message": "failing over {{ params.db }}",
                "level": "warning",
                "webhook": {"url": f"{server.url}/hook"},
            },
        },
        {"id": "broken", "log": {"message": "x", "webhook": {"url": f"{server.url}/broken-hook"}}},
        {
            "id": "hung",
            "log": {"message": "y", "webhook": {"url": f"{server.url}/hang", "timeout": "300ms"}},
        },
        params={"db": {"type": "string", "default": "db-1"}},
    )
    started = time.monotonic()
    out = run_engine(tmp_path, data, real=True)
    assert time.monotonic() - started < 4
    assert out.code == 0
    assert server.posts[0]["body"] == {
        "text": "failing over db-1",
        "level": "warning",
        "run_id": "test-run",
        "step": "page",
    }
    warnings = [e.message for e in out.events if isinstance(e, LogMessage) and e.level == "warning"]
    assert any("HTTP 500" in w for w in warnings) and any(
        "no answer within 300ms" in w for w in warnings
    )


def test_required_webhook_failure_fails_the_step(tmp_path: Path, server: Server) -> None:
    data = runbook_data(
        {
            "id": "page",
            "log": {
                "message": "x",
                "webhook": {"url": f"{server.url}/broken-hook", "required": True},
            },
        }
    )
    out = run_engine(tmp_path, data, real=True)
    assert out.code == 1
