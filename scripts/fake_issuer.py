#!/usr/bin/env python3
"""A local fake OAuth issuer for `codex login` tests and manual runs (stdlib only, 127.0.0.1 only).

Run it:
    python scripts/fake_issuer.py [--port 0] [--tls-cert c.pem --tls-key k.pem] [--client-id ID]
                                  [--authorize auto|page] [--pending-polls N] [--access-ttl SECONDS]
It prints `ISSUER <url>`, then serves until Ctrl-C. Point codex at it with
    codex login --experimental_issuer <url>                (browser flow)
    codex login --device-auth --experimental_issuer <url>  (device code; approve at <url>/codex/device)
    CODEX_REFRESH_TOKEN_URL_OVERRIDE=<url>/oauth/token CODEX_REVOKE_TOKEN_URL_OVERRIDE=<url>/oauth/revoke

Or import it (tests put `scripts/` on sys.path):
    with FakeIssuer() as issuer:
        ... issuer.url, issuer.requests, issuer.requests_to("/oauth/token"), issuer.token_error = (400, {...}) ...

Routes (auth.md §8/§9.1):
    GET  /oauth/authorize          checks client_id, redirect_uri, S256 challenge; `page` mode shows an Approve /
                                   Deny page (GET /oauth/authorize/decide), `auto` mode redirects at once
    POST /oauth/token              form `authorization_code` (checks client, redirect_uri, PKCE verifier),
                                   form token-exchange (`requested_token=openai-api-key`), JSON `refresh_token`
                                   (rotates; a reused refresh token gets 401 `refresh_token_reused`)
    POST /oauth/revoke             records the token as revoked, answers `{}` (or `revoke_status`)
    POST /api/accounts/deviceauth/usercode, /api/accounts/deviceauth/token   the device-code flow; a code is
                                   approved after `pending_polls` polls (403 until then) or at GET /codex/device
Per-test error switches are plain attributes: `token_error`, `api_key_error`, `refresh_error`, `poll_error`,
`usercode_status`, `revoke_status`, `device_interval` (sent as given: "1" or 1), `refresh_fields`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import itertools
import json
import secrets
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["CLIENT_ID", "FakeIssuer", "IssuerRequest", "main", "make_jwt"]

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIMS = "https://api.openai.com/auth"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE_REDIRECT = "/deviceauth/callback"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT (`alg: none`) with an unpadded base64url payload and a dummy signature."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.sig"


@dataclass
class IssuerRequest:
    """One request as the issuer saw it; `headers` keys are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class _Grant:
    challenge: str
    redirect_uri: str
    client_id: str


@dataclass
class _Device:
    user_code: str
    polls: int = 0
    approved: bool = False
    verifier: str = field(default_factory=lambda: _b64url(secrets.token_bytes(64)))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    issuer: FakeIssuer

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.issuer.errors.append(sys.exc_info()[1] or RuntimeError("unknown error"))  # e.g. TLS handshakes


class FakeIssuer:
    """The fake issuer; a context manager. Knobs are attributes and may change while it serves."""

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        tls: ssl.SSLContext | None = None,
        port: int = 0,
        authorize_mode: str = "page",
        account_id: str = "acct-fake-1",
        plan_type: str = "plus",
        email: str = "dev@example.com",
        access_ttl: float = 3600.0,
        pending_polls: int = 1,
        opaque_access_tokens: bool = False,
    ) -> None:
        self.client_id = client_id
        self.tls = tls
        self.authorize_mode = authorize_mode
        self.account_id = account_id
        self.plan_type = plan_type
        self.email = email
        self.access_ttl = access_ttl
        self.pending_polls = pending_polls
        self.opaque_access_tokens = opaque_access_tokens
        self.extra_id_claims: dict[str, Any] = {}
        # error switches: (status, body) tuples; a dict body is sent as JSON
        self.token_error: tuple[int, Any] | None = None
        self.api_key_error: tuple[int, Any] | None = None
        self.refresh_error: tuple[int, Any] | None = None
        self.poll_error: tuple[int, Any] | None = None
        self.usercode_status: int | None = None
        self.revoke_status = 200
        self.device_interval: Any = "1"
        self.refresh_fields: tuple[str, ...] = ("id_token", "access_token", "refresh_token")
        self.revoked: list[str] = []
        self.errors: list[BaseException] = []  # handler failures (TLS handshakes, crashes), for debugging
        self._lock = threading.Condition()
        self._requests: list[IssuerRequest] = []
        self._grants: dict[str, _Grant] = {}
        self._devices: dict[str, _Device] = {}
        self._refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self._id_tokens: set[str] = set()
        self._counter = itertools.count(1)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.issuer = self
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> FakeIssuer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-issuer", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeIssuer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # records

    @property
    def requests(self) -> list[IssuerRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[IssuerRequest]:
        return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[IssuerRequest]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([r for r in self._requests if r.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} requests to {path}")
                self._lock.wait(left)
            return [r for r in self._requests if r.path == path]

    def _record(self, request: IssuerRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    # tokens

    def issue_tokens(self, *, client_id: str | None = None) -> dict[str, str]:
        """A fresh id/access/refresh token set (also usable to seed auth.json in tests)."""
        n = next(self._counter)
        auth = {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan_type,
                "chatgpt_user_id": "user-fake", "organization_id": "org-fake", "project_id": "proj-fake"}
        id_claims = {"iss": self.url, "aud": client_id or self.client_id, "email": self.email,
                     AUTH_CLAIMS: auth, **self.extra_id_claims}
        if self.opaque_access_tokens:
            access = f"opaque-access-{n}-{secrets.token_hex(4)}"
        else:
            plan = {"chatgpt_plan_type": self.plan_type, "chatgpt_account_id": self.account_id}
            access = make_jwt({"exp": int(time.time() + self.access_ttl), "n": n, AUTH_CLAIMS: plan})
        tokens = {"id_token": make_jwt(id_claims), "access_token": access, "refresh_token": f"rt-{n}"}
        with self._lock:
            self._refresh_tokens[tokens["refresh_token"]] = True
            self._id_tokens.add(tokens["id_token"])
        return tokens

    def approve_device(self, user_code: str) -> bool:
        with self._lock:
            for device in self._devices.values():
                if device.user_code == user_code:
                    device.approved = True
                    return True
        return False

    def _new_code(self, challenge: str, redirect_uri: str, client_id: str) -> str:
        code = f"code-{next(self._counter)}-{secrets.token_hex(4)}"
        with self._lock:
            self._grants[code] = _Grant(challenge, redirect_uri, client_id)
        return code


def _json_reply(status: int, body: Any) -> tuple[int, str, bytes]:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return status, "application/json", data.encode() if isinstance(data, str) else data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        tls = self.server.issuer.tls
        if tls is not None:
            self.request.settimeout(10)
            self.request = tls.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):  # socketserver only closes the plain socket it accepted
                self.request.close()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _read(self) -> IssuerRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = IssuerRequest(
            self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
            {k.lower(): v for k, v in self.headers.items()}, body,
        )
        self.server.issuer._record(request)
        return request

    def do_GET(self) -> None:
        request = self._read()
        issuer = self.server.issuer
        routes = {"/oauth/authorize": _authorize, "/oauth/authorize/decide": _decide, "/codex/device": _device_page}
        route = routes.get(request.path)
        if route is None:
            self._reply(404, "text/plain", b"Not Found")
            return
        status, kind, body, headers = route(issuer, request)
        self._reply(status, kind, body, headers)

    def do_POST(self) -> None:
        request = self._read()
        issuer = self.server.issuer
        routes = {
            "/oauth/token": _token,
            "/oauth/revoke": _revoke,
            "/api/accounts/deviceauth/usercode": _usercode,
            "/api/accounts/deviceauth/token": _device_token,
            "/codex/device": _device_approve,
        }
        route = routes.get(request.path)
        if route is None:
            self._reply(404, "text/plain", b"Not Found")
            return
        status, kind, body = route(issuer, request)
        self._reply(status, kind, body)


# -- routes --------------------------------------------------------------------------------------------


def _page(title: str, body: str) -> bytes:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def _authorize(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes, dict[str, str]]:
    q = request.query
    problems = [
        name for name, ok in (
            ("client_id", q.get("client_id") == issuer.client_id),
            ("redirect_uri", bool(q.get("redirect_uri"))),
            ("code_challenge_method", q.get("code_challenge_method") == "S256"),
            ("code_challenge", len(q.get("code_challenge", "")) == 43),
            ("response_type", q.get("response_type") == "code"),
        ) if not ok
    ]
    if problems:
        return 400, "text/plain", f"invalid authorize request: {', '.join(problems)}".encode(), {}
    if issuer.authorize_mode == "auto":
        return 302, "text/plain", b"", {"Location": _approved_location(issuer, q)}
    params = html.escape(urlencode(q))
    body = (
        f"<h1>Fake issuer</h1><p>Sign in to <b>{html.escape(q.get('originator', 'codex'))}</b> as "
        f"{html.escape(issuer.email)}?</p>"
        f'<p><a href="/oauth/authorize/decide?{params}&amp;decision=approve">Approve</a> '
        f'<a href="/oauth/authorize/decide?{params}&amp;decision=deny">Deny</a></p>'
    )
    return 200, "text/html; charset=utf-8", _page("Fake issuer sign-in", body), {}


def _approved_location(issuer: FakeIssuer, q: dict[str, str]) -> str:
    code = issuer._new_code(q["code_challenge"], q["redirect_uri"], q["client_id"])
    return f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"


def _decide(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes, dict[str, str]]:
    q = request.query
    if q.get("decision") == "approve":
        return 302, "text/plain", b"", {"Location": _approved_location(issuer, q)}
    query = urlencode({"error": "access_denied", "error_description": "The user denied the request",
                       "state": q.get("state", "")})
    return 302, "text/plain", b"", {"Location": f"{q.get('redirect_uri', '')}?{query}"}


def _token(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("grant_type") == "refresh_token":
            return _refresh(issuer, body)
        return _json_reply(400, {"error": "unsupported_grant_type"})
    form = request.form
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return _code_exchange(issuer, form)
    if grant == TOKEN_EXCHANGE:
        if issuer.api_key_error is not None:
            return _json_reply(*issuer.api_key_error)
        if form.get("requested_token") != "openai-api-key" or form.get("subject_token") not in issuer._id_tokens:
            return _json_reply(400, {"error": "invalid_request", "error_description": "bad token exchange"})
        return _json_reply(200, {"access_token": f"sk-exchanged-{next(issuer._counter)}"})
    return _json_reply(400, {"error": "unsupported_grant_type"})


def _code_exchange(issuer: FakeIssuer, form: dict[str, str]) -> tuple[int, str, bytes]:
    if issuer.token_error is not None:
        return _json_reply(*issuer.token_error)
    with issuer._lock:
        grant = issuer._grants.pop(form.get("code", ""), None)
    verifier = form.get("code_verifier", "")
    challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
    if grant is None:
        return _json_reply(400, {"error": "invalid_grant", "error_description": "unknown or used authorization code"})
    redirect = form.get("redirect_uri", "")
    if grant.redirect_uri == DEVICE_REDIRECT:  # the device flow's redirect names the issuer as the client saw it
        redirect = urlsplit(redirect).path
    if form.get("client_id") != grant.client_id or redirect != grant.redirect_uri:
        return _json_reply(400, {"error": "invalid_grant", "error_description": "client_id or redirect_uri mismatch"})
    if challenge != grant.challenge:
        return _json_reply(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
    return _json_reply(200, {**issuer.issue_tokens(client_id=grant.client_id), "token_type": "Bearer",
                             "expires_in": int(issuer.access_ttl)})


def _refresh(issuer: FakeIssuer, body: dict[str, Any]) -> tuple[int, str, bytes]:
    if issuer.refresh_error is not None:
        return _json_reply(*issuer.refresh_error)
    token = body.get("refresh_token")
    if body.get("client_id") != issuer.client_id:
        return _json_reply(401, {"error": {"code": "invalid_client", "message": "unknown client"}})
    with issuer._lock:
        state = issuer._refresh_tokens.get(token) if isinstance(token, str) else None
        if state:
            issuer._refresh_tokens[token] = False
    if state is None:
        return _json_reply(401, {"error": {"code": "refresh_token_invalidated", "message": "unknown refresh token"}})
    if state is False:
        return _json_reply(401, {"error": {"code": "refresh_token_reused", "message": "refresh token reused"}})
    fresh = issuer.issue_tokens()
    return _json_reply(200, {k: v for k, v in fresh.items() if k in issuer.refresh_fields})


def _revoke(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes]:
    body = request.json if isinstance(request.json, dict) else {}
    token = body.get("token")
    if isinstance(token, str):
        with issuer._lock:
            issuer.revoked.append(token)
            if token in issuer._refresh_tokens:
                issuer._refresh_tokens[token] = False
    if issuer.revoke_status != 200:
        return _json_reply(issuer.revoke_status, {"error": "revoke failed"})
    return _json_reply(200, {})


def _usercode(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes]:
    if issuer.usercode_status is not None:
        return _json_reply(issuer.usercode_status, {"error": "usercode"})
    body = request.json if isinstance(request.json, dict) else {}
    if body.get("client_id") != issuer.client_id:
        return _json_reply(400, {"error": "invalid_client"})
    device_id = f"dev-auth-{next(issuer._counter)}"
    user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
    with issuer._lock:
        issuer._devices[device_id] = _Device(user_code)
    answer: dict[str, Any] = {"device_auth_id": device_id, "user_code": user_code}
    if issuer.device_interval is not None:
        answer["interval"] = issuer.device_interval
    return _json_reply(200, answer)


def _device_token(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes]:
    if issuer.poll_error is not None:
        return _json_reply(*issuer.poll_error)
    body = request.json if isinstance(request.json, dict) else {}
    with issuer._lock:
        device = issuer._devices.get(str(body.get("device_auth_id")))
        if device is None or device.user_code != body.get("user_code"):
            return _json_reply(400, {"error": "unknown device code"})
        device.polls += 1
        if issuer.pending_polls >= 0 and device.polls > issuer.pending_polls:
            device.approved = True
        approved = device.approved
    if not approved:
        return _json_reply(403, {"error": "authorization_pending"})
    challenge = _b64url(hashlib.sha256(device.verifier.encode()).digest())
    code = issuer._new_code(challenge, DEVICE_REDIRECT, issuer.client_id)
    return _json_reply(200, {"authorization_code": code, "code_challenge": challenge, "code_verifier": device.verifier})


def _device_page(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes, dict[str, str]]:
    form = (
        '<form method="post" action="/codex/device"><label>Code <input name="user_code"></label>'
        "<button>Approve</button></form>"
    )
    return 200, "text/html; charset=utf-8", _page("Fake issuer device login", form), {}


def _device_approve(issuer: FakeIssuer, request: IssuerRequest) -> tuple[int, str, bytes]:
    ok = issuer.approve_device(request.form.get("user_code", "").strip().upper())
    text = "Approved. Return to your terminal." if ok else "Unknown code."
    return (200 if ok else 404), "text/html; charset=utf-8", _page("Fake issuer", f"<p>{text}</p>")


# -- command line ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake OAuth issuer for `codex login` on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--tls-cert", help="PEM certificate chain; serve HTTPS (needs --tls-key)")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--client-id", default=CLIENT_ID, help="the OAuth client id to accept")
    parser.add_argument("--authorize", choices=("auto", "page"), default="page",
                        help="page: show Approve/Deny; auto: redirect back at once")
    parser.add_argument("--pending-polls", type=int, default=-1,
                        help="device polls answered 403 before auto-approval (default: approve on the web page)")
    parser.add_argument("--access-ttl", type=float, default=3600.0, help="access-token lifetime in seconds")
    args = parser.parse_args(argv)
    context = None
    if args.tls_cert:
        if not args.tls_key:
            parser.error("--tls-cert needs --tls-key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    issuer = FakeIssuer(client_id=args.client_id, tls=context, port=args.port, authorize_mode=args.authorize,
                        pending_polls=args.pending_polls, access_ttl=args.access_ttl).start()
    print(f"ISSUER {issuer.url}", flush=True)
    print(f"  codex login --experimental_issuer {issuer.url}", flush=True)
    print(f"  codex login --device-auth --experimental_issuer {issuer.url}   (approve at {issuer.url}/codex/device)")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        issuer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
