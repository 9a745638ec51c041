"""`[mcp_servers.NAME]` tables validated into typed `McpServerConfig`s (config.md §6.5, mcp.md §1).

Shared by the client (`mcp_client`) and `codex mcp` (`mcp_cli`). The transport is inferred from the
keys (`command` → stdio, `url` → streamable HTTP); keys of the other transport, `bearer_token`, bad
enum values and negative timeouts are errors naming the file and the dotted key. Timeouts stay None
when unset so `codex mcp get` can tell "not configured" from the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from codex_cli.errors import ConfigError
from codex_cli.records import Record, field

__all__ = [
    "DEFAULT_SCHEMA_MAX_BYTES",
    "DEFAULT_STARTUP_GRACE_SEC",
    "DEFAULT_STARTUP_TIMEOUT_SEC",
    "DEFAULT_TOOL_TIMEOUT_SEC",
    "SERVER_NAME_PATTERN",
    "ApprovalMode",
    "EnvVarSpec",
    "McpServerConfig",
    "parse_mcp_servers",
    "startup_grace_sec",
]

ApprovalMode = Literal["auto", "prompt", "writes", "approve"]

DEFAULT_STARTUP_TIMEOUT_SEC = 30.0
DEFAULT_TOOL_TIMEOUT_SEC = 300.0
DEFAULT_STARTUP_GRACE_SEC = 1.0
DEFAULT_SCHEMA_MAX_BYTES = 5000
SERVER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_:@/.-]+$")
_APPROVAL_MODES = ("auto", "prompt", "writes", "approve")


class EnvVarSpec(Record):
    """One `env_vars` entry: a variable copied from our environment (`source` as written, None for a bare name)."""

    name: str
    source: Literal["local", "remote"] | None = None

    def to_json(self) -> object:
        return self.name if self.source is None else {"name": self.name, "source": self.source}


class McpServerConfig(Record):
    """One `[mcp_servers.NAME]` table, validated. Timeouts are None when not configured (defaults apply)."""

    name: str
    transport: Literal["stdio", "streamable_http"]
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    env_vars: tuple[EnvVarSpec, ...] = ()
    cwd: str | None = None
    url: str | None = None
    bearer_token_env_var: str | None = None
    http_headers: Mapping[str, str] | None = None
    env_http_headers: Mapping[str, str] | None = None
    http_headers_helper: str | None = None
    startup_timeout_sec: float | None = None
    tool_timeout_sec: float | None = None
    enabled: bool = True
    required: bool = False
    enabled_tools: tuple[str, ...] | None = None
    disabled_tools: tuple[str, ...] | None = None
    default_tools_approval_mode: ApprovalMode | None = None
    tool_approval_modes: Mapping[str, ApprovalMode] = field(default_factory=lambda: MappingProxyType({}))
    omit_tools_from: tuple[str, ...] = ()
    tool_input_schema_max_bytes: int = DEFAULT_SCHEMA_MAX_BYTES

    @property
    def effective_startup_timeout(self) -> float:
        return DEFAULT_STARTUP_TIMEOUT_SEC if self.startup_timeout_sec is None else self.startup_timeout_sec

    @property
    def effective_tool_timeout(self) -> float:
        return DEFAULT_TOOL_TIMEOUT_SEC if self.tool_timeout_sec is None else self.tool_timeout_sec

    def allows_tool(self, raw_name: str) -> bool:
        """`enabled_tools` (allow-list, raw names) first, then `disabled_tools`."""
        if self.enabled_tools is not None and raw_name not in self.enabled_tools:
            return False
        return not (self.disabled_tools is not None and raw_name in self.disabled_tools)


class _Invalid(Exception):
    """A problem in one server table; parse_mcp_servers() turns it into a ConfigError naming the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def parse_mcp_servers(raw: Mapping[str, object], *, config_path: Path) -> dict[str, McpServerConfig]:
    """Validate the `mcp_servers` table (name → table); raise ConfigError naming the file and the key."""
    servers: dict[str, McpServerConfig] = {}
    for name, table in raw.items():
        try:
            if not isinstance(table, Mapping):
                raise _Invalid("", "expected a table")
            servers[name] = _parse_server(name, table)
        except _Invalid as exc:
            key = f"mcp_servers.{name}" + (f".{exc.key}" if exc.key else "")
            raise ConfigError(
                f"Error loading config.toml: {config_path}: {exc.problem} in `{key}`",
                f"Fix `[mcp_servers.{name}]` in {config_path}.",
            ) from None
    return servers


def startup_grace_sec(raw: Mapping[str, object]) -> float:
    """`mcp_optional_startup_grace_ms` from the merged config (default ≈1 s, mcp.md §4.1)."""
    value = raw.get("mcp_optional_startup_grace_ms")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value) / 1000
    return DEFAULT_STARTUP_GRACE_SEC


def _get(table: Mapping[str, object], key: str, kind: type | tuple[type, ...], expected: str) -> object:
    value = table.get(key)
    if value is None:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise _Invalid(key, f"invalid type: expected {expected}")
    return value


def _str(table: Mapping[str, object], key: str) -> str | None:
    value = _get(table, key, str, "a string")
    return value if isinstance(value, str) else None


def _strs(table: Mapping[str, object], key: str) -> tuple[str, ...] | None:
    value = _get(table, key, list, "an array of strings")
    if value is None:
        return None
    assert isinstance(value, list)
    if not all(isinstance(v, str) for v in value):
        raise _Invalid(key, "invalid type: expected an array of strings")
    return tuple(value)


def _str_map(table: Mapping[str, object], key: str) -> Mapping[str, str] | None:
    value = _get(table, key, Mapping, "a table of strings")
    if value is None:
        return None
    assert isinstance(value, Mapping)
    if not all(isinstance(v, str) for v in value.values()):
        raise _Invalid(key, "invalid type: expected a table of strings")
    return MappingProxyType(dict(value))


def _seconds(table: Mapping[str, object], sec_key: str, ms_key: str | None = None) -> float | None:
    value = _get(table, sec_key, (int, float), "a number of seconds")
    if value is None and ms_key is not None:
        ms = _get(table, ms_key, int, "an integer number of milliseconds")
        value = None if ms is None else float(ms) / 1000  # type: ignore[arg-type]
    if value is None:
        return None
    assert isinstance(value, (int, float))
    if value < 0:
        raise _Invalid(sec_key, "cannot convert float seconds to Duration: value is negative")
    return float(value)


def _approval(value: object, key: str) -> ApprovalMode | None:
    if value is None:
        return None
    if value not in _APPROVAL_MODES:
        raise _Invalid(key, f"unknown variant `{value}`, expected one of `auto`, `prompt`, `writes`, `approve`")
    return value  # type: ignore[return-value]


def _env_vars(table: Mapping[str, object]) -> tuple[EnvVarSpec, ...]:
    value = _get(table, "env_vars", list, "an array")
    specs: list[EnvVarSpec] = []
    for entry in value or ():  # type: ignore[attr-defined]
        if isinstance(entry, str):
            specs.append(EnvVarSpec(entry))
        elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            source = entry.get("source", "local")
            if source not in ("local", "remote"):
                raise _Invalid("env_vars", f"unsupported env_vars source `{source}`; expected `local` or `remote`")
            specs.append(EnvVarSpec(str(entry["name"]), source))
        else:
            raise _Invalid("env_vars", 'each entry must be "NAME" or { name = "NAME", source = "local" | "remote" }')
    return tuple(specs)


def _tool_modes(table: Mapping[str, object]) -> Mapping[str, ApprovalMode]:
    tools = _get(table, "tools", Mapping, "a table")
    modes: dict[str, ApprovalMode] = {}
    for tool, settings in (tools or {}).items():  # type: ignore[attr-defined]
        if not isinstance(settings, Mapping):
            raise _Invalid(f"tools.{tool}", "invalid type: expected a table")
        mode = _approval(settings.get("approval_mode"), f"tools.{tool}.approval_mode")
        if mode is not None:
            modes[str(tool)] = mode
    return MappingProxyType(modes)


def _check_transport_keys(table: Mapping[str, object]) -> Literal["stdio", "streamable_http"]:
    if "command" in table and "url" in table:
        raise _Invalid("url", "url is not supported for stdio")
    if "command" not in table and "url" not in table:
        raise _Invalid("", "invalid transport: set `command` (stdio) or `url` (streamable HTTP)")
    transport: Literal["stdio", "streamable_http"] = "stdio" if "command" in table else "streamable_http"
    if "bearer_token" in table:
        raise _Invalid("bearer_token", f"bearer_token is not supported for {transport}; use bearer_token_env_var")
    foreign = ("http_headers", "http_headers_helper", "oauth_resource", "oauth") if transport == "stdio" else ("env",)
    for key in foreign:
        if key in table:
            raise _Invalid(key, f"{key} is not supported for {transport}")
    return transport


def _parse_server(name: str, table: Mapping[str, object]) -> McpServerConfig:
    transport = _check_transport_keys(table)
    max_bytes = _get(table, "tool_input_schema_max_bytes", int, "a positive integer")
    if max_bytes is not None and max_bytes <= 0:  # type: ignore[operator]
        raise _Invalid("tool_input_schema_max_bytes", "expected a positive integer")
    omit = _strs(table, "omit_tools_from") or ()
    for mode in omit:
        if mode not in ("code_mode", "deferred", "direct"):
            raise _Invalid("omit_tools_from", f"unknown variant `{mode}`, expected `code_mode`, `deferred` or `direct`")
    return McpServerConfig(
        name=name,
        transport=transport,
        command=_str(table, "command"),
        args=_strs(table, "args") or (),
        env=_str_map(table, "env"),
        env_vars=_env_vars(table),
        cwd=_str(table, "cwd"),
        url=_str(table, "url"),
        bearer_token_env_var=_str(table, "bearer_token_env_var"),
        http_headers=_str_map(table, "http_headers"),
        env_http_headers=_str_map(table, "env_http_headers"),
        http_headers_helper=_str(table, "http_headers_helper"),
        startup_timeout_sec=_seconds(table, "startup_timeout_sec", "startup_timeout_ms"),
        tool_timeout_sec=_seconds(table, "tool_timeout_sec"),
        enabled=_get(table, "enabled", bool, "a boolean") is not False,
        required=_get(table, "required", bool, "a boolean") is True,
        enabled_tools=_strs(table, "enabled_tools"),
        disabled_tools=_strs(table, "disabled_tools"),
        default_tools_approval_mode=_approval(table.get("default_tools_approval_mode"), "default_tools_approval_mode"),
        tool_approval_modes=_tool_modes(table),
        omit_tools_from=omit,
        tool_input_schema_max_bytes=max_bytes if isinstance(max_bytes, int) else DEFAULT_SCHEMA_MAX_BYTES,
    )
