"""Credentials in use: which credential a model request uses, and keeping ChatGPT tokens fresh (refresh on
expiry, on schedule and after a 401; revoke at logout). Where logins are kept (`auth.json` and its stores) is
`auth_store`; the login protocol (PKCE, the authorize URL, the token endpoint exchanges, device codes) lives in
`login`; the browser callback server and all printing in `login_cli`.

Choice of credential (reference README §3): a provider's `env_key`, else `CODEX_API_KEY` > the stored
login > `OPENAI_API_KEY`. Secrets never enter messages, logs or reprs. `httpx` is imported lazily, through
`http.create_client()`, so this module is cheap to import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

from codex_cli.auth_store import (
    CLIENT_ID,
    AuthDotJson,
    AuthStore,
    KeyringBackend,
    TokenData,
    open_store,
    utc_timestamp,
)
from codex_cli.errors import AuthError, CodexError
from codex_cli.records import Record, field, replace

if TYPE_CHECKING:
    import httpx

    from codex_cli.config import Config

__all__ = [
    "BEARER_TOKEN_SOURCE",
    "DEFAULT_ISSUER",
    "AuthManager",
    "Credentials",
    "IssuerReply",
    "credentials_for_config",
    "post_to_issuer",
    "refresh_reason",
    "refresh_tokens",
    "resolve_credentials",
    "revoke_tokens",
    "revoke_url",
    "status_reason",
]

DEFAULT_ISSUER = "https://auth.openai.com"
DEFAULT_REVOKE_URL = f"{DEFAULT_ISSUER}/oauth/revoke"
REFRESH_URL_ENV = "CODEX_REFRESH_TOKEN_URL_OVERRIDE"
REVOKE_URL_ENV = "CODEX_REVOKE_TOKEN_URL_OVERRIDE"
AUTH_CLAIMS = "https://api.openai.com/auth"
PROACTIVE_WINDOW_SECONDS = 300
SCHEDULED_REFRESH_AGE = timedelta(days=8)
BEARER_TOKEN_SOURCE = "experimental_bearer_token"  # Credentials.source of a provider's literal token

_log = logging.getLogger("codex_cli.auth")

_LOGIN_HINT = (
    "Run `codex login` to sign in, pipe an API key into `codex login --with-api-key`, "
    "or set CODEX_API_KEY (or OPENAI_API_KEY) in the environment."
)
_RELOGIN = "Please log out and sign in again."
_REFRESH_FAILURES = {
    "refresh_token_expired": "Your access token could not be refreshed because your refresh token has expired. ",
    "refresh_token_reused": "Your access token could not be refreshed because your refresh token was already used. ",
    "refresh_token_invalidated": "Your access token could not be refreshed because your refresh token was revoked. ",
}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # fromisoformat takes at most 6 fractional digits (codex-rs writes 9)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- posting to the token endpoint -----------------------------------------------------------------


def status_reason(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _error_code(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else error
    return code if isinstance(code, str) else None


class IssuerReply(Record):
    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def post_to_issuer(
    client: httpx.Client, url: str, *, form: Mapping[str, str] | None = None, body: object = None,
    headers: Mapping[str, str] | None = None, timeout: float | None = None,
) -> IssuerReply:
    """POST a form or a JSON body; transport failures become `error sending request for url (…)`."""
    import httpx

    from codex_cli.http import map_transport_error

    sent = dict(headers or {})
    if form is not None:
        content = urlencode(list(form.items())).encode()
        sent["content-type"] = "application/x-www-form-urlencoded"
    else:
        content = json.dumps(body, separators=(",", ":")).encode()
        sent["content-type"] = "application/json"
    try:
        if timeout is None:
            response = client.post(url, content=content, headers=sent)
        else:
            response = client.post(url, content=content, headers=sent, timeout=timeout)
    except httpx.HTTPError as exc:
        cause = map_transport_error(exc, url)
        hint = cause.message if cause.hint is None else f"{cause.message}\n{cause.hint}"
        raise AuthError(f"error sending request for url ({url})", hint) from None
    return IssuerReply(response.status_code, response.text)


# -- refresh and revoke ------------------------------------------------------------------------------


RefreshReason: TypeAlias = Literal["proactive_expiry", "scheduled", "unauthorized_recovery"]


def refresh_reason(auth: AuthDotJson, now: float | None = None) -> RefreshReason | None:
    """`proactive_expiry` when a JWT access token expires within 300 s; `scheduled` when an opaque one
    was last refreshed more than 8 days ago; otherwise None (auth.md §3.4)."""
    if auth.tokens is None or auth.auth_mode != "chatgpt":
        return None
    now = time.time() if now is None else now
    exp = auth.tokens.access_claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        return "proactive_expiry" if exp - now <= PROACTIVE_WINDOW_SECONDS else None
    last = _parse_time(auth.last_refresh)
    if last is None or datetime.fromtimestamp(now, timezone.utc) - last > SCHEDULED_REFRESH_AGE:
        return "scheduled"
    return None


class RefreshFailed(AuthError):
    """A refresh did not work; `permanent` when only a new login helps."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message, "Run `codex logout`, then `codex login`." if permanent else None)
        self.permanent = permanent


def _refresh_target(tokens: TokenData, env: Mapping[str, str]) -> tuple[str, str]:
    origin = tokens.oauth_provenance
    client_id = origin.client_id if origin is not None else CLIENT_ID
    override = env.get(REFRESH_URL_ENV, "").strip()
    if override:
        return override, client_id
    issuer = origin.issuer.rstrip("/") if origin is not None else DEFAULT_ISSUER
    return f"{issuer}/oauth/token", client_id


def _originator_headers(originator: str, env: Mapping[str, str]) -> dict[str, str]:
    from codex_cli.model import user_agent

    name = env.get("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "").strip() or originator
    return {"originator": name, "user-agent": user_agent(name, client=originator)}


def refresh_tokens(
    tokens: TokenData,
    reason: RefreshReason,
    *,
    env: Mapping[str, str],
    originator: str = "codex_exec",
    client: httpx.Client | None = None,
) -> TokenData:
    """`POST …/oauth/token` with the JSON body of auth.md §3.4; missing fields keep their old values."""
    from codex_cli.http import create_client

    url, client_id = _refresh_target(tokens, env)
    body = {"client_id": client_id, "grant_type": "refresh_token", "refresh_reason": reason,
            "refresh_token": tokens.refresh_token}
    headers = _originator_headers(originator, env)
    try:
        with contextlib.ExitStack() as stack:
            http = client if client is not None else stack.enter_context(create_client(timeout=30.0))
            reply = post_to_issuer(http, url, body=body, headers=headers)
    except CodexError as exc:
        raise RefreshFailed(f"Failed to refresh token: {exc.message}", permanent=False) from None
    if reply.status == 401:
        _log.error("Failed to refresh token status=%s", status_reason(reply.status))
        prefix = _REFRESH_FAILURES.get(_error_code(reply.text) or "", "Your access token could not be refreshed. ")
        raise RefreshFailed(prefix + _RELOGIN, permanent=True)
    if not reply.ok:
        raise RefreshFailed(f"Failed to refresh token: status {status_reason(reply.status)}", permanent=False)
    data = reply.json() or {}
    names = ("id_token", "access_token", "refresh_token")
    fresh = {k: data[k] for k in names if isinstance(data.get(k), str) and data[k]}
    updated = replace(tokens, **fresh)
    claims = updated.id_claims.get(AUTH_CLAIMS)
    account = claims.get("chatgpt_account_id") if isinstance(claims, dict) else None
    return replace(updated, account_id=account) if isinstance(account, str) else updated


def revoke_url(env: Mapping[str, str], tokens: TokenData | None = None) -> str:
    """`CODEX_REVOKE_TOKEN_URL_OVERRIDE`; else the origin of the refresh override + `/oauth/revoke`; else the
    login's own issuer (a deviation from 0.169, which sends every token to auth.openai.com)."""
    override = env.get(REVOKE_URL_ENV, "").strip()
    if override:
        return override
    refresh = env.get(REFRESH_URL_ENV, "").strip()
    if refresh:
        parts = urlsplit(refresh)
        return f"{parts.scheme}://{parts.netloc}/oauth/revoke"
    origin = tokens.oauth_provenance if tokens is not None else None
    return f"{origin.issuer.rstrip('/')}/oauth/revoke" if origin is not None else DEFAULT_REVOKE_URL


def revoke_tokens(auth: AuthDotJson, *, env: Mapping[str, str], originator: str = "codex_cli_rs") -> bool:
    """Best-effort revoke of a ChatGPT login's refresh token (access token when there is none); True if accepted."""
    from codex_cli.http import create_client

    tokens = auth.tokens
    if auth.auth_mode != "chatgpt" or tokens is None:
        return False
    if tokens.refresh_token:
        client_id = tokens.oauth_provenance.client_id if tokens.oauth_provenance else CLIENT_ID
        body = {"token": tokens.refresh_token, "token_type_hint": "refresh_token", "client_id": client_id}
    elif tokens.access_token:
        body = {"token": tokens.access_token, "token_type_hint": "access_token"}
    else:
        return False
    try:
        with create_client(timeout=10.0, connect_timeout=10.0, read_timeout=10.0) as client:
            headers = _originator_headers(originator, env)
            reply = post_to_issuer(client, revoke_url(env, tokens), body=body, headers=headers)
    except CodexError as exc:
        _log.debug("token revoke skipped: %s", exc.message)
        return False
    return reply.ok


# -- the credential a model request uses -------------------------------------------------------------


class AuthManager:
    """A stored ChatGPT login used by the model client: hands out the bearer token and refreshes it
    proactively, on schedule, and after a second 401 (`unauthorized_recovery`). Implements
    `model.AuthProvider`. Thread-safe."""

    def __init__(
        self,
        store: AuthStore,
        auth: AuthDotJson,
        *,
        env: Mapping[str, str],
        originator: str = "codex_exec",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._auth = auth
        self._env = dict(env)
        self._originator = originator
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh_disabled = False  # after a permanent failure only a new login helps

    @property
    def auth(self) -> AuthDotJson:
        return self._auth

    @property
    def account_id(self) -> str | None:
        return self._auth.tokens.account_id if self._auth.tokens else None

    def bearer_token(self) -> str | None:
        with self._lock:
            reason = refresh_reason(self._auth, self._clock())
            if reason is not None:
                self._refresh(reason)
            return self._auth.tokens.access_token if self._auth.tokens else None

    def on_unauthorized(self, attempt: int) -> bool:
        """After the n-th 401 of one request: 1 → re-read the store and retry; 2 → refresh and retry."""
        with self._lock:
            if attempt == 1:
                stored = self._reload()
                if stored is not None:
                    self._auth = stored
                return stored is not None
            if attempt == 2:
                return self._refresh("unauthorized_recovery")
            return False

    def _reload(self) -> AuthDotJson | None:
        try:
            stored = self._store.load()
        except AuthError:
            return None
        return stored if stored is not None and stored.auth_mode == "chatgpt" and stored.tokens else None

    def _refresh(self, reason: RefreshReason) -> bool:
        if self._refresh_disabled:
            return False
        with self._store.locked():
            stored = self._reload()
            current = self._auth.tokens
            if stored is not None and stored.tokens and current and stored.tokens.access_token != current.access_token:
                self._auth = stored  # another process refreshed already
                if reason == "unauthorized_recovery" or refresh_reason(stored, self._clock()) is None:
                    return True
            tokens = self._auth.tokens
            if tokens is None:
                return False
            try:
                fresh = refresh_tokens(tokens, reason, env=self._env, originator=self._originator)
            except RefreshFailed as exc:
                self._refresh_disabled = exc.permanent
                _log.error("Failed to refresh token: %s", exc.message.removeprefix("Failed to refresh token: "))
                return False
            self._auth = replace(self._auth, tokens=fresh, last_refresh=utc_timestamp())
            try:
                self._store.save(self._auth)
            except (AuthError, OSError) as exc:
                _log.warning("Could not save refreshed credentials: %s", getattr(exc, "message", None) or exc)
            return True


class Credentials(Record):
    """The bearer token for model requests, plus ChatGPT-mode routing when that is the login in use."""

    bearer_token: str | None = field(repr=False)
    source: str  # for `codex doctor` and errors: "CODEX_API_KEY", "auth.json", "env_key MOCK_API_KEY", "none"
    chatgpt_account_id: str | None = None
    auth: AuthManager | None = None  # set for ChatGPT logins: refreshes tokens; give it to ProviderSettings.auth

    @property
    def is_chatgpt(self) -> bool:
        return self.source == "auth.json (ChatGPT)"


def _enforce_login_method(store: AuthStore, auth: AuthDotJson, forced: str | None) -> None:
    if forced == "api" and auth.auth_mode == "chatgpt":
        store.delete()
        raise AuthError(
            "API key login is required, but ChatGPT is currently being used. Logging out.",
            "Run `printenv OPENAI_API_KEY | codex login --with-api-key` to log in with an API key.",
        )
    if forced == "chatgpt" and auth.auth_mode == "apikey":
        store.delete()
        raise AuthError(
            "ChatGPT login is required, but an API key is currently being used. Logging out.",
            "Run `codex login` to log in with ChatGPT.",
        )


def _stored_credentials(
    store: AuthStore, auth: AuthDotJson, env: Mapping[str, str], originator: str
) -> Credentials | None:
    if auth.auth_mode == "apikey":
        return Credentials(auth.openai_api_key, "auth.json") if auth.openai_api_key else None
    if auth.auth_mode == "agent_identity":
        return Credentials(auth.agent_identity, "auth.json (access token)") if auth.agent_identity else None
    if auth.tokens is None or not auth.tokens.access_token:
        return None
    manager = AuthManager(store, auth, env=env, originator=originator)
    return Credentials(auth.tokens.access_token, "auth.json (ChatGPT)", auth.tokens.account_id, manager)


def resolve_credentials(
    *,
    codex_home: Path,
    env: Mapping[str, str],
    env_key: str | None,
    env_key_instructions: str | None,
    requires_openai_auth: bool,
    bearer_token: str | None = None,
    forced_login_method: str | None = None,
    store_mode: str | None = None,
    originator: str = "codex_exec",
    keyring: KeyringBackend | None = None,
) -> Credentials:
    """Pick the bearer token: provider env_key, else the provider's `experimental_bearer_token`, else
    CODEX_API_KEY > stored login > OPENAI_API_KEY (for providers that use the OpenAI login)."""
    if env_key:
        value = env.get(env_key, "").strip()
        if not value:
            hint = env_key_instructions or f"Set {env_key} in the environment, e.g. `export {env_key}=...`."
            raise AuthError(f"Missing environment variable: `{env_key}`.", hint)
        return Credentials(value, f"env_key {env_key}")
    if bearer_token is not None:  # sent as written, even blank or padded, as codex-rs 0.169 does
        return Credentials(bearer_token, BEARER_TOKEN_SOURCE)
    if not requires_openai_auth:
        return Credentials(None, "none")
    codex_key = env.get("CODEX_API_KEY", "").strip()
    if codex_key:
        return Credentials(codex_key, "CODEX_API_KEY")
    store = open_store(codex_home, store_mode, keyring=keyring)
    try:
        auth = store.load()
    except AuthError as exc:
        raise AuthError(exc.message, "Run `codex logout`, then `codex login` again.") from None
    if auth is not None:
        _enforce_login_method(store, auth, forced_login_method)
        stored = _stored_credentials(store, auth, env, originator)
        if stored is not None:
            return stored
    openai_key = env.get("OPENAI_API_KEY", "").strip()
    if openai_key:
        return Credentials(openai_key, "OPENAI_API_KEY")
    raise AuthError("Not logged in: no API key or ChatGPT login was found.", _LOGIN_HINT)


def credentials_for_config(
    config: Config, env: Mapping[str, str], *, originator: str = "codex_exec"
) -> Credentials:
    """`resolve_credentials` for the selected provider, honouring `forced_login_method` and
    `cli_auth_credentials_store` from the merged config."""
    info = config.model_provider
    forced = config.raw.get("forced_login_method")
    store_mode = config.raw.get("cli_auth_credentials_store")
    return resolve_credentials(
        codex_home=config.codex_home,
        env=env,
        env_key=info.env_key,
        env_key_instructions=info.env_key_instructions,
        requires_openai_auth=info.requires_openai_auth,
        bearer_token=info.experimental_bearer_token,
        forced_login_method=forced if isinstance(forced, str) else None,
        store_mode=store_mode if isinstance(store_mode, str) else None,
        originator=originator,
    )
