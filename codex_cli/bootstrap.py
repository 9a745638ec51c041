"""Wiring a Session from a Config: credentials, model client, sandbox, tools and the thread's first context."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from codex_cli import shell
from codex_cli.auth import resolve_credentials
from codex_cli.config import CHATGPT_CODEX_BASE_URL, OPENAI_API_BASE_URL, Config
from codex_cli.model import ModelClient, ProviderSettings
from codex_cli.project_doc import PermissionsContext, environment_context, load_agents_doc, permissions_instructions
from codex_cli.protocol import Event
from codex_cli.session import RequestSettings, Session, new_thread_id, text_message
from codex_cli.tools import ToolRunner, ToolSettings

__all__ = ["SessionBundle", "base_instructions", "build_session", "writable_roots"]

_REASONING_FAMILIES = ("gpt-5", "o1", "o3", "o4", "codex-")


@dataclass(frozen=True)
class SessionBundle:
    """A ready session plus what the front end shows before the first turn."""

    session: Session
    warnings: tuple[str, ...]


def base_instructions(config: Config) -> str:
    """The first developer message: configured instructions, else our own."""
    if config.base_instructions:
        return config.base_instructions
    return resources.files("codex_cli").joinpath("instructions.md").read_text(encoding="utf-8")


def writable_roots(config: Config) -> tuple[Path, ...]:
    """cwd first, then --add-dir paths and configured writable roots, without duplicates."""
    roots: list[Path] = [config.cwd]
    for root in (*config.add_dirs, *config.sandbox_workspace_write.writable_roots):
        resolved = Path(root).expanduser().resolve()
        if resolved not in roots:
            roots.append(resolved)
    return tuple(roots)


def _provider_settings(config: Config, env: Mapping[str, str]) -> ProviderSettings:
    info = config.model_provider
    credentials = resolve_credentials(
        codex_home=config.codex_home,
        env=env,
        env_key=info.env_key,
        env_key_instructions=info.env_key_instructions,
        requires_openai_auth=info.requires_openai_auth,
    )
    headers = dict(info.http_headers)
    for header, variable in info.env_http_headers.items():
        value = env.get(variable, "").strip()
        if value:
            headers[header] = value
    base_url = info.base_url or OPENAI_API_BASE_URL
    if credentials.is_chatgpt and info.id == "openai" and info.base_url is None:
        base_url = CHATGPT_CODEX_BASE_URL
        if credentials.chatgpt_account_id:
            headers["chatgpt-account-id"] = credentials.chatgpt_account_id
    return ProviderSettings(
        base_url=base_url,
        query_params=dict(info.query_params),
        headers=headers,
        bearer_token=credentials.bearer_token,
        request_max_retries=info.request_max_retries,
        stream_max_retries=info.stream_max_retries,
        stream_idle_timeout_ms=info.stream_idle_timeout_ms,
        name=info.name,
    )


def _request_settings(config: Config, output_schema: object | None) -> RequestSettings:
    model = config.model
    is_reasoning_model = model.startswith(_REASONING_FAMILIES)
    reasoning: dict[str, str] | None = None
    effort = config.model_reasoning_effort
    summary = config.model_reasoning_summary
    if is_reasoning_model or effort or (summary and summary != "none"):
        reasoning = {}
        if effort or is_reasoning_model:
            reasoning["effort"] = effort or "medium"
        if summary and summary != "none":
            reasoning["summary"] = summary
    text: dict[str, object] = {}
    if config.model_verbosity and model.startswith("gpt-5"):
        text["verbosity"] = config.model_verbosity
    if output_schema is not None:
        text["format"] = {"type": "json_schema", "strict": True, "schema": output_schema, "name": "codex_output_schema"}
    return RequestSettings(model=model, reasoning=reasoning, text=text or None)


def _initial_context(config: Config, permissions: PermissionsContext) -> tuple[list[dict[str, object]], list[str]]:
    developer_parts = [p for p in (config.developer_instructions, permissions_instructions(permissions)) if p]
    agents = load_agents_doc(
        config.codex_home,
        config.cwd,
        max_bytes=config.project_doc_max_bytes,
        fallback_filenames=config.project_doc_fallback_filenames,
    )
    user_parts = [agents.text] if agents.text else []
    user_parts.append(environment_context(permissions, shell.default_shell_name()))
    items = [
        text_message("developer", base_instructions(config)),
        text_message("developer", *developer_parts),
        text_message("user", *user_parts),
    ]
    return items, list(agents.warnings)


def _prepare_sandbox(config: Config, env: Mapping[str, str]) -> tuple[object | None, list[str]]:
    if config.sandbox_mode == "danger-full-access":
        return None, []
    from codex_cli import sandbox

    policy = sandbox.SandboxPolicy.from_config(
        config.sandbox_mode,
        config.cwd,
        writable_roots=config.sandbox_workspace_write.writable_roots,
        network_access=config.sandbox_workspace_write.network_access,
        exclude_tmpdir_env_var=config.sandbox_workspace_write.exclude_tmpdir_env_var,
        exclude_slash_tmp=config.sandbox_workspace_write.exclude_slash_tmp,
        add_dirs=config.add_dirs,
        codex_home=config.codex_home,
    )
    prepared = sandbox.prepare(policy, env)
    return prepared, list(prepared.warnings)


def build_session(
    config: Config,
    *,
    originator: str,
    emit: Callable[[Event], None],
    output_schema: object | None = None,
    env: Mapping[str, str] | None = None,
) -> SessionBundle:
    """Everything a turn needs, checked up front so that bad credentials fail before any request."""
    env = dict(os.environ) if env is None else env
    provider = _provider_settings(config, env)
    thread_id = new_thread_id()
    roots = writable_roots(config)
    swr = config.sandbox_workspace_write
    permissions = PermissionsContext(
        sandbox_mode=config.sandbox_mode,
        approval_policy=config.approval_policy,
        network_access=swr.network_access,
        cwd=config.cwd,
        writable_roots=roots,
        include_tmp=not swr.exclude_slash_tmp,
    )
    prepared, sandbox_warnings = _prepare_sandbox(config, env)
    policy = config.shell_environment_policy
    tools = ToolRunner(
        ToolSettings(
            sandbox_mode=config.sandbox_mode,
            writable_roots=roots,
            env_policy=shell.EnvPolicy(
                inherit=policy.inherit,
                ignore_default_excludes=policy.ignore_default_excludes,
                exclude=tuple(policy.exclude),
                include_only=tuple(policy.include_only),
                set=dict(policy.set),
            ),
            base_env=env,
            network_access=swr.network_access,
            update_plan_enabled=config.update_plan_enabled,
            sandbox=prepared,  # type: ignore[arg-type]
        )
    )
    history, warnings = _initial_context(config, permissions)
    session = Session(
        thread_id=thread_id,
        model=ModelClient(provider, thread_id=thread_id, originator=originator),
        tools=tools,
        request=_request_settings(config, output_schema),
        cwd=config.cwd,
        emit=emit,
        history=history,
    )
    return SessionBundle(session, (*config.warnings, *sandbox_warnings, *warnings))
