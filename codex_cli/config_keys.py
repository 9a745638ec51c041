"""The config.toml key schema: every known key with its type and allowed values, and the walkers that check a
parsed document against it (types, unknown keys, path values).

`config.py` owns finding, reading and layering files; this module only describes and checks keys. The feature
registry is `features`, document helpers `toml_doc`, key positions `toml_positions`. Nothing here reads files or
the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Literal, TypeAlias

from codex_cli.features import FEATURE_ALIASES, FEATURES
from codex_cli.protocol import APPROVAL_POLICIES, SANDBOX_MODES
from codex_cli.records import Record
from codex_cli.toml_doc import KeyPath, json_string

__all__ = [
    "PROFILE_SCHEMA",
    "PROJECT_DENYLIST",
    "TOP_SCHEMA",
    "Anything",
    "Choice",
    "Either",
    "ListOf",
    "MapOf",
    "Scalar",
    "SchemaIssue",
    "Spec",
    "Table",
    "check_types",
    "describe_value",
    "expected_text",
    "find_unknown_keys",
    "map_path_values",
]


# ----------------------------------------------------------------------------------------------------------
# Spec types


class Scalar(Record):
    """A TOML scalar; `path` is a string that is resolved against the defining file's directory."""

    kind: Literal["str", "bool", "int", "uint", "float", "path"]


class Choice(Record):
    """A string from a fixed set (a serde enum)."""

    values: tuple[str, ...]


class ListOf(Record):
    """A TOML array whose items all match `item`."""

    item: Spec


class MapOf(Record):
    """A table with free-form keys (provider ids, server names, ...) whose values match `value`."""

    value: Spec


class Table(Record):
    """A table with known keys; other keys are unknown (warned about) unless `open`."""

    fields: Mapping[str, Spec]
    open: bool = False


class Either(Record):
    """The first option that accepts the value wins; `expected` describes them all for messages."""

    options: tuple[Spec, ...]
    expected: str


class Anything(Record):
    """A known key whose contents are owned by another module (mcp, hooks, tui, ...)."""


Spec: TypeAlias = Scalar | Choice | ListOf | MapOf | Table | Either | Anything

_ANY = Anything()
_STR = Scalar("str")
_BOOL = Scalar("bool")
_INT = Scalar("int")
_UINT = Scalar("uint")
_FLOAT = Scalar("float")
_PATH = Scalar("path")
_STR_LIST = ListOf(_STR)
_STR_MAP = MapOf(_STR)



# ----------------------------------------------------------------------------------------------------------
# The schema

# fmt: off
_FEATURE_VALUE = Either((_BOOL, Table({"enabled": _BOOL}, open=True)), "a boolean (or a table `{ enabled = true }`)")

_PROVIDER = Table({
    "name": _STR, "base_url": _STR, "env_key": _STR, "env_key_instructions": _STR,
    "experimental_bearer_token": _STR, "auth": Table({"command": _STR, "args": _STR_LIST}, open=True),
    "wire_api": Choice(("responses", "chat")), "query_params": _STR_MAP, "http_headers": _STR_MAP,
    "env_http_headers": _STR_MAP, "request_max_retries": _UINT, "stream_max_retries": _UINT,
    "stream_idle_timeout_ms": _UINT, "websocket_connect_timeout_ms": _UINT, "requires_openai_auth": _BOOL,
    "supports_websockets": _BOOL, "aws": _ANY, "capabilities": _ANY, "credential_file": _ANY,
    "gateway_oauth": _ANY, "location": _ANY, "model_catalog_url": _ANY, "project_id": _ANY,
    "supports_standalone_web_search": _ANY,
})

_APPROVAL_MODE = Choice(("auto", "prompt", "writes", "approve"))
_MCP_SERVER = Table({
    "command": _STR, "args": _STR_LIST, "env": _STR_MAP, "env_vars": _ANY, "cwd": _STR, "url": _STR,
    "bearer_token_env_var": _STR, "bearer_token": _STR, "http_headers": _STR_MAP, "env_http_headers": _STR_MAP,
    "startup_timeout_sec": _FLOAT, "startup_timeout_ms": _UINT, "tool_timeout_sec": _FLOAT, "enabled": _BOOL,
    "required": _BOOL, "enabled_tools": _STR_LIST, "disabled_tools": _STR_LIST,
    "default_tools_approval_mode": _APPROVAL_MODE, "tools": _ANY, "supports_parallel_tool_calls": _BOOL,
    "scopes": _STR_LIST, "oauth": _ANY, "oauth_resource": _STR, "experimental_environment": _ANY, "name": _STR,
    "http_headers_helper": _STR, "tool_input_schema_max_bytes": _UINT, "omit_tools_from": _STR_LIST,
    "startup_readiness": Choice(("connection", "catalog")), "environment_id": _STR,
    "auth": Choice(("oauth", "chatgpt", "ema_auth")),
})

_TUI_KEYS = """default_hosts screen_reader_detection_done effects rendering show_server_version_notice auto_recap
    disable_paste_burst vim_mode_default question_esc_back raw_output_mode fullscreen_transcript
    collapse_turn_details sidebar_width_percent mouse_scroll_speed copy_on_select copy_on_select_clear_selection
    right_click_paste status_line status_line_use_colors terminal_title theme pet pet_anchor session_picker_view
    agents_overview_grouping resume_cwd presets model_availability_nux terminal_resize_reflow_max_rows keymap"""
_TUI = Table({
    **{key: _ANY for key in _TUI_KEYS.split()},
    "notifications": Either((_BOOL, _STR_LIST), "a boolean or an array of strings"),
    "notification_method": Choice(("auto", "osc9", "osc777", "bel")),
    "notification_condition": Choice(("unfocused", "always")),
    "animations": _BOOL, "show_tooltips": _BOOL, "alternate_screen": Choice(("auto", "always", "never")),
})

# The 107 top-level keys of 0.169 (`config/read`), plus the ones this build knows in addition
# (`experimental_instructions_file`, `base_instructions`). `model_supports_reasoning_summaries` is not one:
# 0.169 ignores it and says so, and so does this build.
_OPAQUE_TOP_KEYS = """agents analytics apps apps_mcp_product_sku audio auto_review browser_use client_search_provider
    cloud computer_use daybreak desktop experimental_realtime_start_instructions
    experimental_realtime_webrtc_call_base_url experimental_realtime_ws_backend_prompt
    experimental_realtime_ws_base_url experimental_realtime_ws_model experimental_realtime_ws_startup_context
    experimental_thread_store experimental_thread_store_endpoint experimental_use_unified_exec_tool feedback
    forced_chatgpt_workspace_id ghost_snapshot goals hooks js_repl_node_module_dirs js_repl_node_path marketplaces
    mcp_enterprise_managed_auth mcp_oauth_callback_port mcp_oauth_callback_url mcp_optional_startup_grace_ms
    memories model_post_turn_compact_threshold_percent notice orchestrator otel permissions plugins realtime
    responses_api_metadata thread_unload_delay_secs tool_suggest windows"""

_PROFILE_FIELDS: dict[str, Spec] = {
    **{key: _ANY for key in _OPAQUE_TOP_KEYS.split()},
    "allow_login_shell": _BOOL, "allow_symlinked_codex_home": _BOOL,
    "approval_policy": Choice(APPROVAL_POLICIES),
    "approvals_reviewer": Choice(("user", "auto_review", "guardian_subagent")),
    "background_terminal_max_timeout": _UINT, "base_instructions": _STR, "chatgpt_base_url": _STR,
    "check_for_update_on_startup": _BOOL,
    "cli_auth_credentials_store": Choice(("file", "keyring", "auto", "ephemeral")),
    "compact_prompt": _STR, "default_permissions": _STR, "developer_instructions": _STR,
    "disable_paste_burst": _BOOL, "experimental_compact_prompt_file": _PATH, "experimental_instructions_file": _PATH,
    "features": Table({
        **{name: _FEATURE_VALUE for name in FEATURES},
        **{name: _FEATURE_VALUE for name in FEATURE_ALIASES},
    }),
    "file_opener": Choice(("vscode", "vscode-insiders", "windsurf", "cursor", "none")),
    "forced_login_method": Choice(("chatgpt", "api")), "hide_agent_reasoning": _BOOL,
    "history": Table({"persistence": Choice(("save-all", "none")), "max_bytes": _UINT}),
    "include_apps_instructions": _BOOL, "include_collaboration_mode_instructions": _BOOL,
    "include_environment_context": _BOOL, "include_environment_context_time": _BOOL,
    "include_permissions_instructions": _BOOL, "instructions": _STR, "log_dir": _PATH,
    "mcp_oauth_credentials_store": Choice(("auto", "file", "keyring")), "mcp_servers": MapOf(_MCP_SERVER),
    "model": _STR, "model_auto_compact_token_limit": _INT,
    "model_auto_compact_token_limit_scope": Choice(("total", "body_after_prefix")),
    "model_catalog_json": _PATH, "model_context_window": _UINT, "model_instructions_file": _PATH,
    "model_provider": _STR, "model_providers": MapOf(_PROVIDER), "model_reasoning_effort": _STR,
    "model_reasoning_summary": Choice(("auto", "concise", "detailed", "none")),
    "model_verbosity": Choice(("low", "medium", "high")),
    "notify": _STR_LIST, "openai_base_url": _STR, "oss_provider": Choice(("lmstudio", "ollama")),
    "personality": Choice(("none", "friendly", "pragmatic")), "plan_mode_reasoning_effort": _STR,
    "project_doc_fallback_filenames": _STR_LIST, "project_doc_max_bytes": _UINT,
    "project_root_markers": _STR_LIST,
    "projects": MapOf(Table({"trust_level": Choice(("trusted", "untrusted"))}, open=True)),
    "review_model": _STR, "sandbox_mode": Choice(SANDBOX_MODES),
    "sandbox_workspace_write": Table({
        "writable_roots": ListOf(_PATH), "network_access": _BOOL, "exclude_tmpdir_env_var": _BOOL,
        "exclude_slash_tmp": _BOOL,
    }),
    "service_tier": _STR,
    "shell_environment_policy": Table({
        "inherit": Choice(("core", "all", "none")), "ignore_default_excludes": _BOOL, "exclude": _STR_LIST,
        "include_only": _STR_LIST, "set": _STR_MAP, "experimental_use_profile": _BOOL, "filters": _ANY,
    }),
    "show_raw_agent_reasoning": _BOOL, "sqlite_home": _PATH, "suppress_unstable_features_warning": _BOOL,
    # codex-rs's SkillsConfig (skills.py): `enabled` is required in a [[skills.config]] entry (config.py checks it).
    "skills": Table({
        "bundled": Table({"enabled": _BOOL}), "include_instructions": _BOOL,
        "config": ListOf(Table({"path": _PATH, "name": _STR, "enabled": _BOOL})),
    }),
    "tool_output_token_limit": _UINT,
    # Closed, as in 0.169: any other key (`tools.view_image`: the view_image feature decides) is ignored with a warning.
    "tools": Table({
        "web_search": Either((_BOOL, Table({}, open=True)), "a boolean or a table"),
        "update_plan": Table({"enabled": _BOOL}, open=True),
    }),
    "tui": _TUI, "web_search": Choice(("disabled", "cached", "indexed", "live")),
}

PROFILE_SCHEMA = Table(_PROFILE_FIELDS)
# fmt: on
"""What a profile (`[profiles.NAME]` or `NAME.config.toml`) may set: everything but profile selection."""

TOP_SCHEMA = Table({**_PROFILE_FIELDS, "profile": _STR, "profiles": MapOf(PROFILE_SCHEMA)})
"""The whole config.toml."""

# fmt: off
PROJECT_DENYLIST: tuple[KeyPath, ...] = (
    ("openai_base_url",), ("chatgpt_base_url",), ("apps_mcp_product_sku",), ("model_provider",),
    ("model_providers",), ("notify",), ("profile",), ("profiles",), ("experimental_realtime_webrtc_call_base_url",),
    ("experimental_realtime_ws_base_url",), ("otel",), ("features", "respect_system_proxy"),
)
# fmt: on
"""Keys a project `.codex/config.toml` may not set: it cannot redirect credentials or run commands."""



# ----------------------------------------------------------------------------------------------------------
# Walkers


class SchemaIssue(Record):
    """A value that does not fit the schema: where, what went wrong, and what is allowed."""

    path: KeyPath
    message: str
    expected: str


def expected_text(spec: Spec) -> str:
    """Describe what `spec` accepts, for error messages ("a string", "one of `a`, `b`")."""
    if isinstance(spec, Scalar):
        return {
            "str": "a string",
            "path": "a path string",
            "bool": "a boolean (true or false)",
            "int": "an integer",
            "uint": "a non-negative integer",
            "float": "a number",
        }[spec.kind]
    if isinstance(spec, Choice):
        quoted = [f"`{v}`" for v in spec.values]
        return f"{quoted[0]} or {quoted[1]}" if len(quoted) == 2 else "one of " + ", ".join(quoted)
    if isinstance(spec, ListOf):
        return "an array of strings" if spec.item in (_STR, _PATH) else "an array"
    if isinstance(spec, Either):
        return spec.expected
    if isinstance(spec, (MapOf, Table)):
        return "a table"
    return "any value"


def describe_value(value: object) -> str:
    """How serde names an unexpected value in its `invalid type` errors (config and MCP tool arguments)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json_string(value)}"
    if isinstance(value, list):
        return "sequence"
    if isinstance(value, dict):
        return "map"
    return f"{type(value).__name__} `{value}`"


def _scalar_ok(kind: str, value: object) -> bool:
    if kind in ("str", "path"):
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "uint"):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_types(value: object, spec: Spec, path: KeyPath = ()) -> SchemaIssue | None:
    """Return the first value (in document order) that does not match `spec`, or None."""
    expected = expected_text(spec)
    if isinstance(spec, Anything):
        return None
    if isinstance(spec, Scalar):
        if not _scalar_ok(spec.kind, value):
            return SchemaIssue(path, f"invalid type: {describe_value(value)}, expected {expected}", expected)
        if spec.kind == "uint" and isinstance(value, int) and value < 0:
            return SchemaIssue(path, f"invalid value: integer `{value}`, expected {expected}", expected)
        return None
    if isinstance(spec, Choice):
        if not isinstance(value, str):
            return SchemaIssue(path, f"invalid type: {describe_value(value)}, expected {expected}", expected)
        if value not in spec.values:
            return SchemaIssue(path, f"unknown variant `{value}`, expected {expected}", expected)
        return None
    if isinstance(spec, Either):
        for option in spec.options:
            if _shape_matches(value, option):
                return check_types(value, option, path)
        return SchemaIssue(path, f"invalid type: {describe_value(value)}, expected {expected}", expected)
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return SchemaIssue(path, f"invalid type: {describe_value(value)}, expected {expected}", expected)
        return _first(check_types(item, spec.item, (*path, i)) for i, item in enumerate(value))
    if not isinstance(value, dict):
        return SchemaIssue(path, f"invalid type: {describe_value(value)}, expected {expected}", expected)
    if isinstance(spec, MapOf):
        return _first(check_types(v, spec.value, (*path, k)) for k, v in value.items())
    return _first(check_types(v, spec.fields[k], (*path, k)) for k, v in value.items() if k in spec.fields)


def _shape_matches(value: object, spec: Spec) -> bool:
    if isinstance(spec, Scalar):
        return _scalar_ok(spec.kind, value)
    if isinstance(spec, Choice):
        return isinstance(value, str)
    if isinstance(spec, ListOf):
        return isinstance(value, list)
    if isinstance(spec, (MapOf, Table)):
        return isinstance(value, dict)
    return True


def _first(issues: Iterator[SchemaIssue | None]) -> SchemaIssue | None:
    return next((issue for issue in issues if issue is not None), None)


def find_unknown_keys(value: object, spec: Spec, path: KeyPath = ()) -> list[KeyPath]:
    """Every key path in `value` that the schema does not know (only where the shape is right)."""
    found: list[KeyPath] = []
    if isinstance(value, dict) and isinstance(spec, Table):
        for key, item in value.items():
            if key in spec.fields:
                found += find_unknown_keys(item, spec.fields[key], (*path, key))
            elif not spec.open:
                found.append((*path, key))
    elif isinstance(value, dict) and isinstance(spec, MapOf):
        for key, item in value.items():
            found += find_unknown_keys(item, spec.value, (*path, key))
    elif isinstance(value, list) and isinstance(spec, ListOf):
        for i, item in enumerate(value):
            found += find_unknown_keys(item, spec.item, (*path, i))
    elif isinstance(spec, Either):
        for option in spec.options:
            if _shape_matches(value, option):
                return find_unknown_keys(value, option, path)
    return found


def map_path_values(value: object, spec: Spec, fn: Callable[[str], str]) -> object:
    """Return `value` with `fn` applied to every string typed as a path (the input is not modified)."""
    if isinstance(spec, Scalar) and spec.kind == "path" and isinstance(value, str):
        return fn(value)
    if isinstance(spec, ListOf) and isinstance(value, list):
        return [map_path_values(item, spec.item, fn) for item in value]
    if isinstance(spec, MapOf) and isinstance(value, dict):
        return {k: map_path_values(v, spec.value, fn) for k, v in value.items()}
    if isinstance(spec, Table) and isinstance(value, dict):
        return {k: map_path_values(v, spec.fields[k], fn) if k in spec.fields else v for k, v in value.items()}
    return value

