"""Rollout files: one JSONL record per thread under `$CODEX_HOME/sessions`, written line by line as a turn runs,
and read back to resume, fork, list, archive and delete threads.

Layout and line shapes follow codex-rs 0.169 (`sessions.md` §1–2): `sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`,
each line `{"timestamp","ordinal","type","payload"}` with `type` one of `session_meta`, `response_item`, `event_msg`,
`turn_context`, `world_state`, `token_usage_record`, `compacted`. Every line is handed to the OS in one write as soon
as it exists, so a crash loses at most the line being written; a torn or corrupt line is skipped when reading.
Reading a large rollout decodes only the lines resume needs (the line type is peeked before decoding).

So that codex-rs resumes our threads as its own (and we its), lines come in its order: a turn's context messages,
then the `world_state` they changed (a full snapshot, or an RFC 7386 merge patch over it), then `turn_context`, then
the prompt; a `world_state` or `turn_context` waits for that moment, never longer than the turn's next line.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from codex_cli.compaction import estimate_tokens, is_context_message
from codex_cli.errors import CodexError
from codex_cli.jsoncodec import decode_json, encode_json
from codex_cli.protocol import (
    AgentMessageItem,
    CommandExecutionItem,
    Event,
    FileChangeItem,
    ItemCompleted,
    ReasoningItem,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
)
from codex_cli.records import Record, field, replace
from codex_cli.response_items import ResponseItem

__all__ = [
    "ARCHIVED_DIR",
    "SESSIONS_DIR",
    "ResumedThread",
    "RolloutRecorder",
    "SessionMeta",
    "ThreadSummary",
    "apply_merge_patch",
    "archive_thread",
    "delete_thread",
    "find_last_thread",
    "find_thread",
    "find_thread_by_name",
    "is_context_item",
    "is_uuid",
    "list_threads",
    "load_rollout",
    "merge_patch",
    "read_summary",
    "record_thread_name",
    "rollout_files",
    "thread_names",
    "unarchive_thread",
    "world_state_fingerprint",
]

SESSIONS_DIR = "sessions"
SESSION_INDEX = "session_index.jsonl"  # thread names, as codex-rs keeps them (ux.md §9)
ARCHIVED_DIR = "archived_sessions"
_NAME = re.compile(r"^rollout-(\d{4})-(\d{2})-(\d{2})T\d{2}-\d{2}-\d{2}-(.+)\.jsonl$")
_PEEK = re.compile(rb'"type":\s*"([a-z_]+)"')
_PASSTHROUGH = "internal_chat_message_metadata_passthrough"
_HEAD_LINES = 64  # a summary stops reading after this many lines
_TAIL_BLOCK = 1 << 16


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _utc_timestamp(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class SessionMeta(Record):
    """The `session_meta` line: who started the thread, where, and the base instructions it was started with."""

    id: str
    cwd: str
    timestamp: str = ""  # filled in when written
    originator: str = ""
    cli_version: str = ""
    source: str = ""
    model_provider: str | None = None
    base_instructions: str | None = None
    forked_from_id: str | None = None
    thread_source: str = "user"  # `exec --thread-source`: how the caller classifies the thread

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> SessionMeta:
        base = payload.get("base_instructions")
        text = base.get("text") if isinstance(base, dict) else base if isinstance(base, str) else None
        provider = payload.get("model_provider")
        forked = payload.get("forked_from_id")
        thread_source = payload.get("thread_source")
        return cls(
            id=str(payload.get("id") or payload.get("session_id") or ""),
            cwd=str(payload.get("cwd") or ""),
            timestamp=str(payload.get("timestamp") or ""),
            originator=str(payload.get("originator") or ""),
            cli_version=str(payload.get("cli_version") or ""),
            source=str(payload.get("source") or ""),
            model_provider=provider if isinstance(provider, str) else None,
            base_instructions=text if isinstance(text, str) else None,
            forked_from_id=forked if isinstance(forked, str) else None,
            thread_source=thread_source if isinstance(thread_source, str) and thread_source else "user",
        )

    def to_payload(self, model: str) -> dict[str, object]:
        payload: dict[str, object] = {
            "session_id": self.id,
            "id": self.id,
            "timestamp": self.timestamp or _utc_timestamp(),
            "cwd": self.cwd,
            "runtime_workspace_roots": [self.cwd],
            "originator": self.originator,
            "cli_version": self.cli_version,
            "source": self.source,
            "thread_source": self.thread_source,
            "model_provider": self.model_provider,
        }
        if self.forked_from_id:
            payload["forked_from_id"] = self.forked_from_id
        if self.base_instructions is not None:
            payload["base_instructions"] = {
                "text": self.base_instructions,
                "provenance": {"type": "model", "model": model},
            }
        return payload


# ---------------------------------------------------------------------------------------------------- writing


def _rollout_path(codex_home: Path, thread_id: str, now: datetime.datetime) -> Path:
    local = now.astimezone()
    directory = codex_home / SESSIONS_DIR / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
    return directory / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{thread_id}.jsonl"


def _usage_dict(usage: Usage) -> dict[str, int]:
    return {**usage.to_dict(), "total_tokens": usage.total_tokens}


class RolloutRecorder:
    """Appends lines to one rollout file. Thread-safe; each line goes to the OS in a single write."""

    def __init__(
        self,
        path: Path,
        *,
        thread_id: str,
        next_ordinal: int = 0,
        turn_context: ResponseItem | None = None,
        context_window: int | None = None,
    ) -> None:
        self.path = path
        self._context_window = context_window
        self.thread_id = thread_id
        self._ordinal = next_ordinal
        self._lock = threading.Lock()
        self._turn_context = dict(turn_context or {})
        self._turn_id: str | None = None
        self._turn_usage = Usage()
        # codex-rs writes a turn's context messages, then the world_state they changed, then turn_context, and only
        # then the prompt: a world_state waits here for the next line that is not a context message, and a started
        # turn's turn_context is written just before its first such line.
        self._state: tuple[bool, ResponseItem] | None = None  # (full, state or merge patch) not yet written
        self._turn_context_due = False
        self.error: OSError | None = None  # the first failed write; recording stops there, the turn goes on
        self.on_error: Callable[[OSError], None] | None = None  # told once, outside the lock, when recording stops
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(self._fd).st_size
            if size and not _ends_with_newline(path, size):
                self._write_bytes(b"\n")  # a torn last line must not swallow the next one
        except OSError as exc:
            raise CodexError(
                f"Cannot write session file {path}: {exc.strerror}.",
                "Check the permissions of $CODEX_HOME/sessions, or pass --ephemeral.",
            ) from exc

    @classmethod
    def create(
        cls,
        codex_home: Path,
        meta: SessionMeta,
        *,
        model: str,
        turn_context: ResponseItem | None = None,
        context_window: int | None = None,
    ) -> RolloutRecorder:
        """Start a new rollout file for `meta.id` and write its `session_meta` line."""
        now = datetime.datetime.now(datetime.timezone.utc)
        path = _rollout_path(codex_home, meta.id, now)
        recorder = cls(path, thread_id=meta.id, turn_context=turn_context, context_window=context_window)
        recorder.write("session_meta", meta.to_payload(model))
        return recorder

    def close(self) -> None:
        self._write_due(turn_context=False)  # a world_state still waiting for its turn
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _write_bytes(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._fd is not None:
            written = os.write(self._fd, view)
            view = view[written:]

    def write(self, kind: str, payload: object, **extra: object) -> None:
        """Append one line now (the timestamp and ordinal are filled in), after the world_state and turn_context
        lines that are due before it."""
        with self._lock:
            lines = [] if _context_line(kind, payload) else self._due_lines()
            stopped = self._write_lines([*lines, (kind, payload, extra)])
        if stopped and self.on_error is not None:  # outside the lock: telling the person may record an event
            self.on_error(stopped)

    def _write_due(self, *, turn_context: bool) -> None:
        """Write the waiting world_state now, and the turn_context line too when `turn_context`."""
        with self._lock:
            self._turn_context_due = self._turn_context_due or turn_context
            stopped = self._write_lines(self._due_lines())
        if stopped and self.on_error is not None:
            self.on_error(stopped)

    def _due_lines(self) -> list[tuple[str, object, dict[str, object]]]:
        """The lines waiting for the next line that is not a context message (called under the lock)."""
        lines: list[tuple[str, object, dict[str, object]]] = []
        if self._state is not None:
            (full, state), self._state = self._state, None
            lines.append(("world_state", {"full": full, "state": state}, {}))
        if self._turn_context_due:
            self._turn_context_due = False
            context = {"turn_id": self._turn_id, "root_turn_id": self._turn_id, **self._turn_context}
            lines.append(("turn_context", context, {}))
        return lines

    def _write_lines(self, lines: list[tuple[str, object, dict[str, object]]]) -> OSError | None:
        """Write under the lock; returns the error when this call stopped the recording."""
        for kind, payload, extra in lines:
            if self._fd is None:
                return None
            line = {"timestamp": _utc_timestamp(), "ordinal": self._ordinal, "type": kind, "payload": payload, **extra}
            self._ordinal += 1
            try:
                self._write_bytes(encode_json(line) + b"\n")
            except OSError as exc:  # e.g. a full disk: losing the record must not end the turn
                self.error, fd, self._fd = exc, self._fd, None
                with contextlib.suppress(OSError):
                    os.close(fd)
                return exc
        return None

    # -- what the session reports ------------------------------------------------------------------------

    def record_items(self, items: list[ResponseItem]) -> None:
        """Response items added to the model-visible history (the `Session(on_history=...)` hook)."""
        for item in items:
            self.write("response_item", item)
            if item.get("type") == "message" and item.get("role") == "user" and not is_context_message(item):
                self._event("item_completed", item=_user_message_item(item))

    def record_usage(self, last: Usage, total: Usage, response_id: str | None) -> None:
        self._turn_usage = self._turn_usage + last
        self.write(
            "token_usage_record",
            {
                "thread_id": self.thread_id,
                "turn_id": self._turn_id,
                "session_id": self.thread_id,
                "root_turn_id": self._turn_id,
                "response_id": response_id,
                "usage": _usage_dict(last),
                "turn_token_usage": _usage_dict(self._turn_usage),
                "thread_token_usage": _usage_dict(total),
            },
        )
        self._token_count(last, total)

    def record_compaction(self, summary: str, replacement: list[ResponseItem], estimate: int, total: Usage) -> None:
        """A finished compaction: the new history without the base-instructions message."""
        self.write("compacted", {"message": summary, "replacement_history": replacement})
        self._write_due(turn_context=True)  # the new window's full world_state, then turn_context
        self._token_count(Usage(total_tokens=estimate), total)
        self._event("item_completed", item={"type": "ContextCompaction", "id": str(uuid.uuid4())})

    def record_world_state(self, state: ResponseItem, *, full: bool) -> None:
        """A snapshot of what the model was told (`full`), or a merge patch over the last one (RFC 7386, as codex-rs
        reads it). Written before the next line that is not a context message: after the context messages it
        describes, as codex-rs orders them."""
        with self._lock:
            if full or self._state is None:
                self._state = (full, state)
            else:
                earlier_full, earlier = self._state
                self._state = (earlier_full, apply_merge_patch(earlier, state))

    def on_event(self, event: Event) -> None:
        """The session's event stream: turn boundaries and finished items become `event_msg` lines."""
        if isinstance(event, TurnStarted):
            self._turn_id, self._turn_usage = event.turn_id, Usage()
            self._event("task_started", turn_id=event.turn_id, root_turn_id=event.turn_id, started_at=_unix())
            with self._lock:
                self._turn_context_due = True
        elif isinstance(event, ItemCompleted):
            item = _event_item(event)
            if item is not None:
                self._event("item_completed", item=item)
        elif isinstance(event, TurnCompleted):
            self._event("task_complete", turn_id=self._turn_id, root_turn_id=self._turn_id,
                        last_agent_message=event.last_agent_message, completed_at=_unix())
        elif isinstance(event, TurnFailed):
            self._event("task_complete", turn_id=self._turn_id, root_turn_id=self._turn_id, last_agent_message=None,
                        completed_at=_unix(), error={"message": event.message})
        elif isinstance(event, TurnAborted):
            self._event("turn_aborted", turn_id=self._turn_id, root_turn_id=self._turn_id, reason=event.reason,
                        completed_at=_unix())

    def _event(self, kind: str, **fields: object) -> None:
        payload: dict[str, object] = {"type": kind}
        if kind == "item_completed":
            payload.update(thread_id=self.thread_id, turn_id=self._turn_id)
        payload.update(fields)
        self.write("event_msg", payload)

    def _token_count(self, last: Usage, total: Usage) -> None:
        info = {"total_token_usage": _usage_dict(total), "last_token_usage": _usage_dict(last),
                "model_context_window": self._context_window}
        self._event("token_count", info=info, rate_limits=None)


def _unix() -> int:
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp())


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def _context_line(kind: str, payload: object) -> bool:
    """A line that may come before a turn's world_state and turn_context: a context message, or the compaction
    that the new window's context follows."""
    if kind == "compacted":
        return True
    return kind == "response_item" and isinstance(payload, dict) and is_context_item(payload)


def is_context_item(item: ResponseItem) -> bool:
    """A message of the context the harness gives the model (developer text, environment, AGENTS.md), not a turn's."""
    return item.get("type") == "message" and (item.get("role") == "developer" or is_context_message(item))


def world_state_fingerprint(role: str, text: str) -> str:
    """How codex-rs 0.169 fingerprints a context fragment in `world_state` (the `permissions.instructions` value):
    SHA-1 over a version tag, then the role and the text, each as a big-endian 64-bit length and the UTF-8 bytes."""
    import hashlib
    import struct

    digest = hashlib.sha1(b"codex-world-state-fragment-v1\0")
    for part in (role, text.replace("\r\n", "\n")):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(struct.pack(">Q", len(data)) + data)
    return digest.hexdigest()


def merge_patch(previous: object, current: object) -> object | None:
    """The RFC 7386 merge patch that turns `previous` into `current` (None when they are equal): how codex-rs writes
    a `world_state` line that is not `full`."""
    if previous == current:
        return None
    if not isinstance(current, dict):
        return current
    before = previous if isinstance(previous, dict) else {}
    patch: ResponseItem = {key: None for key in before if key not in current}
    for key, value in current.items():
        if key not in before:
            patch[key] = value
        else:
            sub = merge_patch(before[key], value)
            if sub is not None:
                patch[key] = sub
    return patch


def apply_merge_patch(target: object, patch: object) -> ResponseItem:
    """`target` with an RFC 7386 merge patch applied (a null removes a key; objects merge, anything else replaces)."""
    out: ResponseItem = dict(target) if isinstance(target, dict) else {}
    if not isinstance(patch, dict):
        return out
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = apply_merge_patch(out.get(key), value)
        else:
            out[key] = value
    return out


def _user_message_item(item: ResponseItem) -> ResponseItem:
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    texts = [
        {"type": "text", "text": str(p.get("text", "")), "text_elements": []}
        for p in parts
        if isinstance(p, dict) and p.get("type") == "input_text"
    ]
    return {"type": "UserMessage", "id": str(uuid.uuid4()), "content": texts}


def _event_item(event: ItemCompleted) -> ResponseItem | None:
    """Our finished items in the PascalCase shapes codex-rs persists (only the fields both sides know)."""
    item = event.item
    if isinstance(item, AgentMessageItem):
        return {"type": "AgentMessage", "id": item.id, "content": [{"type": "Text", "text": item.text}]}
    if isinstance(item, ReasoningItem):
        return {"type": "Reasoning", "id": item.id, "summary_text": [item.text], "raw_content": []}
    if isinstance(item, CommandExecutionItem):
        return {
            "type": "CommandExecution", "id": item.id, "command": item.command, "cwd": item.cwd,
            "status": "completed" if item.status == "completed" else "failed",
            "aggregated_output": item.aggregated_output, "exit_code": item.exit_code,
        }
    if isinstance(item, FileChangeItem):
        changes = {c.path: {"type": c.kind} for c in item.changes}
        return {"type": "FileChange", "id": item.id, "changes": changes, "status": item.status}
    if item.type == "mcp_tool_call":
        error = getattr(item, "error", None)
        return {
            "type": "McpToolCall", "id": item.id, "server": getattr(item, "server", ""),
            "tool": getattr(item, "tool", ""), "arguments": getattr(item, "arguments", None),
            "status": getattr(item, "status", ""), "error": None if error is None else {"message": error},
        }
    return None


# ---------------------------------------------------------------------------------------------------- reading


class ResumedThread(Record, frozen=False):
    """What a rollout says about its thread: enough to send the next request as if the process never stopped."""

    path: Path
    meta: SessionMeta
    history: list[ResponseItem]  # model-visible items since the last compaction, without the base-instructions message
    next_ordinal: int = 0
    last_cwd: str | None = None
    last_sandbox_policy: Mapping[str, object] | None = None
    last_turn_context: dict[str, object] = field(default_factory=dict)  # the payload of the last turn_context line
    world_state: dict[str, object] = field(default_factory=dict)
    context_tokens: int = 0  # last response's total_tokens plus an estimate of the items recorded after it
    usage: Usage = field(default_factory=Usage)
    window_number: int = 0
    skipped_lines: int = 0


def _peek_type(line: bytes) -> bytes | None:
    """The line's top-level `type` without decoding it, when the envelope puts it before the payload."""
    match = _PEEK.search(line, 0, 200)
    if match is None:
        return None
    payload_at = line.find(b'"payload"', 0, 200)
    return match.group(1) if payload_at < 0 or match.start() < payload_at else None


def _usage_from(value: object) -> Usage | None:
    if not isinstance(value, dict):
        return None
    names = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens",
             "reasoning_output_tokens", "total_tokens")
    counts = [value.get(n) for n in names]
    return Usage(*(c if isinstance(c, int) else 0 for c in counts))


def _strip(item: ResponseItem) -> ResponseItem:
    if _PASSTHROUGH in item:
        return {k: v for k, v in item.items() if k != _PASSTHROUGH}
    return item


class _Loader:
    """Folds rollout lines into a ResumedThread."""

    def __init__(self, path: Path) -> None:
        self.thread = ResumedThread(path, SessionMeta("", ""), [])
        self.mark = 0  # history index after which items are not yet counted in `base_tokens`
        self.base_tokens = 0
        self.has_meta = False

    def feed(self, kind: str, payload: object) -> None:
        t = self.thread
        if not isinstance(payload, dict):
            return
        if kind == "response_item":
            t.history.append(_strip(payload))
        elif kind == "session_meta" and not self.has_meta:
            t.meta, self.has_meta = SessionMeta.from_payload(payload), True
        elif kind == "turn_context":
            cwd, policy = payload.get("cwd"), payload.get("sandbox_policy")
            t.last_cwd = cwd if isinstance(cwd, str) else t.last_cwd
            t.last_sandbox_policy = policy if isinstance(policy, dict) else t.last_sandbox_policy
            t.last_turn_context = dict(payload)
        elif kind == "world_state":
            state = payload.get("state")
            if isinstance(state, dict):
                t.world_state = dict(state) if payload.get("full") else apply_merge_patch(t.world_state, state)
        elif kind == "compacted":
            self._compacted(payload)
        elif kind == "token_usage_record":
            self._tokens(_usage_from(payload.get("usage")), _usage_from(payload.get("thread_token_usage")))
        elif kind == "event_msg" and payload.get("type") == "token_count":
            info = payload.get("info")
            if isinstance(info, dict):
                self._tokens(_usage_from(info.get("last_token_usage")), _usage_from(info.get("total_token_usage")))

    def _compacted(self, payload: Mapping[str, object]) -> None:
        t = self.thread
        replacement = payload.get("replacement_history")
        if isinstance(replacement, list):
            t.history = [_strip(i) for i in replacement if isinstance(i, dict)]
        else:  # older rollouts kept only the summary
            text = str(payload.get("message") or "")
            t.history = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]
        t.window_number += 1
        self.mark, self.base_tokens = 0, 0

    def _tokens(self, last: Usage | None, total: Usage | None) -> None:
        if last is not None:
            self.mark, self.base_tokens = len(self.thread.history), last.total_tokens
        if total is not None:
            self.thread.usage = total

    def finish(self, ordinal: int) -> ResumedThread:
        t = self.thread
        t.next_ordinal = ordinal
        t.context_tokens = self.base_tokens + estimate_tokens(t.history[self.mark :])
        return t


_NEEDED = {b"response_item", b"session_meta", b"turn_context", b"world_state", b"compacted", b"token_usage_record"}


def load_rollout(path: Path) -> ResumedThread:
    """Read a rollout for resuming. Lines that are torn or not JSON are counted and skipped, never fatal."""
    loader = _Loader(path)
    ordinal = 0
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CodexError(f"Cannot read session file {path}: {exc.strerror}.") from exc
    with f:
        for line in f:
            ordinal += 1
            kind = _peek_type(line)
            if kind is not None and kind not in _NEEDED:
                if kind != b"event_msg" or b'"token_count"' not in line[:300]:
                    continue
            try:
                obj = decode_json(line)
            except ValueError:
                loader.thread.skipped_lines += 1
                continue
            if isinstance(obj, dict):
                number = obj.get("ordinal")
                if isinstance(number, int):
                    ordinal = max(ordinal, number + 1)
                loader.feed(str(obj.get("type")), obj.get("payload"))
    thread = loader.finish(ordinal)
    if not loader.has_meta:
        raise CodexError(f"Session file {path} has no session_meta line; it cannot be resumed.")
    return thread


# ---------------------------------------------------------------------------------------------------- finding


class ThreadSummary(Record):
    """What a picker shows of a thread, read from the head of its rollout only (and its name from the index)."""

    id: str
    path: Path
    cwd: str
    created: str
    updated: float  # mtime
    source: str
    model_provider: str | None
    first_user_message: str | None
    name: str | None = None

    @property
    def title(self) -> str | None:
        """What a list shows: the thread's name, else its first prompt."""
        return self.name or self.first_user_message


def thread_names(codex_home: Path) -> dict[str, str]:
    """Thread id → name from `session_index.jsonl`; a later line for the same id wins. Unreadable lines are
    skipped; no file means no names."""
    names: dict[str, str] = {}
    try:
        with open(codex_home / SESSION_INDEX, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return names
    for line in lines:
        try:
            entry = decode_json(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("thread_name"), str):
            names[entry["id"].lower()] = entry["thread_name"]
    return names


def record_thread_name(codex_home: Path, thread_id: str, name: str) -> None:
    """Append `{"id", "thread_name", "updated_at"}` to `session_index.jsonl` (private to the user, like
    history.jsonl: names come from prompts). Raises OSError when it cannot be written."""
    now = datetime.datetime.now(datetime.timezone.utc)
    line = encode_json({"id": thread_id, "thread_name": name,
                        "updated_at": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"})
    codex_home.mkdir(parents=True, exist_ok=True)
    fd = os.open(codex_home / SESSION_INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line + b"\n")  # one short write under O_APPEND: lines of concurrent writers do not mix
    finally:
        os.close(fd)


def rollout_files(codex_home: Path, *, archived: bool = False) -> Iterator[Path]:
    """Every rollout file under `sessions/` (or `archived_sessions/`), in no particular order."""
    root = codex_home / (ARCHIVED_DIR if archived else SESSIONS_DIR)
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.name.startswith("rollout-") and entry.name.endswith(".jsonl"):
                yield Path(entry.path)


def _id_from_name(path: Path) -> str | None:
    match = _NAME.match(path.name)
    return match.group(4) if match else None


def find_thread(codex_home: Path, thread_id: str, *, archived: bool = False) -> Path | None:
    """The rollout of a thread id, found by file name."""
    wanted = thread_id.lower()
    for path in rollout_files(codex_home, archived=archived):
        if (_id_from_name(path) or "").lower() == wanted:
            return path
    return None


def _first_prompt(payload: Mapping[str, object]) -> str | None:
    if payload.get("type") != "message" or payload.get("role") != "user" or is_context_message(dict(payload)):
        return None
    content = payload.get("content")
    if not isinstance(content, list):
        return None
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "input_text")


def read_summary(path: Path) -> ThreadSummary | None:
    """Read the head of a rollout: its session_meta and first real user prompt."""
    meta: SessionMeta | None = None
    prompt: str | None = None
    try:
        with open(path, "rb") as f:
            for _, line in zip(range(_HEAD_LINES), f, strict=False):
                kind = _peek_type(line)
                if kind is not None and kind not in (b"session_meta", b"response_item"):
                    continue
                try:
                    obj = decode_json(line)
                except ValueError:
                    continue
                payload = obj.get("payload") if isinstance(obj, dict) else None
                if not isinstance(obj, dict) or not isinstance(payload, dict):
                    continue
                if obj.get("type") == "session_meta" and meta is None:
                    meta = SessionMeta.from_payload(payload)
                elif obj.get("type") == "response_item":
                    prompt = _first_prompt(payload)
                    if prompt is not None:
                        break
            updated = os.fstat(f.fileno()).st_mtime
    except OSError:
        return None
    if meta is None:
        return None
    return ThreadSummary(meta.id, path, meta.cwd, meta.timestamp, updated, meta.source, meta.model_provider, prompt)


def _last_turn_cwd(path: Path) -> str | None:
    """The cwd of the last `turn_context` line, reading the file backwards in blocks."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            carry = b""
            while end > 0:
                start = max(0, end - _TAIL_BLOCK)
                f.seek(start)
                block = f.read(end - start) + carry
                lines = block.split(b"\n")
                carry = lines[0] if start > 0 else b""
                for line in reversed(lines[1:] if start > 0 else lines):
                    if _peek_type(line) == b"turn_context":
                        try:
                            obj = decode_json(line)
                        except ValueError:
                            continue
                        payload = obj.get("payload") if isinstance(obj, dict) else None
                        cwd = payload.get("cwd") if isinstance(payload, dict) else None
                        if isinstance(cwd, str):
                            return cwd
                end = start
    except OSError:
        return None
    return None


def list_threads(codex_home: Path, *, archived: bool = False, cwd: Path | None = None) -> list[ThreadSummary]:
    """Every readable thread (started in `cwd`, when given), most recently updated first; reads only the head of
    each file, which is what a resume picker needs."""
    summaries = [s for s in map(read_summary, rollout_files(codex_home, archived=archived)) if s is not None]
    if cwd is not None:
        summaries = [s for s in summaries if s.cwd == str(cwd)]
    names = thread_names(codex_home)
    summaries = [replace(s, name=names[s.id.lower()]) if s.id.lower() in names else s for s in summaries]
    summaries.sort(key=lambda s: s.updated, reverse=True)
    return summaries


def find_last_thread(codex_home: Path, *, cwd: Path | None, model_provider: str | None,
                     interactive_only: bool = False) -> Path | None:
    """The most recently updated thread of this provider whose latest cwd is `cwd` (any cwd when None); with
    `interactive_only`, not a `codex exec` one."""
    files = []
    for path in rollout_files(codex_home):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    files.sort(reverse=True)
    for _, path in files:
        summary = read_summary(path)
        if summary is None:
            continue
        if model_provider is not None and summary.model_provider not in (None, model_provider):
            continue
        if interactive_only and summary.source == "exec":
            continue
        if cwd is not None and (_last_turn_cwd(path) or summary.cwd) != str(cwd):
            continue
        return path
    return None


def find_thread_by_name(codex_home: Path, name: str, *, cwd: Path | None) -> Path | None:
    """The most recent thread named `name` (session_index.jsonl), else one whose first prompt is exactly `name`."""
    return _named([t for t in list_threads(codex_home) if cwd is None or t.cwd == str(cwd)], name)


def _named(threads: list[ThreadSummary], name: str) -> Path | None:
    """The first of `threads` named `name`, else the first whose first prompt is exactly `name`."""
    found = next((t for t in threads if t.name == name), None) or next(
        (t for t in threads if t.first_user_message == name), None)
    return found.path if found is not None else None


# ---------------------------------------------------------------------------------------------------- archive


def _require(path: Path | None, what: str, name: str) -> Path:
    if path is None:
        raise CodexError(f"No {what}session found matching '{name}'.", "Check the id with `codex resume --all`.")
    return path


def _resolve(codex_home: Path, name: str, *, archived: bool) -> Path | None:
    if is_uuid(name):
        return find_thread(codex_home, name, archived=archived)
    return _named(list_threads(codex_home, archived=archived), name)


def archive_thread(codex_home: Path, name: str) -> str:
    """Move a thread's rollout to `archived_sessions/`; returns its id."""
    path = _require(_resolve(codex_home, name, archived=False), "active ", name)
    target = codex_home / ARCHIVED_DIR / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    return _id_from_name(path) or name


def unarchive_thread(codex_home: Path, name: str) -> str:
    """Move an archived rollout back into its dated directory; returns its id."""
    path = _require(_resolve(codex_home, name, archived=True), "archived ", name)
    match = _NAME.match(path.name)
    parts = match.group(1, 2, 3) if match else ("1970", "01", "01")
    target = codex_home.joinpath(SESSIONS_DIR, *parts, path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    return _id_from_name(path) or name


def delete_thread(codex_home: Path, name: str) -> str:
    """Remove a thread's rollout, active or archived; returns its id."""
    path = _resolve(codex_home, name, archived=False) or _resolve(codex_home, name, archived=True)
    path = _require(path, "", name)
    path.unlink()
    return _id_from_name(path) or name
