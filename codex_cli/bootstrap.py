"""Wiring a Session from a Config: credentials, model client, sandbox, tools and the thread's first context."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli import execpolicy, safety, shell, skills
from codex_cli.auth import credentials_for_config
from codex_cli.compaction import COMPACT_PROMPT, auto_compact_limit
from codex_cli.config import CHATGPT_CODEX_BASE_URL, OPENAI_API_BASE_URL, Config
from codex_cli.errors import NetworkError
from codex_cli.model import ProviderSettings, ResponsesClient
from codex_cli.model_family import find_family, request_shape, tool_output_budget
from codex_cli.project_doc import (
    AgentsDoc,
    PermissionsContext,
    agents_doc_update,
    environment_context,
    environment_context_update,
    environments_state,
    file_system_sandbox_policy,
    load_agents_doc,
    permission_profile,
    permissions_instructions,
    sandbox_policy,
)
from codex_cli.protocol import ErrorNotice, Event, WarningNotice
from codex_cli.records import Record
from codex_cli.response_items import ResponseItem, text_message
from codex_cli.rollout import apply_merge_patch, is_context_item, merge_patch, world_state_fingerprint
from codex_cli.session import ContextSettings, RequestSettings, Session, new_thread_id
from codex_cli.tools import ToolRunner, ToolSettings, web_search_spec
from codex_cli.version import VERSION

if TYPE_CHECKING:
    from codex_cli.hooks import HookEngine
    from codex_cli.mcp_client import McpConnectionManager
    from codex_cli.rollout import ResumedThread, RolloutRecorder

__all__ = [
    "SessionBundle", "ThreadStart", "base_instructions", "build_session", "context_window", "prompt_input",
    "writable_roots",
]

_LOCAL_PROVIDERS = {
    "ollama": "Start Ollama (`ollama serve`) and pull the model (`ollama pull {model}`)",
    "lmstudio": "Start LM Studio's local server (`lms server start`) and load the model ({model})",
}
_PROBE_SECONDS = 1.5  # `--oss` must name the URL within 2 s when nothing listens


class SessionBundle(Record):
    """A ready session and where it is recorded."""

    session: Session
    rollout_path: Path | None = None


class ThreadStart(Record):
    """How the thread begins: new, resumed from a rollout (same id, same file) or forked from one (new id)."""

    resumed: ResumedThread | None = None
    fork: bool = False
    ephemeral: bool = False  # no rollout file at all
    source: str = "exec"
    thread_source: str = "user"  # recorded in a new (or forked) thread's session_meta


def _base_instructions_message(text: str, thread_id: str) -> dict[str, object]:
    """The first developer message; its id is derived from the thread so that a resume re-sends it unchanged."""
    import uuid

    message = text_message("developer", text)
    message["id"] = f"msg_{uuid.uuid5(uuid.NAMESPACE_URL, f'codex-base-instructions:{thread_id}')}"
    return message


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
    credentials = credentials_for_config(config, env)
    headers = dict(info.http_headers)
    for header, variable in info.env_http_headers.items():
        value = env.get(variable, "").strip()
        if value:
            headers[header] = value
    base_url = info.base_url or OPENAI_API_BASE_URL
    if credentials.is_chatgpt and info.id == "openai" and info.base_url is None:
        base_url = CHATGPT_CODEX_BASE_URL
    if credentials.is_chatgpt and credentials.chatgpt_account_id:
        headers["chatgpt-account-id"] = credentials.chatgpt_account_id
    return ProviderSettings(
        base_url=base_url,
        query_params=dict(info.query_params),
        headers=headers,
        bearer_token=credentials.bearer_token,
        auth=credentials.auth,
        request_max_retries=info.request_max_retries,
        stream_max_retries=info.stream_max_retries,
        stream_idle_timeout_ms=info.stream_idle_timeout_ms,
        name=info.name,
    )


def _request_settings(config: Config, output_schema: object | None) -> RequestSettings:
    """`reasoning` and `text` from the config and the model family table (model_family.py)."""
    shape = request_shape(
        config.model,
        effort=config.model_reasoning_effort,
        summary=config.model_reasoning_summary,
        verbosity=config.model_verbosity,
    )
    text: dict[str, object] = {}
    if shape.verbosity:
        text["verbosity"] = shape.verbosity
    if output_schema is not None:
        text["format"] = {"type": "json_schema", "strict": True, "schema": output_schema, "name": "codex_output_schema"}
    return RequestSettings(model=config.model, reasoning=shape.reasoning, text=text or None)


def context_window(config: Config) -> int:
    """The context window compaction works with (and the line UI's context-left figure shows):
    `model_context_window`, else the model family's window."""
    configured = config.model_context_window
    return configured if configured and configured > 0 else find_family(config.model).context_window


def _model_client(
    config: Config, provider: ProviderSettings, thread_id: str, originator: str, client: tuple[str, str] | None
) -> ResponsesClient:
    """The client for the provider's wire API: Responses, or Chat Completions (`wire_api = "chat"`)."""
    if config.model_provider.wire_api == "chat":
        from codex_cli.chat_wire import ChatClient

        return ChatClient(provider, thread_id=thread_id, originator=originator, client=client)
    return ResponsesClient(provider, thread_id=thread_id, originator=originator, client=client)


def _check_local_server(config: Config, provider: ProviderSettings) -> None:
    """With `--oss`, fail at once, naming the URL, when nothing listens where the local server should be."""
    if not config.oss:
        return
    import socket
    from urllib.parse import urlsplit

    base = provider.base_url.rstrip("/")
    parts = urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "localhost", port), timeout=_PROBE_SECONDS).close()
    except OSError as exc:
        start = _LOCAL_PROVIDERS.get(config.model_provider_id, "Start the local model server")
        raise NetworkError(
            f"No local model server is answering at {base} (--oss uses the `{config.model_provider_id}` provider).",
            f"{start.format(model=config.model)}, choose another with --local-provider, or set CODEX_OSS_BASE_URL.",
        ) from exc


class _ThreadContext:
    """The thread's context messages, and what changed since they were last sent (sessions.md §6.3, exec.md §9.3).

    What the model was told is kept as codex-rs 0.169 keeps it, in the rollout's `world_state` sections (`agents_md`,
    `environments`, `permissions`, skills...), so that either CLI resumes the other's thread as its own: a section
    that still matches is not sent again, and only the sections sent again are recorded again (a merge patch)."""

    def __init__(self, config: Config, permissions: PermissionsContext, resumed: ResumedThread | None) -> None:
        self.config, self.permissions = config, permissions
        self.recorder: RolloutRecorder | None = None
        self.warnings: list[str] = []
        self.state: ResponseItem = {}  # the world_state sections as last recorded
        # A new thread's first context, recorded when its first turn starts.
        self.initial: list[ResponseItem] | None = None
        self.cwd: str | None = None  # older rollouts without `environments`: the cwd last sent
        self.sandbox: Mapping[str, object] | None = None  # ... and the sandbox policy
        self.permission_values: tuple[object, object] | None = None  # (approval policy, permission profile) last sent
        self.agents: str | None = None  # AGENTS.md body last sent; None when unknown
        self.skills = skills.LoadedSkills((), (), ())  # as last scanned: `$name` mentions are looked up here
        self.skills_body: str | None = None  # the skills message body last sent ("": none); None: nothing sent yet
        if resumed is not None:
            self.state = dict(resumed.world_state)
            self.cwd = resumed.last_cwd or resumed.meta.cwd or None
            self.sandbox = resumed.last_sandbox_policy
            last = resumed.last_turn_context
            if "permission_profile" in last:
                self.permission_values = (last.get("approval_policy"), last.get("permission_profile"))
            agents_state = resumed.world_state.get("agents_md")
            if isinstance(agents_state, dict):
                text = agents_state.get("text")
                self.agents = text if isinstance(text, str) else ""
            # As codex-rs does, a thread whose recorded skills body differs (or is missing) gets the current list.
            host_skills = resumed.world_state.get("host_skills")
            self.skills_body = str(host_skills.get("body") or "") if isinstance(host_skills, dict) else ""

    def _agents_doc(self) -> AgentsDoc:
        config = self.config
        doc = load_agents_doc(
            config.codex_home,
            config.cwd,
            max_bytes=config.project_doc_max_bytes,
            fallback_filenames=config.project_doc_fallback_filenames,
            root_markers=config.project_root_markers,
        )
        self.warnings.extend(w for w in doc.warnings if w not in self.warnings)
        return doc

    def _skills(self) -> skills.SkillsMessage:
        self.skills = skills.skills_for_config(self.config)
        message = skills.render_skills(self.skills, context_window(self.config))
        notes = [*self.skills.warnings, *([message.warning] if message.warning else [])]
        self.warnings.extend(w for w in notes if w not in self.warnings)
        self.skills_body = message.body
        return message

    def _skills_state(self, message: skills.SkillsMessage) -> ResponseItem:
        """The world_state keys codex-rs compares on resume to decide whether to send the skills again."""
        include = self.skills.include_instructions
        host: ResponseItem = {"body": message.body} if message.body else {}
        return {"host_skills": {**host, "includeInstructions": include}, "skills": {"includeInstructions": include}}

    def skill_mentions(self, user_items: list[ResponseItem]) -> list[ResponseItem]:
        """The `<skill>` messages of the skills a prompt names (`$name`), to follow it."""
        return skills.mention_items(user_items, self.skills)

    def _remember(self, doc: AgentsDoc) -> None:
        self.cwd, self.sandbox, self.agents = str(self.config.cwd), sandbox_policy(self.permissions), doc.body
        self.permission_values = self._permission_values()

    def _permission_values(self) -> tuple[object, object]:
        return self.permissions.approval_policy, permission_profile(self.permissions)

    def _environments(self) -> ResponseItem:
        return environments_state(self.permissions, shell.default_shell_name())

    def _agents_state(self, doc: AgentsDoc) -> ResponseItem:
        return {"directory": str(self.config.cwd), "text": doc.body} if doc.body else {}

    def _permissions_state(self) -> ResponseItem:
        fingerprint = world_state_fingerprint("developer", permissions_instructions(self.permissions))
        return {"instructions": fingerprint, "approved_command_prefixes": []}

    def _full_state(self, doc: AgentsDoc, listed: skills.SkillsMessage) -> ResponseItem:
        # `tools` lists the deferred tool namespaces announced in a `<tools>` message: we announce none.
        state = {
            "agents_md": self._agents_state(doc),
            "environments": self._environments(),
            "model": self.config.model,
            "permissions": self._permissions_state(),
            "realtime": {"active": False},
            "tools": {},
            **self._skills_state(listed),
        }
        return dict(sorted(state.items()))  # codex-rs writes its sections sorted

    def _record(self, sections: ResponseItem) -> None:
        """Record the sections sent again, as a merge patch over what the rollout already holds."""
        patch = {key: change for key, value in sections.items()
                 if (change := merge_patch(self.state.get(key), value)) is not None}  # fmt: skip
        if patch:
            self.state = apply_merge_patch(self.state, patch)
            if self.recorder is not None:
                self.recorder.record_world_state(patch, full=False)

    def fresh(self) -> list[ResponseItem]:
        """The developer and user context messages of a new window."""
        doc = self._agents_doc()
        permissions = permissions_instructions(self.permissions)
        listed = self._skills()
        developer_parts = [p for p in (self.config.developer_instructions, listed.text, permissions) if p]
        user_parts = [doc.text] if doc.text else []
        user_parts.append(environment_context(self.permissions, shell.default_shell_name()))
        self._remember(doc)
        self.state, self.initial = self._full_state(doc, listed), None
        if self.recorder is not None:
            self.recorder.record_world_state(self.state, full=True)
        return [text_message("developer", *developer_parts), text_message("user", *user_parts)]

    def _permissions_changed(self) -> bool:
        if self.permission_values is not None:
            return self.permission_values != self._permission_values()
        if self.sandbox is None:  # nothing known about what was sent
            return False
        current = sandbox_policy(self.permissions)  # an older rollout of ours: the sandbox policy only
        keys = ("type", "network_access")
        return [self.sandbox.get(k) or False for k in keys] != [current.get(k) or False for k in keys]

    def _environment_message(self, now: ResponseItem, permissions_changed: bool) -> str | None:
        """The `<environment_context>` to send again, when what the last one said is out of date: the whole block
        after a cwd change, else date, timezone and filesystem when one of those changed."""
        before = self.state.get("environments")
        if isinstance(before, dict):
            cwd_changed = _local_cwd(before) != _local_cwd(now)
            other_changed = any(before.get(k) != now.get(k) for k in ("current_date", "timezone", "filesystem"))
        else:  # an older rollout of ours, without `environments`
            cwd_changed = self.cwd is not None and self.cwd != str(self.config.cwd)
            other_changed = permissions_changed
        if cwd_changed:
            return environment_context(self.permissions, shell.default_shell_name())
        return environment_context_update(self.permissions) if other_changed else None

    def updates(self) -> list[ResponseItem]:
        """Messages for what changed since the context was last sent: skills, permissions, environment, AGENTS.md."""
        if self.initial is not None and self.recorder is not None:  # the new thread's first turn has started
            self.recorder.record_items(self.initial)
            self.recorder.record_world_state(self.state, full=True)
        self.initial = None
        doc = self._agents_doc()
        items: list[ResponseItem] = []
        changed: ResponseItem = {}
        sent_skills = self.skills_body
        listed = self._skills()
        if sent_skills is not None and sent_skills != listed.body:
            items.append(text_message("developer", skills.skills_update_message(listed)))
            changed.update(self._skills_state(listed))
        permissions_changed = self._permissions_changed()
        if permissions_changed:
            items.append(text_message("developer", permissions_instructions(self.permissions)))
            changed["permissions"] = self._permissions_state()
        environments = self._environments()
        environment = self._environment_message(environments, permissions_changed)
        if environment is not None:
            items.append(text_message("user", environment))
            changed["environments"] = environments
        if self.agents is not None and self.agents != doc.body:
            items.append(text_message("user", agents_doc_update(doc, self.config.cwd)))
            changed["agents_md"] = self._agents_state(doc)
        self._record(changed)
        self._remember(doc)
        return items


def _local_cwd(environments: Mapping[str, object]) -> object:
    """The cwd of the local environment in a world_state `environments` section."""
    table = environments.get("environments")
    local = table.get("local") if isinstance(table, dict) else None
    return local.get("cwd") if isinstance(local, dict) else None


def _context_settings(config: Config, context: _ThreadContext) -> ContextSettings:
    prompt = config.raw.get("compact_prompt")
    prompt_file = config.raw.get("experimental_compact_prompt_file")
    if not isinstance(prompt, str) and isinstance(prompt_file, str):
        try:
            prompt = Path(prompt_file).expanduser().read_text(encoding="utf-8")
        except OSError:
            prompt = None
    return ContextSettings(
        auto_compact_limit=auto_compact_limit(context_window(config), config.model_auto_compact_token_limit),
        compact_prompt=prompt if isinstance(prompt, str) and prompt.strip() else COMPACT_PROMPT,
        fresh_context=context.fresh,
        skill_mentions=context.skill_mentions,
        turn_updates=context.updates,
    )


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


def _turn_context(config: Config, permissions: PermissionsContext) -> ResponseItem:
    """A rollout's `turn_context` fields, as codex-rs 0.169 writes them (it compares `approval_policy` and
    `permission_profile` on resume; `exec resume --last` filters on `cwd`)."""
    effort = config.model_reasoning_effort
    ctx: ResponseItem = {
        "disabled_plugin_ids": [],
        "cwd": str(config.cwd),
        "approval_policy": config.approval_policy,
        "approvals_reviewer": "user",
        "permission_profile": permission_profile(permissions),
        "model": config.model,
        "collaboration_mode": {
            "mode": "default",
            "settings": {"model": config.model, "reasoning_effort": effort, "developer_instructions": None},
        },
        "realtime_active": False,
    }
    if effort:
        ctx["effort"] = effort
    ctx["summary"] = config.model_reasoning_summary or "none"
    ctx["sandbox_policy"] = sandbox_policy(permissions)
    file_system = file_system_sandbox_policy(permissions)
    if file_system is not None:
        ctx["file_system_sandbox_policy"] = file_system
    return ctx


def _open_rollout(
    config: Config, start: ThreadStart, thread_id: str, base: str, permissions: PermissionsContext, originator: str
) -> RolloutRecorder | None:
    """The recorder: appending to the resumed file, or a new file that starts with `session_meta`."""
    if start.ephemeral:
        return None
    from codex_cli.rollout import RolloutRecorder, SessionMeta

    turn_context = _turn_context(config, permissions)
    window = context_window(config)
    resumed = start.resumed
    if resumed is not None and not start.fork:
        return RolloutRecorder(
            resumed.path, thread_id=thread_id, next_ordinal=resumed.next_ordinal,
            turn_context=turn_context, context_window=window,
        )
    meta = SessionMeta(
        id=thread_id, cwd=str(config.cwd), originator=originator, cli_version=VERSION,
        source=start.source, model_provider=config.model_provider_id, base_instructions=base,
        forked_from_id=resumed.meta.id if resumed is not None else None, thread_source=start.thread_source,
    )
    return RolloutRecorder.create(config.codex_home, meta, model=config.model, turn_context=turn_context,
                                  context_window=window)


def build_session(
    config: Config,
    *,
    originator: str,
    emit: Callable[[Event], None],
    output_schema: object | None = None,
    env: Mapping[str, str] | None = None,
    start: ThreadStart | None = None,
    approver: safety.Approver | None = None,
    client: tuple[str, str] | None = None,
    hooks: HookEngine | None = None,
    hook_source: str | None = "startup",
) -> SessionBundle:
    """Everything a turn needs, checked up front so that bad credentials fail before any request. `client` is the
    (name, version) of the MCP client `codex mcp-server` serves: model requests name it in their User-Agent.
    Warnings are events: an MCP server that fails to start is told through `emit` when it fails (during this
    call, or later for a slow one); the rest are emitted by `session.start()`, after `ThreadStarted`.
    `hooks` are bound to the new session (its first turn fires SessionStart with `hook_source`)."""
    env = dict(os.environ) if env is None else env
    start = start or ThreadStart()
    provider = _provider_settings(config, env)
    _check_local_server(config, provider)
    resumed = start.resumed
    thread_id = resumed.meta.id if resumed is not None and not start.fork else new_thread_id()
    roots = writable_roots(config)
    permissions = _permissions(config, roots)
    prepared, sandbox_warnings = _prepare_sandbox(config, env)
    mcp = _start_mcp_servers(config, env, lambda message: emit(WarningNotice(message, "mcp")))
    tools = _tool_runner(config, env, roots, prepared, approver, mcp)
    tools.prepare_shell_snapshot(thread_id, config.cwd)  # taken in the background, from the first request on
    base = (resumed.meta.base_instructions if resumed is not None else None) or base_instructions(config)
    model = _model_client(config, provider, thread_id, originator, client)
    model.window_number = resumed.window_number if resumed is not None else 0
    recorder = _open_rollout(config, start, thread_id, base, permissions, model.originator)
    context = _ThreadContext(config, permissions, resumed)
    if resumed is None or not any(map(is_context_item, resumed.history)):
        # A new thread (or one recorded before its first turn): its context is recorded once that turn starts,
        # after task_started, where codex-rs records it.
        context.initial = context.fresh()
        history = [_base_instructions_message(base, thread_id), *context.initial, *(resumed.history if resumed else [])]
    else:
        history = [_base_instructions_message(base, thread_id), *resumed.history]
    context.recorder = recorder
    if recorder is not None and resumed is not None and start.fork:
        recorder.record_items(resumed.history)
        recorder.record_world_state(resumed.world_state, full=True)
    warnings = [*config.warnings, *sandbox_warnings, *context.warnings]
    if recorder is not None and recorder.error is not None:  # failed before anything could show it
        warnings.append(recording_stopped(recorder.path, recorder.error))
    if resumed is not None and resumed.skipped_lines:
        warnings.append(f"Skipped {resumed.skipped_lines} unreadable line(s) of {resumed.path}.")
    if hooks is not None:
        hooks.bind(thread_id, recorder.path if recorder is not None else None, hook_source)
    session = Session(
        thread_id=thread_id,
        model=model,
        tools=tools,
        request=_request_settings(config, output_schema),
        cwd=config.cwd,
        emit=_recording(emit, recorder),
        history=history,
        context=_context_settings(config, context),
        recorder=recorder,
        usage=resumed.usage if resumed is not None and not start.fork else None,
        context_tokens=resumed.context_tokens if resumed is not None else None,
        warnings=warnings,
        hooks=hooks,
    )
    return SessionBundle(session, recorder.path if recorder is not None else None)


def _permissions(config: Config, roots: tuple[Path, ...]) -> PermissionsContext:
    swr = config.sandbox_workspace_write
    return PermissionsContext(
        sandbox_mode=config.sandbox_mode,
        approval_policy=config.approval_policy,
        network_access=swr.network_access,
        cwd=config.cwd,
        writable_roots=roots,
        include_tmp=not swr.exclude_slash_tmp,
        include_tmpdir=not swr.exclude_tmpdir_env_var,
    )


def prompt_input(config: Config, user_items: list[ResponseItem]) -> tuple[list[ResponseItem], list[str]]:
    """The input list of a new thread's first request with `user_items` (`codex debug prompt-input`): what
    `build_session` puts first (base instructions, permissions, AGENTS.md, environment context), then the items;
    and the warnings met on the way. Nothing is started, recorded or sent, so no credentials are needed."""
    context = _ThreadContext(config, _permissions(config, writable_roots(config)), None)
    items = [_base_instructions_message(base_instructions(config), new_thread_id()), *context.fresh(), *user_items]
    return items, context.warnings


def recording_stopped(path: Path, exc: OSError) -> str:
    """What the person is told once when the session file cannot be written any more."""
    return (f"Cannot write the session file {path} ({exc.strerror or exc}): the rest of this session is not saved, "
            "and resuming it will miss what follows. Free disk space or fix the permissions of "
            "$CODEX_HOME/sessions.")


def _base_message(text: str, thread_id: str) -> ResponseItem:
    """The base-instructions developer message. It is never recorded (session_meta keeps the text), so its id is
    derived from the thread id: a resumed thread sends the same id again (sessions.md §2.7)."""
    import uuid

    return {**text_message("developer", text), "id": f"msg_{uuid.uuid5(uuid.NAMESPACE_URL, f'codex-base/{thread_id}')}"}


def _recording(emit: Callable[[Event], None], recorder: RolloutRecorder | None) -> Callable[[Event], None]:
    if recorder is None:
        return emit
    record = recorder.on_event

    def stopped(exc: OSError) -> None:
        emit(ErrorNotice(recording_stopped(recorder.path, exc)))  # not recorded: the recorder is closed

    recorder.on_error = stopped

    def emit_and_record(event: Event) -> None:
        record(event)
        emit(event)

    return emit_and_record


def _start_mcp_servers(
    config: Config, env: Mapping[str, str], on_warning: Callable[[str], None]
) -> McpConnectionManager | None:
    """Start the configured MCP servers concurrently, or None when there are none."""
    table = config.raw.get("mcp_servers")
    if not isinstance(table, Mapping) or not table:
        return None
    from codex_cli.mcp_client import McpConnectionManager, parse_mcp_servers, startup_grace_sec

    servers = parse_mcp_servers(table, config_path=config.config_path)
    return McpConnectionManager.start(
        servers,
        on_warning=on_warning,
        cwd=config.cwd,
        env=env,
        grace_sec=startup_grace_sec(config.raw),
    )


def _tool_runner(
    config: Config,
    env: Mapping[str, str],
    roots: tuple[Path, ...],
    prepared: object | None,
    approver: safety.Approver | None,
    mcp: McpConnectionManager | None,
) -> ToolRunner:
    policy = config.shell_environment_policy
    swr = config.sandbox_workspace_write
    return ToolRunner(
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
            approval_policy=config.approval_policy,
            approver=approver or safety.PolicyOnlyApprover(),
            rules=None if config.ignore_rules else execpolicy.load_prefix_rules(config.codex_home),
            mcp=mcp,
            sandbox=prepared,  # type: ignore[arg-type]
            shell_tool_enabled="shell_tool" in config.features,
            view_image_enabled="view_image" in config.features,
            shell_snapshot="shell_snapshot" in config.features,
            codex_home=config.codex_home,
            web_search=_web_search_tool(config),
            output_budget_tokens=tool_output_budget(config.model, config.tool_output_token_limit),
            # The chat wire has no form for tool_search: its models get the MCP tools listed.
            search_tool=(find_family(config.model).supports_search_tool
                         and config.model_provider.wire_api == "responses"),
        )
    )


def _web_search_tool(config: Config) -> dict[str, object] | None:
    """The hosted web_search tool; local servers (`ollama`, `lmstudio`) and the chat wire cannot run it."""
    if config.model_provider_id in _LOCAL_PROVIDERS or config.model_provider.wire_api == "chat":
        return None
    table = config.raw.get("tools")
    options = table.get("web_search") if isinstance(table, Mapping) else None
    return web_search_spec(
        config.web_search,
        full_access=config.sandbox_mode == "danger-full-access",
        options=options if isinstance(options, Mapping) else None,
    )
