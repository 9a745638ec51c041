"""The one event stream: the items and events a session emits, and their JSON form.

Every front end (exec's human and JSONL output, the line UI, the MCP server, the rollout
recorder) consumes these types; `codex exec --json` is simply `event_to_json(event)` per line. The two policy
vocabularies every layer shares live here too, under codex-rs's names: `SandboxMode` and `AskForApproval`.
"""

from __future__ import annotations

from typing import Literal

from codex_cli.records import Record, field

__all__ = [
    "APPROVAL_POLICIES",
    "SANDBOX_MODES",
    "AgentMessageDelta",
    "AgentMessageItem",
    "AskForApproval",
    "CommandExecutionItem",
    "CommandOutputDelta",
    "CommandStatus",
    "ContextCompacted",
    "ErrorItem",
    "ErrorNotice",
    "Event",
    "FileChange",
    "FileChangeItem",
    "HookRun",
    "Item",
    "ItemCompleted",
    "ItemStarted",
    "ItemUpdated",
    "ReasoningDelta",
    "ReasoningItem",
    "SandboxMode",
    "ThreadStarted",
    "TodoEntry",
    "TodoListItem",
    "TurnAborted",
    "TurnCompleted",
    "TurnFailed",
    "TurnStarted",
    "Usage",
    "WarningNotice",
    "WebSearchItem",
    "event_to_json",
    "item_to_dict",
    "uuid7",
]

def uuid7() -> str:
    """A time-ordered UUID (version 7): thread ids and the ids of items the client makes."""
    import os
    import time
    import uuid

    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


# What a sandboxed command may do, and when the person is asked; each tuple lists the values in the order help
# texts and error messages name them.
SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]
AskForApproval = Literal["untrusted", "on-failure", "on-request", "never"]
SANDBOX_MODES: tuple[SandboxMode, ...] = ("read-only", "workspace-write", "danger-full-access")
APPROVAL_POLICIES: tuple[AskForApproval, ...] = ("untrusted", "on-failure", "on-request", "never")

CommandStatus = Literal["in_progress", "completed", "failed", "declined"]
PatchStatus = Literal["in_progress", "completed", "failed"]
ChangeKind = Literal["add", "delete", "update"]


class Usage(Record):
    """Token counts, summed over every model response of a thread."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_input_tokens + other.cache_write_input_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_output_tokens + other.reasoning_output_tokens,
            self.total_tokens + other.total_tokens,
        )

    @property
    def blended_total(self) -> int:
        """What `tokens used` shows: input not served from cache, plus output."""
        return self.input_tokens - self.cached_input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_input_tokens": self.cache_write_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_output_tokens": self.reasoning_output_tokens,
        }


# ---------------------------------------------------------------------------- items


class AgentMessageItem(Record):
    id: str
    text: str
    type: Literal["agent_message"] = "agent_message"


class ReasoningItem(Record):
    id: str
    text: str
    type: Literal["reasoning"] = "reasoning"


class CommandExecutionItem(Record):
    id: str
    command: str
    aggregated_output: str = ""
    exit_code: int | None = None
    status: CommandStatus = "in_progress"
    type: Literal["command_execution"] = "command_execution"
    cwd: str = field(default="", compare=False)
    call_id: str = field(default="", compare=False)  # the model's call; not part of the exec JSON schema


class FileChange(Record):
    path: str
    kind: ChangeKind


class FileChangeItem(Record):
    id: str
    changes: tuple[FileChange, ...]
    status: PatchStatus = "in_progress"
    type: Literal["file_change"] = "file_change"
    # A unified diff for people; not part of the exec JSON schema.
    diff: str = field(default="", compare=False)
    call_id: str = field(default="", compare=False)  # the model's call; not part of the exec JSON schema


class TodoEntry(Record):
    text: str
    completed: bool
    in_progress: bool = field(default=False, compare=False)


class TodoListItem(Record):
    id: str
    items: tuple[TodoEntry, ...]
    type: Literal["todo_list"] = "todo_list"
    explanation: str | None = field(default=None, compare=False)


class ErrorItem(Record):
    id: str
    message: str
    type: Literal["error"] = "error"


class McpToolCallItem(Record):
    """exec.md §6.3; `error` is the message (serialised as {"message": ...})."""

    id: str
    server: str
    tool: str
    arguments: object = None
    result: object = None
    error: str | None = None
    status: Literal["in_progress", "completed", "failed"] = "in_progress"
    type: Literal["mcp_tool_call"] = "mcp_tool_call"
    call_id: str = field(default="", compare=False)  # the model's call; not part of the exec JSON schema


class WebSearchItem(Record):
    """exec.md §6.3: a search the model ran with the hosted `web_search` tool; `action` is the Responses
    `web_search_call.action` (`{"type": "search", "query": ...}`, `open_page`, ...)."""

    id: str
    query: str
    action: object = None
    type: Literal["web_search"] = "web_search"


Item = (
    AgentMessageItem | ReasoningItem | CommandExecutionItem | FileChangeItem | TodoListItem | ErrorItem
    | McpToolCallItem | WebSearchItem
)


def item_to_dict(item: Item) -> dict[str, object]:
    """The exec JSON shape of an item (fields in the order codex-rs prints them)."""
    if isinstance(item, McpToolCallItem):
        error = None if item.error is None else {"message": item.error}
        return {"id": item.id, "type": item.type, "server": item.server, "tool": item.tool,
                "arguments": item.arguments, "result": item.result, "error": error, "status": item.status}
    if isinstance(item, AgentMessageItem):
        return {"id": item.id, "type": item.type, "text": item.text}
    if isinstance(item, ReasoningItem):
        return {"id": item.id, "type": item.type, "text": item.text}
    if isinstance(item, CommandExecutionItem):
        return {
            "id": item.id,
            "type": item.type,
            "command": item.command,
            "aggregated_output": item.aggregated_output,
            "exit_code": item.exit_code,
            "status": item.status,
        }
    if isinstance(item, FileChangeItem):
        changes = [{"path": c.path, "kind": c.kind} for c in item.changes]
        return {"id": item.id, "type": item.type, "changes": changes, "status": item.status}
    if isinstance(item, TodoListItem):
        entries = [{"text": e.text, "completed": e.completed} for e in item.items]
        return {"id": item.id, "type": item.type, "items": entries}
    if isinstance(item, WebSearchItem):
        # codex-rs prints the model's call id as a second `id` key; one JSON object keeps ours (item_N).
        search: dict[str, object] = {"id": item.id, "type": item.type, "query": item.query}
        if item.action is not None:
            search["action"] = item.action
        return search
    return {"id": item.id, "type": item.type, "message": item.message}


# ---------------------------------------------------------------------------- events


class ThreadStarted(Record):
    thread_id: str


class TurnStarted(Record):
    turn_id: str


class ItemStarted(Record):
    item: Item


class ItemUpdated(Record):
    item: Item


class ItemCompleted(Record):
    item: Item


class AgentMessageDelta(Record):
    """Streaming assistant text, for display only; the item arrives complete later."""

    delta: str


class ReasoningDelta(Record):
    """Streaming reasoning summary text, for display only."""

    delta: str
    new_section: bool = False


class CommandOutputDelta(Record):
    item_id: str
    chunk: str


class ErrorNotice(Record):
    """A message for the person: a retry notice, or the fatal error before `TurnFailed`."""

    message: str
    detail: str | None = None
    fatal: bool = False  # the same message ends the turn in the `TurnFailed` that follows


class WarningNotice(Record):
    """A warning for the person: the configuration, the sandbox or the thread's context at start-up (`config`),
    an MCP server that failed to start (`mcp`), or the hooks (`hooks`)."""

    message: str
    source: Literal["config", "mcp", "hooks"] = "config"


class HookRun(Record):
    """One hook handler starting (`running`) or ending: `completed`, `blocked` (`detail`: the reason) or `failed`
    (`detail`: what went wrong). `status_message` is the handler's own words for its run."""

    event: str  # the hook point, e.g. "PreToolUse"
    status: Literal["running", "completed", "blocked", "failed"]
    status_message: str | None = None
    detail: str | None = None
    system_message: str | None = None  # the handler's `systemMessage` for the person


class ContextCompacted(Record):
    """The history was replaced by a summary to make room in the context window."""

    trigger: str  # "auto" or "manual"


class TurnCompleted(Record):
    usage: Usage
    last_agent_message: str | None


class TurnFailed(Record):
    message: str
    usage: Usage
    hint: str | None = None


class TurnAborted(Record):
    reason: str = "interrupted"


Event = (
    ThreadStarted
    | TurnStarted
    | ItemStarted
    | ItemUpdated
    | ItemCompleted
    | AgentMessageDelta
    | ReasoningDelta
    | CommandOutputDelta
    | ErrorNotice
    | WarningNotice
    | HookRun
    | ContextCompacted
    | TurnCompleted
    | TurnFailed
    | TurnAborted
)


def event_to_json(event: Event) -> dict[str, object] | None:
    """The `codex exec --json` line for an event, or None for display-only events."""
    if isinstance(event, ThreadStarted):
        return {"type": "thread.started", "thread_id": event.thread_id}
    if isinstance(event, TurnStarted):
        return {"type": "turn.started"}
    if isinstance(event, ItemStarted):
        return {"type": "item.started", "item": item_to_dict(event.item)}
    if isinstance(event, ItemUpdated):
        return {"type": "item.updated", "item": item_to_dict(event.item)}
    if isinstance(event, ItemCompleted):
        return {"type": "item.completed", "item": item_to_dict(event.item)}
    if isinstance(event, ErrorNotice):
        message = event.message if event.detail is None else f"{event.message} ({event.detail})"
        return {"type": "error", "message": message}
    if isinstance(event, TurnCompleted):
        return {"type": "turn.completed", "usage": event.usage.to_dict()}
    if isinstance(event, TurnFailed):
        return {"type": "turn.failed", "error": {"message": event.message}}
    return None
