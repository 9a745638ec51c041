"""`codex login` (browser, `--device-auth`, `--with-api-key`, `--with-access-token`), `codex login status` and
`codex logout`: the front end that prints, and the local callback server of the browser flow.

Messages go to stderr; only the device-code prompt goes to stdout (auth.md §1–§2). Importing this module
costs only `argparse`: `register()` runs inside `cli_parser.build_parser()`, so `auth`, `login`, `http.server` and
httpx are imported by the handlers. Test switches: `CODEX_LOGIN_NO_BROWSER=1` never opens a browser;
`CODEX_LOGIN_CALLBACK_PORTS=P[,Q]` replaces the callback ports 1455 and 1457 (0 = any free port).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from codex_cli.records import Record, field

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    import httpx

    from codex_cli.auth_store import AuthStore
    from codex_cli.config import Config
    from codex_cli.errors import CodexError
    from codex_cli.login import LoginSettings, TokenResponse

__all__ = ["BrowserLogin", "main", "register", "run_browser_login", "run_device_login"]

CALLBACK_PORTS = (1455, 1457)
PORTS_ENV = "CODEX_LOGIN_CALLBACK_PORTS"
NO_BROWSER_ENV = "CODEX_LOGIN_NO_BROWSER"
_BIND_ATTEMPTS = 10
_BIND_DELAY = 0.2
_PIPE_HINT = "Try piping it, e.g. `printenv {var} | codex login {flag}`."
_ENTITLEMENT_MESSAGE = (
    "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."
)


# -- the argument tree --------------------------------------------------------------------------------


def _config_option(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument(
        "-c", "--config", action="append", dest=dest, default=None, metavar="key=value",
        help="override a config.toml value; the value is parsed as TOML, else taken as a string",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `login` (with its `status` action) and `logout` to the `codex` subcommands."""
    login = subparsers.add_parser(
        "login",
        help="log in with ChatGPT or an API key",
        description=(
            "Sign in with ChatGPT in a browser (or with a one-time code: --device-auth), or store an API key "
            "read from stdin.\n\nexamples:\n  codex login\n  codex login --device-auth\n"
            "  printenv OPENAI_API_KEY | codex login --with-api-key\n  codex login status"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _config_option(login, "config")
    modes = login.add_mutually_exclusive_group()
    modes.add_argument("--with-api-key", action="store_true", help="read an API key from stdin and store it")
    modes.add_argument(
        "--with-access-token", action="store_true", help="read an agent access token (a JWT) from stdin"
    )
    modes.add_argument(
        "--device-auth", action="store_true", help="sign in with a one-time code (for remote or headless machines)"
    )
    modes.add_argument("--api-key", metavar="KEY", help=argparse.SUPPRESS)
    login.add_argument("--experimental_issuer", "--experimental-issuer", dest="issuer", help=argparse.SUPPRESS)
    login.add_argument(
        "--experimental_client-id", "--experimental-client-id", dest="client_id", help=argparse.SUPPRESS
    )
    actions = login.add_subparsers(dest="login_action", metavar="[status]", title="actions")
    status = actions.add_parser(
        "status",
        help="show whether you are logged in (exit 0) or not (exit 1)",
        description="Show the stored login; no network calls.\n\nexample: codex login status",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _config_option(status, "status_config")
    login.set_defaults(handler="codex_cli.login_cli:main", login_command="login")
    logout = subparsers.add_parser(
        "logout",
        help="remove the stored login (revoking ChatGPT tokens)",
        description="Revoke stored ChatGPT tokens and delete the stored login.\n\nexample: codex logout",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _config_option(logout, "config")
    logout.set_defaults(handler="codex_cli.login_cli:main", login_command="logout")


# -- entry point ---------------------------------------------------------------------------------------


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _fail(prefix: str, exc: CodexError) -> int:
    _say(prefix + exc.message)
    if exc.hint:
        _say(exc.hint)
    return 1


def main(args: argparse.Namespace) -> int:
    """Run `codex login …` or `codex logout` as parsed by `register()`'s parsers."""
    if getattr(args, "login_command", "login") == "logout":
        return _logout(args)
    if getattr(args, "login_action", None) == "status":
        return _status(args)
    if getattr(args, "api_key", None) is not None:
        _say(
            "The --api-key flag is no longer supported. Pipe the key instead, e.g. "
            "`printenv OPENAI_API_KEY | codex login --with-api-key`."
        )
        return 1
    if getattr(args, "with_api_key", False):
        return _login_with_api_key(args)
    if getattr(args, "with_access_token", False):
        return _login_with_access_token(args)
    return _chatgpt_login(args)


def _load_config(args: argparse.Namespace) -> Config:
    from codex_cli.config import CliOverrides, load_config

    overrides = [*(getattr(args, "config", None) or []), *(getattr(args, "status_config", None) or [])]
    return load_config(CliOverrides(config_overrides=tuple(overrides)))


def _setting(config: Config, key: str) -> str | None:
    value = config.raw.get(key)
    return value if isinstance(value, str) else None


def _store(config: Config) -> AuthStore:
    from codex_cli.auth_store import open_store

    return open_store(config.codex_home, _setting(config, "cli_auth_credentials_store"))


def _workspace_ids(config: Config) -> tuple[str, ...]:
    value = config.raw.get("forced_chatgpt_workspace_id")
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


def _read_secret(flag: str, var: str) -> str | None:
    """The stripped stdin text, or None after explaining (a TTY: pipe it in)."""
    if sys.stdin is None or sys.stdin.isatty():
        _say(f"{flag} expects the {var_label(var)} on stdin. {_PIPE_HINT.format(var=var, flag=flag)}")
        return None
    buffer = getattr(sys.stdin, "buffer", None)
    data = buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8")
    return bytes(data).decode("utf-8", "replace").strip()


def var_label(var: str) -> str:
    return "API key" if var == "OPENAI_API_KEY" else "access token"


# -- the commands ----------------------------------------------------------------------------------------


def _login_with_api_key(args: argparse.Namespace) -> int:
    from codex_cli.auth_store import AuthDotJson
    from codex_cli.errors import CodexError

    if sys.stdin is not None and not sys.stdin.isatty():
        _say("Reading API key from stdin...")
    key = _read_secret("--with-api-key", "OPENAI_API_KEY")
    if key is None:
        return 1
    if not key:
        _say("No API key provided via stdin.")
        return 1
    config = _load_config(args)
    if _setting(config, "forced_login_method") == "chatgpt":
        _say("API key login is disabled. Use ChatGPT login instead.")
        return 1
    try:
        _store(config).save(AuthDotJson("apikey", openai_api_key=key))
    except CodexError as exc:
        return _fail("Error logging in: ", exc)
    except OSError as exc:
        _say(f"Error logging in: could not write auth.json: {exc.strerror}")
        return 1
    _say("API key saved. Authentication is checked when you send a request.")
    return 0


def _login_with_access_token(args: argparse.Namespace) -> int:
    from codex_cli.auth_store import AuthDotJson, decode_jwt_payload
    from codex_cli.errors import CodexError

    token = _read_secret("--with-access-token", "CODEX_ACCESS_TOKEN")
    if token is None:
        return 1
    if not token:
        _say("No access token provided via stdin.")
        return 1
    if decode_jwt_payload(token) is None:
        _say("Error logging in: failed to decode agent identity JWT: invalid agent identity JWT format")
        return 1
    config = _load_config(args)
    try:
        _store(config).save(AuthDotJson("agent_identity", agent_identity=token))
    except CodexError as exc:
        return _fail("Error logging in: ", exc)
    _say("Successfully logged in")
    return 0


def _status(args: argparse.Namespace) -> int:
    from codex_cli.auth_store import decode_jwt_payload, mask_api_key
    from codex_cli.errors import AuthError

    config = _load_config(args)
    env_token = os.environ.get("CODEX_ACCESS_TOKEN", "").strip()
    if env_token:
        if decode_jwt_payload(env_token) is None:
            _say("Error checking login status: failed to decode agent identity JWT: invalid agent identity JWT format")
            return 1
        _say("Logged in using an access token")
        return 0
    try:
        stored = _store(config).load()
    except AuthError as exc:
        return _fail("Error checking login status: ", exc)
    forced = _setting(config, "forced_login_method")
    if stored is None or (forced == "api" and stored.auth_mode == "chatgpt"):
        _say("Not logged in")
        return 1
    if stored.auth_mode == "apikey":
        if not stored.openai_api_key or forced == "chatgpt":
            _say("Not logged in")
            return 1
        _say(f"API key configured - {mask_api_key(stored.openai_api_key)}")
        _say("Authentication is checked when you send a request.")
        return 0
    _say("Logged in using an access token" if stored.auth_mode == "agent_identity" else "Logged in using ChatGPT")
    return 0


def _logout(args: argparse.Namespace) -> int:
    from codex_cli.auth import revoke_tokens
    from codex_cli.errors import AuthError

    config = _load_config(args)
    store = _store(config)
    try:
        stored = store.load()
    except AuthError:
        stored = None  # an unreadable login is still removed
    if stored is not None:
        revoke_tokens(stored, env=os.environ)
    try:
        removed = store.delete()
    except AuthError as exc:
        return _fail("Error logging out: ", exc)
    except OSError as exc:
        _say(f"Error logging out: could not delete auth.json: {exc.strerror}")
        return 1
    _say("Successfully logged out" if removed else "Not logged in")
    return 0


def _chatgpt_login(args: argparse.Namespace) -> int:
    from codex_cli.auth import DEFAULT_ISSUER
    from codex_cli.auth_store import CLIENT_ID
    from codex_cli.errors import CodexError
    from codex_cli.login import LoginSettings, discard_existing_login
    from codex_cli.netwait import report_to

    config = _load_config(args)
    if _setting(config, "forced_login_method") == "api":
        _say("ChatGPT login is disabled. Use API key login instead.")
        return 1
    settings = LoginSettings(
        codex_home=config.codex_home,
        issuer=(args.issuer or "").strip() or DEFAULT_ISSUER,
        client_id=(args.client_id or "").strip() or CLIENT_ID,
        workspace_ids=_workspace_ids(config),
        env=dict(os.environ),
    )
    store = _store(config)
    try:
        with report_to(sys.stderr):  # "connecting to auth.openai.com via proxy ... 4s" after 2 s of waiting
            discard_existing_login(store, settings.env)
            if args.device_auth:
                run_device_login(settings, store, out=sys.stdout)
            else:
                run_browser_login(settings, store, err=sys.stderr)
    except CodexError as exc:
        return _fail("Error logging in: ", exc)
    _say("Successfully logged in")
    return 0


# -- device code -----------------------------------------------------------------------------------------


def _device_prompt(url: str, code: str, *, color: bool) -> str:
    from codex_cli.version import VERSION

    gray, blue, reset = ("\x1b[90m", "\x1b[94m", "\x1b[0m") if color else ("", "", "")
    return (
        f"\nWelcome to Codex [v{VERSION}]\n{gray}OpenAI's command-line coding agent{reset}\n\n"
        "Follow these steps to sign in with ChatGPT using device code authorization:\n\n"
        f"1. Open this link in your browser and sign in to your account\n   {blue}{url}{reset}\n\n"
        f"2. Enter this one-time code {gray}(expires in 15 minutes){reset}\n   {blue}{code}{reset}\n\n"
        f"{gray}Continue only if you started this login in Codex. If a website or another person gave you "
        f"this code, cancel.{reset}\n\n"
    )


def run_device_login(
    settings: LoginSettings, store: AuthStore, *, out: TextIO, sleep: Callable[[float], None] = time.sleep
) -> None:
    """The device-code flow of auth.md §2.1: prompt on `out`, poll, exchange, save. Raises CodexError."""
    from codex_cli import login
    from codex_cli.errors import AuthError
    from codex_cli.http import create_client

    with create_client() as client:
        code = login.request_device_code(client, settings)
        out.write(_device_prompt(code.verification_url, code.user_code, color="NO_COLOR" not in settings.env))
        out.flush()
        grant = login.poll_device_code(client, settings, code, sleep=sleep)
        try:
            tokens = login.exchange_code(
                client, settings, code=grant.authorization_code,
                redirect_uri=f"{settings.base}/deviceauth/callback", verifier=grant.code_verifier,
            )
        except AuthError as exc:
            raise AuthError(f"device code exchange failed: {exc.message}", exc.hint) from None
    login.check_workspace(tokens, settings.workspace_ids)
    store.save(login.build_chatgpt_auth(tokens, None, settings))


# -- browser flow ----------------------------------------------------------------------------------------


class BrowserLogin(Record, frozen=False):
    """State shared by the callback handler threads and the waiting command."""

    settings: LoginSettings
    store: AuthStore
    client: httpx.Client
    report: Callable[[str], None]
    state: str = ""
    verifier: str = field(default="", repr=False)
    port: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: CodexError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/callback"

    def finish(self, error: CodexError | None) -> None:
        with self._lock:
            if not self.done.is_set():
                self.error = error
                self.done.set()


def _callback_ports(env: Mapping[str, str]) -> tuple[int, ...]:
    from codex_cli.errors import UsageError

    raw = env.get(PORTS_ENV, "").strip()
    if not raw:
        return CALLBACK_PORTS
    try:
        ports = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"{PORTS_ENV} must list port numbers, e.g. `1455,1457`.") from None
    return ports or CALLBACK_PORTS


def _send_cancel(port: int) -> None:
    """Ask an older login server on `port` to stop: one `GET /cancel`, best effort."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(f"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            sock.recv(1024)
    except OSError:
        pass


def _bind(ports: tuple[int, ...], flow: BrowserLogin) -> ThreadingHTTPServer:
    import errno
    from http.server import ThreadingHTTPServer

    from codex_cli.errors import AuthError

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False
        allow_reuse_address = sys.platform != "win32"  # on Windows it would allow a second listener

    handler = _handler_class(flow)
    for index, port in enumerate(ports):
        for attempt in range(_BIND_ATTEMPTS):
            try:
                return Server(("127.0.0.1", port), handler)
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise AuthError(f"Could not start the login server on 127.0.0.1:{port}: {exc.strerror}") from None
            if index == 0 and attempt == 0:
                _send_cancel(port)
            time.sleep(_BIND_DELAY)
    raise AuthError(f"Port 127.0.0.1:{ports[-1]} is already in use")


def _open_browser(url: str, env: Mapping[str, str]) -> None:
    """`$BROWSER` when set; else the platform browser when a display exists; never with the test switch."""
    if env.get(NO_BROWSER_ENV, "").strip() not in ("", "0"):
        return
    command = env.get("BROWSER", "").strip()
    if command:
        import shlex
        import subprocess

        for entry in command.split(os.pathsep):
            argv = shlex.split(entry)
            if not argv:
                continue
            argv = [a.replace("%s", url) for a in argv] if any("%s" in a for a in argv) else [*argv, url]
            try:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError:
                continue
            threading.Thread(target=proc.wait, daemon=True).start()
            return
        return
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return
    import webbrowser

    try:
        webbrowser.open(url)
    except webbrowser.Error:
        pass


def run_browser_login(
    settings: LoginSettings,
    store: AuthStore,
    *,
    err: TextIO,
    open_url: Callable[[str], None] | None = None,
    ports: tuple[int, ...] | None = None,
) -> None:
    """The browser flow of auth.md §1: serve the callback, print the URL, wait for `/success`.

    Raises CodexError on failure; returns once the browser has fetched the success page."""
    from codex_cli import login
    from codex_cli.http import create_client

    with create_client() as client:
        pkce = login.generate_pkce()

        def report(line: str) -> None:
            err.write(line + "\n")
            err.flush()

        flow = BrowserLogin(settings, store, client, report)
        flow.state, flow.verifier = login.generate_state(), pkce.verifier
        server = _bind(ports or _callback_ports(settings.env), flow)
        flow.port = int(server.server_address[1])
        url = login.authorize_url(settings, redirect_uri=flow.redirect_uri, pkce=pkce, state=flow.state)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            err.write(
                f"Starting local login server on http://localhost:{flow.port}.\n"
                "If your browser did not open, navigate to this URL to authenticate:\n\n"
                f"{url}\n\nOn a remote or headless machine? Use `codex login --device-auth` instead.\n"
            )
            err.flush()
            (open_url or (lambda target: _open_browser(target, settings.env)))(url)
            while not flow.done.wait(0.1):
                pass
        finally:
            server.shutdown()
            server.server_close()
    if flow.error is not None:
        raise flow.error


def _success_query(tokens: TokenResponse, issuer: str) -> str:
    from urllib.parse import urlencode

    from codex_cli.auth import AUTH_CLAIMS, DEFAULT_ISSUER
    from codex_cli.auth_store import decode_jwt_payload

    def claims(token: str) -> dict[str, Any]:
        value = (decode_jwt_payload(token) or {}).get(AUTH_CLAIMS)
        return value if isinstance(value, dict) else {}

    id_claims, access_claims = claims(tokens.id_token), claims(tokens.access_token)
    needs_setup = not id_claims.get("completed_platform_onboarding") and bool(id_claims.get("is_org_owner"))
    platform = "https://platform.openai.com" if issuer == DEFAULT_ISSUER else "https://platform.api.openai.org"
    return urlencode([
        ("needs_setup", "true" if needs_setup else "false"),
        ("org_id", str(id_claims.get("organization_id") or "")),
        ("project_id", str(id_claims.get("project_id") or "")),
        ("plan_type", str(access_claims.get("chatgpt_plan_type") or "")),
        ("platform_url", platform),
    ])


_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
    "<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}"
    "code{{background:#f3f3f3;padding:0 .25rem}}</style></head><body><h1>{heading}</h1>{body}</body></html>"
)


def _success_page() -> str:
    script = (
        "<script>const q=new URLSearchParams(location.search);if(q.get('needs_setup')==='true'){"
        "location.href=q.get('platform_url')+'/org-setup?'+q.toString();}</script>"
    )
    body = "<p>You can close this tab and return to your terminal.</p>" + script
    return _PAGE.format(title="Sign into Codex", heading="Signed in to Codex", body=body)


def _error_page(code: str, message: str) -> str:
    import html

    help_text = "Return to your terminal and run `codex login` again."
    title = "You do not have access to Codex" if message == _ENTITLEMENT_MESSAGE else "Sign-in could not be completed"
    body = (
        f"<p>{html.escape(message)}</p><p>Error code: <code>{html.escape(code)}</code></p>"
        f"<p>{html.escape(help_text)}</p>"
    )
    return _PAGE.format(title="Codex Sign-in Error", heading=html.escape(title), body=body)


def _handler_class(flow: BrowserLogin) -> type[Any]:
    """The request handler of the callback server (auth.md §1.3), bound to one login."""
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qsl, urlsplit

    from codex_cli.errors import AuthError, CodexError

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "codex-login"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # the query holds codes: never log it
            return

        def _send(self, status: int, body: str, kind: str, headers: Mapping[str, str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True

        def _text(self, status: int, body: str) -> None:
            self._send(status, body, "text/plain; charset=UTF-8")

        def _fail(self, code: str, error: CodexError, report: str | None = None) -> None:
            if report:
                flow.report(report)
            self._send(200, _error_page(code, error.message), "text/html; charset=utf-8")
            flow.finish(error)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            try:
                if parts.path == "/auth/callback":
                    self._callback(query)
                elif parts.path == "/success":
                    self._send(200, _success_page(), "text/html; charset=utf-8")
                    flow.finish(None)
                elif parts.path == "/cancel":
                    self._text(200, "Login cancelled")
                    flow.finish(AuthError("Login cancelled"))
                else:
                    self._text(404, "Not Found")
            except OSError:
                pass  # the browser went away; the login state is already decided or still open
            except Exception as exc:  # boundary: a crash must end the login, not leave it waiting
                flow.finish(AuthError(f"Sign-in failed: internal error ({type(exc).__name__})"))
                raise

        def _callback(self, query: dict[str, str]) -> None:
            if query.get("state") != flow.state:
                self._text(400, "State mismatch")
                return
            if query.get("error"):
                self._oauth_error(query["error"], query.get("error_description") or query["error"])
                return
            code = query.get("code", "")
            if not code:
                error = AuthError("Missing authorization code. Sign-in could not be completed.")
                self._fail("missing_authorization_code", error)
                return
            self._complete(code)

        def _oauth_error(self, code: str, description: str) -> None:
            from codex_cli.login import entitlement_missing

            if code == "access_denied" and entitlement_missing(description):
                message = _ENTITLEMENT_MESSAGE
            else:
                message = f"Sign-in failed: {description}"
            self._fail(code, AuthError(message), f"OAuth callback error: {message}")

        def _complete(self, code: str) -> None:
            from codex_cli import login

            settings = flow.settings
            try:
                tokens = login.exchange_code(
                    flow.client, settings, code=code, redirect_uri=flow.redirect_uri, verifier=flow.verifier
                )
            except CodexError as exc:
                error = AuthError(f"Token exchange failed: {exc.message}", exc.hint)
                self._fail("token_exchange_failed", error, f"Token exchange error: {exc.message}")
                return
            try:
                login.check_workspace(tokens, settings.workspace_ids)
            except AuthError as exc:
                self._fail("workspace_restriction", exc, f"Workspace restriction error: {exc.message}")
                return
            api_key = login.exchange_for_api_key(flow.client, settings, tokens.id_token)
            try:
                flow.store.save(login.build_chatgpt_auth(tokens, api_key, settings))
            except (CodexError, OSError) as exc:
                reason = exc.message if isinstance(exc, CodexError) else exc.strerror
                self._fail("persist_failed", AuthError(f"Failed to save the login: {reason}"))
                return
            location = f"http://127.0.0.1:{flow.port}/success?{_success_query(tokens, settings.base)}"
            self._send(302, "", "text/plain; charset=UTF-8", {"Location": location})

    return Handler
