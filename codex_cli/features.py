"""The feature-flag registry: every `[features]` name codex-rs 0.169 knows with its stage and default, the ones
this implementation acts on, the deprecated aliases, and resolving a merged `[features]` table into the enabled
set.
"""

from __future__ import annotations

from collections.abc import Mapping

from codex_cli.records import Record
from codex_cli.toml_doc import get_in

__all__ = [
    "FEATURES",
    "FEATURE_ALIASES",
    "IMPLEMENTED_FEATURES",
    "FeatureSpec",
    "resolve_features",
]


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

