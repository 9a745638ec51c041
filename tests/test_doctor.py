"""`codex doctor` in a subprocess: what it reports, and the step-by-step probe of the model's base URL
through direct connections, an intercepting proxy and the usual mistakes, each with its fix."""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from intercepting_proxy import InterceptingProxy, OkOrigin  # noqa: E402

from codex_cli import doctor  # noqa: E402
from codex_cli.cli_parser import build_parser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPENSSL_VERIFIER = sys.platform not in ("darwin", "win32")  # elsewhere the OS words the errors
CLEARED = (
    "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR", "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)


def _doctor_command() -> list[str]:
    """`codex doctor` once cli.py registers it; until then the module's own entry point, same code."""
    parser = build_parser()
    choices = next(
        (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {}
    ) or {}
    if "doctor" in choices:
        return [sys.executable, str(ROOT / "codex.py"), "doctor"]
    return [sys.executable, "-m", "codex_cli.doctor"]


class Doctor:
    """A CODEX_HOME with a provider at `base_url`, and a clean environment for the subprocess."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "codex_home"
        self.home.mkdir()
        self.cwd = tmp_path
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        self.env.update({"CODEX_HOME": str(self.home), "PYTHONPATH": str(ROOT), "MOCK_API_KEY": "test-key"})

    def configure(self, base_url: str) -> None:
        (self.home / "config.toml").write_text(
            'model = "gpt-5.5"\nmodel_provider = "mock"\n\n[model_providers.mock]\nname = "mock"\n'
            f'base_url = "{base_url}"\nenv_key = "MOCK_API_KEY"\n',
            encoding="utf-8",
        )

    def run(self, *args: str, **env: str) -> tuple[int, str, float]:
        start = time.monotonic()
        result = subprocess.run(
            [*_doctor_command(), *args], env={**self.env, **env}, cwd=self.cwd, capture_output=True, text=True,
            timeout=30,
        )
        return result.returncode, result.stdout + result.stderr, time.monotonic() - start


@pytest.fixture
def doc(tmp_path: Path) -> Doctor:
    return Doctor(tmp_path)


@pytest.fixture(scope="module")
def origin_ca() -> trustme.CA:
    return trustme.CA(organization_name="Codex Doctor Origin")


@pytest.fixture
def origin_ca_file(origin_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "origin-ca.pem"
    origin_ca.cert_pem.write_to_path(str(path))
    return path


def _serve(ca: trustme.CA, *names: str) -> OkOrigin:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*(names or ("localhost", "127.0.0.1"))).configure_cert(context)
    return OkOrigin(context).start()


@pytest.fixture
def origin(origin_ca: trustme.CA) -> Iterator[OkOrigin]:
    server = _serve(origin_ca)
    yield server
    server.close()


@pytest.fixture
def proxy(origin_ca_file: Path) -> Iterator[InterceptingProxy]:
    with InterceptingProxy(upstream_ca=origin_ca_file) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_doctor_behind_intercepting_proxy_shows_proxy_ca_as_issuer_and_the_fix(
    doc: Doctor, origin: OkOrigin, proxy: InterceptingProxy
) -> None:
    doc.configure(origin.url() + "/v1")
    code, output, elapsed = doc.run(HTTPS_PROXY=proxy.url)
    assert code == 1 and elapsed < 3, output
    assert f"proxy       {proxy.url} (from HTTPS_PROXY)" in output
    assert f"CONNECT localhost:{origin.port} → HTTP/1.1 200 Connection Established" in output
    assert "✗ tls         certificate for localhost does not verify: " in output
    issuer_line = next(line for line in output.splitlines() if line.strip().startswith("issuer"))
    assert "O=Codex Test Intercepting Proxy" in issuer_line
    assert f"fix: The proxy {proxy.url} inspects TLS" in output
    assert "export CODEX_CA_CERTIFICATE=/path/to/proxy-ca.pem" in output
    assert origin.requests == []


def test_doctor_with_the_proxy_ca_verifies_and_reaches_the_server(
    doc: Doctor, origin: OkOrigin, proxy: InterceptingProxy, tmp_path: Path
) -> None:
    doc.configure(origin.url() + "/v1")
    ca_file = proxy.write_ca(tmp_path / "proxy-ca.pem")
    code, output, elapsed = doc.run(HTTPS_PROXY=proxy.url, CODEX_CA_CERTIFICATE=str(ca_file))
    assert code == 0 and elapsed < 3, output
    assert f"ca bundle   {ca_file} (from CODEX_CA_CERTIFICATE): 1 certificate" in output
    assert "✓ tls         TLSv1.3, certificate verified (issued by OU=Testing CA" in output
    assert f"GET {origin.url()}/v1/models → HTTP 200" in output
    assert origin.requests == [("GET", "/v1/models", b"")]


def test_doctor_reports_installation_config_auth_and_trust(
    doc: Doctor, origin: OkOrigin, origin_ca_file: Path
) -> None:
    doc.configure(origin.url() + "/v1")
    code, output, _ = doc.run(CODEX_CA_CERTIFICATE=str(origin_ca_file), NO_PROXY="localhost", HTTPS_PROXY="http://p:1")
    assert code == 0, output
    assert "version     codex-cli 0.1.0 (Python " in output
    assert f"install     source ({ROOT})" in output
    assert f"codex home  {doc.home}" in output
    assert f"config      {doc.home / 'config.toml'} (loaded) · model gpt-5.5 · provider mock" in output
    assert "auth        API key from env_key MOCK_API_KEY" in output
    assert "O=Codex Doctor Origin" in output and "plus the system trust store" in output
    assert "proxy       none: direct connection (NO_PROXY entry 'localhost' bypasses HTTPS_PROXY)" in output
    assert "dns         localhost → " in output and "(server)" in output
    assert "certificate verified (issued by OU=Testing CA" in output


def test_doctor_json_report(doc: Doctor, origin: OkOrigin, origin_ca_file: Path) -> None:
    doc.configure(origin.url() + "/v1")
    code, output, _ = doc.run("--json", CODEX_CA_CERTIFICATE=str(origin_ca_file))
    report = json.loads(output)
    assert code == 0 and report["schemaVersion"] == 1 and report["overallStatus"] == "ok"
    checks = {check["id"]: check for check in report["checks"]}
    assert list(checks) == [
        "version", "install", "codex_home", "config", "auth", "ca_bundle", "proxy", "dns", "tcp", "tls", "http"
    ]
    assert checks["tls"]["details"][0] == f"chain presented for localhost:{origin.port}:"


def test_doctor_summary_network_only_and_all(doc: Doctor, origin: OkOrigin, tmp_path: Path) -> None:
    """codex-rs 0.169's report options: --summary drops the details, --network-only the installation and auth
    lines, --all lists every certificate of a CA bundle; --no-color and --enable/--disable are accepted."""
    doc.configure(origin.url() + "/v1")
    cas = [trustme.CA(organization_name=f"Extra CA {n}") for n in range(10)]
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("".join(ca.cert_pem.bytes().decode() for ca in cas), encoding="utf-8")
    _, full, _ = doc.run(CODEX_CA_CERTIFICATE=str(bundle))
    assert "… and 7 more (--all lists them)" in full and "O=Extra CA 3" not in full  # a short default
    _, every, _ = doc.run("--all", CODEX_CA_CERTIFICATE=str(bundle))
    assert "O=Extra CA 9" in every and "more (--all" not in every
    _, summary, _ = doc.run("--summary", "--no-color", "--enable", "hooks", CODEX_CA_CERTIFICATE=str(bundle))
    assert "ca bundle" in summary and "O=Extra CA 0" not in summary and "\x1b[" not in summary
    _, network, _ = doc.run("--network-only", "--disable", "hooks", CODEX_CA_CERTIFICATE=str(bundle))
    assert "version " not in network and "auth " not in network
    assert "config " in network and "ca bundle" in network and "tcp " in network


def test_doctor_bad_ca_bundle_names_the_variable(doc: Doctor, origin: OkOrigin, tmp_path: Path) -> None:
    doc.configure(origin.url() + "/v1")
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    code, output, elapsed = doc.run("--ascii", SSL_CERT_FILE=str(tmp_path / "bad.pem"))
    assert code == 1 and elapsed < 3
    bad = tmp_path / "bad.pem"
    assert f"[xx] ca bundle   Failed to load CA certificates from {bad} selected by SSL_CERT_FILE" in output
    assert "[--] tls         skipped: the CA bundle could not be loaded" in output
    assert "✓" not in output


def test_doctor_refusing_proxy_is_the_failing_step(doc: Doctor, origin: OkOrigin) -> None:
    doc.configure(origin.url() + "/v1")
    port = closed_port()
    code, output, elapsed = doc.run(HTTPS_PROXY=f"http://u:pw@127.0.0.1:{port}")
    assert code == 1 and elapsed < 3
    assert f"proxy       http://***@127.0.0.1:{port} (from HTTPS_PROXY)" in output and ":pw@" not in output
    assert f"✗ tcp         cannot connect to 127.0.0.1:{port} (proxy)" in output
    assert "fix: Start the proxy, or correct or unset the proxy variable." in output


def test_doctor_proxy_asking_for_credentials(doc: Doctor, origin: OkOrigin) -> None:
    doc.configure(origin.url() + "/v1")
    with InterceptingProxy(mode="tunnel", require_auth=("alice", "s3cret")) as guarded:
        code, output, _ = doc.run(HTTPS_PROXY=guarded.url)
        assert code == 1 and "→ HTTP/1.1 407 Proxy Authentication Required" in output
        assert "put them in the proxy URL, http://USER:PASSWORD@HOST:PORT" in output
        authed = guarded.url.replace("http://", "http://alice:s3cret@")
        code, output, _ = doc.run(HTTPS_PROXY=authed)
        assert "→ HTTP/1.1 200 Connection Established" in output  # the TLS step then fails: no CA given


def test_doctor_name_mismatch_lists_the_certificate_names(
    doc: Doctor, origin_ca: trustme.CA, origin_ca_file: Path
) -> None:
    server = _serve(origin_ca, "other.example", "alt.example")
    try:
        doc.configure(server.url() + "/v1")
        code, output, _ = doc.run(CODEX_CA_CERTIFICATE=str(origin_ca_file))
    finally:
        server.close()
    assert code == 1 and ("Hostname mismatch" in output or not OPENSSL_VERIFIER)
    assert "fix: The certificate covers other.example, alt.example, not localhost." in output


def test_doctor_plain_http_provider_skips_tls(doc: Doctor) -> None:
    with OkOrigin() as plain:
        doc.configure(plain.url("127.0.0.1") + "/v1")
        code, output, _ = doc.run()
    assert code == 0, output
    assert "tls " not in output and f"GET http://127.0.0.1:{plain.port}/v1/models → HTTP 200" in output


def test_doctor_broken_config_is_reported_without_probing(doc: Doctor) -> None:
    (doc.home / "config.toml").write_text("model = [unclosed\n", encoding="utf-8")
    code, output, _ = doc.run()
    assert code == 1 and "✗ config" in output and "config.toml" in output
    assert "Connection to" not in output


def test_doctor_register_adds_the_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="codex")
    doctor.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["doctor", "--json", "-c", "model=x"])
    assert (args.handler, args.json, args.config, args.timeout) == ("codex_cli.doctor:main", True, ["model=x"], 5.0)


def test_doctor_install_kind_of_this_checkout() -> None:
    assert doctor.install_kind() == ("source", str(ROOT))
