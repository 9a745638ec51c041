"""Where lifecycle hooks come from and whether they may run: `hooks.json` / `[hooks]` handlers and their trust.

Handlers are read from `$CODEX_HOME/hooks.json`, the `[hooks]` table of config.toml and, in a trusted project,
`<project>/.codex/hooks.json` (ux.md §7.1). A handler runs only when `[hooks.state."<key>"] trusted_hash` equals the
SHA-256 of its normalised JSON (§7.8); `trust_handlers()` records that hash in the user config.toml.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codex_cli.records import Record, field

if TYPE_CHECKING:
    from codex_cli.config import Config

__all__ = ["DEFAULT_TIMEOUT", "EVENTS", "DiscoveredHooks", "HookHandler", "discover_hooks", "event_label",
           "trust_handlers"]

EVENTS = (
    "PreToolUse", "PermissionRequest", "PostToolUse", "PreCompact", "PostCompact", "SessionStart", "SessionEnd",
    "UserPromptSubmit", "PreModelRequest", "SubagentStart", "SubagentStop", "Stop", "Interrupt",
)
DEFAULT_TIMEOUT = 600
_CLAMPED = {"SessionEnd": 3, "Interrupt": 3}
TrustStatus = Literal["trusted", "modified", "untrusted", "disabled"]


def event_label(event: str) -> str:
    """`PreToolUse` → `pre_tool_use`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


class HookHandler(Record):
    """One configured command handler of one event."""

    event: str
    command: str
    source: Path
    group_index: int
    handler_index: int
    display_order: int
    matcher: str | None = None
    timeout: int = DEFAULT_TIMEOUT
    is_async: bool = False
    status_message: str | None = None
    normalized: Mapping[str, object] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """The `[hooks.state]` key: `<source>:<event label>:<group>:<handler>`."""
        return f"{self.source}:{event_label(self.event)}:{self.group_index}:{self.handler_index}"

    def trust_hash(self) -> str:
        """`sha256:` + the hash of `{"event_name", "matcher"?, "hooks": [handler]}` with sorted keys, no spaces."""
        doc: dict[str, object] = {"event_name": event_label(self.event), "hooks": [dict(self.normalized)]}
        if self.matcher is not None:
            doc["matcher"] = self.matcher
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class DiscoveredHooks(Record):
    handlers: tuple[HookHandler, ...]
    state: Mapping[str, Mapping[str, object]]
    warnings: tuple[str, ...] = ()

    def status(self, handler: HookHandler) -> TrustStatus:
        entry = self.state.get(handler.key, {})
        if entry.get("enabled") is False:
            return "disabled"
        trusted = entry.get("trusted_hash")
        if trusted is None:
            return "untrusted"
        return "trusted" if trusted == handler.trust_hash() else "modified"

    def needing_review(self) -> list[HookHandler]:
        return [h for h in self.handlers if self.status(h) in ("untrusted", "modified")]


def _handlers_from(table: object, source: Path, order: list[HookHandler], warnings: list[str]) -> None:
    if not isinstance(table, Mapping):
        return
    for event, groups in table.items():
        if event == "state":
            continue
        if event not in EVENTS:
            warnings.append(f"unknown hook event `{event}` in {source}")
            continue
        if not isinstance(groups, list):
            warnings.append(f"failed to parse hooks config {source}: `{event}` must be an array")
            continue
        for g_index, group in enumerate(groups):
            if not isinstance(group, Mapping):
                continue
            matcher = group.get("matcher")
            matcher = matcher if isinstance(matcher, str) else None
            if matcher not in (None, "", "*"):
                try:
                    re.compile(matcher)
                except re.error as exc:
                    warnings.append(f'invalid matcher "{matcher}" in {source}: {exc}')
                    continue
            hooks = group.get("hooks")
            for h_index, raw in enumerate(hooks if isinstance(hooks, list) else []):
                handler = _handler(event, raw, source, g_index, h_index, matcher, len(order), warnings)
                if handler is not None:
                    order.append(handler)


def _handler(event: str, raw: object, source: Path, group: int, index: int, matcher: str | None, order: int,
             warnings: list[str]) -> HookHandler | None:
    if not isinstance(raw, Mapping):
        return None
    kind = raw.get("type", "command")
    if kind != "command":
        warnings.append(f"{kind} hooks are not supported yet ({source})")
        return None
    command = raw.get("command")
    if sys.platform == "win32" and isinstance(raw.get("commandWindows"), str):
        command = raw.get("commandWindows")
    if not isinstance(command, str) or not command.strip():
        warnings.append(f"hook without a command in {source} ({event})")
        return None
    timeout = raw.get("timeout", raw.get("timeoutSec"))
    seconds = max(1, int(timeout)) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None
    normalized: dict[str, object] = {
        "type": "command", "command": raw.get("command"), "timeout": seconds or DEFAULT_TIMEOUT,
        "async": raw.get("async") is True,
    }
    for key, value in raw.items():
        if key not in ("type", "command", "timeout", "timeoutSec", "async") and value is not None:
            normalized[key] = value
    effective = seconds or DEFAULT_TIMEOUT
    if event in _CLAMPED and effective > _CLAMPED[event]:
        warnings.append(f"clamping {event} hook timeout to {_CLAMPED[event]}s in {source}")
        effective = _CLAMPED[event]
    message = raw.get("statusMessage")
    return HookHandler(event, command, source, group, index, order, matcher, effective, raw.get("async") is True,
                       message if isinstance(message, str) else None, normalized)


def _read_json_file(path: Path, warnings: list[str]) -> object:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError as exc:
        warnings.append(f"failed to parse hooks config {path}: {exc}")
        return None
    if not isinstance(doc, dict):
        warnings.append(f"failed to parse hooks config {path}: expected an object")
        return None
    unknown = [key for key in doc if key not in ("description", "hooks")]
    if unknown:
        warnings.append(f"failed to parse hooks config {path}: unknown field `{unknown[0]}`, expected "
                        "`description` or `hooks`")
        return None
    return doc.get("hooks")


def discover_hooks(config: Config) -> DiscoveredHooks:
    """Handlers of the user layer (`hooks.json`, then `[hooks]` of config.toml) and of a trusted project."""
    warnings: list[str] = []
    handlers: list[HookHandler] = []
    if "hooks" not in config.features:
        return DiscoveredHooks((), {}, ())
    user_json = config.codex_home / "hooks.json"
    table = config.raw.get("hooks")
    inline = {k: v for k, v in table.items() if k != "state"} if isinstance(table, Mapping) else {}
    if user_json.is_file() and inline:
        warnings.append(f"loading hooks from both {user_json} and {config.config_path}; prefer a single "
                        "representation for this layer")
    _handlers_from(_read_json_file(user_json, warnings), user_json, handlers, warnings)
    _handlers_from(inline, config.config_path, handlers, warnings)
    if config.project_trust == "trusted":
        project_json = config.project_root / ".codex" / "hooks.json"
        if project_json.is_file():
            _handlers_from(_read_json_file(project_json, warnings), project_json, handlers, warnings)
    raw_state = table.get("state") if isinstance(table, Mapping) else None
    state = {str(k): v for k, v in raw_state.items() if isinstance(v, Mapping)} if isinstance(
        raw_state, Mapping) else {}
    return DiscoveredHooks(tuple(handlers), state, tuple(warnings))


def trust_handlers(config_path: Path, handlers: Sequence[HookHandler], state: Mapping[str, Mapping[str, object]]) \
        -> None:
    """Record each handler's current hash as trusted in the user config.toml (keeping `enabled`)."""
    from codex_cli import toml_edit

    text = toml_edit.read_text(config_path)
    for handler in handlers:
        values: dict[str, object] = {"trusted_hash": handler.trust_hash()}
        enabled = state.get(handler.key, {}).get("enabled")
        if isinstance(enabled, bool):
            values["enabled"] = enabled
        path = ("hooks", "state", handler.key)
        text = toml_edit.set_table(text, path, toml_edit.render_table(path, values))
    toml_edit.write_text_atomic(config_path, text)
