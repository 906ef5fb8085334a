"""LocalStack's Step Functions interpreter on 127.0.0.1, for the export's execution tests.

Run with the Python of a virtualenv that has `localstack-core[runtime]` and
`jsonata-python` (.ci/run makes one in .ci/cache/localstack):

    python tools/localstack_sfn.py --port 4566 --data ./localstack-state

Two things differ from a stock `localstack start`, both so that it runs in CI
with no network but the package registries and no Docker:

- LocalStack evaluates JSONata with the Java library through jpype, which it
  downloads at first use (from Maven, not a package registry). Here JSONata is
  evaluated by jsonata-python, a port of the same reference implementation.
- LocalStack 4.9 does not implement `$hash` (it answers the text "Function
  $hash is currently not supported"), which AWS does; the exported machine
  uses it for the idempotency key. Here `$hash(value, algorithm)` is
  hashlib's, with AWS's algorithm names.

Everything else is LocalStack's own: the interpreter (states, Catch/Retry,
Parallel and Map, variable scopes, activities) and Secrets Manager, which the
worker reads secret params from.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384"}
ALGORITHMS["SHA-512"] = "sha512"


def _hash(value: object, algorithm: object) -> str:
    name = ALGORITHMS.get(str(algorithm))
    if name is None:
        raise ValueError(f"$hash: unknown algorithm {algorithm!r}")
    return hashlib.new(name, str(value).encode()).hexdigest()


def _patch_jsonata() -> None:
    import jsonata
    from localstack.services.stepfunctions.asl.component.intrinsic import (
        jsonata as intrinsics,
    )
    from localstack.services.stepfunctions.asl.jsonata import jsonata as ls_jsonata

    def evaluate(expression: str) -> object:
        compiled = jsonata.Jsonata(expression)
        compiled.register_lambda("hash", _hash)
        try:
            return compiled.evaluate(None)
        except Exception as exc:  # LocalStack maps this to States.QueryEvaluationError
            raise ls_jsonata.JSONataException("UNKNOWN", str(exc)) from exc

    ls_jsonata._eval_jsonata = evaluate
    intrinsics._DECLARATION_BY_VARIABLE_REFERENCE.pop("$hash", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--data", required=True, help="LocalStack's state folder")
    args = parser.parse_args()
    os.environ.update(
        {
            "SERVICES": "stepfunctions,secretsmanager",
            "GATEWAY_LISTEN": f"127.0.0.1:{args.port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{args.port}",
            "DNS_ADDRESS": "0",
            "LOCALSTACK_VOLUME_DIR": args.data,
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
        }
    )
    _patch_jsonata()
    from localstack.runtime import main as runtime

    sys.argv = [sys.argv[0]]
    runtime.main()


if __name__ == "__main__":
    main()
