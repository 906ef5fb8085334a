"""`run --from-alert`: params from an Alertmanager or PagerDuty webhook body, or plain JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.helpers import run_step, runbook_data, write_runbook


def alertmanager(*instances: str, status: str = "firing") -> dict[str, Any]:
    """A webhook body as Alertmanager 0.27 posts it (docs: configuration, <webhook_config>)."""
    alerts = [
        {
            "status": status,
            "labels": {"alertname": "PostgresPrimaryDown", "instance": i, "job": "postgres"},
            "annotations": {"summary": f"{i} is down"},
            "startsAt": "2026-12-04T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
            "fingerprint": f"fp{n:014x}",
        }
        for n, i in enumerate(instances)
    ]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PostgresPrimaryDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "recoverctl",
        "groupLabels": {"alertname": "PostgresPrimaryDown"},
        "commonLabels": {"alertname": "PostgresPrimaryDown", "job": "postgres"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }


def pagerduty() -> dict[str, Any]:
    """A V3 webhook body (developer.pagerduty.com, "Webhook payload")."""
    return {
        "event": {
            "id": "01DEN3HBW10ZHZKGHYRNMT1MHD",
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2026-12-04T01:00:00.000Z",
            "agent": None,
            "client": None,
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "title": "cache-eu-1 cold",
                "status": "triggered",
                "urgency": "high",
                "service": {"id": "PF9KMXH", "type": "service_reference", "summary": "cache"},
            },
        }
    }


def write(tmp_path: Path, body: Any, name: str = "alert.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body, indent=2))
    return path


def run_from(
    tmp_path: Path, params: dict[str, Any], body: Any, *extra: str, command: str = ""
) -> Any:
    out = tmp_path / "out"
    out.unlink(missing_ok=True)
    line = command or " ".join(f"{{{{ params.{n} }}}}" for n in params)
    data = runbook_data(run_step("act", f"echo {line} > {out}"), params=params)
    result = run_cli(
        [
            "run",
            str(write_runbook(tmp_path, data)),
            "--from-alert",
            str(write(tmp_path, body)),
            "--state-dir",
            str(tmp_path / "s"),
            *extra,
        ]
    )
    return result, (out.read_text().strip() if out.exists() else None)


def test_alertmanager_labels_become_params_and_the_alert_is_journaled(tmp_path: Path) -> None:
    params = {
        "primary": {"type": "string", "from_alert": "labels.instance"},
        "job": {"type": "string", "from_alert": "commonLabels.job"},
    }
    result, said = run_from(tmp_path, params, alertmanager("db-1:5432"))
    assert result.returncode == 0, result.stderr
    assert said == "db-1:5432 postgres"
    assert "started from an Alertmanager alert (1 firing," in result.stderr
    (journal,) = (tmp_path / "s").glob("runs/*/journal.jsonl")
    started = json.loads(journal.read_text().splitlines()[0])
    assert started["event"] == "run_started"
    assert started["alert"]["source"] == "alertmanager"
    assert started["alert"]["fingerprints"] == ["fp00000000000000"]
    assert started["params"] == {"primary": "db-1:5432", "job": "postgres"}


def test_a_list_param_takes_every_firing_alert_and_a_single_value_must_agree(
    tmp_path: Path,
) -> None:
    body = alertmanager("db-1", "db-2", "db-3")
    body["alerts"][2]["status"] = "resolved"  # a resolved alert in the group is not acted on
    result, said = run_from(
        tmp_path, {"hosts": {"type": "list", "from_alert": "labels.instance"}}, body
    )
    assert result.returncode == 0, result.stderr
    assert said == '["db-1", "db-2"]'

    result, said = run_from(
        tmp_path, {"host": {"type": "string", "from_alert": "labels.instance"}}, body
    )
    assert result.returncode == 2 and said is None
    assert (
        "param 'host' reads 'labels.instance', which differs between the 2 firing alerts (db-1, db-2)"
        in result.stderr
    )
    assert "group_by: [instance]" in result.stderr


def test_a_missing_field_names_it_where_the_runbook_asks_for_it(tmp_path: Path) -> None:
    params = {"region": {"type": "string", "from_alert": "labels.region"}}
    result, said = run_from(tmp_path, params, alertmanager("db-1"))
    assert result.returncode == 2 and said is None
    assert "rb.yaml:6:17: error:" in result.stderr
    assert "param 'region' reads 'labels.region' from the alert" in result.stderr
    assert "but the alert has no such field" in result.stderr
    assert "there it has: alertname, instance, job" in result.stderr
    assert "Traceback" not in result.stderr

    params["region"]["default"] = "eu"  # said what to use when the alert does not say
    result, said = run_from(tmp_path, params, alertmanager("db-1"))
    assert result.returncode == 0 and said == "eu"


def test_a_pagerduty_incident_and_plain_json(tmp_path: Path) -> None:
    params = {
        "title": {"type": "string", "from_alert": "title"},
        "service": {"type": "string", "from_alert": "service.summary"},
    }
    result, said = run_from(tmp_path, params, pagerduty())
    assert result.returncode == 0, result.stderr
    assert said == "cache-eu-1 cold cache"

    params = {"shard": {"type": "integer", "from_alert": "shards.1.id"}}
    result, said = run_from(tmp_path, params, {"shards": [{"id": 4}, {"id": "7"}]})
    assert result.returncode == 0, result.stderr
    assert said == "7"


def test_dash_p_wins_over_the_alert(tmp_path: Path) -> None:
    params = {"primary": {"type": "string", "from_alert": "labels.instance"}}
    result, said = run_from(tmp_path, params, alertmanager("db-1"), "-p", "primary=db-9")
    assert result.returncode == 0 and said == "db-9"


def test_a_hostile_label_is_a_value_never_code(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    body = alertmanager(f"db-1; touch {pwned}; $(touch {pwned})")
    result, said = run_from(
        tmp_path, {"primary": {"type": "string", "from_alert": "labels.instance"}}, body
    )
    assert result.returncode == 0, result.stderr
    assert said == f"db-1; touch {pwned}; $(touch {pwned})"
    assert not pwned.exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"alerts": [1,', "alert.json:1:15: error: the alert is not valid JSON: Expecting value"),
        ("\xff", "the alert is not valid JSON"),
        ("[" * 100_000, "the alert nests too deeply"),
    ],
)
def test_malformed_alerts_are_clear_errors(tmp_path: Path, raw: str, expected: str) -> None:
    (tmp_path / "alert.json").write_text(raw)
    data = runbook_data(
        run_step("act", "true"), params={"p": {"type": "string", "from_alert": "x", "default": "d"}}
    )
    result = run_cli(
        ["run", str(write_runbook(tmp_path, data)), "--from-alert", str(tmp_path / "alert.json")]
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_resolved_alert_starts_nothing_and_stdin_works(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("act", "true"), params={"p": {"type": "string", "from_alert": "labels.instance"}}
    )
    path = str(write_runbook(tmp_path, data))
    resolved = json.dumps(alertmanager("db-1", status="resolved"))
    result = run_cli(["run", path, "--from-alert", "-"], input=resolved)
    assert result.returncode == 2
    assert "the alert in <stdin> is resolved: no firing alert to recover from" in result.stderr
    result = run_cli(
        ["run", path, "--from-alert", "-", "--no-journal"], input=json.dumps(alertmanager("db-1"))
    )
    assert result.returncode == 0, result.stderr


def test_a_from_alert_path_is_checked_by_the_schema(tmp_path: Path) -> None:
    data = runbook_data(
        run_step("act", "true"), params={"p": {"type": "string", "from_alert": "labels..x"}}
    )
    result = run_cli(["validate", str(write_runbook(tmp_path, data))])
    assert result.returncode == 2
    assert "expected a dotted path such as labels.instance" in result.stderr
