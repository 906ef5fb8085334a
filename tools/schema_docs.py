"""What the runbook schema tells an editor: a description of every property, in plain and
Markdown form, examples, and snippets for a new step.

`tools/gen_schema.py` builds the schema's rules; this adds the words, so hovering any key
in yaml-language-server (VS Code, Neovim, Helix) explains it. A property that already
has a description keeps it; the rest take theirs from PROPERTY_DOCS (by `definition.key`
first, then by key), and a key with no words anywhere fails the generator.
"""

from __future__ import annotations

from typing import Any

PROPERTY_DOCS: dict[str, str] = {
    # the runbook
    "version": "The runbook format version: `1`.",
    "name": "A name for this, shown in the live view, the journal and reports.",
    "runbook.name": "The runbook's name: its runs, its lock and its statistics go by it.",
    "description": "What this is for, in a sentence or two; the on-call reading it may not know.",
    "owner": "The team that owns this runbook (who to ask when it misbehaves).",
    "params": "Inputs the operator gives with `-p name=value`, each with a type and maybe a default.",
    "env": "Environment variables for commands; values are `{{ templates }}`.",
    "steps": "The steps, run in order (a step with `parallel:` runs its own at once).",
    "finally": "Steps that always run at the end, whatever happened; `run.status` says how it ended.",
    "objectives": "The recovery objectives: `rto` (time to recover) and `rpo` (data you may lose).",
    "rto": "Recovery time objective: the plan's worst case is checked against it (lint RC303).",
    "rpo": "Recovery point objective: how much data, as time, the recovery may lose (declared).",
    "timeout": "The longest this may take; past it, it is stopped and counts as failed (e.g. `30s`, `5m`).",
    "retry": "How to retry failed attempts: `attempts`, `delay`, `backoff`, `max_delay`, `jitter`, `on`.",
    "ssh": "Reach the hosts with the system OpenSSH client (BatchMode, strict host keys, connection reuse).",
    "kubectl": "Reach pods with `kubectl exec`.",
    "docker": "Reach containers with `docker exec`.",
    "command": "Reach the hosts with any command that runs a remote `sh -c SCRIPT` (SSM, nsenter, …).",
    "connect_timeout": "How long connecting to one host may take before it counts as unreachable (default 10s).",
    "foreach": "Run this step once per item (hosts, shards): `items`, `as`, `max_parallel`, `batch`, `canary`, `max_failures`, `max_failure_percent`, `stop_running`.",
    "on_failure": "What a failure does after retries and rescue: `rollback` (default), `abort` or `continue`.",
    "cwd": "The working folder of commands (relative to the runbook's folder).",
    "locks": "Named locks held while the step runs, so parallel steps do not touch a resource at once.",
    # a step
    "id": "A unique step id: letters, digits and _ (not starting with a digit). Other steps read `steps.<id>`.",
    "step.name": "A human title for the step, shown instead of its id.",
    "step.description": "What the step does and why; shown in `plan` and reports.",
    "when": "Run the step only when this expression holds (else it is skipped), e.g. `params.force`.",
    "rollback": "How to undo this step: run when a later step fails and the run rolls back.",
    "rescue": "Steps run when this one fails after its retries; if they succeed, the run goes on.",
    "skip_if": "An idempotency guard: a check that says the work is already done, so the step is skipped.",
    "destructive": "Marks a step that loses data or disrupts service: lint wants an approval or a rollback for it.",
    "idempotent": "Whether running the step twice is safe; `false` stops retries on ambiguous failures and resume re-runs.",
    "outputs": 'Values taken from the step\'s result, e.g. `lag: "{{ stdout | trim | int }}"`; read as `steps.<id>.outputs.<name>`.',
    "max_parallel": "At most this many of the parallel group's steps run at once.",
    # actions
    "run": "A command: a string runs with `sh -c` (template values shell-quoted), a list runs without a shell.",
    "http": "An HTTP request; a status outside `expect.status` (default 2xx) fails the attempt.",
    "wait_for": "Poll a `run` or `http` check every `interval` until it succeeds (and `until` holds), up to `timeout`.",
    "sleep": "Wait this long, e.g. `10s`.",
    "approval": "Stop and ask the operator to approve before going on (`--yes` approves in CI).",
    "log": "Write a message to the run's log and journal.",
    "assert": "Fail the step unless this condition holds.",
    "call": "Run another runbook as this step, with its own params.",
    "parallel": "Steps that run at the same time; the group succeeds when all of them do.",
    "branch": "Cases tried in order: the first whose `when` holds runs its steps; `else` runs when none does.",
    # action details
    "method": "The HTTP method (default GET).",
    "url": "The URL to request; a template.",
    "headers": "Request headers; values are templates.",
    "body": "A raw request body (text); use `json` for a JSON document.",
    "json": "A JSON body (sent with content-type application/json).",
    "follow_redirects": "Follow 3xx redirects (default false: a redirect is an answer to check).",
    "expect": "What counts as success: `status` codes, a `body` pattern, `json` values.",
    "interval": "Time between two polls (e.g. `5s`).",
    "until": "An expression the poll's result must satisfy too, e.g. `stdout | trim == 'ready'`.",
    "prompt": "The question the operator answers.",
    "default": "The value used when none is given.",
    "approval.default": "The answer taken when `timeout` passes with no answer (default: deny).",
    "message": "The text; may contain `{{ templates }}`.",
    "level": "The message's level: `info`, `warning` or `error`.",
    "webhook": "Also POST the message to this URL (Slack-compatible JSON).",
    "that": "The condition that must hold, e.g. `steps.verify.outputs.rows > 0`.",
    "runbook": "The runbook to call, relative to this file.",
    "call.params": "Params for the called runbook; values are templates.",
    "else": "Steps run when no case's `when` holds.",
    "branch_case.name": "A label for the case, shown when the branch takes it.",
    "branch_case.steps": "The steps this case runs.",
    # params
    "type": "The param's type: `string`, `integer`, `number`, `boolean`, or `list` (of `items`; `-p hosts=a,b`).",
    "required": "The run refuses to start without this param.",
    "secret": "A secret: never shown, journaled or passed in arguments; it reaches commands as an environment variable.",
    "choices": "The only values allowed (for a `list`, of each item).",
    "param.description": "What the operator should give here; shown by `plan` and when it is missing.",
    "value": "The value.",
}

SNIPPETS: list[dict[str, Any]] = [
    {
        "label": "step: run a command",
        "description": "A command with a timeout and a rollback",
        "body": {
            "id": "${1:step_id}",
            "name": "${2:What it does}",
            "run": "${3:command}",
            "timeout": "${4:30s}",
            "rollback": {"run": "${5:undo command}"},
        },
    },
    {
        "label": "step: wait for a health check",
        "body": {
            "id": "${1:wait_healthy}",
            "wait_for": {
                "http": {"url": "${2:http://localhost:8080/health}"},
                "interval": "${3:5s}",
                "timeout": "${4:2m}",
            },
        },
    },
    {
        "label": "step: ask for approval",
        "body": {
            "id": "${1:confirm}",
            "approval": {"prompt": "${2:Proceed?}"},
            "timeout": "${3:10m}",
        },
    },
    {
        "label": "step: parallel group",
        "body": {"id": "${1:group}", "parallel": [{"id": "${2:a}", "run": "${3:command}"}]},
    },
    {
        "label": "step: once per item, rolling",
        "body": {
            "id": "${1:restart}",
            "foreach": {
                "items": ["${2:db-2}", "${3:db-3}"],
                "as": "${4:host}",
                "batch": "^${5:1}",
                "max_failures": "^${6:0}",
            },
            "run": "${7:systemctl restart app}",
        },
    },
    {
        "label": "step: branch",
        "body": {
            "id": "${1:choose}",
            "branch": [
                {
                    "name": "${2:case}",
                    "when": "${3:condition}",
                    "steps": [{"id": "${4:a}", "run": "${5:command}"}],
                },
                {"else": [{"id": "${6:b}", "run": "${7:command}"}]},
            ],
        },
    },
]


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every property described (plain and Markdown) and step snippets."""
    definitions = schema.get("definitions", {})
    _describe_properties("runbook", schema)
    for name, definition in definitions.items():
        _describe_properties(name, definition)
    if "step" in definitions:
        definitions["step"]["defaultSnippets"] = SNIPPETS
    _markdown(schema)
    return schema


def _describe_properties(owner: str, node: dict[str, Any]) -> None:
    for key, prop in node.get("properties", {}).items():
        if not isinstance(prop, dict) or "description" in prop:
            continue
        text = PROPERTY_DOCS.get(f"{owner}.{key}") or PROPERTY_DOCS.get(key)
        if text is None:
            raise SystemExit(f"tools/schema_docs.py: no description for '{owner}.{key}'")
        prop["description"] = text
    for key, value in node.items():  # nested objects (objectives, retry, ...) too
        if key == "properties" and isinstance(value, dict):
            for prop in value.values():
                if isinstance(prop, dict):
                    _describe_properties(owner, prop)
        elif isinstance(value, dict):
            _describe_properties(owner, value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _describe_properties(owner, item)


def _markdown(node: Any) -> None:
    """yaml-language-server renders `markdownDescription` (backticks as code) on hover."""
    if isinstance(node, dict):
        if isinstance(node.get("description"), str) and "markdownDescription" not in node:
            node["markdownDescription"] = node["description"]
        for value in node.values():
            _markdown(value)
    elif isinstance(node, list):
        for value in node:
            _markdown(value)
