"""Configuration: finds `CODEX_HOME`, reads and layers the config files, checks them, and builds the one
immutable `Config` that `cli.main()` passes down.

Layers, lowest first: system `/etc/codex/config.toml`, user `$CODEX_HOME/config.toml`, the profile
(`[profiles.NAME]` or `$CODEX_HOME/NAME.config.toml`, chosen by `-p NAME` or `profile = "NAME"`), trusted
project `.codex/config.toml` files (root → cwd), then the session flags (`-c`, `--enable/--disable`).
Tables merge key by key; arrays and scalars replace. Dedicated flags (`-m`, `-s`, `-a`, `--oss`, the bypass
flag) win over everything and apply to the typed fields only. Every message names file:line:col; the key
schema lives in `config_keys`, the feature registry in `features`, the position scanner in `toml_positions`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias, cast

from codex_cli import config_keys as keys
from codex_cli.config_keys import SchemaIssue
from codex_cli.errors import ConfigError, UsageError
from codex_cli.features import FEATURE_ALIASES, FEATURES, resolve_features
from codex_cli.project_doc import find_project_root
from codex_cli.protocol import APPROVAL_POLICIES, SANDBOX_MODES, AskForApproval, SandboxMode
from codex_cli.records import Record, field
from codex_cli.toml_doc import (
    KeyPath,
    bool_at,
    dotted,
    get_in,
    int_at,
    int_or,
    merge,
    parse_toml,
    set_nested,
    str_at,
    str_map_at,
    strs_at,
)
from codex_cli.toml_positions import KeySpot, scan_key_spots, snippet, syntax_error_position

__all__ = [
    "CHATGPT_CODEX_BASE_URL",
    "DEFAULT_MODEL",
    "OPENAI_API_BASE_URL",
    "CliOverrides",
    "Config",
    "ModelProviderInfo",
    "SandboxWorkspaceWrite",
    "ShellEnvironmentPolicy",
    "find_codex_home",
    "load_config",
    "parse_override",
]

DEFAULT_MODEL = "gpt-6.1-sol"
OPENAI_API_BASE_URL = "https://api.openai.com/v1"
CHATGPT_CODEX_BASE_URL = "https://chatgpt.com/backend-api/codex"
_DEFAULT_OSS_MODELS = {"ollama": "gpt-oss:20b", "lmstudio": "openai/gpt-oss-20b"}
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PROFILES_DOC = "See https://developers.openai.com/codex/config-advanced#profiles for more information."
_RETRY_CAP = 100

Doc: TypeAlias = dict[str, object]
_Resolver: TypeAlias = Callable[[str], str]


class CliOverrides(Record):
    """Everything the command line can say about configuration."""

    config_overrides: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    profile: str | None = None
    model: str | None = None
    model_provider: str | None = None
    sandbox_mode: str | None = None
    approval_policy: str | None = None
    cwd: Path | None = None
    strict_config: bool = False
    bypass_approvals_and_sandbox: bool = False
    add_dirs: tuple[Path, ...] = ()
    oss: bool = False
    ignore_user_config: bool = False  # exec --ignore-user-config: $CODEX_HOME/config.toml is not read
    ignore_rules: bool = False  # exec --ignore-rules: no execpolicy `.rules` files


class ModelProviderInfo(Record):
    """One model provider. `base_url` is None only for the built-in `openai` provider without
    `openai_base_url`: the URL then depends on the login (API key: OPENAI_API_BASE_URL, ChatGPT:
    CHATGPT_CODEX_BASE_URL)."""

    id: str
    name: str
    base_url: str | None = OPENAI_API_BASE_URL
    env_key: str | None = None
    env_key_instructions: str | None = None
    experimental_bearer_token: str | None = field(default=None, repr=False)  # a secret: kept out of reprs
    auth_command: tuple[str, ...] | None = None
    wire_api: Literal["responses", "chat"] = "responses"
    query_params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    http_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    env_http_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    request_max_retries: int = 4
    stream_max_retries: int = 5
    stream_idle_timeout_ms: int = 300_000
    websocket_connect_timeout_ms: int = 15_000
    requires_openai_auth: bool = False
    supports_websockets: bool = False


class SandboxWorkspaceWrite(Record):
    """`[sandbox_workspace_write]`: what workspace-write mode adds to the cwd (roots already absolute)."""

    writable_roots: tuple[Path, ...] = ()
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


class ShellEnvironmentPolicy(Record):
    """`[shell_environment_policy]`: how the environment of spawned commands is built."""

    inherit: Literal["all", "core", "none"] = "all"
    ignore_default_excludes: bool = True
    exclude: tuple[str, ...] = ()
    include_only: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    experimental_use_profile: bool = False


class Config(Record):
    """The effective configuration of one run. `raw` is the merged TOML (files, `-c`, `--enable/--disable`;
    relative paths already absolute) for settings owned by other modules (mcp_servers, hooks, tui, ...)."""

    codex_home: Path
    cwd: Path
    config_path: Path
    profile: str | None
    model: str
    model_provider_id: str
    model_provider: ModelProviderInfo
    model_providers: Mapping[str, ModelProviderInfo]
    approval_policy: AskForApproval
    sandbox_mode: SandboxMode
    sandbox_workspace_write: SandboxWorkspaceWrite
    shell_environment_policy: ShellEnvironmentPolicy
    base_instructions: str | None
    developer_instructions: str | None
    user_instructions: str | None
    project_doc_max_bytes: int
    project_doc_fallback_filenames: tuple[str, ...]
    project_root_markers: tuple[str, ...]
    project_root: Path
    project_trust: Literal["trusted", "untrusted"] | None
    model_reasoning_effort: str | None
    model_reasoning_summary: str | None
    model_verbosity: str | None
    model_context_window: int | None
    model_auto_compact_token_limit: int | None
    tool_output_token_limit: int | None
    review_model: str | None
    hide_agent_reasoning: bool
    show_raw_agent_reasoning: bool
    features: frozenset[str]
    update_plan_enabled: bool
    web_search: Literal["disabled", "cached", "indexed", "live"]
    notify: tuple[str, ...] | None
    history_persistence: Literal["save-all", "none"]
    history_max_bytes: int | None
    file_opener: str
    add_dirs: tuple[Path, ...]
    oss: bool
    ignore_rules: bool
    warnings: tuple[str, ...]  # to print on stderr after a `warning:` prefix; some span several lines
    raw: Mapping[str, object]
    skills_config: tuple[Mapping[str, object], ...] = ()  # [[skills.config]] of the user config and -c, in order


# ----------------------------------------------------------------------------------------------------------
# CODEX_HOME and -c


def find_codex_home(env: Mapping[str, str] | None = None) -> Path:
    """`$CODEX_HOME` (must exist and be a directory), or `~/.codex` when unset or empty (not created here)."""
    env = os.environ if env is None else env
    raw = env.get("CODEX_HOME", "")
    if not raw:
        return _home_dir(env) / ".codex"
    home = Path(raw) if Path(raw).is_absolute() else Path.cwd() / raw
    hint = "Create that directory, point CODEX_HOME at an existing one, or unset it to use ~/.codex."
    problem = "does not exist" if not home.exists() else "is not a directory" if not home.is_dir() else None
    if problem:
        raise ConfigError(f'Error finding codex home: CODEX_HOME points to "{raw}", but that path {problem}', hint)
    return home.resolve()


def _home_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())


def parse_override(raw: str) -> tuple[list[str], object]:
    """Parse one `-c key=value`: the value as TOML, else as a raw string with outer quotes stripped."""
    hint = 'Write -c/--config overrides as key=value, for example -c model="o3".'
    if "=" not in raw:
        raise UsageError(f"Invalid override (missing '='): {raw}", hint)
    key, value = (part.strip() for part in raw.split("=", 1))
    if not key:
        raise UsageError(f"Empty key in override: {raw}", hint)
    try:
        parsed: Doc = parse_toml(f"_x = {value}")
    except ValueError:
        parsed = {}
    result = parsed["_x"] if list(parsed) == ["_x"] else value.strip("\"'")
    return key.split("."), result


# ----------------------------------------------------------------------------------------------------------
# Layers


class _Layer(Record):
    """One source of settings. Session flags have no file; they remember which flag set each key.
    A `[profiles.NAME]` table is its own layer whose positions are looked up in `alias_of`."""

    label: str
    doc: Doc
    schema: keys.Table = keys.TOP_SCHEMA
    file: Path | None = None
    text: str = ""
    spots: Mapping[KeyPath, KeySpot] = field(default_factory=dict)
    origins: tuple[tuple[KeyPath, str], ...] = ()
    alias_prefix: KeyPath | None = None
    alias_of: tuple[_Layer, ...] = ()


def _read_layer(path: Path, label: str, schema: keys.Table, env: Mapping[str, str]) -> _Layer | None:
    """Parse one file (None when missing) with relative paths resolved against its directory."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError(f"Error loading config.toml: cannot read {path}: {reason}.", "Fix the file.") from exc
    try:
        doc = parse_toml(text)
    except ValueError as exc:
        raise _syntax_error(path, text, exc) from exc
    doc = cast(Doc, keys.map_path_values(doc, schema, _path_resolver(path.parent, env)))
    return _Layer(f"{label} ({path})", doc, schema, path, text, scan_key_spots(text))


def _path_resolver(base: Path, env: Mapping[str, str]) -> _Resolver:
    def resolve(value: str) -> str:
        if value == "~" or value.startswith(("~/", "~\\")):
            return str(_home_dir(env) / value[2:])
        return value if Path(value).is_absolute() else str(base / value)

    return resolve


def _syntax_error(path: Path, text: str, exc: ValueError) -> ConfigError:
    line, col, message = syntax_error_position(text, str(exc))
    return ConfigError(
        f"Error loading config.toml:\n{path}:{line}:{col}: {message}\n{snippet(text, line, col, 1)}",
        f"Fix the TOML syntax at line {line} of {path}.",
    )


def _session_layer(overrides: CliOverrides, env: Mapping[str, str]) -> _Layer:
    """`-c` overrides in order, then `--enable`, then `--disable` (so disable wins)."""
    doc: Doc = {}
    origins: list[tuple[KeyPath, str]] = []
    for raw in overrides.config_overrides:
        path, value = parse_override(raw)
        set_nested(doc, path, value)
        origins.append((tuple(path), f"-c/--config override `{raw}`"))
    for flag, names, state in (("--enable", overrides.enable, True), ("--disable", overrides.disable, False)):
        for name in names:
            canonical = FEATURE_ALIASES.get(name, name)
            if canonical not in FEATURES:
                raise UsageError(f"Unknown feature flag: {name}", "Run `codex features list` to see the known names.")
            set_nested(doc, ["features", canonical], state)
            origins.append((("features", canonical), f"{flag} {name}"))
    doc = cast(Doc, keys.map_path_values(doc, keys.TOP_SCHEMA, _path_resolver(Path.cwd(), env)))
    return _Layer("session-flags", doc, origins=tuple(origins))


# ----------------------------------------------------------------------------------------------------------
# Locating keys and reporting problems


def _merge_all(layers: list[_Layer]) -> Doc:
    merged: Doc = {}
    for layer in layers:
        merged = merge(merged, layer.doc)
    return merged


def _where(layers: tuple[_Layer, ...] | list[_Layer], path: KeyPath) -> tuple[_Layer, KeyPath] | None:
    """The highest layer that sets `path` (its value is the one in effect), and the path inside it."""
    for layer in reversed(layers):
        node: object = layer.doc
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            if layer.alias_prefix is not None:
                return _where(layer.alias_of, layer.alias_prefix + path)
            return layer, path
    return None


def _locate(layers: list[_Layer], path: KeyPath, *, value: bool) -> tuple[str, _Layer | None]:
    """`file:line:col` of the key (or its value) in effect at `path`, or the flag that set it; and its layer."""
    found = _where(layers, path)
    if found is None:
        return "", None
    layer, inner = found
    if layer.file is None:
        return next((o for p, o in reversed(layer.origins) if _related(p, inner)), "-c/--config override"), layer
    for end in range(len(inner), 0, -1):
        spot = layer.spots.get(inner[:end])
        if spot is not None:
            line, col = (spot.value_line, spot.value_col) if value and spot.value_line else (spot.line, spot.col)
            return f"{layer.file}:{line}:{col}", layer
    return str(layer.file), layer


def _related(a: KeyPath, b: KeyPath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _key_error(
    layers: list[_Layer], path: KeyPath | None, problem: str, fix: str, *, value: bool = True
) -> ConfigError:
    """One paragraph: where (when `path` came from config), what is wrong, and the fix (`{source}` → the file)."""
    where, layer = _locate(layers, path, value=value) if path is not None else ("", None)
    prefix = f"{where}: " if where else ""
    source = "" if layer is None else f" in {layer.file}" if layer.file else " in that -c/--config override"
    return ConfigError(f"Error loading config.toml: {prefix}{problem}. " + fix.replace("{source}", source))


def _type_error(layers: list[_Layer], issue: SchemaIssue) -> ConfigError:
    name = dotted(issue.path)
    fix = f"Change `{name}` to {issue.expected}{{source}}, or remove it."
    return _key_error(layers, issue.path, f"{issue.message} in `{name}`", fix)


def _check(layers: list[_Layer], doc: Doc, only: tuple[str, ...] | None = None) -> None:
    """Raise for the first value that does not fit the schema (optionally only under the `only` keys)."""
    if only is None:
        issue = keys.check_types(doc, keys.TOP_SCHEMA)
    else:
        fields = keys.TOP_SCHEMA.fields
        issue = next((i for k in only if k in doc and (i := keys.check_types(doc[k], fields[k], (k,)))), None)
    if issue is not None:
        raise _type_error(layers, issue)


def _unknown_keys(layers: list[_Layer], strict: bool) -> list[str]:
    """The warning block for unknown keys, or (strict) an error naming the first one."""
    found: list[tuple[_Layer, KeyPath]] = []
    for layer in layers:
        if layer.alias_prefix is None:
            paths = keys.find_unknown_keys(layer.doc, layer.schema)
            paths.sort(key=lambda p: (s.line, s.col) if (s := layer.spots.get(p)) else (0, 0))
            found += [(layer, path) for path in paths]
    if not found:
        return []
    if strict:
        raise _unknown_key_error(*found[0])
    lines = sorted((dotted(path), layer.label) for layer, path in found)
    count = len(lines)
    text = [
        f"Codex is ignoring {count} unrecognized configuration setting{'s' if count > 1 else ''}. "
        "Check for typos or deprecated settings."
    ]
    text += [f"  {label}: `{name}` is ignored." for name, label in lines[:3]]
    if count > 3:
        text.append(f"  ... and {count - 3} more ignored settings.")
    return ["\n".join(text)]


def _unknown_key_error(layer: _Layer, path: KeyPath) -> ConfigError:
    name = dotted(path)
    hint = "Remove the setting or fix its name (without --strict-config it is only a warning)."
    if layer.file is None:
        flag = next((o for p, o in reversed(layer.origins) if _related(p, path)), "-c/--config override")
        return ConfigError(f"Error loading config.toml: unknown configuration field `{name}` in {flag}", hint)
    spot = layer.spots.get(path)
    if spot is None:
        return ConfigError(f"Error loading config.toml:\n{layer.file}: unknown configuration field `{name}`", hint)
    return ConfigError(
        f"Error loading config.toml:\n{layer.file}:{spot.line}:{spot.col}: unknown configuration field `{name}`\n"
        + snippet(layer.text, spot.line, spot.col, spot.length),
        hint,
    )


# ----------------------------------------------------------------------------------------------------------
# Profiles and projects


def _profile_layer(name: str, from_flag: bool, home: Path, base: list[_Layer], env: Mapping[str, str]) -> _Layer | None:
    """`[profiles.NAME]` or `$CODEX_HOME/NAME.config.toml`; both at once is an error."""
    table = get_in(_merge_all(base), "profiles", name)
    file = home / f"{name}.config.toml" if _PROFILE_NAME.fullmatch(name) else None
    if isinstance(table, dict) and file is not None and file.is_file():
        where, _ = _locate(base, ("profiles", name), value=False)
        selector = "--profile" if from_flag else "profile"
        raise ConfigError(
            f"Error loading config.toml: {selector} `{name}` cannot be used while {where} contains legacy "
            f'`profile = "{name}"` or `[profiles.{name}]` config and {file} also exists; move those settings into '
            f"{file} and remove the legacy profile selector/table. {_PROFILES_DOC}"
        )
    if isinstance(table, dict):
        return _Layer(
            f"profile `{name}`", table, keys.PROFILE_SCHEMA, alias_prefix=("profiles", name), alias_of=tuple(base)
        )
    if file is not None:
        layer = _read_layer(file, "profile", keys.PROFILE_SCHEMA, env)
        if layer is not None:
            return layer
    if from_flag:
        return None  # -p with nothing to load uses the base config, as codex does
    where, _ = _locate(base, ("profile",), value=True)
    raise ConfigError(
        f"Error loading config.toml: {where}: config profile `{name}` not found: there is no `[profiles.{name}]` "
        f"table and no {home / (name + '.config.toml')}. Create one of them or remove the `profile` setting."
    )


class _Project(Record):
    markers: tuple[str, ...]
    root: Path
    trust: Literal["trusted", "untrusted"] | None
    layers: tuple[_Layer, ...]
    warnings: tuple[str, ...]


def _project(cwd: Path, home: Path, settings: Doc, env: Mapping[str, str]) -> _Project:
    """Find the project root and its `.codex/config.toml` files; load them only when the project is trusted."""
    markers = strs_at(settings, "project_root_markers")
    markers = (".git",) if markers is None else markers
    real_cwd = cwd.resolve()
    root = find_project_root(real_cwd, markers) or real_cwd
    git_root = find_project_root(real_cwd) or real_cwd
    projects = settings.get("projects")
    level: Literal["trusted", "untrusted"] | None = None
    for directory in (real_cwd, root, git_root):
        found = get_in(projects, str(directory), "trust_level")
        if found == "trusted" or found == "untrusted":
            level = found
            break
    rel = real_cwd.relative_to(root).parts
    chain = [root.joinpath(*rel[:i]) for i in range(len(rel) + 1)]
    files = [
        d / ".codex" / "config.toml"
        for d in chain
        if (d / ".codex" / "config.toml").is_file() and (d / ".codex").resolve() != home.resolve()
    ]
    if not files:
        return _Project(markers, root, level, (), ())
    if level != "trusted":
        note = (
            f"Untrusted project-local configuration is disabled: {', '.join(map(str, files))} "
            f"{'is' if len(files) == 1 else 'are'} ignored. To allow project configuration here, run `codex exec "
            f'--trust` or add `[projects."{root}"]` with `trust_level = "trusted"` to {home / "config.toml"}.'
        )
        return _Project(markers, root, level, (), (note,))
    layers, notes = [], []
    for file in files:
        layer = _read_layer(file, "project", keys.TOP_SCHEMA, env)
        if layer is not None:
            stripped = _strip_denylisted(layer.doc)
            if stripped:
                notes.append(
                    f"Ignored unsupported project-local config keys in {file}: {', '.join(stripped)}. "
                    "If you want these settings to apply, manually set them in your user-level config.toml."
                )
            layers.append(layer)
    return _Project(markers, root, level, tuple(layers), tuple(notes))


def _strip_denylisted(doc: Doc) -> list[str]:
    removed = []
    for path in keys.PROJECT_DENYLIST:
        parent = get_in(doc, *cast(tuple[str, ...], path[:-1])) if len(path) > 1 else doc
        if isinstance(parent, dict) and path[-1] in parent:
            del parent[path[-1]]
            removed.append(dotted(path))
    return sorted(removed)


# ----------------------------------------------------------------------------------------------------------
# Building the typed Config


def _builtin_providers(doc: Doc, env: Mapping[str, str]) -> dict[str, ModelProviderInfo]:
    oss_url = env.get("CODEX_OSS_BASE_URL") or (
        f"http://localhost:{env['CODEX_OSS_PORT']}/v1" if env.get("CODEX_OSS_PORT") else None
    )
    return {
        "openai": ModelProviderInfo(
            "openai", "OpenAI", str_at(doc, "openai_base_url"), requires_openai_auth=True, supports_websockets=True
        ),
        "ollama": ModelProviderInfo("ollama", "gpt-oss", oss_url or "http://localhost:11434/v1"),
        "lmstudio": ModelProviderInfo("lmstudio", "gpt-oss", oss_url or "http://localhost:1234/v1"),
    }


def _providers(doc: Doc, layers: list[_Layer], env: Mapping[str, str]) -> dict[str, ModelProviderInfo]:
    providers = _builtin_providers(doc, env)
    user = get_in(doc, "model_providers")
    user = user if isinstance(user, dict) else {}
    reserved = sorted(pid for pid in user if pid in providers)
    if reserved:
        names = ", ".join(f"`{pid}`" for pid in reserved)
        raise _key_error(
            layers,
            ("model_providers", reserved[0]),
            f"model_providers contains reserved built-in provider IDs: {names}. "
            "Built-in providers cannot be overridden",
            f"Rename your custom provider{{source}} (for example, `{reserved[0]}-custom`).",
            value=False,
        )
    for pid, table in user.items():
        providers[pid] = _user_provider(pid, cast(Doc, table), layers)
    return providers


def _user_provider(pid: str, t: Doc, layers: list[_Layer]) -> ModelProviderInfo:
    path: KeyPath = ("model_providers", pid)
    if not str_at(t, "name"):
        raise _key_error(
            layers,
            path,
            f"model_providers.{pid}: provider name must not be empty",
            'Add `name = "..."` to the provider table{source}.',
            value=False,
        )
    auth = get_in(t, "auth")
    auth_command = None
    if isinstance(auth, dict):
        clash = next((k for k in ("env_key", "experimental_bearer_token", "requires_openai_auth") if t.get(k)), None)
        if clash or not str_at(t, "auth", "command"):
            problem = f"cannot be combined with {clash}" if clash else "needs a `command`"
            raise _key_error(
                layers,
                (*path, "auth"),
                f"model_providers.{pid}: provider auth {problem}",
                "Keep either `auth` or the other credential setting{source}.",
                value=False,
            )
        auth_command = (cast(str, auth["command"]), *(strs_at(t, "auth", "args") or ()))
    return ModelProviderInfo(
        id=pid,
        name=cast(str, t["name"]),
        base_url=str_at(t, "base_url") or OPENAI_API_BASE_URL,
        env_key=str_at(t, "env_key"),
        env_key_instructions=str_at(t, "env_key_instructions"),
        experimental_bearer_token=str_at(t, "experimental_bearer_token"),
        auth_command=auth_command,
        wire_api=cast(Literal["responses", "chat"], str_at(t, "wire_api") or "responses"),
        query_params=str_map_at(t, "query_params"),
        http_headers=str_map_at(t, "http_headers"),
        env_http_headers=str_map_at(t, "env_http_headers"),
        request_max_retries=min(int_or(t, "request_max_retries", 4), _RETRY_CAP),
        stream_max_retries=min(int_or(t, "stream_max_retries", 5), _RETRY_CAP),
        stream_idle_timeout_ms=int_or(t, "stream_idle_timeout_ms", 300_000),
        websocket_connect_timeout_ms=int_or(t, "websocket_connect_timeout_ms", 15_000),
        requires_openai_auth=bool_at(t, "requires_openai_auth", default=False),
        supports_websockets=bool_at(t, "supports_websockets", default=False),
    )


def _select_provider(
    doc: Doc, overrides: CliOverrides, providers: Mapping[str, ModelProviderInfo], layers: list[_Layer]
) -> str:
    key: KeyPath | None = None
    if overrides.model_provider:
        pid = overrides.model_provider
    elif overrides.oss:
        pid, key = str_at(doc, "oss_provider") or "ollama", ("oss_provider",)
    else:
        pid, key = str_at(doc, "model_provider") or "openai", ("model_provider",)
    if pid == "ollama-chat":
        raise _key_error(
            layers,
            key,
            "`ollama-chat` is no longer supported",
            "Replace `ollama-chat` with `ollama` in `model_provider`{source}, `oss_provider`, or --local-provider.",
        )
    if pid not in providers:
        known = ", ".join(f"`{p}`" for p in sorted(providers))
        raise _key_error(
            layers,
            key,
            f"Model provider `{pid}` not found",
            f"Use one of {known}, or define `[model_providers.{pid}]`{{source}}.",
        )
    return pid


def _base_instructions(doc: Doc, layers: list[_Layer]) -> str | None:
    for key in ("model_instructions_file", "experimental_instructions_file"):
        file = str_at(doc, key)
        if file is None:
            continue
        try:
            return Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
            raise _key_error(
                layers,
                (key,),
                f"failed to read model instructions file {file}: {reason}",
                f"Fix the path in `{key}`{{source}} or remove the setting.",
            ) from exc
    return str_at(doc, "base_instructions") or str_at(doc, "instructions")


def _user_instructions(home: Path) -> str | None:
    """`$CODEX_HOME/AGENTS.override.md` when not blank, else `$CODEX_HOME/AGENTS.md`, trimmed."""
    for name in ("AGENTS.override.md", "AGENTS.md"):
        try:
            text = (home / name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text
    return None


def _web_search(doc: Doc, sandbox: SandboxMode) -> Literal["disabled", "cached", "indexed", "live"]:
    mode = str_at(doc, "web_search")
    tool = get_in(doc, "tools", "web_search")
    if mode is None and isinstance(tool, bool):
        mode = "live" if tool else "disabled"
    if mode is None:
        mode = "live" if sandbox == "danger-full-access" else "cached"
    return cast(Literal["disabled", "cached", "indexed", "live"], mode)


def _sandbox_workspace_write(table: object) -> SandboxWorkspaceWrite:
    return SandboxWorkspaceWrite(
        writable_roots=tuple(Path(p) for p in strs_at(table, "writable_roots") or ()),
        network_access=bool_at(table, "network_access", default=False),
        exclude_tmpdir_env_var=bool_at(table, "exclude_tmpdir_env_var", default=False),
        exclude_slash_tmp=bool_at(table, "exclude_slash_tmp", default=False),
    )


def _shell_environment_policy(table: object) -> ShellEnvironmentPolicy:
    return ShellEnvironmentPolicy(
        inherit=cast(Literal["all", "core", "none"], str_at(table, "inherit") or "all"),
        ignore_default_excludes=bool_at(table, "ignore_default_excludes", default=True),
        exclude=strs_at(table, "exclude") or (),
        include_only=strs_at(table, "include_only") or (),
        set=str_map_at(table, "set"),
        experimental_use_profile=bool_at(table, "experimental_use_profile", default=False),
    )


def _check_flag(value: str | None, allowed: tuple[str, ...], flag: str) -> None:
    if value is not None and value not in allowed:
        choices = ", ".join(allowed)
        raise UsageError(f"invalid value '{value}' for '{flag}'", f"Possible values: {choices}.")


def _policies(doc: Doc, overrides: CliOverrides, trusted: bool) -> tuple[AskForApproval, SandboxMode]:
    if overrides.bypass_approvals_and_sandbox:
        return "never", "danger-full-access"
    approval = overrides.approval_policy or str_at(doc, "approval_policy") or "on-request"
    # A trusted project may be written to (and asks for more), as in codex-rs; any other stays read-only.
    default = "workspace-write" if trusted else "read-only"
    sandbox = overrides.sandbox_mode or str_at(doc, "sandbox_mode") or default
    return cast(AskForApproval, approval), cast(SandboxMode, sandbox)


# ----------------------------------------------------------------------------------------------------------
# load_config


def _skill_entries(layers: list[_Layer]) -> tuple[Mapping[str, object], ...]:
    """The `[[skills.config]]` entries that codex-rs reads: the user config's, then the session flags' (a profile or
    a project's .codex/config.toml cannot turn skills on or off). An entry without `enabled` is an error anywhere."""
    entries: list[Mapping[str, object]] = []
    for layer in layers:
        found = get_in(layer.doc, "skills", "config")
        if not isinstance(found, list):
            continue
        for index, entry in enumerate(found):
            if isinstance(entry, dict) and "enabled" not in entry:
                raise _key_error([layer], ("skills", "config", index), "missing field `enabled` in a [[skills.config]] "
                                 "entry", "Add `enabled = false` (or `true`) to it{source}.", value=False)
        if layer.label.startswith("user") or layer.label == "session-flags":
            entries += [entry for entry in found if isinstance(entry, dict)]
    return tuple(entries)


def _system_config_path(env: Mapping[str, str]) -> Path:
    if sys.platform == "win32":
        return Path(env.get("ProgramData", r"C:\ProgramData")) / "OpenAI" / "Codex" / "config.toml"
    return Path("/etc/codex/config.toml")


def load_config(
    overrides: CliOverrides, env: Mapping[str, str] | None = None, *, system_config: Path | None = None
) -> Config:
    """Build the effective `Config`. `system_config` replaces `/etc/codex/config.toml` (tests pass one)."""
    env = os.environ if env is None else env
    _check_flag(overrides.sandbox_mode, SANDBOX_MODES, "--sandbox <SANDBOX_MODE>")
    _check_flag(overrides.approval_policy, APPROVAL_POLICIES, "--ask-for-approval <APPROVAL_POLICY>")
    if overrides.profile is not None and not _PROFILE_NAME.fullmatch(overrides.profile):
        raise UsageError(
            f"invalid value '{overrides.profile}' for '--profile <CONFIG_PROFILE>': invalid --profile value "
            f"`{overrides.profile}`; pass a plain name such as `work`",
            "Profile names use only letters, digits, `-` and `_`.",
        )
    home = find_codex_home(env)
    cwd = (overrides.cwd or Path.cwd()).absolute()
    session = _session_layer(overrides, env)
    system = _read_layer(system_config or _system_config_path(env), "system", keys.TOP_SCHEMA, env)
    config_path = home / "config.toml"
    user = None if overrides.ignore_user_config else _read_layer(config_path, "user", keys.TOP_SCHEMA, env)
    base = [layer for layer in (system, user, session) if layer is not None]
    base_doc = _merge_all(base)
    _check(base, base_doc, only=("profile", "profiles"))
    profile_name = overrides.profile or str_at(base_doc, "profile")
    profile = None
    if profile_name is not None:
        profile = _profile_layer(profile_name, overrides.profile is not None, home, base, env)
    lower = [layer for layer in (system, user, profile) if layer is not None]
    settings_layers = [*lower, session]
    settings = _merge_all(settings_layers)
    _check(settings_layers, settings, only=("projects", "project_root_markers"))
    project = _project(cwd, home, settings, env)
    layers = [*lower, *project.layers, session]
    doc = _merge_all(layers)
    _check(layers, doc)
    warnings = _unknown_keys(layers, overrides.strict_config)
    return _build(doc, layers, overrides, env, home, cwd, profile_name, project, warnings)


def _build(
    doc: Doc,
    layers: list[_Layer],
    overrides: CliOverrides,
    env: Mapping[str, str],
    home: Path,
    cwd: Path,
    profile: str | None,
    project: _Project,
    unknown: list[str],
) -> Config:
    providers = _providers(doc, layers, env)
    provider_id = _select_provider(doc, overrides, providers, layers)
    oss_model = _DEFAULT_OSS_MODELS.get(provider_id) if overrides.oss else None
    features, feature_notes = resolve_features(get_in(doc, "features"))
    approval, sandbox = _policies(doc, overrides, project.trust == "trusted")
    return Config(
        codex_home=home,
        cwd=cwd,
        config_path=home / "config.toml",
        profile=profile,
        model=overrides.model or str_at(doc, "model") or oss_model or DEFAULT_MODEL,
        model_provider_id=provider_id,
        model_provider=providers[provider_id],
        model_providers=MappingProxyType(providers),
        approval_policy=approval,
        sandbox_mode=sandbox,
        sandbox_workspace_write=_sandbox_workspace_write(get_in(doc, "sandbox_workspace_write")),
        shell_environment_policy=_shell_environment_policy(get_in(doc, "shell_environment_policy")),
        base_instructions=_base_instructions(doc, layers),
        developer_instructions=str_at(doc, "developer_instructions"),
        user_instructions=_user_instructions(home),
        project_doc_max_bytes=int_or(doc, "project_doc_max_bytes", 32768),
        project_doc_fallback_filenames=strs_at(doc, "project_doc_fallback_filenames") or (),
        project_root_markers=project.markers,
        project_root=project.root,
        project_trust=project.trust,
        model_reasoning_effort=str_at(doc, "model_reasoning_effort"),
        model_reasoning_summary=str_at(doc, "model_reasoning_summary"),
        model_verbosity=str_at(doc, "model_verbosity"),
        model_context_window=int_at(doc, "model_context_window"),
        model_auto_compact_token_limit=int_at(doc, "model_auto_compact_token_limit"),
        tool_output_token_limit=int_at(doc, "tool_output_token_limit"),
        review_model=str_at(doc, "review_model"),
        hide_agent_reasoning=bool_at(doc, "hide_agent_reasoning", default=False),
        show_raw_agent_reasoning=bool_at(doc, "show_raw_agent_reasoning", default=False),
        features=features,
        update_plan_enabled=bool_at(doc, "tools", "update_plan", "enabled", default=True),
        web_search=_web_search(doc, sandbox),
        notify=strs_at(doc, "notify"),
        history_persistence=cast(Literal["save-all", "none"], str_at(doc, "history", "persistence") or "save-all"),
        history_max_bytes=int_at(doc, "history", "max_bytes"),
        file_opener=str_at(doc, "file_opener") or "vscode",
        add_dirs=tuple(d if d.is_absolute() else cwd / d for d in overrides.add_dirs),
        oss=overrides.oss,
        ignore_rules=overrides.ignore_rules,
        warnings=tuple([*feature_notes, *project.warnings, *unknown]),
        raw=MappingProxyType(doc),
        skills_config=_skill_entries(layers),
    )
