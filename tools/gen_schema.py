"""Writes recoverctl/schemas/runbook.schema.json and its published copy.

The schema is data; this script only keeps its shared pieces (durations,
action kinds, step options) written once. Run it after changing the format:
`python tools/gen_schema.py`. A test checks both files are current.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [
    ROOT / "recoverctl" / "schemas" / "runbook.schema.json",
    ROOT / "schemas" / "runbook.schema.json",
]
FAST_VALIDATOR = ROOT / "recoverctl" / "validate" / "_fast_schema.py"
SCENARIO_TARGETS = [
    ROOT / "recoverctl" / "schemas" / "scenarios.schema.json",
    ROOT / "schemas" / "scenarios.schema.json",
]
"""The schema compiled to Python by fastjsonschema: the fast path for valid files."""

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
POSITIVE_DURATION_PATTERN = r"^(?!(0+(\.0+)?(ms|s|m|h|d))+$)([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
"""A duration greater than zero: `0s`, `0m0s` and `0.0h` are refused, as the docs say."""
PARAM_REFERENCE_PATTERN = r"\{\{ *params\.[A-Za-z_][A-Za-z0-9_]* *\}\}"
"""A whole value that is one param reference (recoverctl/validate/durations.py)."""
DURATION_OR_PARAM_PATTERN = (
    "^(" + PARAM_REFERENCE_PATTERN + "|" + POSITIVE_DURATION_PATTERN[1:-1] + ")$"
)
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RUN_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_./]*(\[[^\[\]/\x00-\x1f]+\][A-Za-z0-9_./]*)*$"
"""A step as a run names it: `call/inner`, `x.rollback`, a fan-out's item `restart[db-2]`."""

sys.path.insert(0, str(ROOT))
from recoverctl.model.kinds import COMPENSABLE, GUARDABLE, KINDS  # noqa: E402 - after the path

ACTION_KINDS = list(KINDS)
GROUP_KINDS = ["parallel", "steps", "branch"]
from recoverctl.model.notify import NOTIFY_EVENTS, NOTIFY_KINDS  # noqa: E402 - after the path

COMPENSATION_KINDS = COMPENSABLE


FANOUT_OPTIONS: dict[str, Any] = {
    "max_parallel": {
        "description": "Items running at once (default: a whole wave).",
        "type": "integer",
        "minimum": 1,
    },
    "batch": {
        "description": "Rolling waves of this many items; a wave finishes "
        "before the next one starts.",
        "type": "integer",
        "minimum": 1,
    },
    "canary": {
        "description": "The first this-many items run alone, before the rest; "
        "any failure among them stops the fan-out.",
        "type": "integer",
        "minimum": 1,
    },
    "max_failures": {
        "description": "Items that may fail before no new item starts and the "
        "step fails (default 0).",
        "type": "integer",
        "minimum": 0,
    },
    "max_failure_percent": {
        "description": "The same budget as a share of the items, in percent.",
        "type": "number",
        "minimum": 0,
        "maximum": 100,
    },
    "stop_running": {
        "description": "Past the budget, stop the items still running too (their "
        "processes are killed, here or on their hosts); default false: they finish.",
        "type": "boolean",
    },
}
"""What a fan-out may say about its waves and budget: under `foreach:`, or `strategy:`."""


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def one_kind(
    kinds: list[str], what: str = "a step", also: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Exactly one of `kinds`, said so an editor can explain it.

    A `oneOf` of `required` makes yaml-language-server say "Matches multiple schemas when
    only one must validate" for a step with two actions, and its `not` says "Matches a
    schema that is not allowed". So: "at least one" is an `anyOf`, and "no second one" a
    `dependencies` entry per kind forbidding the others (`false`), whose `errorMessage`
    editors show on the second key. recoverctl's explainer reads the same keywords.
    `also`: other dependencies of the object (they share the keyword).
    """
    forbid = {
        kind: {
            "properties": {other: False for other in kinds if other != kind},
            "errorMessage": f"{what} has exactly one of: {', '.join(kinds)}; this one "
            f"already has '{kind}' (split it into two steps)",
        }
        for kind in kinds
    }
    return {
        "anyOf": [{"required": [kind]} for kind in kinds],
        "dependencies": {**forbid, **(also or {})},
    }


def schema() -> dict[str, Any]:
    defs: dict[str, Any] = {
        "duration": {
            "description": "A duration: 250ms, 30s, 5m, 1h30m, 1d, or a number of seconds.",
            "x-expected": "a duration greater than zero, such as 250ms, 30s, 5m, 1h30m or a "
            "number of seconds",
            # one schema, not anyOf [number, string]: an editor then says what a duration
            # is (patternErrorMessage) instead of 'Expected "number"'
            "type": ["number", "string"],
            "exclusiveMinimum": 0,
            "pattern": POSITIVE_DURATION_PATTERN,
            "patternErrorMessage": "expected a duration greater than zero, such as 30s, 5m, "
            "1h30m or 250ms (a number means seconds)",
            "examples": ["30s", "5m", "1h30m"],
        },
        "duration_or_param": {
            "description": "A duration (250ms, 30s, 5m, 1h30m, or a number of seconds), or "
            '`"{{ params.NAME }}"`: read from a param when the run\'s params are bound.',
            "x-expected": "a duration greater than zero, such as 250ms, 30s, 5m or 1h30m, or "
            '"{{ params.NAME }}"',
            "type": ["number", "string"],
            "exclusiveMinimum": 0,
            "pattern": DURATION_OR_PARAM_PATTERN,
            "patternErrorMessage": "expected a duration greater than zero, such as 30s, 5m, "
            '1h30m or 250ms (a number means seconds), or "{{ params.NAME }}"',
            "examples": ["30s", "5m", "{{ params.wait }}"],
        },
        "expression": {
            "description": "A Jinja2 expression (no braces), e.g. `steps.check.ok and params.force`.",
            "x-expected": "an expression such as steps.check.ok",
            "type": "string",
            "minLength": 1,
        },
        "template": {
            "description": "Text that may contain {{ templates }}.",
            "type": "string",
        },
        "id": {
            "description": "A unique step id: letters, digits and _, not starting with a digit.",
            "x-expected": "an identifier such as promote_replica (letters, digits, _)",
            "type": "string",
            "pattern": ID_PATTERN,
        },
        "env": {
            "description": "Environment variables for commands; values are templates.",
            "type": "object",
            "propertyNames": {"pattern": ENV_NAME_PATTERN},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "on_failure": {
            "description": "What a failure does after retries and rescue: abort the run, continue, or roll back completed steps (the default).",
            "enum": ["abort", "continue", "rollback"],
        },
        "retry": {
            "description": "Retry policy for a step's attempts.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "attempts": {
                    "description": "Total attempts, the first one included (1 = no retry).",
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000,
                },
                "delay": {
                    **ref("duration_or_param"),
                    "description": "Wait before the first retry.",
                },
                "backoff": {
                    "description": "How the wait grows between retries.",
                    "enum": ["fixed", "exponential"],
                },
                "factor": {
                    "description": "Multiplier of the wait for exponential backoff.",
                    "type": "number",
                    "minimum": 1,
                },
                "max_delay": {
                    **ref("duration_or_param"),
                    "description": "Upper bound of any single wait.",
                },
                "jitter": {
                    "description": "Randomise each wait between half and all of it, to spread retries.",
                    "type": "boolean",
                },
                "when": {
                    **ref("expression"),
                    "description": "Retry only failures for which this holds, e.g. `exit_code in [75, 111]`.",
                },
            },
        },
        "run": {
            "description": "A command: a string runs through `sh -c` with template values shell-quoted; a list runs without a shell.",
            "x-expected": "a command string, or a list of strings (argv)",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
            ],
        },
        "http_expect": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {
                    "description": "Accepted statuses: a list of codes, or a range like `200-299`.",
                    "x-expected": "a status code, a list of codes, or a range such as 200-299",
                    "anyOf": [
                        {"type": "integer", "minimum": 100, "maximum": 599},
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "integer", "minimum": 100, "maximum": 599},
                        },
                        {"type": "string", "pattern": r"^[1-5][0-9][0-9]-[1-5][0-9][0-9]$"},
                    ],
                },
                "body": {
                    "description": "A regular expression the body must match.",
                    "type": "string",
                },
                "json": {
                    "description": "Dotted paths into the JSON body and the values they must equal.",
                    "type": "object",
                },
            },
        },
        "http": {
            "description": "An HTTP request; a status outside `expect.status` (default 2xx) fails the attempt.",
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {
                "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
                "url": {"type": "string", "minLength": 1},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": {"type": "string"},
                "json": {"description": "A JSON body (sent with content-type application/json)."},
                "timeout": ref("duration_or_param"),
                "verify": {
                    "description": "Verify TLS certificates (default true).",
                    "type": "boolean",
                },
                "ca_bundle": {
                    "description": "A PEM file of the CAs to trust instead of the system's "
                    "(private PKI); relative to the runbook's folder; a template.",
                    "type": "string",
                    "minLength": 1,
                },
                "client_cert": {
                    "description": "A PEM client certificate for mutual TLS (with client_key, "
                    "unless the file holds the key too); a template.",
                    "type": "string",
                    "minLength": 1,
                },
                "client_key": {
                    "description": "The client certificate's PEM private key; a template.",
                    "type": "string",
                    "minLength": 1,
                },
                "follow_redirects": {"type": "boolean"},
                "expect": ref("http_expect"),
            },
            "not": {"required": ["body", "json"]},
        },
        "wait_for": {
            "description": "Poll a `run` or `http` check every `interval` until it succeeds (and `until` holds), up to `timeout`.",
            "type": "object",
            "additionalProperties": False,
            **one_kind(["run", "http"], "wait_for"),
            "properties": {
                "run": ref("run"),
                "http": ref("http"),
                "interval": ref("duration_or_param"),
                "timeout": ref("duration_or_param"),
                "until": ref("expression"),
                "fail_if": {
                    **ref("expression"),
                    "description": "Stop waiting at once, failed, when this holds on a poll's "
                    "result (e.g. `json.error_rate > 0.5`): a health gate that fails fast.",
                },
                "consecutive": {
                    "description": "Polls in a row that must succeed (and hold `until`) before "
                    "the wait is over (default 1): a health that must hold, not flicker.",
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 1000,
                },
            },
        },
        "approval": {
            "description": "A gate a human answers; `--yes` approves. The step's `timeout` bounds the wait, then `default` is taken.",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "required": ["prompt"],
                    "additionalProperties": False,
                    "properties": {
                        "prompt": {"type": "string", "minLength": 1},
                        "default": {"enum": ["approve", "deny"]},
                        "approvers": {
                            "description": "Who may answer, from this terminal or with "
                            "`recoverctl approve`: OS user names, `group:NAME` for a group's "
                            "members (default: only the user the run runs as).",
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": True,
                            "items": {
                                "type": "string",
                                "pattern": "^(group:)?[A-Za-z_][A-Za-z0-9_.-]*$",
                            },
                        },
                        "min_approvals": {
                            "description": "Distinct people who must approve; the one who "
                            "started the run does not count (four eyes). One denial denies.",
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 20,
                        },
                    },
                },
            ],
            "x-expected": "a prompt string, or {prompt, default, approvers, min_approvals}",
        },
        "webhook": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "minLength": 1},
                "timeout": ref("duration"),
                "required": {
                    "description": "Fail the step when the webhook fails (default false).",
                    "type": "boolean",
                },
            },
        },
        "log": {
            "description": "A message (a template) at a level; with `webhook` it is also POSTed as JSON.",
            "x-expected": "a message string, or {message, level, webhook}",
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": ["message"],
                    "additionalProperties": False,
                    "properties": {
                        "message": {"type": "string"},
                        "level": {"enum": ["debug", "info", "warning", "error"]},
                        "webhook": ref("webhook"),
                    },
                },
            ],
        },
        "assert": {
            "description": "Expressions that must all hold, or the step fails.",
            "x-expected": "an expression, a list of expressions, or {that, message}",
            "anyOf": [
                ref("expression"),
                {"type": "array", "minItems": 1, "items": ref("expression")},
                {
                    "type": "object",
                    "required": ["that"],
                    "additionalProperties": False,
                    "properties": {
                        "that": {
                            "anyOf": [
                                ref("expression"),
                                {"type": "array", "minItems": 1, "items": ref("expression")},
                            ]
                        },
                        "message": {"type": "string"},
                    },
                },
            ],
        },
        "call": {
            "description": "Run another runbook (path relative to this file) with params.",
            "type": "object",
            "required": ["runbook"],
            "additionalProperties": False,
            "properties": {
                "runbook": {"type": "string", "minLength": 1},
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
            },
        },
        "compensation": {
            "description": "An action that undoes a step: one action kind plus its own timeout and retry.",
            "type": "object",
            "additionalProperties": False,
            **one_kind(COMPENSATION_KINDS, "a rollback"),
            "properties": {
                "name": {"type": "string"},
                **{
                    kind: ref("duration_or_param" if kind == "sleep" else kind)
                    for kind in COMPENSATION_KINDS
                },
                "timeout": ref("duration_or_param"),
                "retry": ref("retry"),
                "env": ref("env"),
                "cwd": {"type": "string"},
            },
        },
        "skip_if": {
            "description": "Idempotency guard: an expression, or a `run`/`http` check; when it holds the step is `unchanged` and not run.",
            "x-expected": "an expression, or {run: ...} / {http: ...}",
            "anyOf": [
                ref("expression"),
                {
                    "type": "object",
                    "additionalProperties": False,
                    **one_kind(GUARDABLE, "skip_if"),
                    "properties": {
                        "run": ref("run"),
                        "http": ref("http"),
                        "timeout": ref("duration_or_param"),
                        "env": ref("env"),
                        "cwd": {"type": "string"},
                    },
                },
            ],
        },
        "steps": {"type": "array", "minItems": 1, "items": ref("step")},
        "branch_case": {
            "x-expected": "a case {when: <expression>, steps: [...]} or a fallback {else: [...]}",
            "type": "object",
            "additionalProperties": False,
            "oneOf": [{"required": ["when", "steps"]}, {"required": ["else"]}],
            "properties": {
                "name": {"type": "string"},
                "when": ref("expression"),
                "steps": ref("steps"),
                "else": ref("steps"),
            },
        },
        "step": {
            "description": "One step: exactly one action (run, http, wait_for, sleep, approval, log, assert, call) or group (parallel, steps, branch).",
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            **one_kind(
                ACTION_KINDS + GROUP_KINDS, also={"max_parallel": ["parallel"], "strategy": ["on"]}
            ),
            "properties": {
                "id": ref("id"),
                "name": {"type": "string"},
                "description": {"type": "string"},
                "when": ref("expression"),
                "timeout": ref("duration_or_param"),
                "retry": ref("retry"),
                "on_failure": ref("on_failure"),
                "rollback": ref("compensation"),
                "rescue": ref("steps"),
                "skip_if": ref("skip_if"),
                "outputs": {
                    "description": "Named values computed from this step's result (templates over stdout, stderr, exit_code, json).",
                    "type": "object",
                    "propertyNames": {"pattern": ID_PATTERN},
                    "additionalProperties": {
                        "anyOf": [
                            {"type": "string"},
                            {
                                "type": "object",
                                "description": "An output with options: `secret: true` masks "
                                "its value everywhere, like a secret param.",
                                "required": ["value"],
                                "additionalProperties": False,
                                "properties": {
                                    "value": {"type": "string"},
                                    "secret": {"type": "boolean"},
                                },
                            },
                        ],
                        "x-expected": "a template, or {value: template, secret: true}",
                    },
                },
                "env": ref("env"),
                "cwd": {"type": "string"},
                "locks": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "uniqueItems": True,
                },
                "idempotent": {
                    "description": "Safe to run twice; false forbids automatic retry and re-run on resume.",
                    "type": "boolean",
                },
                "destructive": {
                    "description": "Changes state that is hard to undo; lint wants a rollback or an approval before it.",
                    "type": "boolean",
                },
                "read_only": {
                    "description": "Only reads (a health check, a lag query): `run --dry-run --probe` "
                    "runs it for real, so the dry run decides on real values.",
                    "type": "boolean",
                },
                "run": ref("run"),
                "http": ref("http"),
                "wait_for": ref("wait_for"),
                "sleep": ref("duration_or_param"),
                "approval": ref("approval"),
                "log": ref("log"),
                "assert": ref("assert"),
                "call": ref("call"),
                "parallel": {
                    **ref("steps"),
                    "description": "Steps that run at the same time (up to max_parallel and the runbook's concurrency).",
                },
                "steps": {
                    **ref("steps"),
                    "description": "A sequence of steps, e.g. one lane of a parallel group.",
                },
                "branch": {
                    "description": "Cases tried in order; the first whose `when` holds runs, else `else`.",
                    "type": "array",
                    "minItems": 1,
                    "items": ref("branch_case"),
                },
                "max_parallel": {"type": "integer", "minimum": 1},
                "foreach": ref("foreach"),
                "on": {
                    "description": "Run this step on each host of a target (see `targets`): "
                    "a fan-out whose items are the target's hosts, `target` in templates.",
                    "type": "string",
                    "pattern": ID_PATTERN,
                },
                "strategy": {
                    **ref("strategy"),
                    "description": "How an `on:` step goes "
                    "through its hosts: waves and the failure budget.",
                },
            },
        },
        "strategy": {
            "type": "object",
            "additionalProperties": False,
            "properties": FANOUT_OPTIONS,
        },
        "notification": {
            "description": "Where to tell people about this run, and on which of its events. "
            "Delivered in the background with retries; never blocks or fails the run. "
            "See docs/notifications.md.",
            "x-expected": "{slack: {url: ...}}, {webhook: {url: ...}}, "
            "{pagerduty: {routing_key: ...}} or {command: [argv...]}, with an optional on: [...]",
            "type": "object",
            "additionalProperties": False,
            **one_kind(NOTIFY_KINDS, "a notification"),
            "properties": {
                "on": {
                    "description": "The run events that send it (default: all of them).",
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": NOTIFY_EVENTS},
                },
                "timeout": {**ref("duration"), "description": "Each attempt's bound (default 5s)."},
                "attempts": {
                    "description": "Tries before giving up (default 4, with backoff).",
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 10,
                },
                "webhook": {
                    "description": "POST a JSON document (docs/notifications.md) to a URL.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url"],
                    "properties": {
                        "url": {**ref("template"), "description": "http(s) URL; a template."},
                        "headers": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "Extra headers (templates), e.g. Authorization.",
                        },
                    },
                },
                "slack": {
                    "description": "A Slack incoming webhook.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url"],
                    "properties": {
                        "url": {
                            **ref("template"),
                            "description": "The webhook URL (a secret: take it from env or a "
                            "secret param).",
                        },
                    },
                },
                "pagerduty": {
                    "description": "PagerDuty Events API v2: trigger, and resolve on success; the "
                    "run id is the dedup key.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["routing_key"],
                    "properties": {
                        "routing_key": {**ref("template"), "description": "The integration key."},
                        "severity": {
                            "description": "The alert severity (default critical).",
                            "enum": ["critical", "error", "warning", "info"],
                        },
                        "url": {
                            **ref("template"),
                            "description": "The Events API endpoint (default "
                            "https://events.pagerduty.com/v2/enqueue).",
                        },
                    },
                },
                "command": {
                    "description": "Run a program (argv, no shell) with the notice as JSON on stdin.",
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "minLength": 1},
                },
            },
        },
        "target": {
            "description": "Hosts and how to reach them: ssh, kubectl (pods), docker "
            "(containers), or command (any argv prefix).",
            "x-expected": "{ssh: {...}}, {kubectl: {...}}, {docker: {...}} or {command: {...}}",
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "ssh": ref("ssh_target"),
                "kubectl": ref("kubectl_target"),
                "docker": ref("docker_target"),
                "command": ref("command_target"),
            },
        },
        "host_list": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
            ],
            "x-expected": "a list of names, or a template that renders to one",
        },
        "ssh_target": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "hosts": {
                    **ref("host_list"),
                    "description": "The hosts (`name`, "
                    "`name:port`, an address), or a template giving them.",
                },
                "inventory": {
                    "type": "string",
                    "description": "An Ansible inventory "
                    "(YAML or INI) to read the hosts of `group` from.",
                },
                "group": {"type": "string", "description": "The inventory group (default all)."},
                "user": {"type": "string", "description": "The remote user (ssh -l)."},
                "port": {"type": ["integer", "string"], "description": "The port (ssh -p)."},
                "identity_file": {"type": "string", "description": "The private key (ssh -i)."},
                "jump": {
                    "type": "string",
                    "description": "A jump host, [user@]host[:port] (ssh -J).",
                },
                "known_hosts": {
                    "type": "string",
                    "description": "The known_hosts file host "
                    "keys are checked against (default: ssh's own).",
                },
                "host_key_checking": {
                    "description": "`strict` (default): an unknown or changed host key "
                    "refuses the host. `accept-new`: a new host's key is recorded on first use.",
                    "enum": ["strict", "accept-new"],
                },
                "connect_timeout": ref("duration"),
            },
            "anyOf": [{"required": ["hosts"]}, {"required": ["inventory"]}],
        },
        "kubectl_target": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pods"],
            "properties": {
                "pods": {**ref("host_list"), "description": "The pods, or a template giving them."},
                "namespace": {"type": "string", "description": "kubectl -n."},
                "container": {"type": "string", "description": "kubectl exec -c."},
                "context": {"type": "string", "description": "kubectl --context."},
            },
        },
        "docker_target": {
            "type": "object",
            "additionalProperties": False,
            "required": ["containers"],
            "properties": {
                "containers": {
                    **ref("host_list"),
                    "description": "The containers, or a template giving them.",
                },
                "user": {"type": "string", "description": "docker exec -u."},
            },
        },
        "command_target": {
            "type": "object",
            "additionalProperties": False,
            "required": ["hosts", "argv"],
            "properties": {
                "hosts": {
                    **ref("host_list"),
                    "description": "The hosts, or a template giving them.",
                },
                "argv": {
                    "description": "The command each remote command is appended to (as "
                    "`sh -c SCRIPT`); `{{ target }}` is the host, e.g. [aws, ssm, "
                    "start-session, --target, '{{ target }}', --].",
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "minLength": 1},
                },
            },
        },
        "foreach": {
            "description": "Run this step once per item of a list (hosts, shards, regions): "
            "each item has its own id `step[item]`, journal entries, retries, rollback and "
            "resume. Waves: the canary first, then batches; a failure budget stops it.",
            "x-expected": "{items: <list or template>, as: name, max_parallel: n, batch: n, "
            "canary: n, max_failures: n, max_failure_percent: p, stop_running: bool}",
            "type": "object",
            "required": ["items"],
            "additionalProperties": False,
            "properties": {
                "items": {
                    "description": "The list: written out, or a template that renders to "
                    "one (`{{ params.hosts }}`, `{{ steps.discover.outputs.shards }}`).",
                    "anyOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "minItems": 1},
                    ],
                },
                "as": {
                    "description": "The item's name in the body's templates (default `item`).",
                    "type": "string",
                    "pattern": ID_PATTERN,
                },
                "key": {
                    "description": "A template giving each item's id when items are objects, "
                    "e.g. `{{ item.name }}` (default: the item's own text).",
                    "type": "string",
                },
                **FANOUT_OPTIONS,
            },
        },
        "param": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": {"enum": ["string", "integer", "number", "boolean", "duration", "list"]},
                "items": {
                    "description": "The type of each item of a `list` param.",
                    "enum": ["string", "integer", "number", "boolean"],
                },
                "default": {
                    "anyOf": [
                        {"type": ["string", "number", "boolean"]},
                        {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                    ]
                },
                "required": {"type": "boolean"},
                "description": {"type": "string"},
                "secret": {
                    "description": "Never shown: replaced by *** in logs, journals and reports.",
                    "type": "boolean",
                },
                "env": {
                    "description": "Environment variable the value is read from when not given with -p.",
                    "type": "string",
                    "pattern": ENV_NAME_PATTERN,
                },
                "from_alert": {
                    "description": "Where `run --from-alert` finds the value in the alert: "
                    "labels.instance, annotations.summary, commonLabels.job (Alertmanager), "
                    "title, service.summary (PagerDuty), any.dotted.path (plain JSON). "
                    "A list param takes the value of every firing alert.",
                    "x-expected": "a dotted path such as labels.instance",
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
                    "examples": ["labels.instance", "annotations.summary"],
                },
                "choices": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": ["string", "number", "boolean"]},
                },
            },
        },
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://recoverctl.dev/schemas/runbook-v1.schema.json",
        "title": "recoverctl runbook",
        "description": "A recovery runbook (format version 1). See docs/format.md.",
        "type": "object",
        "required": ["version", "name", "steps"],
        "additionalProperties": False,
        "properties": {
            "version": {"description": "Format version; this schema is version 1.", "const": 1},
            "name": {
                "description": "The runbook's name (also its lock: one active run per name).",
                "type": "string",
                "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                "x-expected": "a name such as db-failover (letters, digits, -, _, .)",
            },
            "description": {"type": "string"},
            "owner": {"type": "string"},
            "objectives": {
                "description": "Recovery objectives: lint checks the worst case against rto; run reports met or missed.",
                "type": "object",
                "additionalProperties": False,
                "properties": {"rto": ref("duration"), "rpo": ref("duration")},
            },
            "timeout": {
                **ref("duration_or_param"),
                "description": "Hard deadline for the whole run.",
            },
            "params": {
                "type": "object",
                "propertyNames": {"pattern": ID_PATTERN},
                "additionalProperties": ref("param"),
            },
            "env": ref("env"),
            "defaults": {
                "description": "Defaults for every step.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "timeout": ref("duration_or_param"),
                    "retry": ref("retry"),
                    "on_failure": ref("on_failure"),
                },
            },
            "allow_injection": {
                "description": "Allow `recoverctl run --inject` on this runbook (for staging game days).",
                "type": "boolean",
            },
            "concurrency": {
                "description": "Most actions running at once in the whole run.",
                "type": "integer",
                "minimum": 1,
            },
            "cooldown": {
                "description": "Refuse a new run within this long after the last one ended "
                "(`--force` overrides, journaled): `10m`, or `{runbook: 10m, alert: 1h}` to "
                "also refuse a run for the same alert (fingerprint) within an hour.",
                "x-expected": "a duration such as 10m, or {runbook: 10m, alert: 1h}",
                "anyOf": [
                    ref("duration"),
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "runbook": {
                                **ref("duration"),
                                "description": "After any run of this runbook.",
                            },
                            "alert": {
                                **ref("duration"),
                                "description": "After a run started from the same alert.",
                            },
                        },
                    },
                ],
            },
            "notify": {
                "description": "Named notification channels: who hears that this run started, "
                "waits for approval, failed, rolls back or succeeded.",
                "type": "object",
                "propertyNames": {"pattern": ID_PATTERN},
                "additionalProperties": ref("notification"),
            },
            "targets": {
                "description": "Named sets of hosts a step can run on with `on: <name>`.",
                "type": "object",
                "propertyNames": {"pattern": ID_PATTERN},
                "additionalProperties": ref("target"),
            },
            "steps": ref("steps"),
            "finally": {
                **ref("steps"),
                "description": "Steps that always run last, whatever happened.",
            },
        },
        "definitions": defs,
    }


_ANNOTATIONS = {"description", "title", "x-expected", "$comment"}
_NAMED_SCHEMAS = {"properties", "definitions", "patternProperties"}


def _strip_annotations(node: Any) -> Any:
    """The schema without descriptions: the generated code inlines it in every raise."""
    if isinstance(node, list):
        return [_strip_annotations(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: _strip_annotations(schema) for name, schema in value.items()}
        else:
            out[key] = _strip_annotations(value)
    return out


def fast_validator_code(data: dict[str, Any]) -> str:
    import fastjsonschema

    code = fastjsonschema.compile_to_code(_strip_annotations(data))
    header = (
        "# Generated by tools/gen_schema.py from the runbook schema with fastjsonschema.\n"
        "# Do not edit: change tools/gen_schema.py and run it again.\n"
        "# ruff: noqa\n# type: ignore\n"
    )
    entry = re.search(r"^def (\w+)\(", code, flags=re.M)
    if entry is None:
        raise SystemExit("fastjsonschema generated no function")
    return header + code + f"\n\nvalidate = {entry.group(1)}\n"


def scenario_schema() -> dict[str, Any]:
    """Scenario files (`<runbook>.test.yaml`): mocked outcomes in, the expected path out."""
    duration = {
        "x-expected": "a duration such as 250ms, 30s, 5m or a number of seconds",
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": DURATION_PATTERN},
        ],
    }
    outcome_map = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "exit_code": {
                "type": "integer",
                "description": "0 succeeds; anything else fails the attempt.",
            },
            "stdout": {"type": "string"},
            "stderr": {"type": "string"},
            "outputs": {
                "type": "object",
                "description": "The step's outputs, instead of computing them from stdout.",
            },
            "timed_out": {
                "type": "boolean",
                "description": "The attempt hangs until the step's timeout.",
            },
            "delay": {**duration, "description": "Simulated time the attempt takes."},
            "error": {"type": "string"},
        },
    }
    outcome = {
        "x-expected": "ok, fail, timeout, a mapping {exit_code, stdout, outputs, delay, ...}, or a list of those (one per attempt)",
        "anyOf": [
            {"enum": ["ok", "fail", "timeout"]},
            outcome_map,
            {
                "type": "array",
                "minItems": 1,
                "items": {"anyOf": [{"enum": ["ok", "fail", "timeout"]}, outcome_map]},
            },
        ],
    }
    ids = {"type": "array", "items": {"type": "string", "pattern": RUN_ID_PATTERN}}
    expect = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": {
                "enum": [
                    "succeeded",
                    "failed",
                    "rolled_back",
                    "rollback_failed",
                    "interrupted",
                    "blocked",
                ]
            },
            "exit_code": {"type": "integer"},
            "ran": {**ids, "description": "Steps that ran (whatever their outcome)."},
            "not_run": {
                **ids,
                "description": "Steps that must not have run (skipped, or never reached).",
            },
            "skipped": ids,
            "rolled_back": {
                **ids,
                "description": "Steps undone, in the order their compensations ran.",
            },
            "branches": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Branch step id → the case it took (its name, its condition, or else).",
            },
            "attempts": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "statuses": {"type": "object", "additionalProperties": {"type": "string"}},
            "finally": ids,
            "max_duration": {**duration, "description": "Upper bound of the simulated run time."},
        },
    }
    scenario = {
        "type": "object",
        "required": ["name", "expect"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "params": {"type": "object"},
            "steps": {
                "type": "object",
                "additionalProperties": outcome,
                "description": "Step id → mocked outcome; unlisted steps succeed.",
            },
            "force": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Branch step id → the case to take, whatever the conditions say.",
            },
            "expect": expect,
        },
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://recoverctl.dev/schemas/scenarios-v1.schema.json",
        "title": "recoverctl scenarios",
        "description": "Scenario tests for a runbook: `recoverctl test`. See docs/testing.md.",
        "type": "object",
        "required": ["version", "scenarios"],
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "runbook": {
                "type": "string",
                "description": "The runbook, relative to this file (default: the sibling without .test).",
            },
            "scenarios": {"type": "array", "minItems": 1, "items": scenario},
        },
    }


def main() -> int:
    from schema_docs import document  # tools/ is on sys.path when run as a script

    data = document(schema())
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    outputs = dict.fromkeys(TARGETS, text)
    outputs[FAST_VALIDATOR] = fast_validator_code(data)
    scenario_text = json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
    outputs.update(dict.fromkeys(SCENARIO_TARGETS, scenario_text))
    check = "--check" in sys.argv
    stale = [
        t for t, body in outputs.items() if not t.exists() or t.read_text(encoding="utf-8") != body
    ]
    if check:
        for target in stale:
            print(f"{target.relative_to(ROOT)} is stale: run python tools/gen_schema.py")
        return 1 if stale else 0
    for target, body in outputs.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
