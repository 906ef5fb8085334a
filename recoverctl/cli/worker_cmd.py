"""`recoverctl worker`: run an exported Step Functions machine's commands on this host."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any

import typer

from recoverctl.cli.commands import command, reports_errors
from recoverctl.errors import RecoverctlError, UsageError


@command(
    epilog="Examples:\n\n"
    "  recoverctl export runbooks/demo.yaml --to step-functions \\\n"
    "      --resource arn:aws:states:eu-west-1:123456789012:activity:recoverctl > demo.asl.json\n\n"
    "  recoverctl worker --activity arn:aws:states:eu-west-1:123456789012:activity:recoverctl\n\n"
    "Credentials and region come from the usual AWS settings (AWS_PROFILE, AWS_REGION, "
    "AWS_ENDPOINT_URL…). Ctrl-C stops polling; a command in flight finishes first.",
)
@reports_errors
def worker(
    activity: Annotated[
        str, typer.Option("--activity", help="The activity ARN the machine's tasks name.")
    ],
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="The Step Functions endpoint (e.g. LocalStack's)."),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="The AWS region.")] = None,
    pollers: Annotated[
        int,
        typer.Option("--pollers", min=1, max=64, help="Tasks run at once (Parallel branches)."),
    ] = 4,
    inject: Annotated[
        list[str] | None,
        typer.Option(
            "--inject",
            help="A fault, as `run --inject`: fail:STEP, timeout:STEP, delay:STEP=5s (repeatable).",
        ),
    ] = None,
    allow_injection: Annotated[
        bool, typer.Option("--allow-injection", help="Needed with --inject: never by accident.")
    ] = False,
) -> None:
    """Serve a Step Functions activity: run the commands an exported machine's tasks send."""
    from recoverctl.engine.injection import parse_fault
    from recoverctl.export.activity_worker import serve

    if inject and not allow_injection:
        raise UsageError("--inject needs --allow-injection: faults are never injected by accident")
    try:
        faults = {f.step_id: f for f in (parse_fault(text) for text in inject or [])}
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    client = _client("stepfunctions", endpoint_url, region)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sys.stderr.write(f"recoverctl worker: serving {activity} with {pollers} pollers\n")
    serve(
        client,
        activity,
        stop,
        pollers=pollers,
        faults=faults,
        on_task=_said,
        secrets=_secret_reader(endpoint_url, region),
    )


def _said(payload: dict[str, Any], outcome: Any) -> None:
    verdict = "ok" if outcome.ok else f"{outcome.error}: {outcome.cause}"
    sys.stderr.write(f"{payload.get('run_id', '?')} {payload.get('step', '?')}: {verdict}\n")


def _secret_reader(endpoint_url: str | None, region: str | None) -> Callable[[str], str]:
    """Secrets Manager's GetSecretValue, the client made at the first secret a task names."""
    from recoverctl.export.runner import SecretUnavailable

    clients: list[Any] = []

    def read(secret_id: str) -> str:
        if not clients:
            clients.append(_client("secretsmanager", endpoint_url, region))
        try:
            answer = clients[0].get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore's ClientError and connection errors alike
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            raise SecretUnavailable(
                f"cannot read secret '{secret_id}' from Secrets Manager: {code or type(exc).__name__}"
            ) from None
        value = answer.get("SecretString")
        if value is None:
            raise SecretUnavailable(f"secret '{secret_id}' holds binary data, not a string")
        return str(value)

    return read


def _client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise RecoverctlError(
            message="recoverctl worker needs boto3, which is not installed",
            hint="pip install 'recoverctl[aws]'",
        ) from None
    return boto3.client(
        service,
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
    )
