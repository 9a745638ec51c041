"""The config.toml key schema: every known key with its type and allowed values, the feature-flag registry
and its resolution, the walkers that check a parsed document against the schema, the small helpers that
merge and address TOML documents, and a scanner that finds where each key sits in a TOML text (tomllib
gives no positions, and every config message names file:line:col).

`config.py` owns finding, reading and layering files; this module only describes, checks and locates
keys. Nothing here reads files or the environment.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias

from codex_cli.protocol import APPROVAL_POLICIES, SANDBOX_MODES
from codex_cli.records import Record, field

__all__ = [
    "FEATURES",
    "FEATURE_ALIASES",
    "IMPLEMENTED_FEATURES",
    "PROFILE_SCHEMA",
    "PROJECT_DENYLIST",
    "TOP_SCHEMA",
    "Anything",
    "Choice",
    "Either",
    "FeatureSpec",
    "KeyPath",
    "KeySpot",
    "ListOf",
    "MapOf",
    "Scalar",
    "SchemaIssue",
    "Spec",
    "Table",
    "bool_at",
    "check_types",
    "describe_value",
    "dotted",
    "expected_text",
    "find_unknown_keys",
    "get_in",
    "int_at",
    "int_or",
    "map_path_values",
    "merge",
    "parse_toml",
    "resolve_features",
    "scan_key_spots",
    "set_nested",
    "snippet",
    "str_at",
    "str_map_at",
    "strs_at",
    "syntax_error_position",
]

KeyPath: TypeAlias = tuple[str | int, ...]


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
# Feature registry (codex-rs 0.169 `features list`, grouped by stage and default)


class FeatureSpec(Record):
    """One feature flag: its lifecycle stage and its default state."""

    stage: str
    default: bool

    @property
    def is_pinned_off(self) -> bool:
        """Removed features that default to off stay off even when enabled."""
        return self.stage == "removed" and not self.default


# fmt: off
_FEATURE_GROUPS: tuple[tuple[tuple[str, bool], str], ...] = (
    (("stable", True), """
        api_key_cyber_access_programs api_key_model_discovery apps auth_elicitation bedrock_setup_wizard
        browser_annotation_api browser_use browser_use_external browser_use_full_cdp_access cli_daybreak
        code_mode_host code_mode_host_grpc code_mode_host_output_truncation code_mode_interrupt
        compaction_image_budget computer_use content_item_kinds daemon_auto_start deferred_tool_world_state
        enable_request_compression fast_mode goals guardian_approval guardian_include_additional_context
        guardian_reuse_parent_compaction hooks image_generation in_app_browser in_app_chat in_app_dictation
        in_app_local_automation in_app_updates in_app_voice incremental_tools incremental_tools_legacy_gcp
        mcp_oauth_refresh_coordination mentions_v2 plugin_sharing plugins prediction_preserve_parent_tools
        reasoning_effort_override remote_plugin retain_client_tool_outputs shell_snapshot shell_tool
        skill_mcp_dependency_install skill_search sleep_tool system_proxy_fallback tool_call_mcp_elicitation
        tool_suggest ultrafast_mode unbounded_connection_retries unified_exec unified_exec_tty
        unified_image_budget untrusted_as_tool_output view_image workspace_dependencies write_stdin_approval
    """),
    (("stable", False), """
        gateway_setup_wizard gcp_setup_wizard incremental_tools_legacy memories multi_agent_v2
        recommended_plugins secret_auth_storage suppress_model_change_announcements
    """),
    (("experimental", False), """
        analytics_plan_history login_shell_package_path network_proxy prevent_idle_sleep respect_system_proxy
    """),
    (("deprecated", True), "multi_agent"),
    (("deprecated", False), "use_legacy_landlock web_search_cached web_search_request"),
    (("under development", True), "instant_interrupt"),
    (("under development", False), """
        agent_message_board agent_message_board_mcp app_server_websocket_compression
        apply_patch_streaming_events apps_early_resource_discovery artifact async_compaction
        async_compaction_root_only background_paginated_rollout_migration chronicle cli_resume_account_check
        code_mode code_mode_only code_mode_only_strict_3p_tools code_mode_prewarm code_mode_tool_search
        codex_apps_mcp_2026_07_28 command_sessions_world_state concurrent_reasoning_summaries
        context_management credential_masking critical_path_timing current_time_reminder
        cwd_relative_turn_diffs daybreak_program_propagation default_mode_request_user_input
        defer_mailbox_preemption deferred_executor enable_mcp_apps exec_permission_approvals
        executed_tool_call_metadata executor_capability_discovery executor_capability_discovery_v2
        external_agent_memory_import guardian_conversation_history_tools guardian_denial_reconsideration
        guardian_enhanced_node_repl_transcripts guardian_native_multi_agent_history
        guardian_node_repl_transcript_images guardian_recorded_items guardian_root_handoff_context
        guardian_trust_orchestrator_connectors guardianv2 guardianv2_decisions_comparison guardianv3
        hosted_search_policy image_generation_animation image_resize_notice incremental_exec_tools
        interrupt_on_cancel local_thread_store_compression mcp_2026_07_28 mcp_connection_sharing
        mcp_lazy_stdio_startup mcp_tool_list_changed model_catalog_in_context multi_agent_v2_dynamic_tools
        multi_env_copy_file non_prefixed_mcp_tool_names nonfatal_clock_read_errors
        omit_app_server_notification_media omit_skill_descriptions output_token_replay
        powershell_shell_version prefer_mxc psp request_permissions_tool retain_client_developer_messages
        rollout_budget runtime_agent_instances runtime_metrics send_message_to_user_async shell_snapshot_v2
        simplified_selection_hints skill_catalog_deltas skip_host_skill_discovery standalone_web_search
        step_model_switching subagent_default_context_limits subagent_thread_environments
        terminal_visualization_instructions token_budget tui_extensions_statusline tui_multi_backend
        tui_workspace use_agent_identity use_xaa wake_on_agent_messages windows_sandbox_service
    """),
    (("removed", True), """
        collaboration_modes item_ids realtime_conversation resize_all_images sqlite steer
        terminal_resize_reflow tool_search_always_defer_mcp_tools tui_app_server worktrees
    """),
    (("removed", False), """
        apply_patch_freeform apply_patch_preserve_line_endings apps_mcp_path_override code_mode_buffered_exec
        code_mode_tool_description_first codex_git_commit elevated_windows_sandbox enable_fanout
        experimental_windows_sandbox external_migration guardian_ext guardianv2.thread_context
        image_detail_original js_repl js_repl_tools_only local_thread_store_shared_compression
        multi_agent_mode personality plugin_discovery_prefetch plugin_hooks remote_compaction_v2
        remote_control remote_models request_rule responses_websockets responses_websockets_v2 search_tool
        send_async_message shell_zsh_fork skill_env_var_dependency_prompt stable_environment_tools
        tool_search transcript_v2 unavailable_dummy_tools undo unified_exec_zsh_fork use_linux_sandbox_bwrap
        workspace_owner_usage_nudge
    """),
)
# fmt: on


def _feature_table() -> dict[str, FeatureSpec]:
    table: dict[str, FeatureSpec] = {}
    for (stage, default), names in _FEATURE_GROUPS:
        # One frozen spec shared by the group's names: this table is built at every start.
        table.update(dict.fromkeys(names.split(), FeatureSpec(stage, default)))
    return dict(sorted(table.items()))


FEATURES: Mapping[str, FeatureSpec] = _feature_table()
"""Every known feature name → stage and default, sorted as `codex features list` prints them."""

IMPLEMENTED_FEATURES: frozenset[str] = frozenset({
    "hooks",  # hook_config: lifecycle hooks run
    "shell_snapshot",  # bootstrap -> ToolSettings: login-shell commands source a per-session snapshot
    "shell_tool",  # bootstrap -> ToolSettings: exec_command and write_stdin are offered
    "view_image",  # bootstrap -> ToolSettings: view_image is offered
})
"""The features whose state changes what this implementation does. The other names of `FEATURES` are accepted (a
config.toml shared with codex-rs keeps loading) and change nothing: `codex features list` shows them apart."""

FEATURE_ALIASES: Mapping[str, str] = {
    "codex_hooks": "hooks",
    "collab": "multi_agent",
    "connectors": "apps",
    "experimental_use_unified_exec_tool": "unified_exec",
}
"""Deprecated feature names that still set the new name (with a notice)."""


def resolve_features(table: object) -> tuple[frozenset[str], list[str]]:
    """Enabled feature names after a merged `[features]` table (aliases first, so the new names win), and
    the deprecation notices to print."""
    state = {name: spec.default for name, spec in FEATURES.items()}
    items = table.items() if isinstance(table, dict) else ()
    notes: list[str] = []
    for name, value in sorted(items, key=lambda item: item[0] not in FEATURE_ALIASES):
        enabled = value if isinstance(value, bool) else get_in(value, "enabled") is not False
        if name in ("web_search_request", "web_search_cached"):
            notes.append(
                f"`[features].{name}` is deprecated because web search is enabled by default.\n"
                'Set `web_search` to `"live"`, `"indexed"`, `"cached"`, or `"disabled"` at the top level '
                "(or under a profile) in config.toml if you want to override it."
            )
            continue
        if name in FEATURE_ALIASES:
            new = FEATURE_ALIASES[name]
            notes.append(
                f"`[features].{name}` is deprecated. Use `[features].{new}` instead.\n"
                f"Enable it with `--enable {new}` or `[features].{new}` in config.toml. See "
                "https://developers.openai.com/codex/config-basic#feature-flags for details."
            )
            name = new
        if name in state:
            state[name] = bool(enabled) and not FEATURES[name].is_pinned_off
    return frozenset(name for name, on in state.items() if on), notes


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
        return f"string {_json_string(value)}"
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


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def parse_toml(text: str) -> dict[str, object]:
    """A TOML document as tables; `ValueError` (tomllib's `TOMLDecodeError`) when its syntax is wrong.

    tomllib is imported here, on first use: with its `datetime` and regular expressions it is a few ms of every
    start, and a start without config.toml or `-c` (`codex sandbox` in a fresh home) never parses TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]
    doc: dict[str, object] = tomllib.loads(text)
    return doc


def _json_string(text: str) -> str:
    import json  # on use, like tomllib (see parse_toml); only messages quote keys and values

    return json.dumps(text, ensure_ascii=False)


def dotted(path: KeyPath) -> str:
    """`('projects', '/tmp/x', 'trust_level')` → `projects."/tmp/x".trust_level`; list indices as `[i]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else _json_string(part)
        text += f".{name}" if text else name
    return text


def get_in(doc: object, *path: str) -> object | None:
    """The value at `path` inside nested tables, or None."""
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def merge(base: dict[str, object], over: dict[str, object]) -> dict[str, object]:
    """A new table: tables merge key by key; anything else in `over` replaces."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def set_nested(doc: dict[str, object], path: list[str], value: object) -> None:
    """Set `path` in `doc`, creating (or replacing non-table) intermediate tables; a table value merges."""
    for part in path[:-1]:
        child = doc.get(part)
        if not isinstance(child, dict):
            child = doc[part] = {}
        doc = child
    old = doc.get(path[-1])
    doc[path[-1]] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value


def str_at(doc: object, *path: str) -> str | None:
    """The string at `path`, or None (these typed readers assume a document that passed `check_types`)."""
    value = get_in(doc, *path)
    return value if isinstance(value, str) else None


def bool_at(doc: object, *path: str, default: bool) -> bool:
    value = get_in(doc, *path)
    return value if isinstance(value, bool) else default


def int_at(doc: object, *path: str) -> int | None:
    value = get_in(doc, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def int_or(doc: object, key: str, default: int) -> int:
    value = int_at(doc, key)
    return default if value is None else value


def strs_at(doc: object, *path: str) -> tuple[str, ...] | None:
    value = get_in(doc, *path)
    return tuple(str(item) for item in value) if isinstance(value, list) else None


def str_map_at(doc: object, *path: str) -> Mapping[str, str]:
    value = get_in(doc, *path)
    return MappingProxyType({str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {})


def snippet(text: str, line: int, col: int, length: int) -> str:
    """The three-line caret excerpt that follows a `path:line:col: message` line."""
    lines = text.split("\n")
    source = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    pad = " " * len(str(line))
    return f"{pad} |\n{line} | {source}\n{pad} | {' ' * (col - 1)}{'^' * max(length, 1)}"


# ----------------------------------------------------------------------------------------------------------
# Key positions in TOML text


class KeySpot(Record):
    """Where a key (or an array item) and its value start, 1-based, with their lengths on that line."""

    line: int
    col: int
    length: int
    value_line: int = 0
    value_col: int = 0
    value_length: int = 0


class _Scanner(Record, frozen=False):
    """A forgiving TOML reader that only records positions; run it on text tomllib already accepted."""

    text: str
    pos: int = 0
    line: int = 1
    line_start: int = 0
    spots: dict[KeyPath, KeySpot] = field(default_factory=dict)
    aot: dict[KeyPath, int] = field(default_factory=dict)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def col(self) -> int:
        return self.pos - self.line_start + 1

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.pos < len(self.text) and self.text[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.advance()
            elif newlines and ch == "#":
                self.skip_line()
            else:
                return

    def skip_line(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] != "\n":
            self.pos += 1

    def run(self) -> dict[KeyPath, KeySpot]:
        table: KeyPath = ()
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                break
            start = self.pos
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)
            self.skip_blank(newlines=False)
            if self.peek() == "#":
                self.skip_line()
            if self.pos == start:  # never loop on text this reader does not understand
                self.skip_line()
        return self.spots

    def key_parts(self) -> list[tuple[str, int, int, int]]:
        parts: list[tuple[str, int, int, int]] = []
        while True:
            self.skip_blank(newlines=False)
            line, col, start = self.line, self.col(), self.pos
            if self.peek() in ('"', "'"):
                name = self.string_value()
            else:
                while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_-"):
                    self.pos += 1
                name = self.text[start : self.pos]
            parts.append((name, line, col, self.pos - start))
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def record(self, path: KeyPath, line: int, col: int, length: int, *, overwrite: bool) -> None:
        if overwrite or path not in self.spots:
            self.spots[path] = KeySpot(line, col, length)

    def header(self) -> KeyPath:
        is_array = self.peek(2) == "[["
        self.advance(2 if is_array else 1)
        parts = self.key_parts()
        self.advance(2 if is_array else 1)
        resolved: list[str | int] = []
        for i, (name, line, col, length) in enumerate(parts):
            resolved.append(name)
            here = tuple(resolved)
            self.record(here, line, col, length, overwrite=False)
            if is_array and i == len(parts) - 1:
                index = self.aot.get(here, -1) + 1
                self.aot[here] = index
                resolved.append(index)
                self.record(tuple(resolved), line, col, length, overwrite=True)
            elif here in self.aot:
                resolved.append(self.aot[here])
        return tuple(resolved)

    def key_value(self, table: KeyPath) -> None:
        parts = self.key_parts()
        path = table
        for name, line, col, length in parts:
            path = (*path, name)
            self.record(path, line, col, length, overwrite=False)
        self.skip_blank(newlines=False)
        if self.peek() != "=":
            return
        self.advance()
        self.skip_blank(newlines=False)
        self.value_with_spot(path, key=self.spots[path])

    def value_with_spot(self, path: KeyPath, key: KeySpot | None) -> None:
        line, col, start = self.line, self.col(), self.pos
        self.value(path)
        length = (self.pos - start) if self.line == line else len(self.text[start:].split("\n", 1)[0])
        if key is None:
            self.spots[path] = KeySpot(line, col, max(length, 1), line, col, max(length, 1))
        else:
            self.spots[path] = KeySpot(key.line, key.col, key.length, line, col, max(length, 1))

    def value(self, path: KeyPath) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.string_value()
        elif ch == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(self.text) or self.peek() == "]":
                    break
                self.value_with_spot((*path, index), key=None)
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
            self.advance()
        elif ch == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(self.text) or self.peek() == "}":
                    break
                self.key_value(path)
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
            self.advance()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            while self.pos > 0 and self.text[self.pos - 1] in " \t":
                self.pos -= 1

    def string_value(self) -> str:
        quote = self.peek()
        delim = quote * 3 if self.peek(3) == quote * 3 else quote
        self.advance(len(delim))
        start = self.pos
        while self.pos < len(self.text) and self.peek(len(delim)) != delim:
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        raw = self.text[start : self.pos]
        self.advance(len(delim))
        while len(delim) == 3 and self.peek() == quote:  # `"""a""""` ends with quotes inside the string
            self.advance()
        if quote == "'":
            return raw
        import json  # on use, like tomllib (see parse_toml)

        try:
            decoded = json.loads(f'"{raw}"')
        except ValueError:
            return raw
        return decoded if isinstance(decoded, str) else raw


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def syntax_error_position(text: str, message: str) -> tuple[int, int, str]:
    """Line, column and bare message of a tomllib error; "at end of document" points just after the last
    non-blank character (where the unclosed array or string started to be missed)."""
    at = _TOML_AT.search(message)
    if at is not None:
        line, col, message = int(at.group(1)), int(at.group(2)), message[: at.start()]
    else:
        stripped = text.rstrip()
        line = stripped.count("\n") + 1
        col = len(stripped) - (stripped.rfind("\n") + 1) + 1
        message = _TOML_END.sub("", message)
    return line, col, message[:1].lower() + message[1:]


def scan_key_spots(text: str) -> dict[KeyPath, KeySpot]:
    """Map every key path (tables, dotted keys, inline tables, array items) in valid TOML to its position."""
    return _Scanner(text).run()
