"""`http` against private PKI: a CA bundle and a client certificate, checked against a real
TLS server on 127.0.0.1 that trusts only our CA and requires a client certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import runbook_data, write_runbook


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def made_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=recoverctl test CA",
        cwd=d,
    )
    for name, extra in (
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=d,
        )
        (d / f"{name}.ext").write_text(extra + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=d,
        )
    return d


@pytest.fixture
def pki(made_pki: Path, tmp_path: Path) -> Path:
    """The PKI next to the test's runbook (its paths are relative to the runbook's folder)."""
    shutil.copytree(made_pki, tmp_path / "pki")
    return tmp_path / "pki"


@pytest.fixture
def server(pki: Path) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            who = dict(x[0] for x in peer["subject"])["commonName"] if peer else "nobody"
            body = f'{{"client": "{who}"}}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/health"
    httpd.shutdown()


def check(tmp_path: Path, url: str, **tls: str) -> str:
    data = runbook_data(
        {
            "id": "health",
            "http": {"url": url, **tls, "expect": {"json": {"client": "client"}}},
            "timeout": "10s",
        }
    )
    result = run_cli(["run", str(write_runbook(tmp_path, data)), "--no-journal", "--no-tty"])
    return f"{result.returncode}\n{result.stderr}"


def test_a_ca_bundle_and_a_client_certificate_reach_a_mutual_tls_server(
    tmp_path: Path, server: str
) -> None:
    said = check(
        tmp_path,
        server,
        ca_bundle="pki/ca.pem",
        client_cert="pki/client.pem",
        client_key="pki/client.key",
    )
    assert said.startswith("0\n"), said  # paths relative to the runbook's folder


def test_without_the_ca_or_the_client_certificate_it_fails_and_says_why(
    tmp_path: Path, server: str
) -> None:
    said = check(tmp_path, server)
    assert (
        said.startswith("1\n") and "CERTIFICATE_VERIFY_FAILED" in said
    )  # the system CAs do not know ours
    said = check(tmp_path, server, ca_bundle="pki/ca.pem")
    assert said.startswith("1\n")  # no client certificate: the server refuses the handshake
    said = check(tmp_path, server, ca_bundle="pki/missing.pem")
    assert "the CA bundle" in said and "is not a file" in said
    (tmp_path / "pki" / "junk.pem").write_text("not a certificate")
    said = check(tmp_path, server, ca_bundle="pki/ca.pem", client_cert="pki/junk.pem")
    assert "cannot load the TLS files" in said and "Traceback" not in said
