"""Tests for codex_cli.auth: auth.json, stores, credential choice, refresh (proactive, scheduled, on 401),
revoke, and the login protocol pieces, against the fake issuer and the fake Responses server."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fake_issuer import FakeIssuer, make_jwt
from fake_responses import FakeResponsesServer, message

from codex_cli import auth, auth_store, login
from codex_cli.auth import AuthManager, refresh_reason, resolve_credentials
from codex_cli.auth_store import AuthDotJson, OAuthProvenance, TokenData, mask_api_key, parse_auth_json
from codex_cli.errors import AuthError
from codex_cli.login import LoginSettings
from codex_cli.model import ProviderSettings, ResponsesClient

THREAD = "01a2127e-83eb-7a81-9fe2-508756c34f9a"
BODY: dict[str, object] = {"model": "gpt-5.5", "stream": True, "input": [], "store": False}
_SCRUB = (
    "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_ACCESS_TOKEN", "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE", "CODEX_REVOKE_TOKEN_URL_OVERRIDE", "CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CODEX_HOME", str(tmp_path))


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with FakeIssuer(authorize_mode="auto") as fake:
        yield fake


def jwt_expiring_in(seconds: float, **claims: Any) -> str:
    return make_jwt({"exp": int(time.time() + seconds), **claims})


def chatgpt_auth(issuer: FakeIssuer, *, access: str | None = None, last_refresh: str | None = None,
                 provenance: bool = True) -> AuthDotJson:
    """A stored ChatGPT login whose refresh token the issuer knows."""
    tokens = issuer.issue_tokens()
    data = TokenData(
        id_token=tokens["id_token"],
        access_token=access if access is not None else tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        account_id="acct-fake-1",
        oauth_provenance=OAuthProvenance(issuer.url, issuer.client_id) if provenance else None,
        login_owner_id="owner",
    )
    return AuthDotJson("chatgpt", tokens=data, last_refresh=last_refresh or auth_store.utc_timestamp())


def iso_days_ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- masking, PKCE, authorize URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("abcdefghijklm", "***"),
        ("abcdefghijklmn", "abcdefgh***jklmn"),
        ("sk-proj-1234567890ABCDEFGHIJ", "sk-proj-***FGHIJ"),
    ],
)
def test_mask_api_key_boundary_at_13_characters(key: str, masked: str) -> None:
    assert mask_api_key(key) == masked


def test_pkce_verifier_is_86_chars_and_challenge_is_s256() -> None:
    pkce = login.generate_pkce()
    assert len(pkce.verifier) == 86
    expected = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce.challenge == expected
    assert len(login.generate_state()) == 43
    assert pkce.verifier not in repr(pkce)


def test_authorize_url_has_the_reference_parameter_order(tmp_path: Path) -> None:
    settings = LoginSettings(codex_home=tmp_path)
    pkce = login.generate_pkce()
    url = login.authorize_url(settings, redirect_uri="http://127.0.0.1:1455/auth/callback", pkce=pkce, state="s" * 43)
    assert url.startswith("https://auth.openai.com/oauth/authorize?response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7hrann")
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback" in url
    assert "scope=openid+profile+email+offline_access+api.connectors.read+api.connectors.invoke" in url
    keys = [k for k, _ in parse_qsl(urlsplit(url).query)]
    assert keys == [
        "response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state", "scope",
        "id_token_add_organizations", "codex_cli_simplified_flow", "originator",
    ]
    assert "allowed_workspace_id" not in url


def test_authorize_url_lists_allowed_workspaces_comma_joined(tmp_path: Path) -> None:
    settings = LoginSettings(codex_home=tmp_path, issuer="http://127.0.0.1:9/", workspace_ids=("ws-a", "ws-b"))
    url = login.authorize_url(settings, redirect_uri="http://x/cb", pkce=login.generate_pkce(), state="s")
    assert url.startswith("http://127.0.0.1:9/oauth/authorize?")
    assert url.endswith("&originator=codex_cli_rs&allowed_workspace_id=ws-a%2Cws-b")


# -- auth.json ----------------------------------------------------------------------------------------


def test_auth_json_is_0600_even_under_umask_000_and_replaces_the_inode(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{}", encoding="utf-8")
    os.chmod(path, 0o644)
    before = path.stat().st_ino
    old = os.umask(0)
    try:
        auth_store.FileStore(tmp_path).save(AuthDotJson("apikey", openai_api_key="sk-test-123456789"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != before
    assert path.read_text() == '{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-test-123456789"\n}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".auth")] == []


def test_chatgpt_auth_json_keys_in_reference_order(tmp_path: Path, issuer: FakeIssuer) -> None:
    auth_store.FileStore(tmp_path).save(chatgpt_auth(issuer))
    data = json.loads((tmp_path / "auth.json").read_text())
    assert list(data) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]
    assert list(data["tokens"]) == [
        "id_token", "access_token", "refresh_token", "oauth_provenance", "login_owner_id", "account_id"
    ]
    assert data["OPENAI_API_KEY"] is None
    assert data["last_refresh"].endswith("Z")
    loaded = auth_store.FileStore(tmp_path).load()
    assert loaded is not None and loaded.to_json() == data


ID = make_jwt({"email": "a@b.c"})


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        ({}, "chatgpt"),
        ({"OPENAI_API_KEY": None}, "chatgpt"),
        ({"OPENAI_API_KEY": "sk-x", "tokens": {"id_token": ID, "access_token": "a", "refresh_token": "r"}}, "apikey"),
        ({"auth_mode": "apikey", "tokens": {"id_token": ID, "access_token": "a", "refresh_token": "r"}}, "apikey"),
        ({"auth_mode": "chatgpt", "future": 1, "tokens": {"id_token": ID, "access_token": "a", "refresh_token": "r",
                                                           "extra": True}}, "chatgpt"),
    ],
    ids=["empty", "null-key", "key-wins-over-tokens", "explicit-apikey", "unknown-keys-ignored"],
)
def test_auth_mode_inference(data: dict[str, Any], mode: str) -> None:
    assert parse_auth_json(json.dumps(data)).auth_mode == mode


@pytest.mark.parametrize(
    "data",
    [
        {"auth_mode": "bogus"},
        {"tokens": {"id_token": "not-a-jwt", "access_token": "a", "refresh_token": "r"}},
        {"tokens": {"id_token": ID, "access_token": "a"}},
        {"tokens": {"id_token": "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(b'{"a":1}').decode() + ".sig",
                    "access_token": "a", "refresh_token": "r"}},
    ],
    ids=["unknown-mode", "bad-id-token", "missing-refresh-token", "padded-payload"],
)
def test_invalid_auth_json_content_is_an_error(data: dict[str, Any]) -> None:
    with pytest.raises(AuthError) as info:
        parse_auth_json(json.dumps(data))
    assert info.value.message.startswith("failed to deserialize CLI auth from file: invalid credential JSON (")


def test_unparseable_auth_json_message() -> None:
    with pytest.raises(AuthError) as info:
        parse_auth_json("not json sk-secret-value")
    assert info.value.message == "failed to deserialize CLI auth from file: expected value at line 1 column 1"


def test_secrets_stay_out_of_reprs_and_errors(tmp_path: Path) -> None:
    tokens = TokenData(id_token=ID, access_token="ACCESS-SECRET", refresh_token="REFRESH-SECRET")
    stored = AuthDotJson("chatgpt", openai_api_key="sk-KEY-SECRET", tokens=tokens)
    credentials = auth.Credentials("BEARER-SECRET", "auth.json")
    text = repr(stored) + repr(credentials) + repr(tokens)
    for secret in ("ACCESS-SECRET", "REFRESH-SECRET", "sk-KEY-SECRET", "BEARER-SECRET"):
        assert secret not in text
    (tmp_path / "auth.json").write_text('{"OPENAI_API_KEY": "sk-KEY-SECRET", "tokens": 5}')
    with pytest.raises(AuthError) as info:
        resolve_credentials(codex_home=tmp_path, env={}, env_key=None, env_key_instructions=None,
                            requires_openai_auth=True)
    assert "sk-KEY-SECRET" not in str(info.value)


# -- credential choice ----------------------------------------------------------------------------------


def resolve(home: Path, env: dict[str, str], **kwargs: Any) -> auth.Credentials:
    return resolve_credentials(codex_home=home, env=env, env_key=None, env_key_instructions=None,
                               requires_openai_auth=True, **kwargs)


def test_codex_api_key_beats_auth_json_beats_openai_api_key(tmp_path: Path) -> None:
    auth_store.FileStore(tmp_path).save(AuthDotJson("apikey", openai_api_key="sk-stored"))
    env = {"CODEX_API_KEY": "sk-codex", "OPENAI_API_KEY": "sk-openai"}
    assert resolve(tmp_path, env).bearer_token == "sk-codex"
    assert resolve(tmp_path, {"OPENAI_API_KEY": "sk-openai"}).bearer_token == "sk-stored"
    (tmp_path / "auth.json").unlink()
    found = resolve(tmp_path, {"OPENAI_API_KEY": "sk-openai"})
    assert (found.bearer_token, found.source) == ("sk-openai", "OPENAI_API_KEY")


def test_no_credentials_says_how_to_log_in(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as info:
        resolve(tmp_path, {})
    assert info.value.exit_code == 1
    assert "codex login" in (info.value.hint or "")


def test_provider_env_key_wins_and_is_required(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"codex_home": tmp_path, "env_key_instructions": None, "requires_openai_auth": False}
    assert resolve_credentials(env={"MOCK": "k"}, env_key="MOCK", **kwargs).bearer_token == "k"
    with pytest.raises(AuthError, match="Missing environment variable: `MOCK`"):
        resolve_credentials(env={}, env_key="MOCK", **kwargs)


def test_experimental_bearer_token_comes_after_env_key_and_before_the_openai_login(tmp_path: Path) -> None:
    # The order codex-rs 0.169 follows: env_key (when set, and then required), the literal token, then the login.
    auth_store.FileStore(tmp_path).save(AuthDotJson("apikey", openai_api_key="sk-stored"))
    env = {"CODEX_API_KEY": "sk-codex", "OPENAI_API_KEY": "sk-openai", "MOCK": "from-env"}
    found = resolve(tmp_path, env, bearer_token="tok-literal")
    assert (found.bearer_token, found.source) == ("tok-literal", auth.BEARER_TOKEN_SOURCE)
    kwargs: dict[str, Any] = {"codex_home": tmp_path, "env_key_instructions": None, "bearer_token": "tok-literal"}
    assert resolve_credentials(env=env, env_key="MOCK", requires_openai_auth=False, **kwargs).bearer_token == "from-env"
    with pytest.raises(AuthError, match="Missing environment variable: `MOCK`"):
        resolve_credentials(env={}, env_key="MOCK", requires_openai_auth=False, **kwargs)
    assert resolve_credentials(env={}, env_key=None, requires_openai_auth=False, **kwargs).bearer_token == "tok-literal"
    assert resolve(tmp_path, {}, bearer_token="").bearer_token == ""  # set but blank: still the token in use


def test_bearer_token_stays_out_of_provider_reprs() -> None:
    from codex_cli.config import ModelProviderInfo
    from codex_cli.model import ProviderSettings

    info = ModelProviderInfo("mock", "mock", experimental_bearer_token="tok-SECRET-1")
    settings = ProviderSettings("http://127.0.0.1:1/v1", bearer_token="tok-SECRET-1")
    assert "tok-SECRET-1" not in repr(info) + repr(settings)


def test_chatgpt_login_gives_a_refreshing_manager(tmp_path: Path, issuer: FakeIssuer) -> None:
    auth_store.FileStore(tmp_path).save(chatgpt_auth(issuer))
    found = resolve(tmp_path, {"OPENAI_API_KEY": "sk-ignored"})
    assert found.is_chatgpt and found.chatgpt_account_id == "acct-fake-1"
    assert isinstance(found.auth, AuthManager)


def test_forced_api_login_logs_out_a_chatgpt_login(tmp_path: Path, issuer: FakeIssuer) -> None:
    auth_store.FileStore(tmp_path).save(chatgpt_auth(issuer))
    with pytest.raises(AuthError, match="API key login is required, but ChatGPT is currently being used"):
        resolve(tmp_path, {}, forced_login_method="api")
    assert not (tmp_path / "auth.json").exists()


# -- stores -----------------------------------------------------------------------------------------------


class FakeKeyring:
    def __init__(self, fail: bool = False) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.fail = fail

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail:
            raise RuntimeError("no secret service provider or dbus session found")
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail:
            raise RuntimeError("no secret service provider or dbus session found")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username))


def test_keyring_store_uses_service_and_hashed_account(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text("{}")
    backend = FakeKeyring()
    store = auth_store.open_store(tmp_path, "keyring", keyring=backend)
    store.save(AuthDotJson("apikey", openai_api_key="sk-in-keyring"))
    digest = hashlib.sha256(str(tmp_path.resolve()).encode()).hexdigest()[:16]
    assert list(backend.items) == [("Codex Auth", f"cli|{digest}")]
    assert backend.items[("Codex Auth", f"cli|{digest}")] == '{"auth_mode":"apikey","OPENAI_API_KEY":"sk-in-keyring"}'
    assert not (tmp_path / "auth.json").exists()
    loaded = store.load()
    assert loaded is not None and loaded.openai_api_key == "sk-in-keyring"
    assert store.delete() and store.load() is None


def test_keyring_failure_messages_and_auto_fallback(tmp_path: Path) -> None:
    broken = FakeKeyring(fail=True)
    with pytest.raises(AuthError) as info:
        auth_store.open_store(tmp_path, "keyring", keyring=broken).save(AuthDotJson("apikey", openai_api_key="sk-x"))
    assert info.value.message == (
        "failed to write OAuth tokens to keyring: Platform secure storage failure: "
        "no secret service provider or dbus session found"
    )
    store = auth_store.open_store(tmp_path, "auto", keyring=broken)
    store.save(AuthDotJson("apikey", openai_api_key="sk-x"))
    assert (tmp_path / "auth.json").exists()
    loaded = store.load()
    assert loaded is not None and loaded.openai_api_key == "sk-x"
    with pytest.raises(AuthError, match="failed to delete auth from keyring"):
        store.delete()
    assert (tmp_path / "auth.json").exists()


def test_ephemeral_store_writes_nothing(tmp_path: Path) -> None:
    store = auth_store.open_store(tmp_path, "ephemeral")
    store.save(AuthDotJson("apikey", openai_api_key="sk-x"))
    assert store.load() is not None
    assert list(tmp_path.iterdir()) == []


# -- refresh ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("access", "last_refresh_days", "reason"),
    [
        (jwt_expiring_in(-100), 0, "proactive_expiry"),
        (jwt_expiring_in(120), 0, "proactive_expiry"),
        (jwt_expiring_in(270), 0, "proactive_expiry"),
        (jwt_expiring_in(400), 0, None),
        (jwt_expiring_in(3600), 15, None),
        ("opaque-token", 9, "scheduled"),
        ("opaque-token", 7, None),
    ],
    ids=["expired", "exp-120s", "exp-270s", "exp-400s", "jwt-ignores-age", "opaque-9-days", "opaque-7-days"],
)
def test_refresh_reason(access: str, last_refresh_days: float, reason: str | None) -> None:
    tokens = TokenData(id_token=ID, access_token=access, refresh_token="rt")
    assert refresh_reason(AuthDotJson("chatgpt", tokens=tokens, last_refresh=iso_days_ago(last_refresh_days))) == reason


def test_last_refresh_with_nanoseconds_parses() -> None:
    tokens = TokenData(id_token=ID, access_token="opaque", refresh_token="rt")
    recent = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".249489978Z"
    assert refresh_reason(AuthDotJson("chatgpt", tokens=tokens, last_refresh=recent)) is None


def model_request(server: FakeResponsesServer, manager: AuthManager) -> list[Any]:
    settings = ProviderSettings(base_url=server.base_url, auth=manager, request_max_retries=0, stream_max_retries=0)
    with ResponsesClient(settings, thread_id=THREAD) as client:
        return list(client.stream(BODY))


def test_proactive_refresh_updates_auth_json_and_the_request(
    tmp_path: Path, issuer: FakeIssuer, fake_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_REFRESH_TOKEN_URL_OVERRIDE", f"{issuer.url}/oauth/token")
    stored = chatgpt_auth(issuer, access=jwt_expiring_in(120), last_refresh=iso_days_ago(1), provenance=False)
    store = auth_store.FileStore(tmp_path)
    store.save(stored)
    server = fake_server([{"output": [message("ok")]}])
    credentials = resolve(tmp_path, dict(os.environ))
    assert credentials.auth is not None
    model_request(server, credentials.auth)
    (refresh,) = issuer.requests_to("/oauth/token")
    assert refresh.body == (
        b'{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token",'
        b'"refresh_reason":"proactive_expiry","refresh_token":"' + stored.tokens.refresh_token.encode() + b'"}'  # type: ignore[union-attr]
    )
    assert refresh.headers["content-type"] == "application/json"
    assert refresh.headers["originator"] == "codex_exec"
    saved = store.load()
    assert saved is not None and saved.tokens is not None
    assert saved.tokens.refresh_token != stored.tokens.refresh_token  # type: ignore[union-attr]
    assert saved.last_refresh != stored.last_refresh
    assert server.response_requests[0].headers["authorization"] == f"Bearer {saved.tokens.access_token}"
    assert stat.S_IMODE((tmp_path / "auth.json").stat().st_mode) == 0o600


def test_no_refresh_when_the_token_is_fresh(tmp_path: Path, issuer: FakeIssuer, fake_server: Any) -> None:
    store = auth_store.FileStore(tmp_path)
    stored = chatgpt_auth(issuer, access=jwt_expiring_in(400))
    store.save(stored)
    server = fake_server([{"output": [message("ok")]}])
    model_request(server, AuthManager(store, stored, env={}))
    assert issuer.requests_to("/oauth/token") == []
    assert server.response_requests[0].headers["authorization"] == f"Bearer {stored.tokens.access_token}"  # type: ignore[union-attr]


def test_scheduled_refresh_for_opaque_tokens(tmp_path: Path, issuer: FakeIssuer) -> None:
    store = auth_store.FileStore(tmp_path)
    stored = chatgpt_auth(issuer, access="opaque-access", last_refresh=iso_days_ago(9))
    store.save(stored)
    manager = AuthManager(store, stored, env={})
    assert manager.bearer_token() != "opaque-access"
    (refresh,) = issuer.requests_to("/oauth/token")
    assert refresh.json["refresh_reason"] == "scheduled"


def test_second_401_triggers_unauthorized_recovery(tmp_path: Path, issuer: FakeIssuer, fake_server: Any) -> None:
    store = auth_store.FileStore(tmp_path)
    stored = chatgpt_auth(issuer)
    store.save(stored)
    unauthorized = {"status": 401, "body": {"error": {"message": "token expired", "code": "token_expired"}}}
    server = fake_server([unauthorized, unauthorized, {"output": [message("ok")]}])
    events = model_request(server, AuthManager(store, stored, env={}))
    assert events
    (refresh,) = issuer.requests_to("/oauth/token")
    assert refresh.json["refresh_reason"] == "unauthorized_recovery"
    old = f"Bearer {stored.tokens.access_token}"  # type: ignore[union-attr]
    seen = [r.headers["authorization"] for r in server.response_requests]
    saved = store.load()
    assert saved is not None and saved.tokens is not None
    assert seen == [old, old, f"Bearer {saved.tokens.access_token}"]


def test_refresh_follows_provenance_issuer_and_client(tmp_path: Path) -> None:
    with FakeIssuer(client_id="my-client") as issuer:
        store = auth_store.FileStore(tmp_path)
        stored = chatgpt_auth(issuer, access=jwt_expiring_in(-100))
        store.save(stored)
        AuthManager(store, stored, env={}).bearer_token()
        (refresh,) = issuer.requests_to("/oauth/token")
        assert refresh.json["client_id"] == "my-client"


def test_partial_refresh_response_keeps_other_tokens(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.refresh_fields = ("access_token",)
    stored = chatgpt_auth(issuer, access=jwt_expiring_in(-100))
    assert stored.tokens is not None
    fresh = auth.refresh_tokens(stored.tokens, "proactive_expiry", env={})
    assert fresh.access_token != stored.tokens.access_token
    assert (fresh.id_token, fresh.refresh_token) == (stored.tokens.id_token, stored.tokens.refresh_token)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": {"code": "refresh_token_expired"}}, "because your refresh token has expired. "),
        ({"error": "refresh_token_reused"}, "because your refresh token was already used. "),
        ({"error": {"code": "refresh_token_invalidated"}}, "because your refresh token was revoked. "),
        ({"error": {"code": "something_else"}}, ""),
    ],
    ids=["expired", "reused", "invalidated", "other"],
)
def test_refresh_failure_messages(
    tmp_path: Path, issuer: FakeIssuer, caplog: pytest.LogCaptureFixture, body: dict[str, Any], text: str
) -> None:
    issuer.refresh_error = (401, body)
    store = auth_store.FileStore(tmp_path)
    stored = chatgpt_auth(issuer, access=jwt_expiring_in(-100))
    store.save(stored)
    with caplog.at_level(logging.ERROR, logger="codex_cli.auth"):
        token = AuthManager(store, stored, env={}).bearer_token()
    assert token == stored.tokens.access_token  # type: ignore[union-attr]  # the request goes ahead
    expected = f"Your access token could not be refreshed{' ' + text.strip() if text else '.'} "
    expected += "Please log out and sign in again."
    assert caplog.messages == [
        "Failed to refresh token status=401 Unauthorized", f"Failed to refresh token: {expected}"
    ]
    for secret in (stored.tokens.refresh_token, stored.tokens.access_token):  # type: ignore[union-attr]
        assert secret not in caplog.text


def test_permanent_refresh_failure_is_not_retried(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.refresh_error = (401, {"error": {"code": "refresh_token_expired"}})
    store = auth_store.FileStore(tmp_path)
    stored = chatgpt_auth(issuer, access=jwt_expiring_in(-100))
    manager = AuthManager(store, stored, env={})
    manager.bearer_token()
    manager.bearer_token()
    assert not manager.on_unauthorized(2)
    assert len(issuer.requests_to("/oauth/token")) == 1


# -- revoke -------------------------------------------------------------------------------------------------


def test_revoke_url_selection() -> None:
    assert auth.revoke_url({}) == "https://auth.openai.com/oauth/revoke"
    assert auth.revoke_url({"CODEX_REVOKE_TOKEN_URL_OVERRIDE": "http://h:1/r"}) == "http://h:1/r"
    refresh = {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": "http://127.0.0.1:5/x/oauth/token?unified=true"}
    assert auth.revoke_url(refresh) == "http://127.0.0.1:5/oauth/revoke"
    tokens = TokenData(id_token=ID, access_token="a", refresh_token="r",
                       oauth_provenance=OAuthProvenance("http://127.0.0.1:7/", "c"))
    assert auth.revoke_url({}, tokens) == "http://127.0.0.1:7/oauth/revoke"


def test_revoke_sends_refresh_token_or_else_access_token(issuer: FakeIssuer) -> None:
    env = {"CODEX_REVOKE_TOKEN_URL_OVERRIDE": f"{issuer.url}/oauth/revoke"}
    stored = chatgpt_auth(issuer)
    assert auth.revoke_tokens(stored, env=env)
    assert stored.tokens is not None
    without_refresh = AuthDotJson("chatgpt", tokens=TokenData(id_token=ID, access_token="acc", refresh_token=""))
    assert auth.revoke_tokens(without_refresh, env=env)
    first, second = issuer.requests_to("/oauth/revoke")
    assert first.json == {"token": stored.tokens.refresh_token, "token_type_hint": "refresh_token",
                          "client_id": issuer.client_id}
    assert first.headers["originator"] == "codex_cli_rs"
    assert first.headers["user-agent"].startswith("codex_cli_rs/")
    assert second.json == {"token": "acc", "token_type_hint": "access_token"}


def test_revoke_is_best_effort(tmp_path: Path) -> None:
    stored = AuthDotJson("chatgpt", tokens=TokenData(id_token=ID, access_token="a", refresh_token="r"))
    assert not auth.revoke_tokens(stored, env={"CODEX_REVOKE_TOKEN_URL_OVERRIDE": "http://127.0.0.1:9/oauth/revoke"})
    assert not auth.revoke_tokens(AuthDotJson("apikey", openai_api_key="sk"), env={})


# -- token endpoint and device code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "refresh token expired"},
            "400 Bad Request: refresh token expired",
        ),
        (500, {"error": {"message": "backend down", "code": "oops"}}, "500 Internal Server Error: backend down"),
        (403, {"error": {"code": "forbidden_code"}}, "403 Forbidden: forbidden_code"),
        (502, "  upstream text  ", "502 Bad Gateway: upstream text"),
        (400, "", "400 Bad Request: unknown error"),
    ],
    ids=["description", "nested-message", "nested-code", "raw-body", "empty"],
)
def test_token_endpoint_error_detail(tmp_path: Path, issuer: FakeIssuer, status: int, body: Any, detail: str) -> None:
    issuer.token_error = (status, body)
    settings = LoginSettings(codex_home=tmp_path, issuer=issuer.url)
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        login.exchange_code(client, settings, code="c", redirect_uri="http://x/cb", verifier="v")
    assert info.value.message == f"token endpoint returned status {detail}"


def test_token_endpoint_unreachable_message(tmp_path: Path) -> None:
    settings = LoginSettings(codex_home=tmp_path, issuer="http://127.0.0.1:9")
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        login.exchange_code(client, settings, code="c", redirect_uri="http://x/cb", verifier="v")
    assert info.value.message == "error sending request for url (http://127.0.0.1:9/oauth/token)"
    assert "connection refused" in (info.value.hint or "")


def test_numeric_device_interval_is_rejected_like_0169(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.device_interval = 1
    settings = LoginSettings(codex_home=tmp_path, issuer=issuer.url)
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        login.request_device_code(client, settings)
    assert info.value.message.startswith("invalid type: integer `1`, expected a string at line 1 column ")


def test_device_poll_times_out_after_15_minutes(tmp_path: Path, issuer: FakeIssuer) -> None:
    issuer.pending_polls = 1000
    settings = LoginSettings(codex_home=tmp_path, issuer=issuer.url)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 300

    with httpx.Client() as client:
        code = login.request_device_code(client, settings)
        code = login.DeviceCode(code.device_auth_id, code.user_code, 300.0, code.verification_url)
        with pytest.raises(AuthError, match="device auth timed out after 15 minutes"):
            login.poll_device_code(client, settings, code, sleep=sleep, clock=lambda: now[0])


def test_workspace_restriction(issuer: FakeIssuer) -> None:
    tokens = issuer.issue_tokens()
    response = login.TokenResponse(tokens["id_token"], tokens["access_token"], tokens["refresh_token"])
    login.check_workspace(response, ("acct-fake-1",))
    with pytest.raises(AuthError, match=r"^Login is restricted to workspace id\(s\) ws-allowed\.$"):
        login.check_workspace(response, ("ws-allowed",))
