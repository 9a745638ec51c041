"""The conversation and its turn loop: sample the model, run the tools it calls, repeat until it answers."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from codex_cli.errors import CodexError
from codex_cli.model import (
    Completed,
    ModelClient,
    OutputItemDone,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    StreamRetry,
    TextDelta,
    TokenUsage,
    TurnState,
)
from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    ErrorNotice,
    Event,
    ItemCompleted,
    ReasoningDelta,
    ReasoningItem,
    ThreadStarted,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
)
from codex_cli.tools import ToolCall, ToolContext, ToolRunner, tool_call_from_item

__all__ = ["RequestSettings", "Session", "TurnResult", "new_thread_id", "text_message"]

TurnStatus = Literal["completed", "failed", "aborted"]


def new_thread_id() -> str:
    """A time-ordered UUID (version 7), as codex-rs uses for thread ids."""
    import os
    import time

    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def text_message(role: str, *texts: str) -> dict[str, object]:
    """A history message item with one `input_text` part per text."""
    return {"type": "message", "role": role, "content": [{"type": "input_text", "text": t} for t in texts]}


@dataclass(frozen=True)
class RequestSettings:
    """The parts of a model request that do not change between samples."""

    model: str
    reasoning: dict[str, str] | None = None
    text: dict[str, object] | None = None
    parallel_tool_calls: bool = True


@dataclass(frozen=True)
class TurnResult:
    status: TurnStatus
    last_agent_message: str | None = None
    error: str | None = None


@dataclass
class _Sample:
    items: list[dict[str, object]] = field(default_factory=list)


class _Interrupted(Exception):
    """The person interrupted the turn."""


class Session:
    """One thread: its history, its usage, and `run_turn()`. It never prints and never reads config."""

    def __init__(
        self,
        *,
        thread_id: str,
        model: ModelClient,
        tools: ToolRunner,
        request: RequestSettings,
        cwd: Path,
        emit: Callable[[Event], None],
        history: Iterable[dict[str, object]] = (),
        on_history: Callable[[list[dict[str, object]]], None] | None = None,
    ) -> None:
        self.thread_id = thread_id
        self.model = model
        self.tools = tools
        self.request = request
        self.history: list[dict[str, object]] = list(history)
        # Told about every item added to the history (the rollout recorder listens here).
        self._on_history = on_history
        self.usage = Usage()
        self._emit = emit
        self.cwd = cwd
        self._cancel = threading.Event()
        self._item_ids = itertools.count()

    def _append(self, *items: dict[str, object]) -> None:
        self.history.extend(items)
        if self._on_history is not None and items:
            self._on_history(list(items))

    def _new_item_id(self) -> str:
        return f"item_{next(self._item_ids)}"

    def start(self) -> None:
        self._emit(ThreadStarted(self.thread_id))

    def interrupt(self) -> None:
        """Ask the running turn to stop (safe from a signal handler or another thread)."""
        self._cancel.set()

    def close(self) -> None:
        self.tools.close()
        self.model.close()

    def run_turn(self, user_items: list[dict[str, object]]) -> TurnResult:
        """Add the user's input and loop: sample, run tool calls, until the model stops calling tools."""
        self._cancel.clear()
        ctx = ToolContext(self.cwd, self.thread_id, self._emit, self._new_item_id, self._cancel)
        self._append(*user_items)
        self._emit(TurnStarted(str(uuid.uuid4())))
        turn_state = TurnState()
        last_message: str | None = None
        try:
            while True:
                items = self._sample(turn_state, ctx)
                self._append(*items)
                last_message = _last_agent_text(items) or last_message
                calls = [call for call in map(tool_call_from_item, items) if call is not None]
                if not calls:
                    break
                self._run_tool_calls(calls, ctx)
        except (KeyboardInterrupt, _Interrupted):
            return self._abort(ctx)
        except CodexError as exc:
            message = str(exc.message)
            self._emit(ErrorNotice(message))
            self._emit(TurnFailed(message, self.usage))
            return TurnResult("failed", error=message)
        self._finish_plan(ctx)
        self._emit(TurnCompleted(self.usage, last_message))
        return TurnResult("completed", last_message)

    def _request_body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "model": self.request.model,
            "stream": True,
            "input": self.history,
            "tools": self.tools.specs(),
            "tool_choice": "auto",
            "parallel_tool_calls": self.request.parallel_tool_calls,
        }
        if self.request.reasoning is not None:
            body["reasoning"] = self.request.reasoning
        body["store"] = False
        body["include"] = ["reasoning.encrypted_content"] if self.request.reasoning is not None else []
        body["prompt_cache_key"] = self.thread_id
        if self.request.text:
            body["text"] = self.request.text
        return body

    def _sample(self, turn_state: TurnState, ctx: ToolContext) -> list[dict[str, object]]:
        """One model request: stream its events to the front end and return its output items."""
        sample = _Sample()
        for event in self.model.stream(self._request_body(), turn_state=turn_state, cancel=self._cancel):
            if self._cancel.is_set():
                raise _Interrupted
            if isinstance(event, TextDelta):
                self._emit(AgentMessageDelta(event.delta))
            elif isinstance(event, ReasoningSummaryDelta):
                self._emit(ReasoningDelta(event.delta))
            elif isinstance(event, ReasoningSummaryPartAdded):
                self._emit(ReasoningDelta("", new_section=True))
            elif isinstance(event, OutputItemDone):
                sample.items.append(event.item)
                self._announce_item(event.item, ctx)
            elif isinstance(event, StreamRetry):
                sample.items.clear()
                self._emit(ErrorNotice(f"Reconnecting... {event.attempt}/{event.max_attempts}", event.cause))
            elif isinstance(event, Completed):
                if event.usage is not None:
                    self.usage = self.usage + _to_usage(event.usage)
        if self._cancel.is_set():
            raise _Interrupted
        return sample.items

    def _announce_item(self, item: dict[str, object], ctx: ToolContext) -> None:
        kind = item.get("type")
        if kind == "message" and item.get("role") == "assistant":
            self._emit(ItemCompleted(AgentMessageItem(ctx.new_item_id(), _message_text(item))))
        elif kind == "reasoning":
            text = _reasoning_text(item)
            if text:
                self._emit(ItemCompleted(ReasoningItem(ctx.new_item_id(), text)))

    def _run_tool_calls(self, calls: list[ToolCall], ctx: ToolContext) -> None:
        for call in calls:
            try:
                output = self.tools.run(call, ctx)
            except KeyboardInterrupt:
                self._cancel.set()
                self._append(call.output_item("aborted by user"))
                raise
            self._append(output)
            if self._cancel.is_set():
                raise _Interrupted

    def _abort(self, ctx: ToolContext) -> TurnResult:
        self._cancel.set()
        self.tools.close()
        self._append(*_dangling_call_outputs(self.history))
        self._append(
            text_message("user", "<turn_aborted>\nThe user interrupted the previous turn.\n</turn_aborted>")
        )
        self._emit(TurnAborted())
        return TurnResult("aborted")

    def _finish_plan(self, ctx: ToolContext) -> None:
        if ctx.plan_item is not None:
            self._emit(ItemCompleted(ctx.plan_item))


def _to_usage(usage: TokenUsage) -> Usage:
    return Usage(
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.cache_write_input_tokens,
        usage.output_tokens,
        usage.reasoning_output_tokens,
        usage.total_tokens,
    )


def _message_text(item: dict[str, object]) -> str:
    parts = item.get("content")
    if not isinstance(parts, list):
        return ""
    return "".join(
        str(part.get("text", ""))
        for part in parts
        if isinstance(part, dict) and part.get("type") in ("output_text", "text")
    )


def _reasoning_text(item: dict[str, object]) -> str:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return ""
    return "\n".join(str(part.get("text", "")) for part in summary if isinstance(part, dict) and part.get("text"))


def _last_agent_text(items: list[dict[str, object]]) -> str | None:
    texts = [_message_text(i) for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
    return texts[-1] if texts else None


def _dangling_call_outputs(history: list[dict[str, object]]) -> list[dict[str, object]]:
    """An "aborted" output for every call that has none, so the history stays valid for the next turn."""
    answered = {
        item.get("call_id")
        for item in history
        if item.get("type") in ("function_call_output", "custom_tool_call_output")
    }
    calls = [call for call in map(tool_call_from_item, history) if call is not None]
    return [call.output_item("aborted by user") for call in calls if call.call_id not in answered]
