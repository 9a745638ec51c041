"""The edges a locked-down machine hits (issue 20), tried as an enterprise user would: a proxy that accepts the
connection and never answers, the waiting line, stale CA variables on runs that need no TLS, proxy settings as
people write them (no scheme, SOCKS, a refused password), and what `codex doctor` says about each."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402
from intercepting_proxy import InterceptingProxy, Socks5Proxy  # noqa: E402
from test_doctor import Doctor  # noqa: E402

from codex_cli import http, netwait  # noqa: E402
from codex_cli.errors import NetworkError  # noqa: E402

TRUST_VARS = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR")
PROXY_VARS = tuple(
    case(name) for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy") for case in (str.upper, str.lower)
)


class Tarpit:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte (a hung proxy, a firewall
    that swallows traffic); it keeps the sockets open until closed."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = int(self._server.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._server.close()
        for conn in self.accepted:
            conn.close()

    def __enter__(self) -> Tarpit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine exports SSL_CERT_FILE/SSL_CERT_DIR for every process: each test sets what it needs."""
    for name in (*TRUST_VARS, *PROXY_VARS, http.CONNECT_TIMEOUT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    with Tarpit() as server:
        yield server


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    for name in (*TRUST_VARS, *PROXY_VARS, http.CONNECT_TIMEOUT_ENV):
        env.env.pop(name, None)
    return env


def _exec(codex_env: CodexEnv, base_url: str, *, timeout: float = 60, **env: str) -> tuple[int, str, str, float]:
    codex_env.write_config(base_url)
    codex_env.env.update(env)
    start = time.monotonic()
    run = codex_env.run("exec", "--skip-git-repo-check", "say hi", timeout=timeout)
    return run.returncode, run.stdout, run.stderr, time.monotonic() - start


# -- 1. a proxy that accepts and never answers -----------------------------------------------------


def test_tarpit_proxy_fails_exec_within_15_s_naming_the_proxy_with_a_waiting_line(
    codex_env: CodexEnv, tarpit: Tarpit
) -> None:
    """The default budget (10 s), no retry: codex-rs 0.169 said nothing for 300 s and failed after 901 s."""
    code, _, stderr, elapsed = _exec(
        codex_env, "https://api.example.test/v1", HTTPS_PROXY=f"http://127.0.0.1:{tarpit.port}"
    )
    assert code == 1 and elapsed <= 15, stderr
    assert f"connecting to api.example.test via proxy 127.0.0.1:{tarpit.port} (HTTPS_PROXY)... 2s" in stderr
    assert (
        f"The proxy http://127.0.0.1:{tarpit.port} (from HTTPS_PROXY) accepted the connection but did not answer "
        "the CONNECT request for api.example.test:443 within 10 s"
    ) in stderr
    assert "CODEX_CONNECT_TIMEOUT" in stderr and "idle timeout waiting for SSE" not in stderr
    assert len(tarpit.accepted) == 1  # not retried: the budget is spent already


def test_tarpit_budget_is_configurable_and_names_the_variable(codex_env: CodexEnv, tarpit: Tarpit) -> None:
    code, _, stderr, elapsed = _exec(
        codex_env, "https://api.example.test/v1", ALL_PROXY=f"127.0.0.1:{tarpit.port}", CODEX_CONNECT_TIMEOUT="1.5"
    )
    assert code == 1 and elapsed < 6, stderr
    assert "(from ALL_PROXY) accepted the connection but did not answer" in stderr and "within 1.5 s" in stderr
    assert "connecting to" not in stderr  # shorter than the 2 s a wait must last to be shown


def test_tarpit_origin_without_proxy_names_the_tls_step(codex_env: CodexEnv, tarpit: Tarpit) -> None:
    code, _, stderr, elapsed = _exec(
        codex_env, f"https://127.0.0.1:{tarpit.port}/v1", CODEX_CONNECT_TIMEOUT="1"
    )
    assert code == 1 and elapsed < 6, stderr
    assert f"Connected to 127.0.0.1:{tarpit.port}, but the TLS handshake did not finish within 1 s." in stderr


def test_invalid_connect_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(http.CONNECT_TIMEOUT_ENV, "soon")
    with pytest.raises(NetworkError) as info:
        http.create_client()
    assert "Invalid CODEX_CONNECT_TIMEOUT='soon'" in info.value.message


def test_connect_budget_caps_callers_unless_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert http.connect_budget(15.0) == (10.0, False)
    assert http.connect_budget(3.0) == (3.0, False)
    monkeypatch.setenv(http.CONNECT_TIMEOUT_ENV, "30")
    assert http.connect_budget(15.0) == (30.0, True)


@pytest.mark.parametrize("proxy", [None, "http://127.0.0.1:1", "socks5://127.0.0.1:1"])
def test_the_bounded_backend_is_installed_in_httpx_pools(proxy: str | None) -> None:
    """httpx takes no network backend: http.py sets its pool's. An httpx or httpcore upgrade that moves the
    attribute must fail here rather than silently lose the connect budget."""
    import httpx

    from codex_cli.http_connect import BoundedBackend

    transport = httpx.HTTPTransport(verify=False, proxy=proxy)
    backend = BoundedBackend(1.0, tunnelled=proxy is not None)
    assert http._install_backend(transport, backend)
    assert transport._pool._network_backend is backend


def test_waiting_line_reports_the_oldest_slow_wait() -> None:
    assert netwait.describe() is None
    with netwait.waiting("api.example.test", "proxy 10.1.2.3:8080 (HTTPS_PROXY)") as wait:
        netwait.connecting()
        assert netwait.describe() is None  # not slow yet
        assert netwait.describe(now=wait.started + 4.2) == (
            "connecting to api.example.test via proxy 10.1.2.3:8080 (HTTPS_PROXY)... 4s"
        )
        netwait.connected()
        assert netwait.describe(now=wait.started + 5) == (
            "waiting for api.example.test to answer (via proxy 10.1.2.3:8080 (HTTPS_PROXY))... 5s"
        )
    assert netwait.describe(now=time.monotonic() + 100) is None


def test_login_device_auth_through_a_tarpit_proxy_says_what_it_waits_for(tmp_path: Path, tarpit: Tarpit) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in (*TRUST_VARS, *PROXY_VARS)}
    home = tmp_path / "home"
    home.mkdir()
    env.update(CODEX_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               HTTPS_PROXY=f"127.0.0.1:{tarpit.port}", CODEX_CONNECT_TIMEOUT="3")
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "codex_cli", "login", "--device-auth"], env=env,
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert run.returncode == 1 and time.monotonic() - start < 8, run.stderr
    assert f"connecting to auth.openai.com via proxy 127.0.0.1:{tarpit.port} (HTTPS_PROXY)... 2s" in run.stderr
    assert "accepted the connection but did not answer the CONNECT request for auth.openai.com:443" in run.stderr


def test_doctor_says_a_tarpit_proxy_accepted_but_did_not_answer(tmp_path: Path, tarpit: Tarpit) -> None:
    doc = Doctor(tmp_path)
    doc.configure("https://api.example.test/v1")
    code, output, elapsed = doc.run("--timeout", "1", HTTPS_PROXY=f"http://127.0.0.1:{tarpit.port}")
    assert code == 1 and elapsed < 5, output
    assert (
        "✗ tunnel      CONNECT api.example.test:443: the proxy accepted the connection but did not answer within 1 s"
    ) in output
    assert "closed the connection" not in output


# -- 3. a stale CA variable on a run that needs no TLS ---------------------------------------------


@pytest.mark.parametrize(
    ("variable", "content"), [("SSL_CERT_FILE", None), ("CODEX_CA_CERTIFICATE", b"garbage\n")],
    ids=["ssl-cert-file-missing", "codex-ca-garbage"],
)
def test_plain_http_model_completes_with_a_broken_ca_variable_and_one_warning(
    variable: str, content: bytes | None, codex_env: CodexEnv, fake_server: object, tmp_path: Path
) -> None:
    bundle = tmp_path / "stale.pem"
    if content is not None:
        bundle.write_bytes(content)
    model = fake_server([{"output": [message("local model answers")]}])  # type: ignore[operator]
    code, stdout, stderr, _ = _exec(codex_env, model.base_url, **{variable: str(bundle)})
    assert code == 0, stderr
    assert "local model answers" in stdout
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ") and variable in line]
    assert len(warnings) == 1, stderr
    assert str(bundle) in warnings[0] and f"HTTPS ones fail until {variable} is fixed or unset" in warnings[0]


def test_https_mcp_server_with_a_garbage_ca_fails_alone_and_the_turn_completes(
    codex_env: CodexEnv, fake_server: object, tmp_path: Path
) -> None:
    """codex-rs 0.169 and this CLI before: the garbage bundle aborted the whole exec, whose only TLS is one MCP
    server. Now that server fails with the bundle's message and the plain-http model answers."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    model = fake_server([{"output": [message("answered without the MCP server")]}])  # type: ignore[operator]
    port = _closed_port()  # the bundle is refused before any connection is tried
    codex_env.write_config(model.base_url, extra=f'[mcp_servers.secure]\nurl = "https://127.0.0.1:{port}/mcp"\n')
    codex_env.env["CODEX_CA_CERTIFICATE"] = str(garbage)
    run = codex_env.run("exec", "--skip-git-repo-check", "say hi", timeout=60)
    assert run.returncode == 0, run.stderr
    assert "answered without the MCP server" in run.stdout
    assert "secure" in run.stderr and "no certificates found in PEM file" in run.stderr
    assert "CODEX_CA_CERTIFICATE" in run.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- 4. proxy settings as people write them ------------------------------------------------------


@pytest.fixture(scope="module")
def origin_ca() -> trustme.CA:
    return trustme.CA(organization_name="Codex Enterprise Origin")


@pytest.fixture
def tls_model(fake_server: object, origin_ca: trustme.CA, tmp_path: Path) -> tuple[FakeResponsesServer, Path]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origin_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = fake_server([{"output": [message("through the proxy")]}], tls=context)  # type: ignore[operator]
    ca_file = tmp_path / "origin-ca.pem"
    origin_ca.cert_pem.write_to_path(str(ca_file))
    return server, ca_file


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("127.0.0.1:3128", "http://127.0.0.1:3128"),
        ("proxy.corp:8080", "http://proxy.corp:8080"),
        ("alice:s3cret@proxy.corp:8080", "http://alice:s3cret@proxy.corp:8080"),
        ("[::1]:3128", "http://[::1]:3128"),
        ("socks5h://gw:1080", "socks5h://gw:1080"),
    ],
)
def test_a_proxy_without_a_scheme_is_http(written: str, meant: str) -> None:
    """codex-rs and curl take HTTPS_PROXY=host:port as http://host:port; httpx said "Unknown scheme"."""
    config = http.proxy_config({"HTTPS_PROXY": written})
    assert config.https == meant
    assert http.proxy_for("https://api.openai.com/v1", config) == meant


def test_exec_through_a_scheme_less_proxy_variable(
    codex_env: CodexEnv, tls_model: tuple[FakeResponsesServer, Path]
) -> None:
    model, ca_file = tls_model
    with InterceptingProxy(mode="tunnel") as tunnel:
        code, stdout, stderr, _ = _exec(
            codex_env, model.base_url.replace("127.0.0.1", "localhost"),
            HTTPS_PROXY=f"127.0.0.1:{tunnel.port}", CODEX_CA_CERTIFICATE=str(ca_file),
        )
        assert code == 0, stderr
        assert "through the proxy" in stdout
        assert [r.target for r in tunnel.requests] == [f"localhost:{model.port}"]


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
@pytest.mark.parametrize("auth", [None, ("alice", "s3cret")], ids=["open", "password"])
def test_exec_through_a_socks5_proxy(
    scheme: str, auth: tuple[str, str] | None, codex_env: CodexEnv, tls_model: tuple[FakeResponsesServer, Path]
) -> None:
    model, ca_file = tls_model
    with Socks5Proxy(require_auth=auth) as socks:
        code, stdout, stderr, _ = _exec(
            codex_env, model.base_url.replace("127.0.0.1", "localhost"),
            ALL_PROXY=socks.url(scheme, auth), CODEX_CA_CERTIFICATE=str(ca_file),
        )
        assert code == 0, stderr
        assert "through the proxy" in stdout
        # httpx hands the name to the proxy for both (curl and reqwest resolve it first for socks5://).
        assert socks.requests == [("localhost", model.port)]
        assert socks.users == ([auth[0]] if auth else [])


def test_socks5_proxy_refusing_the_password_says_so(codex_env: CodexEnv) -> None:
    with Socks5Proxy(require_auth=("alice", "s3cret")) as socks:
        code, _, stderr, elapsed = _exec(
            codex_env, "https://api.example.test/v1", ALL_PROXY=socks.url("socks5", ("alice", "wrong"))
        )
        assert code == 1 and elapsed < 10, stderr
        assert f"The proxy socks5://***@127.0.0.1:{socks.port} (from ALL_PROXY) refused these credentials" in stderr
        assert "wrong" not in stderr and "alice" not in stderr
        code, _, stderr, _ = _exec(codex_env, "https://api.example.test/v1", ALL_PROXY=socks.url())
        assert code == 1 and "requires authentication" in stderr, stderr
        assert "socks5://USER:PASSWORD@HOST:PORT" in stderr


def test_http_proxy_refusing_the_password_says_so_not_that_it_is_missing(codex_env: CodexEnv) -> None:
    with InterceptingProxy(mode="tunnel", require_auth=("alice", "s3cret")) as guarded:
        port = guarded.port
        code, _, stderr, _ = _exec(
            codex_env, "https://api.example.test/v1", HTTPS_PROXY=f"http://alice:wrong@127.0.0.1:{port}"
        )
    assert code == 1, stderr
    assert (
        f"The proxy http://***@127.0.0.1:{port} (from HTTPS_PROXY) refused these credentials "
        "(407 Proxy Authentication Required)"
    ) in stderr
    assert "Check the user name and password in HTTPS_PROXY" in stderr and "wrong" not in stderr


def test_tarpit_socks_proxy_names_the_socks_handshake(codex_env: CodexEnv, tarpit: Tarpit) -> None:
    code, _, stderr, elapsed = _exec(
        codex_env, "https://api.example.test/v1", ALL_PROXY=f"socks5://127.0.0.1:{tarpit.port}",
        CODEX_CONNECT_TIMEOUT="1",
    )
    assert code == 1 and elapsed < 6, stderr
    assert "accepted the connection but did not answer the SOCKS handshake for api.example.test:443" in stderr


def test_doctor_probes_a_socks5_proxy(tmp_path: Path, tls_model: tuple[FakeResponsesServer, Path]) -> None:
    model, ca_file = tls_model
    doc = Doctor(tmp_path)
    doc.configure(model.base_url.replace("127.0.0.1", "localhost"))
    with Socks5Proxy(require_auth=("alice", "s3cret")) as socks:
        proxy = socks.url("socks5h", ("alice", "s3cret"))
        code, output, _ = doc.run(ALL_PROXY=proxy, CODEX_CA_CERTIFICATE=str(ca_file))
        assert code == 0, output
        assert f"✓ tunnel      SOCKS5 localhost:{model.port} → connected" in output
        code, output, _ = doc.run(ALL_PROXY=socks.url("socks5h", ("alice", "nope")))
        assert code == 1 and "SOCKS5 localhost" in output and "the proxy refused these credentials" in output
        assert "nope" not in output


# -- 5. every source of trust, and the one that verified ------------------------------------------


def test_doctor_lists_ssl_cert_file_beside_codex_ca_certificate_and_says_which_verified(
    tmp_path: Path, tls_model: tuple[FakeResponsesServer, Path]
) -> None:
    """OpenSSL's default paths read SSL_CERT_FILE even when CODEX_CA_CERTIFICATE is the extra bundle (so a wrong
    CODEX_CA_CERTIFICATE still works, auth.md §4.3); doctor left it out."""
    model, ca_file = tls_model
    wrong = tmp_path / "wrong.pem"
    trustme.CA(organization_name="Some Other CA").cert_pem.write_to_path(str(wrong))
    doc = Doctor(tmp_path)
    doc.configure(model.base_url.replace("127.0.0.1", "localhost"))
    code, output, _ = doc.run("--network-only", CODEX_CA_CERTIFICATE=str(wrong), SSL_CERT_FILE=str(ca_file))
    assert code == 0, output
    assert f"ca bundle   {wrong} (from CODEX_CA_CERTIFICATE): 1 certificate" in output
    assert f"plus {ca_file} (from SSL_CERT_FILE, read through OpenSSL's default paths): 1 certificate" in output
    assert "plus the system trust store" in output
    verified = next(line.strip() for line in output.splitlines() if line.strip().startswith("verified by"))
    assert "O=Codex Enterprise Origin" in verified
    assert verified.endswith(f"from {ca_file} (from SSL_CERT_FILE, read through OpenSSL's default paths)")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to hash a CA folder")
def test_doctor_names_the_hashed_folder_that_verified(
    tmp_path: Path, tls_model: tuple[FakeResponsesServer, Path]
) -> None:
    model, ca_file = tls_model
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(ca_file)], capture_output=True,
                            text=True, check=True).stdout.strip()
    folder = tmp_path / "corp-certs"
    folder.mkdir()
    shutil.copy(ca_file, folder / f"{digest}.0")
    doc = Doctor(tmp_path)
    doc.configure(model.base_url.replace("127.0.0.1", "localhost"))
    code, output, _ = doc.run("--network-only", SSL_CERT_DIR=str(folder))
    assert code == 0, output
    assert f"plus the hashed folder {folder} (from SSL_CERT_DIR): 1 certificate" in output
    verified = next(line.strip() for line in output.splitlines() if line.strip().startswith("verified by"))
    assert verified.endswith(f"from the hashed folder {folder} (from SSL_CERT_DIR)"), output
    assert "Codex Enterprise Origin" in verified


def test_line_ui_status_row_shows_a_slow_network_wait() -> None:
    """The line UI's status row says what a slow request waits for instead of its label (line_render's hook)."""
    import io

    from codex_cli.ui.line_render import LineRenderer

    renderer = LineRenderer(io.StringIO(), color=True, live=True, width=lambda: 200)
    renderer.begin_busy("Working")
    with netwait.waiting("api.example.test", "proxy 10.1.2.3:8080 (HTTPS_PROXY)") as wait:
        netwait.connecting()
        wait.started -= 4.5
        renderer.tick()
        assert "connecting to api.example.test via proxy 10.1.2.3:8080 (HTTPS_PROXY)... 4s" in renderer.area.status
    renderer.tick(time.monotonic() + 1)
    assert "Working (" in renderer.area.status and "connecting" not in renderer.area.status
