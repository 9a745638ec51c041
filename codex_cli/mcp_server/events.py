"""The `codex/event` notifications of `codex mcp-server`: one session's event stream in codex-rs protocol shapes.

`CodexEventStream` turns each `protocol.Event` of a session into the `msg` objects that codex-rs 0.153.4 sent
(mcp.md §10.3): `session_configured`, `mcp_startup_complete`, `task_started`, `user_message`, `agent_message`,
`exec_command_begin`/`_end`, `patch_apply_begin`/`_end`, `token_count`, `task_complete`, `turn_aborted`, ...,
each paired with the event id (the turn id, `""` for session-level events). It also builds the
`exec_approval_request` / `apply_patch_approval_request` events that precede an elicitation. It keeps only
per-turn bookkeeping (turn id, start times, call ids) and never writes anything itself.
"""

from __future__ import annotations

import base64
import shlex
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    AskForApproval,
    CommandExecutionItem,
    CommandOutputDelta,
    ErrorItem,
    ErrorNotice,
    Event,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    ItemUpdated,
    McpToolCallItem,
    ReasoningDelta,
    ReasoningItem,
    SandboxMode,
    ThreadStarted,
    TodoListItem,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
    WarningNotice,
)
from codex_cli.records import Record
from codex_cli.shell_parse import shell_wrapper_script

if TYPE_CHECKING:
    from codex_cli.safety import ApprovalRequest

__all__ = ["CodexEventStream", "EventMsg", "SessionInfo", "parsed_command", "proposed_changes", "warning_msg"]

Msg = dict[str, object]
EventMsg = tuple[str, Msg]  # (event id, msg)


class SessionInfo(Record):
    """What `session_configured` reports about a session."""

    thread_id: str
    model: str
    model_provider_id: str
    approval_policy: AskForApproval
    sandbox_mode: SandboxMode
    cwd: str
    rollout_path: str | None
    reasoning_effort: str | None = None
    context_window: int | None = None


def _unix() -> int:
    return int(time.time())


def _duration(seconds: float) -> dict[str, int]:
    """A Rust `Duration` as serde writes it."""
    whole = int(seconds)
    return {"secs": whole, "nanos": int((seconds - whole) * 1e9)}


def _argv(display: str) -> list[str]:
    try:
        return shlex.split(display)
    except ValueError:
        return [display]


def parsed_command(argv: Sequence[str]) -> list[dict[str, object]]:
    """codex-rs's `parsed_cmd`: the script of a `shell -lc SCRIPT` call, as one `unknown` command."""
    script = shell_wrapper_script(argv)
    return [{"type": "unknown", "cmd": shlex.join(argv) if script is None else script}]


def proposed_changes(req: ApprovalRequest) -> dict[str, object]:
    """The `changes` of a patch approval: per file `add`/`delete` with content, or `update` with its diff."""
    changes: dict[str, object] = {}
    for change in req.changes:
        if change.kind == "update":
            move = str(change.move_path) if change.move_path is not None else None
            changes[str(change.path)] = {"type": "update", "unified_diff": change.unified_diff, "move_path": move}
        else:
            changes[str(change.path)] = {"type": change.kind, "content": change.content}
    return changes


def warning_msg(event: WarningNotice) -> Msg:
    """codex-rs's `warning` event, whatever the warning's source."""
    return {"type": "warning", "message": event.message}


def _usage(usage: Usage) -> dict[str, int]:
    return {**usage.to_dict(), "total_tokens": usage.total_tokens}


def _plan_status(completed: bool, in_progress: bool) -> str:
    return "completed" if completed else "in_progress" if in_progress else "pending"


def _changes(item: FileChangeItem) -> dict[str, object]:
    return {change.path: {"type": change.kind} for change in item.changes}


class CodexEventStream:
    """One session's events as codex-rs `EventMsg`s."""

    def __init__(self, info: SessionInfo) -> None:
        self.info = info
        self.turn_id = ""
        self._prompt: str | None = None
        self._turn_started = 0.0
        self._turn_started_unix = 0
        self._last_total = Usage()
        self._lock = threading.Lock()
        self._call_ids: dict[str, str] = {}  # item id -> the model's call id
        self._started: dict[str, float] = {}  # item id -> monotonic start

    def expect_prompt(self, prompt: str) -> None:
        """The user text of the next turn, reported after `task_started`."""
        self._prompt = prompt

    def session_configured(self) -> list[EventMsg]:
        info = self.info
        configured: Msg = {
            "type": "session_configured",
            "session_id": info.thread_id,
            "thread_id": info.thread_id,
            "model": info.model,
            "model_provider_id": info.model_provider_id,
            "approval_policy": info.approval_policy,
            "sandbox_policy": {"type": info.sandbox_mode},
            "cwd": info.cwd,
            "reasoning_effort": info.reasoning_effort,
            "history_log_id": 0,
            "history_entry_count": 0,
            "initial_messages": None,
            "rollout_path": info.rollout_path,
        }
        startup: Msg = {"type": "mcp_startup_complete", "ready": [], "failed": [], "cancelled": []}
        return [("", configured), ("", startup)]

    def translate(self, event: Event) -> list[EventMsg]:
        """The `EventMsg`s for one session event (none for events codex-rs has no counterpart for)."""
        with self._lock:
            msgs = self._translate(event)
        event_id = "" if isinstance(event, (ThreadStarted, WarningNotice)) else self.turn_id
        return [(event_id, msg) for msg in msgs]

    def _translate(self, event: Event) -> list[Msg]:
        if isinstance(event, ThreadStarted):
            return [msg for _, msg in self.session_configured()]
        if isinstance(event, TurnStarted):
            return self._task_started(event.turn_id)
        if isinstance(event, AgentMessageDelta):
            return [{"type": "agent_message_delta", "delta": event.delta}]
        if isinstance(event, ReasoningDelta):
            if event.new_section:
                return [{"type": "agent_reasoning_section_break"}]
            return [{"type": "agent_reasoning_delta", "delta": event.delta}]
        if isinstance(event, CommandOutputDelta):
            chunk = base64.b64encode(event.chunk.encode("utf-8")).decode("ascii")
            call_id = self._call_ids.get(event.item_id, event.item_id)
            return [{"type": "exec_command_output_delta", "call_id": call_id, "stream": "stdout", "chunk": chunk}]
        if isinstance(event, (ItemStarted, ItemUpdated)):
            return self._item_started(event.item)
        if isinstance(event, ItemCompleted):
            return self._item_completed(event.item)
        if isinstance(event, WarningNotice):
            return [warning_msg(event)]
        if isinstance(event, ErrorNotice):
            if event.fatal:
                return [{"type": "error", "message": event.message, "codex_error_info": None}]
            return [{"type": "stream_error", "message": event.message, "additional_details": event.detail}]
        if isinstance(event, TurnCompleted):
            return [self._token_count(event.usage), self._task_complete(event.last_agent_message)]
        if isinstance(event, TurnFailed):
            return [self._task_complete(None)]
        if isinstance(event, TurnAborted):
            return [{"type": "turn_aborted", "turn_id": self.turn_id, "reason": event.reason}]
        return []

    # ------------------------------------------------------------------ turns

    def _task_started(self, turn_id: str) -> list[Msg]:
        self.turn_id = turn_id
        self._turn_started, self._turn_started_unix = time.monotonic(), _unix()
        msgs: list[Msg] = [{
            "type": "task_started", "turn_id": turn_id, "started_at": self._turn_started_unix,
            "model_context_window": self.info.context_window, "collaboration_mode_kind": "default",
        }]  # fmt: skip
        if self._prompt is not None:
            item = {"type": "UserMessage", "id": f"user_{turn_id}", "content": [{"type": "text", "text": self._prompt}]}
            msgs += [
                {"type": "item_started", "thread_id": self.info.thread_id, "turn_id": turn_id, "item": item},
                {"type": "item_completed", "thread_id": self.info.thread_id, "turn_id": turn_id, "item": item},
                {"type": "user_message", "message": self._prompt, "images": None, "local_images": [],
                 "text_elements": []},
            ]  # fmt: skip
            self._prompt = None
        return msgs

    def _token_count(self, total: Usage) -> Msg:
        last = Usage(
            total.input_tokens - self._last_total.input_tokens,
            total.cached_input_tokens - self._last_total.cached_input_tokens,
            total.cache_write_input_tokens - self._last_total.cache_write_input_tokens,
            total.output_tokens - self._last_total.output_tokens,
            total.reasoning_output_tokens - self._last_total.reasoning_output_tokens,
            total.total_tokens - self._last_total.total_tokens,
        )
        self._last_total = total
        info = {"total_token_usage": _usage(total), "last_token_usage": _usage(last),
                "model_context_window": self.info.context_window}  # fmt: skip
        return {"type": "token_count", "info": info, "rate_limits": None}

    def _task_complete(self, last_message: str | None) -> Msg:
        return {
            "type": "task_complete", "turn_id": self.turn_id, "last_agent_message": last_message,
            "started_at": self._turn_started_unix, "completed_at": _unix(),
            "duration_ms": int((time.monotonic() - self._turn_started) * 1000), "time_to_first_token_ms": None,
        }  # fmt: skip

    # ------------------------------------------------------------------ items

    def _call_id(self, item: CommandExecutionItem | FileChangeItem | McpToolCallItem) -> str:
        """The model's call id the item carries (its item id stands in when it has none)."""
        call_id = self._call_ids.get(item.id)
        if call_id is None:
            call_id = item.call_id or item.id
            self._call_ids[item.id] = call_id
            self._started[item.id] = time.monotonic()
        return call_id

    def _item_started(self, item: object) -> list[Msg]:
        if isinstance(item, CommandExecutionItem):
            argv = _argv(item.command)
            return [{"type": "exec_command_begin", "call_id": self._call_id(item), "turn_id": self.turn_id,
                     "command": argv, "cwd": item.cwd, "parsed_cmd": parsed_command(argv), "source": "agent"}]
        if isinstance(item, FileChangeItem):
            return [{"type": "patch_apply_begin", "call_id": self._call_id(item), "turn_id": self.turn_id,
                     "auto_approved": True, "changes": _changes(item)}]
        if isinstance(item, TodoListItem):
            plan = [{"step": e.text, "status": _plan_status(e.completed, e.in_progress)} for e in item.items]
            return [{"type": "plan_update", "explanation": item.explanation, "plan": plan}]
        if isinstance(item, McpToolCallItem):
            invocation = {"server": item.server, "tool": item.tool, "arguments": item.arguments}
            return [{"type": "mcp_tool_call_begin", "call_id": self._call_id(item), "invocation": invocation}]
        if getattr(item, "type", None) == "web_search":  # hosted search: no local call id, the item id stands in
            return [{"type": "web_search_begin", "call_id": getattr(item, "id", "")}]
        return []

    def _elapsed(self, item_id: str) -> dict[str, int]:
        return _duration(time.monotonic() - self._started.pop(item_id, time.monotonic()))

    def _item_completed(self, item: object) -> list[Msg]:
        if isinstance(item, AgentMessageItem):
            agent_item = {"type": "AgentMessage", "id": item.id, "content": [{"type": "Text", "text": item.text}]}
            return [
                {"type": "item_completed", "thread_id": self.info.thread_id, "turn_id": self.turn_id,
                 "item": agent_item},
                {"type": "agent_message", "message": item.text, "phase": None, "memory_citation": None},
            ]  # fmt: skip
        if isinstance(item, ReasoningItem):
            return [{"type": "agent_reasoning", "text": item.text}]
        if isinstance(item, CommandExecutionItem):
            return [self._exec_end(item)]
        if isinstance(item, FileChangeItem):
            call_id, success = self._call_id(item), item.status == "completed"
            self._started.pop(item.id, None)
            return [{"type": "patch_apply_end", "call_id": call_id, "turn_id": self.turn_id, "stdout": "",
                     "stderr": "", "success": success, "changes": _changes(item), "status": item.status}]
        if isinstance(item, McpToolCallItem):
            call_id = self._call_id(item)
            invocation = {"server": item.server, "tool": item.tool, "arguments": item.arguments}
            result = {"Err": item.error} if item.error is not None else {"Ok": item.result}
            return [{"type": "mcp_tool_call_end", "call_id": call_id, "invocation": invocation,
                     "duration": self._elapsed(item.id), "result": result}]
        if isinstance(item, ErrorItem):
            return [{"type": "error", "message": item.message, "codex_error_info": None}]
        if getattr(item, "type", None) == "web_search":
            return [{"type": "web_search_end", "call_id": getattr(item, "id", ""),
                     "query": getattr(item, "query", ""), "action": getattr(item, "action", None)}]
        return []

    def _exec_end(self, item: CommandExecutionItem) -> Msg:
        argv = _argv(item.command)
        exit_code = -1 if item.exit_code is None else item.exit_code
        return {
            "type": "exec_command_end", "call_id": self._call_id(item), "turn_id": self.turn_id,
            "command": argv, "cwd": item.cwd, "parsed_cmd": parsed_command(argv), "source": "agent",
            "stdout": item.aggregated_output, "stderr": "", "aggregated_output": item.aggregated_output,
            "exit_code": exit_code, "duration": self._elapsed(item.id), "formatted_output": item.aggregated_output,
            "status": item.status,
        }  # fmt: skip

    # ------------------------------------------------------------------ approvals

    def approval_request(self, req: ApprovalRequest) -> EventMsg:
        """The `exec_approval_request` or `apply_patch_approval_request` announcing an elicitation."""
        if req.kind == "exec":
            return self.turn_id, {
                "type": "exec_approval_request", "call_id": req.call_id, "turn_id": self.turn_id,
                "command": list(req.command), "cwd": str(req.cwd), "reason": req.reason,
                "parsed_cmd": parsed_command(req.command),
            }  # fmt: skip
        return self.turn_id, {
            "type": "apply_patch_approval_request", "call_id": req.call_id, "turn_id": self.turn_id,
            "changes": proposed_changes(req), "reason": req.reason, "grant_root": None,
        }  # fmt: skip
