"""A tiny HTTP service for the service-restart e2e test: /health answers its version."""

from __future__ import annotations

import argparse
import signal
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", default="v1")
    parser.add_argument("--hang", action="store_true", help="ignore SIGTERM and never answer")
    parser.add_argument("--unhealthy", action="store_true", help="answer /health with 500")
    args = parser.parse_args()
    if args.hang:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            status = 500 if args.unhealthy else 200
            body = args.version.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    server.allow_reuse_address = True
    server.serve_forever()


if __name__ == "__main__":
    main()
