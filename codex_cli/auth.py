"""Credentials for the model provider: API keys from the environment and `$CODEX_HOME/auth.json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codex_cli.errors import AuthError

__all__ = ["Credentials", "load_auth_file", "resolve_credentials"]

_LOGIN_HINT = (
    "Run `codex login` to sign in, pipe an API key into `codex login --with-api-key`, "
    "or set CODEX_API_KEY (or OPENAI_API_KEY) in the environment."
)


@dataclass(frozen=True)
class Credentials:
    """The bearer token for model requests, plus ChatGPT-mode routing when that is the login in use."""

    bearer_token: str | None
    source: str  # for `codex doctor` and errors: "CODEX_API_KEY", "auth.json", "env_key MOCK_API_KEY", "none"
    chatgpt_account_id: str | None = None

    @property
    def is_chatgpt(self) -> bool:
        return self.source == "auth.json (ChatGPT)"


def load_auth_file(codex_home: Path) -> dict[str, object] | None:
    """The parsed auth.json, or None when there is none; a corrupt file is an error naming it."""
    path = codex_home / "auth.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuthError(f"Cannot read {path}: {exc.strerror}.", "Check the file's permissions.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            "Delete it and run `codex login` again.",
        ) from exc
    if not isinstance(data, dict):
        raise AuthError(f"{path} must hold a JSON object.", "Delete it and run `codex login` again.")
    return data


def _from_auth_file(data: Mapping[str, object]) -> Credentials | None:
    api_key = data.get("OPENAI_API_KEY")
    mode = data.get("auth_mode")
    if mode == "apikey" or (mode is None and isinstance(api_key, str)):
        return Credentials(api_key, "auth.json") if isinstance(api_key, str) and api_key else None
    tokens = data.get("tokens")
    if isinstance(tokens, dict):
        access = tokens.get("access_token")
        account = tokens.get("account_id")
        if isinstance(access, str) and access:
            return Credentials(access, "auth.json (ChatGPT)", account if isinstance(account, str) else None)
    return None


def resolve_credentials(
    *,
    codex_home: Path,
    env: Mapping[str, str],
    env_key: str | None,
    env_key_instructions: str | None,
    requires_openai_auth: bool,
) -> Credentials:
    """Pick the bearer token: provider env_key, else CODEX_API_KEY > auth.json > OPENAI_API_KEY."""
    if env_key:
        value = env.get(env_key, "").strip()
        if not value:
            hint = env_key_instructions or f"Set {env_key} in the environment, e.g. `export {env_key}=...`."
            raise AuthError(f"Missing environment variable: `{env_key}`.", hint)
        return Credentials(value, f"env_key {env_key}")
    if not requires_openai_auth:
        return Credentials(None, "none")
    codex_key = env.get("CODEX_API_KEY", "").strip()
    if codex_key:
        return Credentials(codex_key, "CODEX_API_KEY")
    data = load_auth_file(codex_home)
    stored = _from_auth_file(data) if data is not None else None
    if stored is not None:
        return stored
    openai_key = env.get("OPENAI_API_KEY", "").strip()
    if openai_key:
        return Credentials(openai_key, "OPENAI_API_KEY")
    raise AuthError("Not logged in: no API key or ChatGPT login was found.", _LOGIN_HINT)
