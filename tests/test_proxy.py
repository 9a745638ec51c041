"""Proxies and TLS-intercepting gateways: the seed PR's reproduction in our own code, the proxy
variables, and the bad set-ups a new user hits, each failing fast with a specific message."""

from __future__ import annotations

import base64
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

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402
from intercepting_proxy import InterceptingProxy, OkOrigin  # noqa: E402

from codex_cli import http  # noqa: E402
from codex_cli.errors import NetworkError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPENSSL_VERIFIER = sys.platform not in ("darwin", "win32")  # elsewhere the OS words the errors
TRUST_VARS = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR")
PROXY_VARS = tuple(
    case(name) for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy") for case in (str.upper, str.lower)
)
PROBE = """
import sys
from codex_cli import http
from codex_cli.errors import CodexError
try:
    with http.create_client() as client:
        response = client.post(sys.argv[1], data={"grant_type": "authorization_code", "code": "c"})
except Exception as exc:
    error = exc if isinstance(exc, CodexError) else http.map_transport_error(exc, sys.argv[1])
    print(f"ERROR {type(error).__name__}: {error.message}\\n{error.hint}")
    sys.exit(1)
print(response.status_code, response.text)
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine exports SSL_CERT_FILE/SSL_CERT_DIR for every process: each test sets what it needs."""
    for name in (*TRUST_VARS, *PROXY_VARS):
        monkeypatch.delenv(name, raising=False)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*TRUST_VARS, *PROXY_VARS)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def origin_ca() -> trustme.CA:
    return trustme.CA(organization_name="Codex Test Origin")


@pytest.fixture
def origin_ca_file(origin_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "origin-ca.pem"
    origin_ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*(names or ("localhost", "127.0.0.1"))).configure_cert(context)
    return context


@pytest.fixture
def origin(origin_ca: trustme.CA) -> Iterator[OkOrigin]:
    with OkOrigin(server_context(origin_ca)) as server:
        yield server


@pytest.fixture
def proxy(origin_ca_file: Path) -> Iterator[InterceptingProxy]:
    with InterceptingProxy(upstream_ca=origin_ca_file) as server:
        yield server


@pytest.fixture
def tunnel() -> Iterator[InterceptingProxy]:
    with InterceptingProxy(mode="tunnel") as server:
        yield server


def probe(url: str, env: dict[str, str]) -> tuple[int, str, float]:
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", PROBE, url], env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - start


# -- the seed PR's test, rebuilt -----------------------------------------------------------------


@pytest.mark.parametrize("variable", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
def test_proxy_intercepted_token_post_succeeds_with_proxy_ca(
    variable: str, origin: OkOrigin, proxy: InterceptingProxy, tmp_path: Path
) -> None:
    ca_file = proxy.write_ca(tmp_path / "proxy-ca.pem")
    env = child_env(**{variable: str(ca_file), "HTTPS_PROXY": proxy.url})
    code, output, _ = probe(origin.url() + "/oauth/token", env)
    assert (code, output.strip()) == (0, "200 ok")
    assert [(r.method, r.target) for r in proxy.requests] == [("CONNECT", f"localhost:{origin.port}")]
    assert b"POST /oauth/token HTTP/1.1" in proxy.decrypted()
    assert b"grant_type=authorization_code" in proxy.decrypted()
    assert origin.requests == [("POST", "/oauth/token", b"grant_type=authorization_code&code=c")]


def test_proxy_intercepted_token_post_fails_clearly_without_proxy_ca(
    origin: OkOrigin, proxy: InterceptingProxy
) -> None:
    code, output, elapsed = probe(origin.url() + "/oauth/token", child_env(HTTPS_PROXY=proxy.url))
    assert code == 1 and elapsed < 5
    expected = f"ERROR TLSError: TLS certificate verification failed for localhost:{origin.port} through the proxy"
    assert expected in output
    assert "(from HTTPS_PROXY)" in output
    assert "unable to get local issuer certificate" in output or not OPENSSL_VERIFIER
    assert "A TLS-inspecting proxy may be in the way" in output and "CODEX_CA_CERTIFICATE=" in output
    assert "The CA bundle in effect is the system trust store" in output or "certifi" in output
    assert origin.requests == [] and proxy.decrypted() == b""
    assert any("UNKNOWN_CA" in failure.upper() for failure in proxy.tls_failures)


def test_proxy_origin_ca_alone_does_not_help_through_an_intercepting_proxy(
    origin: OkOrigin, proxy: InterceptingProxy, origin_ca_file: Path
) -> None:
    env = child_env(CODEX_CA_CERTIFICATE=str(origin_ca_file), HTTPS_PROXY=proxy.url)
    code, output, _ = probe(origin.url() + "/oauth/token", env)
    assert code == 1 and "TLS-inspecting proxy" in output and str(origin_ca_file) in output


def test_proxy_direct_origin_works_with_its_ca(origin: OkOrigin, origin_ca_file: Path) -> None:
    code, output, _ = probe(origin.url() + "/oauth/token", child_env(CODEX_CA_CERTIFICATE=str(origin_ca_file)))
    assert (code, output.strip()) == (0, "200 ok")


# -- which variable routes what ------------------------------------------------------------------


def _post(url: str) -> str:
    with http.create_client() as client:
        return client.post(url, data={"a": "b"}).text


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_proxy_variable_tunnels_https(
    variable: str, origin: OkOrigin, origin_ca_file: Path, tunnel: InterceptingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(origin_ca_file))
    monkeypatch.setenv(variable, tunnel.url)
    assert _post(origin.url() + "/oauth/token") == "ok"
    assert [r.target for r in tunnel.requests] == [f"localhost:{origin.port}"]
    assert tunnel.requests[0].headers["host"] == f"localhost:{origin.port}"


@pytest.mark.parametrize(
    ("settings", "proxied"),
    [
        pytest.param({"HTTP_PROXY": "{proxy}"}, False, id="http-proxy-not-for-https"),
        pytest.param({"NO_PROXY": "localhost", "HTTPS_PROXY": "{proxy}"}, False, id="no-proxy-localhost"),
        pytest.param({"no_proxy": "*", "HTTPS_PROXY": "{proxy}"}, False, id="no-proxy-star"),
        pytest.param({"NO_PROXY": "127.0.0.1", "HTTPS_PROXY": "{proxy}"}, True, id="no-proxy-ip-not-a-name"),
        pytest.param({"HTTPS_PROXY": "", "https_proxy": "{proxy}"}, True, id="empty-upper-is-unset"),
        pytest.param({"HTTPS_PROXY": "{proxy}", "ALL_PROXY": "{dead}"}, True, id="scheme-variable-beats-all-proxy"),
        # Networks match IP hosts, as reqwest's NO_PROXY does (the origin is reached at 127.0.0.1 for these).
        pytest.param({"NO_PROXY": "127.0.0.0/8", "HTTPS_PROXY": "{proxy}"}, False, id="no-proxy-network"),
        pytest.param({"NO_PROXY": "10.0.0.0/8,::1/128", "HTTPS_PROXY": "{proxy}"}, True, id="no-proxy-other-networks"),
    ],
)
def test_proxy_routing_rules(
    settings: dict[str, str],
    proxied: bool,
    origin: OkOrigin,
    origin_ca_file: Path,
    tunnel: InterceptingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(origin_ca_file))
    for name, value in settings.items():
        monkeypatch.setenv(name, value.format(proxy=tunnel.url, dead=f"http://127.0.0.1:{closed_port()}"))
    url = origin.url("127.0.0.1" if "/" in settings.get("NO_PROXY", "") else "localhost") + "/oauth/token"
    assert _post(url) == "ok"
    assert bool(tunnel.requests) is proxied
    assert (http.proxy_for(url) is not None) is proxied  # what `codex doctor` reports is what happens


def test_proxy_uppercase_wins_over_lowercase(
    origin: OkOrigin, origin_ca_file: Path, tunnel: InterceptingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(origin_ca_file))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("https_proxy", tunnel.url)
    url = origin.url() + "/oauth/token"
    with pytest.raises(Exception) as info, http.create_client() as client:
        client.post(url)
    error = http.map_transport_error(info.value, url)
    assert isinstance(error, NetworkError) and "(from HTTPS_PROXY)" in error.message
    assert tunnel.requests == []


def test_proxy_credentials_are_sent_on_connect(
    origin: OkOrigin, origin_ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(origin_ca_file))
    with InterceptingProxy(mode="tunnel", require_auth=("alice", "s3cret")) as guarded:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url.replace("http://", "http://alice:s3cret@"))
        assert _post(origin.url() + "/oauth/token") == "ok"
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
        assert guarded.requests[0].headers["proxy-authorization"] == expected


def test_proxy_http_target_uses_absolute_form(monkeypatch: pytest.MonkeyPatch) -> None:
    with OkOrigin() as plain, InterceptingProxy() as forwarder:
        monkeypatch.setenv("HTTP_PROXY", forwarder.url)
        assert _post(plain.url() + "/oauth/token") == "ok"
        assert (forwarder.requests[0].method, forwarder.requests[0].target) == (
            "POST",
            f"http://localhost:{plain.port}/oauth/token",
        )
        assert plain.requests == [("POST", "/oauth/token", b"a=b")]


# -- mapping of proxy failures -------------------------------------------------------------------


def _failure(url: str) -> NetworkError:
    with pytest.raises(Exception) as info, http.create_client() as client:
        client.post(url)
    error = http.map_transport_error(info.value, url)
    assert isinstance(error, NetworkError)
    return error


def test_proxy_missing_credentials_say_how_to_add_them(origin: OkOrigin, monkeypatch: pytest.MonkeyPatch) -> None:
    with InterceptingProxy(mode="tunnel", require_auth=("alice", "s3cret")) as guarded:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url)
        error = _failure(origin.url() + "/oauth/token")
    assert "requires authentication (407 Proxy Authentication Required)" in error.message
    assert error.hint is not None and "http://USER:PASSWORD@HOST:PORT" in error.hint


def test_proxy_rejected_tunnel_names_the_status(origin: OkOrigin, monkeypatch: pytest.MonkeyPatch) -> None:
    with InterceptingProxy(reject_status=403) as rejecting:
        monkeypatch.setenv("HTTPS_PROXY", rejecting.url)
        error = _failure(origin.url() + "/oauth/token")
    assert "refused to open a tunnel" in error.message and "403" in error.message


def test_proxy_credentials_are_redacted_in_errors(origin: OkOrigin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://bob:hunter2@127.0.0.1:{closed_port()}")
    error = _failure(origin.url() + "/x")
    assert "http://***@127.0.0.1:" in error.message and "hunter2" not in str(error)
    assert "(from ALL_PROXY)" in error.message and "connection refused" in error.message


def test_proxy_source_explains_the_choice() -> None:
    config = http.proxy_config({"https_proxy": "http://p:1", "NO_PROXY": "localhost,.corp"})
    assert http.proxy_source("https://api.openai.com/v1", config) == "https_proxy"
    assert http.proxy_source("https://localhost:1/v1", config) == "NO_PROXY entry 'localhost' bypasses https_proxy"
    assert http.proxy_source("https://x.corp/v1", config) == "NO_PROXY entry '.corp' bypasses https_proxy"
    assert http.proxy_source("http://a/v1", config) == "no proxy variable is set for http URLs"
    assert http.proxy_config({"ALL_PROXY": "socks5://s:1"}).https_from == "ALL_PROXY"


# -- bad set-ups, tried as a new user would, through `codex exec` --------------------------------


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    for name in (*TRUST_VARS, *PROXY_VARS):
        env.env.pop(name, None)
    return env


@pytest.fixture
def model(fake_server: object, origin_ca: trustme.CA) -> FakeResponsesServer:
    start = fake_server  # the conftest factory
    return start([{"output": [message("through the gateway")]}], tls=server_context(origin_ca))  # type: ignore[operator]


def _exec(codex_env: CodexEnv, base_url: str, **env: str) -> tuple[int, str, float]:
    codex_env.write_config(base_url)
    codex_env.env.update(env)
    start = time.monotonic()
    run = codex_env.run("exec", "--skip-git-repo-check", "say hi", timeout=30)
    return run.returncode, run.stdout + run.stderr, time.monotonic() - start


def test_exec_through_intercepting_proxy_works_with_its_ca(
    codex_env: CodexEnv, model: FakeResponsesServer, proxy: InterceptingProxy, tmp_path: Path
) -> None:
    ca_file = proxy.write_ca(tmp_path / "proxy-ca.pem")
    base_url = model.base_url.replace("127.0.0.1", "localhost")
    code, output, _ = _exec(codex_env, base_url, HTTPS_PROXY=proxy.url, CODEX_CA_CERTIFICATE=str(ca_file))
    assert code == 0, output
    assert "through the gateway" in output
    assert b"POST /v1/responses HTTP/1.1" in proxy.decrypted()


def _bad_setup(
    kind: str, tmp_path: Path, model: FakeResponsesServer, origin_ca: trustme.CA
) -> tuple[str, dict[str, str]]:
    """(base_url, environment) for one mistake."""
    base_url = model.base_url.replace("127.0.0.1", "localhost")
    bundle = tmp_path / f"{kind}.pem"
    if kind == "ca-missing":
        return base_url, {"CODEX_CA_CERTIFICATE": str(tmp_path / "nope.pem")}
    if kind in ("ca-garbage", "ca-der", "ca-empty"):
        data = {
            "ca-garbage": b"this is not a certificate\n",
            "ca-der": ssl.PEM_cert_to_DER_cert(origin_ca.cert_pem.bytes().decode()),
            "ca-empty": b"",
        }[kind]
        bundle.write_bytes(data)
        return base_url, {"CODEX_CA_CERTIFICATE": str(bundle)}
    if kind == "ssl-cert-file-missing":
        return base_url, {"SSL_CERT_FILE": str(tmp_path / "gone.pem")}
    if kind == "proxy-refuses":
        return base_url, {"HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}"}
    if kind == "no-ca":
        return base_url, {}
    raise AssertionError(kind)


BAD_SETUPS = {
    "ca-missing": "selected by CODEX_CA_CERTIFICATE: No such file or directory (os error 2)",
    "ca-garbage": "no certificates found in PEM file (there is no -----BEGIN CERTIFICATE----- line)",
    "ca-der": "it looks like a binary DER certificate; convert it with `openssl x509 -inform der",
    "ca-empty": "no certificates found in PEM file (the file is empty)",
    "ssl-cert-file-missing": "selected by SSL_CERT_FILE: No such file or directory",
    "proxy-refuses": "through the proxy http://127.0.0.1:",
    "no-ca": "TLS certificate verification failed for localhost:",
}


@pytest.mark.parametrize("kind", list(BAD_SETUPS))
def test_exec_bad_setup_fails_fast_with_a_specific_error(
    kind: str, codex_env: CodexEnv, model: FakeResponsesServer, origin_ca: trustme.CA, tmp_path: Path
) -> None:
    base_url, env = _bad_setup(kind, tmp_path, model, origin_ca)
    code, output, elapsed = _exec(codex_env, base_url, **env)
    assert code == 1, output
    assert BAD_SETUPS[kind] in output, output
    assert elapsed < 5
    assert "Traceback" not in output and "Reconnecting... waiting for network" not in output
    assert model.requests == []
    if kind == "proxy-refuses":
        assert "(from HTTPS_PROXY)" in output
    if kind == "no-ca":
        assert "CODEX_CA_CERTIFICATE" in output


def test_exec_untrusted_proxy_ca_fails_fast_naming_the_proxy(
    codex_env: CodexEnv, model: FakeResponsesServer, proxy: InterceptingProxy
) -> None:
    base_url = model.base_url.replace("127.0.0.1", "localhost")
    code, output, elapsed = _exec(codex_env, base_url, HTTPS_PROXY=proxy.url)
    assert code == 1 and elapsed < 5, output
    assert f"through the proxy {proxy.url} (from HTTPS_PROXY)" in output
    assert "A TLS-inspecting proxy may be in the way" in output and "CODEX_CA_CERTIFICATE=" in output
    assert model.requests == []


def test_exec_origin_name_mismatch_fails_fast(
    codex_env: CodexEnv, fake_server: object, origin_ca: trustme.CA, origin_ca_file: Path
) -> None:
    start = fake_server
    wrong = start([{"output": [message("never")]}], tls=server_context(origin_ca, "other.example"))  # type: ignore[operator]
    base_url = wrong.base_url.replace("127.0.0.1", "localhost")
    code, output, elapsed = _exec(codex_env, base_url, CODEX_CA_CERTIFICATE=str(origin_ca_file))
    assert code == 1 and elapsed < 5, output
    assert f"The TLS certificate of localhost:{wrong.port} does not match that name" in output
    assert "base_url" in output
    assert "Hostname mismatch" in output or not OPENSSL_VERIFIER
    assert wrong.requests == []


def test_exec_plain_http_server_behind_https_url_says_so(codex_env: CodexEnv, fake_server: object) -> None:
    start = fake_server
    plain = start([{"output": [message("never")]}])  # type: ignore[operator]
    code, output, elapsed = _exec(codex_env, plain.base_url.replace("http://", "https://"))
    assert code == 1 and elapsed < 5, output
    assert f"TLS handshake with 127.0.0.1:{plain.port} failed: the server does not speak TLS" in output
    assert "use an http:// base_url" in output
