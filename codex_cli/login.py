"""The OAuth login protocol: PKCE and state, the authorize URL, the token endpoint exchanges (authorization
code, API-key token exchange), the device-code request and poll, the workspace check, and the ChatGPT auth
record built from a fresh login. The browser callback server and all printing live in `login_cli`; the
auth.json stores, refresh and revoke live in `auth`.

`httpx` is imported lazily (the caller passes the client), so this module is cheap to import.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from codex_cli.auth import AUTH_CLAIMS, DEFAULT_ISSUER, IssuerReply, post_to_issuer, revoke_tokens, status_reason
from codex_cli.auth_store import (
    CLIENT_ID,
    AuthDotJson,
    AuthStore,
    OAuthProvenance,
    TokenData,
    decode_jwt_payload,
    utc_timestamp,
)
from codex_cli.errors import AuthError
from codex_cli.records import Record, field

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DeviceCode",
    "DeviceGrant",
    "LoginSettings",
    "PkceCodes",
    "TokenResponse",
    "authorize_url",
    "build_chatgpt_auth",
    "check_workspace",
    "discard_existing_login",
    "entitlement_missing",
    "exchange_code",
    "exchange_for_api_key",
    "generate_pkce",
    "generate_state",
    "poll_device_code",
    "request_device_code",
]

SCOPES = "openid profile email offline_access api.connectors.read api.connectors.invoke"
DEVICE_CODE_MAX_WAIT_SECONDS = 15 * 60

_ENTITLEMENT = "missing_codex_entitlement"


# -- PKCE, state and the authorize URL -------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PkceCodes(Record):
    """An 86-character verifier (64 random bytes) and its S256 challenge."""

    verifier: str = field(repr=False)
    challenge: str


def generate_pkce() -> PkceCodes:
    verifier = _b64url(secrets.token_bytes(64))
    return PkceCodes(verifier, _b64url(hashlib.sha256(verifier.encode("ascii")).digest()))


def generate_state() -> str:
    """43 base64url characters (32 random bytes)."""
    return _b64url(secrets.token_bytes(32))


class LoginSettings(Record):
    """What every login flow needs; `--experimental_issuer` / `--experimental_client-id` set issuer and client."""

    codex_home: Path
    issuer: str = DEFAULT_ISSUER
    client_id: str = CLIENT_ID
    originator: str = "codex_cli_rs"
    workspace_ids: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def base(self) -> str:
        return self.issuer.rstrip("/")


def authorize_url(settings: LoginSettings, *, redirect_uri: str, pkce: PkceCodes, state: str) -> str:
    """`{issuer}/oauth/authorize?…` with the parameters in the order of auth.md §1.2."""
    params = [
        ("response_type", "code"),
        ("client_id", settings.client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", pkce.challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
        ("scope", SCOPES),
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("originator", settings.originator),
    ]
    if settings.workspace_ids:
        params.append(("allowed_workspace_id", ",".join(settings.workspace_ids)))
    return f"{settings.base}/oauth/authorize?{urlencode(params)}"


def entitlement_missing(description: str) -> bool:
    """Whether an `access_denied` callback means the workspace lacks Codex."""
    return _ENTITLEMENT in description


# -- the token endpoint ----------------------------------------------------------------------------


class TokenResponse(Record):
    """The three tokens of a code exchange."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)


def _error_detail(body: str) -> str:
    """error_description, error.message, error (string) or error.code, the raw body, `unknown error`."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        candidates = [data.get("error_description")]
        if isinstance(error, dict):
            candidates += [error.get("message"), error.get("code")]
        else:
            candidates.append(error)
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()
    return body.strip() or "unknown error"


def _require_tokens(reply: IssuerReply) -> TokenResponse:
    if not reply.ok:
        raise AuthError(f"token endpoint returned status {status_reason(reply.status)}: {_error_detail(reply.text)}")
    data = reply.json() or {}
    values = [data.get(key) for key in ("id_token", "access_token", "refresh_token")]
    if not all(isinstance(v, str) and v for v in values):
        raise AuthError("token endpoint returned an invalid response: id_token, access_token and refresh_token needed")
    return TokenResponse(*(str(v) for v in values))


def exchange_code(
    client: httpx.Client, settings: LoginSettings, *, code: str, redirect_uri: str, verifier: str
) -> TokenResponse:
    """The authorization-code exchange (form body of auth.md §1.4); AuthError carries the §1.4 detail."""
    form = {
        "grant_type": "authorization_code",
        "client_id": settings.client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return _require_tokens(post_to_issuer(client, f"{settings.base}/oauth/token", form=form, headers={"accept": "*/*"}))


def exchange_for_api_key(client: httpx.Client, settings: LoginSettings, id_token: str) -> str | None:
    """The follow-up token exchange for an API key (auth.md §1.5); any failure gives None."""
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "client_id": settings.client_id,
        "requested_token": "openai-api-key",
        "subject_token": id_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
    }
    try:
        reply = post_to_issuer(client, f"{settings.base}/oauth/token", form=form, headers={"accept": "*/*"})
    except AuthError:
        return None
    key = (reply.json() or {}).get("access_token") if reply.ok else None
    return key if isinstance(key, str) and key else None


def check_workspace(tokens: TokenResponse | TokenData, allowed: tuple[str, ...]) -> None:
    """Raise unless the id_token's `chatgpt_account_id` is one of `allowed` (when any are configured)."""
    if not allowed:
        return
    claims = (decode_jwt_payload(tokens.id_token) or {}).get(AUTH_CLAIMS)
    account = claims.get("chatgpt_account_id") if isinstance(claims, dict) else None
    if account not in allowed:
        raise AuthError(f"Login is restricted to workspace id(s) {', '.join(allowed)}.")


def build_chatgpt_auth(tokens: TokenResponse, api_key: str | None, settings: LoginSettings) -> AuthDotJson:
    """The auth.json contents of a fresh ChatGPT login (auth.md §3.2)."""
    claims = (decode_jwt_payload(tokens.id_token) or {}).get(AUTH_CLAIMS)
    account = claims.get("chatgpt_account_id") if isinstance(claims, dict) else None
    data = TokenData(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        account_id=account if isinstance(account, str) else None,
        oauth_provenance=OAuthProvenance(settings.base, settings.client_id),
        login_owner_id=_b64url(secrets.token_bytes(32)),
    )
    return AuthDotJson("chatgpt", openai_api_key=api_key, tokens=data, last_refresh=utc_timestamp())


# -- device code ---------------------------------------------------------------------------------


class DeviceCode(Record):
    """A user code to show, and how to poll for its approval."""

    device_auth_id: str = field(repr=False)
    user_code: str
    interval: float
    verification_url: str


class DeviceGrant(Record):
    """What the poll returns once the user approved: a code to exchange with its PKCE verifier."""

    authorization_code: str = field(repr=False)
    code_verifier: str = field(repr=False)


def _interval(raw_text: str, value: object) -> float:
    """The interval must be a JSON string (as in 0.169); report a number with serde's wording."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            return max(float(value.strip()), 0.0)
        except ValueError:
            raise AuthError(f"invalid interval `{value}`, expected a number of seconds") from None
    kind = "boolean" if isinstance(value, bool) else "integer" if isinstance(value, int) else type(value).__name__
    text = json.dumps(value)
    at = raw_text.find(text, raw_text.find('"interval"'))
    end = at + len(text) if at >= 0 else len(raw_text)
    line = raw_text.count("\n", 0, end) + 1
    column = end - (raw_text.rfind("\n", 0, end) + 1)
    raise AuthError(f"invalid type: {kind} `{text}`, expected a string at line {line} column {column}")


def request_device_code(client: httpx.Client, settings: LoginSettings) -> DeviceCode:
    """`POST {issuer}/api/accounts/deviceauth/usercode` (auth.md §2.1 step 3)."""
    url = f"{settings.base}/api/accounts/deviceauth/usercode"
    reply = post_to_issuer(client, url, body={"client_id": settings.client_id})
    if reply.status == 404:
        raise AuthError(
            "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
        )
    if not reply.ok:
        raise AuthError(f"device code request failed with status {status_reason(reply.status)}")
    data = reply.json() or {}
    device_id, user_code = data.get("device_auth_id"), data.get("user_code", data.get("usercode"))
    if not isinstance(device_id, str) or not isinstance(user_code, str):
        raise AuthError("device code request returned an invalid response")
    interval = _interval(reply.text, data.get("interval"))
    return DeviceCode(device_id, user_code, interval, f"{settings.base}/codex/device")


def poll_device_code(
    client: httpx.Client,
    settings: LoginSettings,
    code: DeviceCode,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_wait: float = DEVICE_CODE_MAX_WAIT_SECONDS,
) -> DeviceGrant:
    """Poll until approved; 403 and 404 mean pending (auth.md §2.1 step 5)."""
    url = f"{settings.base}/api/accounts/deviceauth/token"
    deadline = clock() + max_wait
    while True:
        reply = post_to_issuer(client, url, body={"device_auth_id": code.device_auth_id, "user_code": code.user_code})
        if reply.ok:
            data = reply.json() or {}
            auth_code, verifier = data.get("authorization_code"), data.get("code_verifier")
            if not isinstance(auth_code, str) or not isinstance(verifier, str):
                raise AuthError("device auth returned an invalid response")
            return DeviceGrant(auth_code, verifier)
        if reply.status not in (403, 404):
            raise AuthError(f"device auth failed with status {status_reason(reply.status)}")
        if clock() + code.interval > deadline:
            raise AuthError("device auth timed out after 15 minutes")
        sleep(code.interval)


# -- replacing a stored login ----------------------------------------------------------------------


def discard_existing_login(store: AuthStore, env: Mapping[str, str], originator: str = "codex_cli_rs") -> None:
    """What a new browser or device login does first: revoke stored ChatGPT tokens and delete the login."""
    try:
        existing = store.load()
    except AuthError:
        existing = None
    if existing is not None:
        revoke_tokens(existing, env=env, originator=originator)
    with contextlib.suppress(AuthError, OSError):
        store.delete()
