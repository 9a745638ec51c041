"""Telling the person a turn ended or needs them: the `notify` program and terminal desktop notifications.

`notify` (config top level) is an argv; after every completed turn it runs with one extra argument, the JSON
`agent-turn-complete` payload, fire-and-forget (ux.md §6.1). `[tui] notifications` raise desktop notifications
through the terminal: OSC 9, OSC 777 or a plain BEL, wrapped for tmux passthrough (§6.2). Under WSL inside Windows
Terminal (`WT_SESSION`), where OSC 9 shows nothing, `auto` raises a native Windows toast through `powershell.exe`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from codex_cli.records import Record

__all__ = [
    "DesktopNotifier",
    "Method",
    "desktop_sequence",
    "is_wsl",
    "notify_payload",
    "resolve_method",
    "run_notify",
    "tmux_passthrough",
    "user_messages",
]

Method = Literal["osc9", "osc777", "bel", "toast"]
_OSC9_TERMINALS = ("WezTerm", "iTerm.app", "ghostty")
_MAX_MESSAGE = 200


def user_messages(history: Sequence[Mapping[str, object]]) -> list[str]:
    """The texts of the person's messages in a thread, oldest first (context and abort notices left out)."""
    from codex_cli.compaction import is_context_message

    texts: list[str] = []
    for item in history:
        if item.get("type") != "message" or item.get("role") != "user" or is_context_message(dict(item)):
            continue
        content = item.get("content")
        if isinstance(content, list):
            text = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text"))
            if text and not text.startswith("<hook_prompt"):
                texts.append(text)
    return texts


def notify_payload(*, thread_id: str, turn_id: str, cwd: Path, client: str | None, input_messages: list[str],
                   last_message: str | None) -> dict[str, object]:
    """The `agent-turn-complete` JSON, keys in the order codex-rs writes them."""
    payload: dict[str, object] = {"type": "agent-turn-complete", "thread-id": thread_id, "turn-id": turn_id,
                                  "cwd": str(cwd)}
    if client is not None:
        payload["client"] = client
    payload["input-messages"] = input_messages
    payload["last-assistant-message"] = last_message
    return payload


def run_notify(argv: Sequence[str] | None, payload: Mapping[str, object], cwd: Path) -> bool:
    """Start `argv + [json]` without waiting (a thread reaps it); False when there is nothing to run."""
    if not argv:
        return False
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        proc = subprocess.Popen([*argv, text], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=cwd, start_new_session=sys.platform != "win32")
    except OSError:
        return False
    threading.Thread(target=proc.wait, daemon=True).start()
    return True


def is_wsl(env: Mapping[str, str]) -> bool:
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        return True
    try:
        return "microsoft" in Path("/proc/sys/kernel/osrelease").read_text(encoding="utf-8").lower()
    except OSError:
        return False


def resolve_method(setting: str, env: Mapping[str, str]) -> Method:
    """`auto` → OSC 9 where the terminal shows it, a Windows toast under WSL + Windows Terminal, else BEL."""
    if setting in ("osc9", "osc777", "bel"):
        return setting  # type: ignore[return-value]
    if env.get("TERM_PROGRAM") in _OSC9_TERMINALS or env.get("ITERM_SESSION_ID") or env.get("KITTY_WINDOW_ID"):
        return "osc9"
    if env.get("WT_SESSION") and is_wsl(env):
        return "toast"
    return "bel"


def _clean(message: str) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in message).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def desktop_sequence(method: Method, message: str, *, tmux: bool) -> str:
    """The bytes to write to the terminal for one notification (empty for `toast`)."""
    if method == "bel":
        return "\x07"
    if method == "toast":
        return ""
    text = _clean(message).replace(";", ",") if method == "osc777" else _clean(message)
    sequence = f"\x1b]9;{text}\x07" if method == "osc9" else f"\x1b]777;notify;Codex;{text}\x1b\\"
    if tmux:
        sequence = tmux_passthrough(sequence)
    return sequence


def tmux_passthrough(sequence: str) -> str:
    """`sequence` wrapped for tmux to hand on to the terminal it runs in (DCS passthrough)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def _toast_script(message: str) -> str:
    body = _clean(message).replace("'", "''").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]"
        " > $null; [Windows.Data.Xml.Dom.XmlDocument, Windows.Data.Xml.Dom.XmlDocument, ContentType = "
        "WindowsRuntime] > $null; $x = New-Object Windows.Data.Xml.Dom.XmlDocument; "
        f"$x.LoadXml('<toast><visual><binding template=\"ToastGeneric\"><text>Codex</text><text>{body}</text>"
        "</binding></visual></toast>'); "
        "$t = [Windows.UI.Notifications.ToastNotification]::new($x); "
        "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('Codex').Show($t)"
    )


class DesktopNotifier(Record, frozen=False):
    """`[tui] notifications`, `notification_method`, `notification_condition` applied to one terminal."""

    enabled: bool | tuple[str, ...]
    method: Method
    condition: Literal["unfocused", "always"]
    write: Callable[[str], None]
    tmux: bool = False
    can_write: bool = True  # False when stdout is not a terminal: no escape sequences then
    focused: bool = True
    launcher: Callable[[list[str]], None] | None = None

    @classmethod
    def from_config(cls, tui: object, env: Mapping[str, str], write: Callable[[str], None], *,
                    can_write: bool) -> DesktopNotifier:
        table = tui if isinstance(tui, Mapping) else {}
        raw = table.get("notifications", True)
        enabled: bool | tuple[str, ...] = tuple(str(x) for x in raw) if isinstance(raw, list) else raw is not False
        condition: Literal["unfocused", "always"] = (
            "always" if table.get("notification_condition") == "always" else "unfocused"
        )
        method = resolve_method(str(table.get("notification_method", "auto")), env)
        return cls(enabled, method, condition, write, tmux=bool(env.get("TMUX")), can_write=can_write)

    def wants(self, kind: str) -> bool:
        if isinstance(self.enabled, tuple):
            return kind in self.enabled
        return self.enabled

    def notify(self, kind: str, message: str) -> bool:
        """Raise one notification of `kind` (`agent-turn-complete`, `approval-requested`); True when sent."""
        if not self.wants(kind) or (self.condition == "unfocused" and self.focused):
            return False
        if self.method == "toast":
            argv = ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command", _toast_script(message)]
            (self.launcher or _launch)(argv)
            return True
        if not self.can_write:
            return False
        self.write(desktop_sequence(self.method, message, tmux=self.tmux))
        return True


def _launch(argv: list[str]) -> None:
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=os.name != "nt")
    except OSError:
        return
    threading.Thread(target=proc.wait, daemon=True).start()
