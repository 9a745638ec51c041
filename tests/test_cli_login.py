"""`codex login` / `codex login status` / `codex logout` end to end against the fake issuer.

In-process tests parse with a throwaway parser built by `login_cli.register()` and drive the browser
callback with httpx (the scripted browser); subprocess tests run the real `codex` and skip until
`cli_parser.build_parser()` registers `login` and `logout`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fake_issuer import FakeIssuer, make_jwt
from fake_responses import message

from codex_cli import login_cli
from codex_cli.errors import CodexError

ROOT = Path(__file__).resolve().parents[1]
CODEX = [sys.executable, str(ROOT / "codex.py")]
_SCRUB = (
    "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_ACCESS_TOKEN", "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE", "CODEX_REVOKE_TOKEN_URL_OVERRIDE", "CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "NO_COLOR",
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
API_KEY = "sk-proj-1234567890ABCDEFGHIJ"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    codex_home = tmp_path / "codex_home"
    codex_home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    monkeypatch.setenv(login_cli.NO_BROWSER_ENV, "1")
    monkeypatch.setenv(login_cli.PORTS_ENV, "0")
    monkeypatch.chdir(work)
    return codex_home


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with FakeIssuer(authorize_mode="auto") as fake:
        fake.device_interval = "0"
        yield fake


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="codex")
    login_cli.register(root.add_subparsers(dest="command"))
    return root


def call(argv: list[str]) -> int:
    """What `cli.main` does with the handler: run it, print a CodexError, return the exit code."""
    try:
        return login_cli.main(parser().parse_args(argv))
    except CodexError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        return exc.exit_code


@pytest.fixture
def codex(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    def run(*argv: str, stdin: bytes | None = None) -> Result:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8"))
        code = call(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


class Background:
    """A login command running on a thread, so the test can play the browser."""

    def __init__(self, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
        self.capsys = capsys
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, args=(argv,), daemon=True)
        self.thread.start()

    def _run(self, argv: list[str]) -> None:
        self.code = call(argv)

    def finish(self, timeout: float = 20) -> Result:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the login did not finish"
        captured = self.capsys.readouterr()
        assert self.code is not None
        return Result(self.code, captured.out, captured.err)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """$BROWSER records the authorize URL; calling the fixture waits for it."""
    record = tmp_path / "browser-url.txt"
    script = tmp_path / "fake_browser.py"
    script.write_text(f"import sys, pathlib\npathlib.Path({str(record)!r}).write_text(sys.argv[1])\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script}")
    monkeypatch.delenv(login_cli.NO_BROWSER_ENV)

    def wait(timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if record.exists() and record.read_text():
                return record.read_text()
            time.sleep(0.02)
        raise TimeoutError("the browser was never opened")

    return wait


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def web() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)


def start_browser_login(capsys: Any, issuer: FakeIssuer, *extra: str) -> Background:
    return Background(capsys, ["login", "--experimental_issuer", issuer.url, *extra])


def callback_url(authorize: str, **params: str) -> str:
    redirect = query(authorize)["redirect_uri"]
    return f"{redirect}?{httpx.QueryParams(params)}"


def auth_json(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "auth.json").read_text())
    return data


def store_chatgpt(home: Path, issuer: FakeIssuer, **changes: Any) -> dict[str, Any]:
    tokens = issuer.issue_tokens()
    data: dict[str, Any] = {
        "auth_mode": "chatgpt", "OPENAI_API_KEY": None,
        "tokens": {**tokens, "oauth_provenance": {"issuer": issuer.url, "client_id": issuer.client_id},
                   "account_id": "acct-fake-1"},
        "last_refresh": "2026-01-01T00:00:00.000000Z", **changes,
    }
    (home / "auth.json").write_text(json.dumps(data, indent=2))
    return data


# -- browser flow -----------------------------------------------------------------------------------------


def test_browser_login_happy_path(home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any) -> None:
    login = start_browser_login(capsys, issuer)
    authorize = browser()
    params = query(authorize)
    assert authorize.startswith(f"{issuer.url}/oauth/authorize?response_type=code&client_id=")
    assert len(params["state"]) == 43 and params["redirect_uri"].startswith("http://127.0.0.1:")
    with web() as http:
        to_callback = http.get(authorize)
        assert to_callback.status_code == 302
        done = http.get(to_callback.headers["location"])
        assert done.status_code == 302 and done.content == b""
        success = done.headers["location"]
        assert success.startswith(params["redirect_uri"].replace("/auth/callback", "/success?"))
        assert list(query(success)) == ["needs_setup", "org_id", "project_id", "plan_type", "platform_url"]
        assert query(success)["plan_type"] == "plus" and query(success)["org_id"] == "org-fake"
        assert (home / "auth.json").exists()  # saved before the redirect
        page = http.get(success)
        assert page.status_code == 200 and "Signed in to Codex" in page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
    result = login.finish()
    assert result.code == 0
    assert result.lines[0] == f"Starting local login server on http://localhost:{urlsplit(params['redirect_uri']).port}."
    assert result.lines[-1] == "Successfully logged in"
    exchange, api_key = issuer.requests_to("/oauth/token")
    assert list(exchange.form.items()) == [
        ("grant_type", "authorization_code"), ("client_id", issuer.client_id), ("code", exchange.form["code"]),
        ("redirect_uri", params["redirect_uri"]), ("code_verifier", exchange.form["code_verifier"]),
    ]
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    assert len(exchange.form["code_verifier"]) == 86
    assert list(api_key.form) == ["grant_type", "client_id", "requested_token", "subject_token", "subject_token_type"]
    assert api_key.form["requested_token"] == "openai-api-key"
    data = auth_json(home)
    assert data["auth_mode"] == "chatgpt" and data["OPENAI_API_KEY"].startswith("sk-exchanged-")
    assert data["tokens"]["oauth_provenance"] == {"issuer": issuer.url, "client_id": issuer.client_id}
    assert data["tokens"]["account_id"] == "acct-fake-1"
    assert len(data["tokens"]["login_owner_id"]) == 43
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600
    assert not (home / "auth.json").read_text().endswith("\n")


def test_api_key_exchange_failure_still_logs_in(
    home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any
) -> None:
    issuer.api_key_error = (400, {"error": "invalid_request"})
    login = start_browser_login(capsys, issuer)
    with web() as http:
        http.get(browser(), follow_redirects=True)
    assert login.finish().code == 0
    assert auth_json(home)["OPENAI_API_KEY"] is None


def test_state_mismatch_keeps_waiting(home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any) -> None:
    login = start_browser_login(capsys, issuer)
    authorize = browser()
    with web() as http:
        bad = http.get(callback_url(authorize, code="x", state="wrong"))
        assert (bad.status_code, bad.text) == (400, "State mismatch")
        assert bad.headers["content-type"] == "text/plain; charset=UTF-8"
        assert http.get(callback_url(authorize, code="x")).status_code == 400
        assert login.thread.is_alive()
        http.get(authorize, follow_redirects=True)
    assert login.finish().code == 0


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("User cancelled", "Sign-in failed: User cancelled"),
        ("missing_codex_entitlement for ws", "Codex is not enabled for your workspace. "
         "Contact your workspace administrator to request access to Codex."),
    ],
    ids=["denied", "entitlement"],
)
def test_oauth_error_callback(
    home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any, description: str, expected: str
) -> None:
    login = start_browser_login(capsys, issuer)
    authorize = browser()
    with web() as http:
        page = http.get(callback_url(authorize, error="access_denied", error_description=description,
                                     state=query(authorize)["state"]))
    assert page.status_code == 200 and "Codex Sign-in Error" in page.text
    result = login.finish()
    assert result.code == 1
    assert result.lines[-2:] == [f"OAuth callback error: {expected}", f"Error logging in: {expected}"]


def test_missing_code(home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any) -> None:
    login = start_browser_login(capsys, issuer)
    authorize = browser()
    with web() as http:
        page = http.get(callback_url(authorize, code="", state=query(authorize)["state"]))
    assert "missing_authorization_code" in page.text
    result = login.finish()
    assert (result.code, result.lines[-1]) == (
        1, "Error logging in: Missing authorization code. Sign-in could not be completed."
    )


@pytest.mark.parametrize(
    ("error", "inner"),
    [
        ((400, {"error": "invalid_grant", "error_description": "refresh token expired"}),
         "token endpoint returned status 400 Bad Request: refresh token expired"),
        ((500, {"error": {"message": "backend exploded", "code": "server_error"}}),
         "token endpoint returned status 500 Internal Server Error: backend exploded"),
    ],
    ids=["400-json", "500-nested"],
)
def test_token_exchange_failure(
    home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any, error: Any, inner: str
) -> None:
    issuer.token_error = error
    login = start_browser_login(capsys, issuer)
    with web() as http:
        page = http.get(browser(), follow_redirects=True)
    assert "token_exchange_failed" in page.text
    result = login.finish()
    assert result.code == 1
    assert result.lines[-2:] == [f"Token exchange error: {inner}", f"Error logging in: Token exchange failed: {inner}"]
    assert not (home / "auth.json").exists()


def test_workspace_restriction(home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any) -> None:
    login = start_browser_login(capsys, issuer, "-c", 'forced_chatgpt_workspace_id="ws-allowed"')
    authorize = browser()
    assert query(authorize)["allowed_workspace_id"] == "ws-allowed"
    with web() as http:
        page = http.get(authorize, follow_redirects=True)
    assert "workspace_restriction" in page.text
    result = login.finish()
    assert result.lines[-2:] == [
        "Workspace restriction error: Login is restricted to workspace id(s) ws-allowed.",
        "Error logging in: Login is restricted to workspace id(s) ws-allowed.",
    ]
    assert result.code == 1 and not (home / "auth.json").exists()


def test_cancel_and_unknown_path(home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any) -> None:
    login = start_browser_login(capsys, issuer)
    base = query(browser())["redirect_uri"].removesuffix("/auth/callback")
    with web() as http:
        missing = http.get(f"{base}/nope")
        assert (missing.status_code, missing.text) == (404, "Not Found")
        cancelled = http.get(f"{base}/cancel")
        assert (cancelled.status_code, cancelled.text) == (200, "Login cancelled")
    result = login.finish()
    assert (result.code, result.lines[-1]) == (1, "Error logging in: Login cancelled")


class _Busy(ThreadingHTTPServer):
    daemon_threads = True
    paths: list[str]


class _BusyHandler(BaseHTTPRequestHandler):
    server: _Busy

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def busy_ports() -> Iterator[list[_Busy]]:
    servers: list[_Busy] = []
    for _ in range(2):
        server = _Busy(("127.0.0.1", 0), _BusyHandler)
        server.paths = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_busy_port_gets_cancel_then_login_moves_to_the_fallback(
    home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any, busy_ports: list[_Busy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = busy_ports[0].server_address[1]
    monkeypatch.setenv(login_cli.PORTS_ENV, f"{busy},0")
    login = start_browser_login(capsys, issuer)
    authorize = browser()
    assert busy_ports[0].paths == ["/cancel"]
    assert urlsplit(query(authorize)["redirect_uri"]).port != busy
    with web() as http:
        http.get(authorize, follow_redirects=True)
    assert login.finish().code == 0


def test_both_ports_busy(home: Path, issuer: FakeIssuer, capsys: Any, busy_ports: list[_Busy],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = (s.server_address[1] for s in busy_ports)
    monkeypatch.setenv(login_cli.PORTS_ENV, f"{first},{second}")
    started = time.monotonic()
    result = start_browser_login(capsys, issuer).finish()
    assert (result.code, result.lines[-1]) == (1, f"Error logging in: Port 127.0.0.1:{second} is already in use")
    assert busy_ports[0].paths == ["/cancel"] and busy_ports[1].paths == []
    assert 3 < time.monotonic() - started < 10


def test_new_login_revokes_and_removes_existing_credentials(
    home: Path, issuer: FakeIssuer, browser: Callable[[], str], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_REVOKE_TOKEN_URL_OVERRIDE", f"{issuer.url}/oauth/revoke")
    old = store_chatgpt(home, issuer)
    login = start_browser_login(capsys, issuer)
    base = query(browser())["redirect_uri"].removesuffix("/auth/callback")
    assert not (home / "auth.json").exists()
    with web() as http:
        http.get(f"{base}/cancel")
    assert login.finish().code == 1
    (revoke,) = issuer.requests_to("/oauth/revoke")
    assert revoke.json["token"] == old["tokens"]["refresh_token"]


def test_client_id_flag_reaches_the_browser_flow(home: Path, browser: Callable[[], str], capsys: Any) -> None:
    with FakeIssuer(client_id="my-client", authorize_mode="auto") as issuer:
        login = start_browser_login(capsys, issuer, "--experimental_client-id", "my-client")
        authorize = browser()
        assert query(authorize)["client_id"] == "my-client"
        with web() as http:
            http.get(authorize, follow_redirects=True)
        assert login.finish().code == 0
        assert {r.form["client_id"] for r in issuer.requests_to("/oauth/token")} == {"my-client"}
    assert auth_json(home)["tokens"]["oauth_provenance"]["client_id"] == "my-client"


def test_forced_api_login_disables_chatgpt_login(home: Path, codex: Callable[..., Result]) -> None:
    for extra in ([], ["--device-auth"]):
        result = codex("login", *extra, "-c", 'forced_login_method="api"')
        assert (result.code, result.err) == (1, "ChatGPT login is disabled. Use API key login instead.\n")


# -- device code ----------------------------------------------------------------------------------------------


def test_device_login_happy_path(home: Path, issuer: FakeIssuer, codex: Callable[..., Result]) -> None:
    issuer.device_interval = "1"
    result = codex("login", "--device-auth", "--experimental_issuer", issuer.url)
    assert (result.code, result.err) == (0, "Successfully logged in\n")
    usercode, poll1, poll2 = (issuer.requests_to(p) for p in (
        "/api/accounts/deviceauth/usercode", "/api/accounts/deviceauth/token", "/oauth/token"))
    assert usercode[0].json == {"client_id": issuer.client_id}
    assert usercode[0].headers["content-type"] == "application/json"
    assert len(poll1) == 2  # one pending 403, then the grant
    assert [list(r.json) for r in poll1] == [["device_auth_id", "user_code"]] * 2
    assert {r.headers["content-type"] for r in poll1} == {"application/json"}
    exchange = poll2[0].form
    assert exchange["redirect_uri"] == f"{issuer.url}/deviceauth/callback"
    assert exchange["grant_type"] == "authorization_code"
    assert len(poll2) == 1  # no API-key exchange in the device flow
    data = auth_json(home)
    assert data["OPENAI_API_KEY"] is None
    assert data["tokens"]["oauth_provenance"] == {"issuer": issuer.url, "client_id": issuer.client_id}


def test_device_prompt(home: Path, issuer: FakeIssuer, codex: Callable[..., Result]) -> None:
    result = codex("login", "--device-auth", "--experimental_issuer", issuer.url)
    assert "\x1b[94m" in result.out and "\x1b[90m" in result.out
    lines = [line.strip() for line in ANSI.sub("", result.out).splitlines() if line.strip()]
    code = issuer.requests_to("/api/accounts/deviceauth/token")[0].json["user_code"]
    from codex_cli.version import VERSION

    assert lines == [
        f"Welcome to Codex [v{VERSION}]",
        "OpenAI's command-line coding agent",
        "Follow these steps to sign in with ChatGPT using device code authorization:",
        "1. Open this link in your browser and sign in to your account",
        f"{issuer.url}/codex/device",
        "2. Enter this one-time code (expires in 15 minutes)",
        code,
        "Continue only if you started this login in Codex. If a website or another person gave you this code, cancel.",
    ]


def test_device_client_id_reaches_every_request(home: Path, codex: Callable[..., Result]) -> None:
    with FakeIssuer(client_id="my-client") as issuer:
        issuer.device_interval = "0"
        result = codex("login", "--device-auth", "--experimental_issuer", issuer.url,
                       "--experimental_client-id", "my-client")
        assert result.code == 0
        assert issuer.requests_to("/api/accounts/deviceauth/usercode")[0].json["client_id"] == "my-client"
        assert issuer.requests_to("/oauth/token")[0].form["client_id"] == "my-client"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"usercode_status": 404}, "device code login is not enabled for this Codex server. "
         "Use the browser login or verify the server URL."),
        ({"usercode_status": 500}, "device code request failed with status 500 Internal Server Error"),
        ({"poll_error": (500, {"error": "x"})}, "device auth failed with status 500 Internal Server Error"),
        ({"device_interval": 1}, "invalid type: integer `1`, expected a string at line 1 column "),
        ({"token_error": (400, {"error_description": "bad code"})},
         "device code exchange failed: token endpoint returned status 400 Bad Request: bad code"),
    ],
    ids=["usercode-404", "usercode-500", "poll-500", "numeric-interval", "exchange-400"],
)
def test_device_errors(
    home: Path, issuer: FakeIssuer, codex: Callable[..., Result], setup: dict[str, Any], message: str
) -> None:
    for name, value in setup.items():
        setattr(issuer, name, value)
    result = codex("login", "--device-auth", "--experimental_issuer", issuer.url)
    assert result.code == 1
    assert result.lines[-1].startswith(f"Error logging in: {message}")


def test_device_login_unreachable_issuer(home: Path, codex: Callable[..., Result]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = codex("login", "--device-auth", "--experimental_issuer", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert result.lines[0] == (
        f"Error logging in: error sending request for url (http://127.0.0.1:{port}/api/accounts/deviceauth/usercode)"
    )


# -- API key, access token ---------------------------------------------------------------------------------


def test_login_with_api_key(home: Path, codex: Callable[..., Result]) -> None:
    result = codex("login", "--with-api-key", stdin=f"  {API_KEY}\n".encode())
    assert (result.code, result.out) == (0, "")
    assert result.lines == [
        "Reading API key from stdin...", "API key saved. Authentication is checked when you send a request."
    ]
    assert (home / "auth.json").read_text() == f'{{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "{API_KEY}"\n}}'
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600


def test_login_with_api_key_keeps_inner_newlines(home: Path, codex: Callable[..., Result]) -> None:
    assert codex("login", "--with-api-key", stdin=b"line1\nline2\n").code == 0
    assert auth_json(home)["OPENAI_API_KEY"] == "line1\nline2"


def test_login_with_api_key_rejects_empty_input(home: Path, codex: Callable[..., Result]) -> None:
    result = codex("login", "--with-api-key", stdin=b"  \n\t")
    assert (result.code, result.lines[-1]) == (1, "No API key provided via stdin.")
    assert not (home / "auth.json").exists()


def test_login_with_api_key_from_a_tty(home: Path, codex: Callable[..., Result], monkeypatch: pytest.MonkeyPatch,
                                       capsys: Any) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    assert call(["login", "--with-api-key"]) == 1
    assert capsys.readouterr().err == (
        "--with-api-key expects the API key on stdin. Try piping it, e.g. "
        "`printenv OPENAI_API_KEY | codex login --with-api-key`.\n"
    )


def test_forced_chatgpt_login_disables_api_key_login(home: Path, codex: Callable[..., Result]) -> None:
    result = codex("login", "--with-api-key", "-c", 'forced_login_method="chatgpt"', stdin=API_KEY.encode())
    assert (result.code, result.lines[-1]) == (1, "API key login is disabled. Use ChatGPT login instead.")


def test_deprecated_api_key_flag(home: Path, codex: Callable[..., Result]) -> None:
    result = codex("login", "--api-key", API_KEY)
    assert result.code == 1 and API_KEY not in result.err
    assert result.err.startswith("The --api-key flag is no longer supported. Pipe the key instead")


def test_login_with_access_token(home: Path, codex: Callable[..., Result]) -> None:
    bad = codex("login", "--with-access-token", stdin=b"not-a-jwt")
    assert bad.lines[-1] == "Error logging in: failed to decode agent identity JWT: invalid agent identity JWT format"
    good = codex("login", "--with-access-token", stdin=make_jwt({"sub": "agent"}).encode())
    assert good.code == 0
    assert codex("login", "status").lines == ["Logged in using an access token"]


# -- status -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code", "lines"),
    [
        (None, 1, ["Not logged in"]),
        (json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": API_KEY}), 0,
         ["API key configured - sk-proj-***FGHIJ", "Authentication is checked when you send a request."]),
        (json.dumps({"OPENAI_API_KEY": "abcdefghijklm"}), 0,
         ["API key configured - ***", "Authentication is checked when you send a request."]),
        (json.dumps({}), 0, ["Logged in using ChatGPT"]),
        ("garbage", 1, ["Error checking login status: failed to deserialize CLI auth from file: "
                        "expected value at line 1 column 1"]),
    ],
    ids=["none", "api-key", "legacy-short-key", "empty-object-is-chatgpt", "unparseable"],
)
def test_login_status(home: Path, codex: Callable[..., Result], content: str | None, code: int,
                      lines: list[str]) -> None:
    if content is not None:
        (home / "auth.json").write_text(content)
    result = codex("login", "status")
    assert (result.code, result.lines, result.out) == (code, lines, "")


def test_login_status_chatgpt_and_forced_api(home: Path, issuer: FakeIssuer, codex: Callable[..., Result]) -> None:
    store_chatgpt(home, issuer)
    assert codex("login", "status").lines == ["Logged in using ChatGPT"]
    forced = codex("login", "status", "-c", 'forced_login_method="api"')
    assert (forced.code, forced.lines) == (1, ["Not logged in"])
    assert (home / "auth.json").exists()


def test_login_status_invalid_content(home: Path, codex: Callable[..., Result]) -> None:
    tokens = {"id_token": "x", "access_token": "a", "refresh_token": "r"}
    (home / "auth.json").write_text(json.dumps({"tokens": tokens}))
    result = codex("login", "status")
    assert result.code == 1
    assert result.lines[0].startswith(
        "Error checking login status: failed to deserialize CLI auth from file: invalid credential JSON ("
    )


def test_login_status_ignores_environment_keys(home: Path, codex: Callable[..., Result],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("CODEX_API_KEY", API_KEY)
    assert codex("login", "status").lines == ["Not logged in"]


def test_keyring_store_without_a_keyring(home: Path, codex: Callable[..., Result]) -> None:
    result = codex("login", "status", "-c", 'cli_auth_credentials_store="keyring"')
    assert result.code == 1
    assert result.lines[0].startswith(
        "Error checking login status: failed to load CLI auth from keyring: Platform secure storage failure: "
    )


def test_ephemeral_store_saves_nothing(home: Path, codex: Callable[..., Result]) -> None:
    saved = codex("login", "--with-api-key", "-c", 'cli_auth_credentials_store="ephemeral"', stdin=API_KEY.encode())
    assert saved.code == 0
    assert sorted(p.name for p in home.iterdir()) == []
    assert codex("login", "status").lines == ["Not logged in"]


# -- logout ----------------------------------------------------------------------------------------------


def test_logout_revokes_then_deletes(home: Path, issuer: FakeIssuer, codex: Callable[..., Result],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_REVOKE_TOKEN_URL_OVERRIDE", f"{issuer.url}/oauth/revoke")
    stored = store_chatgpt(home, issuer)
    result = codex("logout")
    assert (result.code, result.lines) == (0, ["Successfully logged out"])
    (revoke,) = issuer.requests_to("/oauth/revoke")
    assert revoke.body == json.dumps(
        {"token": stored["tokens"]["refresh_token"], "token_type_hint": "refresh_token", "client_id": issuer.client_id},
        separators=(",", ":"),
    ).encode()
    assert revoke.headers["content-type"] == "application/json"
    assert revoke.headers["originator"] == "codex_cli_rs"
    assert not (home / "auth.json").exists()
    again = codex("logout")
    assert (again.code, again.lines) == (0, ["Not logged in"])


def test_logout_survives_a_failing_revoke(home: Path, issuer: FakeIssuer, codex: Callable[..., Result],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_REVOKE_TOKEN_URL_OVERRIDE", f"{issuer.url}/oauth/revoke")
    issuer.revoke_status = 404
    store_chatgpt(home, issuer)
    assert codex("logout").lines == ["Successfully logged out"]


def test_logout_of_an_api_key_sends_no_revoke(home: Path, issuer: FakeIssuer, codex: Callable[..., Result],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_REVOKE_TOKEN_URL_OVERRIDE", f"{issuer.url}/oauth/revoke")
    codex("login", "--with-api-key", stdin=API_KEY.encode())
    assert codex("logout").lines == ["Successfully logged out"]
    assert issuer.requests_to("/oauth/revoke") == []


def test_secrets_never_printed(home: Path, issuer: FakeIssuer, codex: Callable[..., Result],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_REVOKE_TOKEN_URL_OVERRIDE", "http://127.0.0.1:9/oauth/revoke")
    stored = store_chatgpt(home, issuer)
    secrets = [stored["tokens"][k] for k in ("id_token", "access_token", "refresh_token")] + [API_KEY]
    outputs = [codex("login", "status"), codex("logout")]
    outputs.append(codex("login", "--with-api-key", stdin=API_KEY.encode()))
    outputs.append(codex("login", "status"))
    issuer.token_error = (400, {"error_description": "nope"})
    outputs.append(codex("login", "--device-auth", "--experimental_issuer", issuer.url))
    text = "".join(r.out + r.err for r in outputs)
    for secret in secrets:
        assert secret not in text


# -- import cost --------------------------------------------------------------------------------------------


def test_register_imports_nothing_heavy() -> None:
    code = (
        "import argparse, sys\nfrom codex_cli import login_cli\n"
        "p = argparse.ArgumentParser(); login_cli.register(p.add_subparsers())\n"
        "heavy = ('httpx', 'ssl', 'msgspec', 'http.server', 'codex_cli.auth', 'codex_cli.auth_store')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


# -- the real `codex` in a subprocess (needs cli_parser.build_parser() to register login/logout) ---------------------


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({"CODEX_HOME": str(home), "PYTHONPATH": str(ROOT), login_cli.NO_BROWSER_ENV: "1",
                login_cli.PORTS_ENV: "0", **extra})
    return env


def run_codex(home: Path, *args: str, input: bytes | None = None, **env: str) -> Result:
    proc = subprocess.run([*CODEX, *args], input=input, capture_output=True, env=subprocess_env(home, **env),
                          cwd=home.parent / "work", timeout=60)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_cli_api_key_status_logout_cycle(home: Path) -> None:
    saved = run_codex(home, "login", "--with-api-key", input=API_KEY.encode())
    assert saved.code == 0 and saved.lines[-1] == "API key saved. Authentication is checked when you send a request."
    status = run_codex(home, "login", "status")
    assert (status.code, status.lines[0]) == (0, "API key configured - sk-proj-***FGHIJ")
    assert run_codex(home, "logout").lines == ["Successfully logged out"]
    assert run_codex(home, "login", "status").code == 1
    assert run_codex(home, "logout").code == 0


def test_cli_device_login(home: Path, issuer: FakeIssuer) -> None:
    result = run_codex(home, "login", "--device-auth", "--experimental_issuer", issuer.url)
    assert (result.code, result.lines[-1]) == (0, "Successfully logged in")
    assert "one-time code" in result.out
    assert run_codex(home, "login", "status").lines == ["Logged in using ChatGPT"]


def test_cli_browser_login(home: Path, issuer: FakeIssuer) -> None:
    proc = subprocess.Popen([*CODEX, "login", "--experimental_issuer", issuer.url], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=subprocess_env(home), cwd=home.parent / "work")
    try:
        assert proc.stderr is not None
        url = ""
        for raw in proc.stderr:
            if raw.startswith(issuer.url.encode()):
                url = raw.decode().strip()
                break
        with web() as http:
            assert http.get(url, follow_redirects=True).status_code == 200
        assert proc.wait(timeout=30) == 0
        assert proc.stderr.read().decode().splitlines()[-1] == "Successfully logged in"
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert auth_json(home)["auth_mode"] == "chatgpt"


def test_cli_with_api_key_from_a_tty(home: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(CODEX[0], [*CODEX[1:], "login", "--with-api-key"], env=subprocess_env(home),
                          cwd=str(home.parent / "work"), timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert b"--with-api-key expects the API key on stdin." in child.before


def test_exec_refreshes_an_expiring_chatgpt_login(home: Path, issuer: FakeIssuer, fake_server: Any) -> None:
    stored = store_chatgpt(home, issuer)
    stored["tokens"]["access_token"] = make_jwt({"exp": int(time.time()) + 60})
    (home / "auth.json").write_text(json.dumps(stored, indent=2))
    server = fake_server([{"output": [message("FAKE-OK")]}])
    (home / "config.toml").write_text(
        'model_provider = "chatgpt"\n[model_providers.chatgpt]\nname = "chatgpt"\n'
        f'base_url = "{server.base_url}"\nrequires_openai_auth = true\nrequest_max_retries = 0\n'
    )
    result = run_codex(home, "exec", "--skip-git-repo-check", "hi",
                       CODEX_REFRESH_TOKEN_URL_OVERRIDE=f"{issuer.url}/oauth/token")
    assert result.code == 0, result.err
    (refresh,) = issuer.requests_to("/oauth/token")
    assert refresh.json["refresh_reason"] == "proactive_expiry"
    fresh = auth_json(home)["tokens"]
    request = server.response_requests[0]
    assert request.headers["authorization"] == f"Bearer {fresh['access_token']}"
    assert request.headers["chatgpt-account-id"] == "acct-fake-1"


def test_device_login_over_tls_needs_the_custom_ca(home: Path, tmp_path: Path, codex: Callable[..., Result],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    with FakeIssuer(tls=context) as issuer:
        issuer.device_interval = "0"
        assert issuer.url.startswith("https://")
        failed = codex("login", "--device-auth", "--experimental_issuer", issuer.url)
        assert failed.code == 1
        assert failed.lines[0] == (
            f"Error logging in: error sending request for url ({issuer.url}/api/accounts/deviceauth/usercode)"
        )
        monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(ca_path))
        assert codex("login", "--device-auth", "--experimental_issuer", issuer.url).code == 0


def test_browser_login_through_the_issuer_approve_page(home: Path, browser: Callable[[], str], capsys: Any) -> None:
    import html

    with FakeIssuer(authorize_mode="page") as issuer:
        login = start_browser_login(capsys, issuer)
        authorize = browser()
        with web() as http:
            page = http.get(authorize)
            links = dict(re.findall(r'href="([^"]+)">(Approve|Deny)<', page.text))
            approve = next(html.unescape(href) for href, label in links.items() if label == "Approve")
            assert http.get(f"{issuer.url}{approve}", follow_redirects=True).status_code == 200
        assert login.finish().code == 0
