"""Where credentials are kept: the `auth.json` schema (parsed, checked, written back as codex-rs writes it) and
its stores (`cli_auth_credentials_store`: the auth.json file, the OS keyring, keyring-then-file, or this
process's memory). Which credential a request uses and keeping ChatGPT tokens fresh is `auth`.

Secrets never enter messages or reprs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, cast

from codex_cli.errors import AuthError
from codex_cli.records import Record, field

__all__ = [
    "CLIENT_ID",
    "KEYRING_SERVICE",
    "AuthDotJson",
    "AuthMode",
    "AuthStore",
    "AutoStore",
    "EphemeralStore",
    "FileStore",
    "KeyringBackend",
    "KeyringStore",
    "OAuthProvenance",
    "StoreMode",
    "TokenData",
    "decode_jwt_payload",
    "load_auth_file",
    "mask_api_key",
    "open_store",
    "parse_auth_json",
    "utc_timestamp",
]

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"  # the ChatGPT login's OAuth client; a login without provenance used it
KEYRING_SERVICE = "Codex Auth"

AuthMode: TypeAlias = Literal["apikey", "chatgpt", "agent_identity"]
StoreMode: TypeAlias = Literal["file", "keyring", "auto", "ephemeral"]


# -- the auth.json schema ------------------------------------------------------------------------


class OAuthProvenance(Record):
    """Which issuer and client id a ChatGPT login came from; refresh goes back to them."""

    issuer: str
    client_id: str


class TokenData(Record):
    """The `tokens` object of a ChatGPT login. Secrets are left out of the repr."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    account_id: str | None = None
    oauth_provenance: OAuthProvenance | None = None
    login_owner_id: str | None = None

    @property
    def id_claims(self) -> dict[str, Any]:
        return decode_jwt_payload(self.id_token) or {}

    @property
    def access_claims(self) -> dict[str, Any]:
        return decode_jwt_payload(self.access_token) or {}


class AuthDotJson(Record):
    """One stored login. `auth_mode` is resolved (a missing mode is inferred as auth.md §3.2 says)."""

    auth_mode: AuthMode
    openai_api_key: str | None = field(default=None, repr=False)
    tokens: TokenData | None = None
    last_refresh: str | None = None
    agent_identity: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        """The JSON object, keys in the order codex-rs writes them."""
        data: dict[str, object] = {"auth_mode": self.auth_mode, "OPENAI_API_KEY": self.openai_api_key}
        if self.auth_mode == "apikey":
            return data
        if self.tokens is not None:
            t = self.tokens
            tokens: dict[str, object] = {
                "id_token": t.id_token, "access_token": t.access_token, "refresh_token": t.refresh_token
            }
            if t.oauth_provenance is not None:
                origin = t.oauth_provenance
                tokens["oauth_provenance"] = {"issuer": origin.issuer, "client_id": origin.client_id}
            if t.login_owner_id is not None:
                tokens["login_owner_id"] = t.login_owner_id
            tokens["account_id"] = t.account_id
            data["tokens"] = tokens
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        if self.agent_identity is not None:
            data["agent_identity"] = self.agent_identity
        return data


def decode_jwt_payload(token: str, *, strict: bool = False) -> dict[str, Any] | None:
    """The claims of a JWT (signature unchecked), or None. `strict` also rejects padded payloads."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or (strict and "=" in parts[1]):
        return None
    payload = parts[1].rstrip("=")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _invalid(detail: str) -> AuthError:
    return AuthError(f"failed to deserialize CLI auth from file: invalid credential JSON ({detail})")


def _parse_tokens(raw: object) -> TokenData | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _invalid("`tokens` must be an object")
    values: dict[str, str] = {}
    for key in ("id_token", "access_token", "refresh_token"):
        value = raw.get(key)
        if not isinstance(value, str):
            raise _invalid(f"`tokens.{key}` is missing or not a string")
        values[key] = value
    if decode_jwt_payload(values["id_token"], strict=True) is None:
        raise _invalid("`tokens.id_token` is not a valid JWT")
    provenance = raw.get("oauth_provenance")
    origin = None
    if isinstance(provenance, dict) and isinstance(provenance.get("issuer"), str):
        origin = OAuthProvenance(provenance["issuer"], _str_or_none(provenance.get("client_id")) or CLIENT_ID)
    return TokenData(
        account_id=_str_or_none(raw.get("account_id")),
        oauth_provenance=origin,
        login_owner_id=_str_or_none(raw.get("login_owner_id")),
        **values,
    )


def parse_auth_json(text: str) -> AuthDotJson:
    """Parse and check auth.json text; raise AuthError with a secret-free reason."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = "expected value" if exc.msg == "Expecting value" else exc.msg[:1].lower() + exc.msg[1:]
        raise AuthError(
            f"failed to deserialize CLI auth from file: {reason} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise _invalid("the file must hold a JSON object")
    api_key = data.get("OPENAI_API_KEY")
    if api_key is not None and not isinstance(api_key, str):
        raise _invalid("`OPENAI_API_KEY` must be a string or null")
    mode = data.get("auth_mode")
    if mode is None:
        mode = "apikey" if api_key is not None else "chatgpt"
    elif mode in ("apiKey", "ApiKey"):
        mode = "apikey"
    if mode != "apikey" and mode != "chatgpt" and mode != "agent_identity":
        raise _invalid("unknown `auth_mode`; expected `apikey` or `chatgpt`")
    last_refresh = data.get("last_refresh")
    return AuthDotJson(
        auth_mode=cast(AuthMode, mode),
        openai_api_key=api_key,
        tokens=_parse_tokens(data.get("tokens")),
        last_refresh=last_refresh if isinstance(last_refresh, str) else None,
        agent_identity=_str_or_none(data.get("agent_identity")),
    )


def _dump(auth: AuthDotJson) -> str:
    return json.dumps(auth.to_json(), indent=2)


def load_auth_file(codex_home: Path) -> dict[str, object] | None:
    """The parsed auth.json as a plain object, or None when there is none (for `codex doctor`)."""
    auth = FileStore(codex_home).load()
    return None if auth is None else auth.to_json()


def mask_api_key(key: str) -> str:
    """`sk-proj-1234567890ABCDEFGHIJ` → `sk-proj-***FGHIJ`; keys of 13 characters or fewer → `***`."""
    return "***" if len(key) <= 13 else f"{key[:8]}***{key[-5:]}"


def utc_timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- stores --------------------------------------------------------------------------------------


class AuthStore(Protocol):
    """Where a login is kept (`cli_auth_credentials_store`)."""

    def load(self) -> AuthDotJson | None: ...

    def save(self, auth: AuthDotJson) -> None: ...

    def delete(self) -> bool: ...

    def locked(self) -> contextlib.AbstractContextManager[None]: ...


class KeyringBackend(Protocol):
    """The three calls of the `keyring` package that the keyring store uses."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class FileStore:
    """`$CODEX_HOME/auth.json`: 2-space JSON, no trailing newline, mode 0600, replaced atomically."""

    def __init__(self, codex_home: Path) -> None:
        self.codex_home = codex_home
        self.path = codex_home / "auth.json"
        self._thread_lock = threading.Lock()

    def load(self) -> AuthDotJson | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise AuthError(f"failed to read CLI auth from {self.path}: {reason}") from None
        return parse_auth_json(text)

    def save(self, auth: AuthDotJson) -> None:
        _write_private(self.path, _dump(auth))

    def delete(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize read-modify-write of auth.json across threads and (on POSIX) processes."""
        with self._thread_lock:
            if sys.platform == "win32" or not self.codex_home.is_dir():
                yield
                return
            import fcntl

            fd = os.open(self.codex_home / "auth.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)


def _write_private(path: Path, text: str) -> None:
    """Write via a 0600 temp file and rename, so the mode is 0600 whatever the umask or old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".auth.json.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class EphemeralStore:
    """Kept in this process's memory only; writes nothing, not even lock files."""

    def __init__(self) -> None:
        self._auth: AuthDotJson | None = None

    def load(self) -> AuthDotJson | None:
        return self._auth

    def save(self, auth: AuthDotJson) -> None:
        self._auth = auth

    def delete(self) -> bool:
        had, self._auth = self._auth is not None, None
        return had

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def _keyring_failure(action: str, exc: BaseException | str) -> AuthError:
    detail = (str(exc) or type(exc).__name__) if isinstance(exc, BaseException) else exc
    return AuthError(f"{action}: Platform secure storage failure: {detail}")


class KeyringStore:
    """The OS keyring: service `Codex Auth`, account `cli|<16 hex of sha256(CODEX_HOME)>`, compact JSON."""

    def __init__(self, codex_home: Path, backend: KeyringBackend | None = None) -> None:
        self.file = FileStore(codex_home)
        self.account = "cli|" + hashlib.sha256(str(codex_home.resolve()).encode()).hexdigest()[:16]
        self._backend = backend

    def _keyring(self, action: str) -> KeyringBackend:
        if self._backend is not None:
            return self._backend
        try:
            import keyring  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            raise _keyring_failure(action, "the `keyring` package is not installed") from None
        backend: KeyringBackend = keyring
        return backend

    def load(self) -> AuthDotJson | None:
        action = "failed to load CLI auth from keyring"
        try:
            text = self._keyring(action).get_password(KEYRING_SERVICE, self.account)
        except AuthError:
            raise
        except Exception as exc:  # any backend failure is a platform failure
            raise _keyring_failure(action, exc) from None
        return None if text is None else parse_auth_json(text)

    def save(self, auth: AuthDotJson) -> None:
        action = "failed to write OAuth tokens to keyring"
        text = json.dumps(auth.to_json(), separators=(",", ":"))
        try:
            self._keyring(action).set_password(KEYRING_SERVICE, self.account, text)
        except AuthError:
            raise
        except Exception as exc:
            raise _keyring_failure(action, exc) from None
        self.file.delete()

    def delete(self) -> bool:
        action = "failed to delete auth from keyring"
        backend = self._keyring(action)
        try:
            had = backend.get_password(KEYRING_SERVICE, self.account) is not None
            if had:
                backend.delete_password(KEYRING_SERVICE, self.account)
        except Exception as exc:
            raise _keyring_failure(action, exc) from None
        return self.file.delete() or had

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self.file.locked()


class AutoStore(KeyringStore):
    """Keyring first; auth.json when the keyring cannot be used (delete still needs the keyring)."""

    def load(self) -> AuthDotJson | None:
        try:
            stored = super().load()
        except AuthError:
            stored = None
        return stored if stored is not None else self.file.load()

    def save(self, auth: AuthDotJson) -> None:
        try:
            super().save(auth)
        except AuthError:
            self.file.save(auth)


def open_store(codex_home: Path, mode: str | None = None, *, keyring: KeyringBackend | None = None) -> AuthStore:
    """The store named by `cli_auth_credentials_store` (default `file`)."""
    if mode == "ephemeral":
        return EphemeralStore()
    if mode == "keyring":
        return KeyringStore(codex_home, keyring)
    if mode == "auto":
        return AutoStore(codex_home, keyring)
    return FileStore(codex_home)
