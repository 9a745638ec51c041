"""The conversation and its turn loop: sample the model, run the tools it calls, repeat until it answers."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from codex_cli.compaction import (
    COMPACT_PROMPT,
    SUMMARY_PREFIX,
    compaction_input,
    estimate_tokens,
    is_context_message,
    replacement_history,
    summary_text,
)
from codex_cli.errors import CodexError
from codex_cli.jsoncodec import decode_json, encode_json
from codex_cli.model import (
    Completed,
    ModelClient,
    OutputItemDone,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    StreamRetry,
    TextDelta,
    TurnState,
)
from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    ContextCompacted,
    ErrorNotice,
    Event,
    ItemCompleted,
    ItemStarted,
    ReasoningDelta,
    ReasoningItem,
    ThreadStarted,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
    Usage,
    WarningNotice,
    WebSearchItem,
    uuid7,
)
from codex_cli.records import Record, field
from codex_cli.response_items import OUTPUT_TYPES, ResponseItem, content_texts, text_message
from codex_cli.tools import ToolCall, ToolContext, ToolRunner, tool_call_from_item

if TYPE_CHECKING:
    from codex_cli.hooks import HookEngine

__all__ = [
    "ContextSettings",
    "RequestSettings",
    "Session",
    "SessionRecorder",
    "TurnResult",
    "new_thread_id",
    "text_message",
]

TurnStatus = Literal["completed", "failed", "aborted"]

def new_thread_id() -> str:
    """A new thread id: a time-ordered UUID (version 7), as codex-rs uses."""
    return uuid7()


_TITLE_MAX = 36
_TITLE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string", "minLength": 1, "maxLength": _TITLE_MAX}},
    "required": ["title"],
    "additionalProperties": False,
}
_TITLE_PROMPT = (
    "Name the conversation that the request below starts. Answer with a title of at most 36 characters: an "
    "imperative phrase in the request's language that says what is to be done, without quotes or a final period.\n\n"
    "Request:\n"
)


class RequestSettings(Record):
    """The parts of a model request that do not change between samples."""

    model: str
    reasoning: dict[str, str] | None = None
    text: dict[str, object] | None = None
    parallel_tool_calls: bool = True


def _no_items() -> list[ResponseItem]:
    return []


def _no_mentions(user_items: list[ResponseItem]) -> list[ResponseItem]:
    return []


class ContextSettings(Record):
    """How the session keeps its context current and within the window (sessions.md §6.3, §8)."""

    auto_compact_limit: int | None = None  # compact when the context reaches this many tokens; None: never
    compact_prompt: str = COMPACT_PROMPT
    fresh_context: Callable[[], list[ResponseItem]] | None = None  # developer + user context messages for a new window
    turn_updates: Callable[[], list[ResponseItem]] = _no_items  # context that changed, added before each turn's input
    # The skills the input names, added after it.
    skill_mentions: Callable[[list[ResponseItem]], list[ResponseItem]] = _no_mentions


class SessionRecorder(Protocol):
    """What the rollout recorder hears from the session besides the event stream."""

    def record_items(self, items: list[ResponseItem]) -> None: ...

    def record_usage(self, last: Usage, total: Usage, response_id: str | None) -> None: ...

    def record_compaction(self, summary: str, replacement: list[ResponseItem], estimate: int, total: Usage) -> None: ...

    def close(self) -> None: ...


class TurnResult(Record):
    status: TurnStatus
    last_agent_message: str | None = None
    error: str | None = None


class _Sample(Record, frozen=False):
    items: list[ResponseItem] = field(default_factory=list)


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
        history: Iterable[ResponseItem] = (),
        on_history: Callable[[list[ResponseItem]], None] | None = None,
        context: ContextSettings | None = None,
        recorder: SessionRecorder | None = None,
        usage: Usage | None = None,
        context_tokens: int | None = None,
        warnings: Iterable[str] = (),
        hooks: HookEngine | None = None,
    ) -> None:
        self.thread_id = thread_id
        self.model = model
        self.tools = tools
        self.request = request
        self.history: list[ResponseItem] = list(history)
        # Told about every item added to the history (the rollout recorder listens here).
        self._on_history = on_history
        self._recorder = recorder
        self.usage = usage or Usage()
        self._emit = emit
        self.cwd = cwd
        self._cancel = threading.Event()
        self._item_ids = itertools.count()
        # Without settings, a new window reuses the context messages that follow the base instructions.
        initial = list(itertools.takewhile(_is_context, self.history[1:]))
        self._context = context or ContextSettings(fresh_context=lambda: list(initial))
        # Context size = tokens the server counted up to history[:_mark], plus an estimate of the rest.
        self._tokens_at_mark = context_tokens or 0
        self._mark = len(self.history) if context_tokens is not None else 0
        self._pending_tokens: int | None = None
        self._warnings = tuple(warnings)  # met while the session was built; emitted by start()
        self._hooks = hooks  # lifecycle hooks (hooks.py), bound to this thread for its whole life
        if hooks is not None:
            hooks.report_to(self._emit)
        self.turn_id: str | None = None  # the running (or last) turn's id

    def _append(self, *items: ResponseItem) -> None:
        self.history.extend(items)
        if items and self._on_history is not None:
            self._on_history(list(items))
        if items and self._recorder is not None:
            self._recorder.record_items(list(items))

    def context_tokens(self) -> int:
        """The size of the current context: the last response's total_tokens plus an estimate of later items."""
        return self._tokens_at_mark + estimate_tokens(self.history[self._mark :])

    def _new_item_id(self) -> str:
        return f"item_{next(self._item_ids)}"

    @property
    def hooks(self) -> HookEngine | None:
        """The lifecycle hooks (hooks.py); their runs are events of this session's stream."""
        return self._hooks

    def start(self) -> None:
        """Announce the thread, then the warnings met while it was built."""
        self._emit(ThreadStarted(self.thread_id))
        for message in self._warnings:
            self._emit(WarningNotice(message))

    def interrupt(self) -> None:
        """Ask the running turn to stop (safe from a signal handler or another thread)."""
        self._cancel.set()

    def close(self) -> None:
        self.tools.close()
        self.model.close()
        if self._recorder is not None:
            self._recorder.close()

    def run_turn(self, user_items: list[ResponseItem]) -> TurnResult:
        """Add the user's input and loop: sample, run tool calls, until the model stops calling tools."""
        self._cancel.clear()
        ctx = ToolContext(self.cwd, self.thread_id, self._emit, self._new_item_id, self._cancel)
        self.turn_id = str(uuid.uuid4())
        self._emit(TurnStarted(self.turn_id))
        turn_state = TurnState()
        last_message: str | None = None
        hooks = self.hooks
        try:
            self._compact_if_needed(turn_state)  # pre-turn: before the new input joins the history
            start_items = hooks.session_start_items() if hooks is not None else []
            prompt_hook = hooks.user_prompt_submit(_user_text(user_items), self.turn_id) if hooks is not None else None
            if prompt_hook is not None and (prompt_hook.blocked or prompt_hook.stop):
                self._emit(TurnCompleted(self.usage, None))  # the prompt is dropped: no request (ux.md §7.5)
                return TurnResult("completed")
            extra = prompt_hook.context_items() if prompt_hook is not None else []
            # Arguments run left to right: the updates rescan the skills that the mentions are looked up in.
            self._append(*self._context.turn_updates(), *start_items, *user_items,
                         *self._context.skill_mentions(user_items), *extra)
            while True:
                if hooks is not None:
                    hooks.pre_model_request()
                items = self._sample(turn_state, ctx)
                self._append(*items)
                self._mark_tokens()
                last_message = _last_agent_text(items) or last_message
                calls = [call for call in map(tool_call_from_item, items) if call is not None]
                if not calls:
                    follow_up = hooks.stop(last_message) if hooks is not None else []
                    if not follow_up:
                        break
                    self._append(*follow_up)  # a Stop hook blocked: it continues the turn
                    continue
                self._run_tool_calls(calls, ctx)
                self._compact_if_needed(turn_state)  # mid-turn: the tool outputs may have filled the window
        except (KeyboardInterrupt, _Interrupted):
            return self._abort(ctx)
        except CodexError as exc:
            return self._fail(exc)
        self._finish_plan(ctx)
        self._emit(TurnCompleted(self.usage, last_message))
        return TurnResult("completed", last_message)

    def _fail(self, exc: CodexError) -> TurnResult:
        self._emit(ErrorNotice(exc.message, fatal=True))
        self._emit(TurnFailed(exc.message, self.usage, exc.hint))
        return TurnResult("failed", error=exc.message)

    def side_answer(self, body: dict[str, object], metadata: dict[str, str],
                    cancel: threading.Event | None = None) -> str:
        """The final message of a request apart from the history (a thread title, an approval verdict), or "" when
        the model gives none; `metadata` goes into its `x-codex-turn-metadata`. Raises CodexError when it fails.
        Safe to call while a turn runs: the request is its own."""
        fields = {"session_id": self.thread_id, "thread_id": self.thread_id, **metadata}
        headers = {"x-codex-turn-metadata": encode_json(fields).decode()}
        answer = ""
        for event in self.model.stream(body, headers=headers, cancel=cancel):
            if isinstance(event, OutputItemDone) and event.item.get("type") == "message":
                answer = _message_text(event.item)
            elif isinstance(event, StreamRetry):
                answer = ""
        return answer

    def thread_title(self, prompt: str, cancel: threading.Event | None = None) -> str | None:
        """A short name for the thread that `prompt` starts (ux.md §9), or None when the model gives none (or
        `cancel` is set)."""
        from codex_cli.project_doc import date_and_timezone_context

        text = {**(self.request.text or {}), "format": {"type": "json_schema", "name": "codex_output_schema",
                                                         "strict": True, "schema": _TITLE_SCHEMA}}
        body: dict[str, object] = {
            "model": self.request.model,
            "stream": True,
            "input": [text_message("user", date_and_timezone_context()), text_message("user", _TITLE_PROMPT + prompt)],
            "store": False,
            "text": text,
        }
        try:
            answer = self.side_answer(body, {"thread_source": "thread_title"}, cancel)
            doc = decode_json(answer) if answer else None
        except (CodexError, ValueError):  # no answer, or not JSON
            return None
        title = doc.get("title") if isinstance(doc, dict) else None
        words = " ".join(title.split())[:_TITLE_MAX] if isinstance(title, str) else ""
        return words or None

    def compact(self) -> TurnResult:
        """Summarise the conversation now and continue in a fresh window (`/compact`)."""
        self._cancel.clear()
        self.turn_id = str(uuid.uuid4())
        self._emit(TurnStarted(self.turn_id))
        try:
            self._compact(TurnState(), "manual")
        except (KeyboardInterrupt, _Interrupted):
            self._emit(TurnAborted())
            return TurnResult("aborted")
        except CodexError as exc:
            return self._fail(exc)
        self._emit(TurnCompleted(self.usage, None))
        return TurnResult("completed")

    def _compact_if_needed(self, turn_state: TurnState) -> None:
        limit = self._context.auto_compact_limit
        if limit is not None and self.context_tokens() >= limit:
            self._compact(turn_state, "auto")

    def _compact(self, turn_state: TurnState, trigger: str) -> None:
        """One summary request with no tools, then the history is replaced (sessions.md §8.3)."""
        if self.hooks is not None:
            self.hooks.pre_compact(trigger)
        body = self._request_body(compaction_input(self.history, self._context.compact_prompt), tools=[])
        summary = summary_text(self._quiet_sample(body, turn_state))
        fresh = self._context.fresh_context or _no_items
        self.history = replacement_history(self.history, summary, fresh)
        self.model.window_number += 1
        self._tokens_at_mark, self._mark = estimate_tokens(self.history), len(self.history)
        if self._recorder is not None:
            has_base = bool(self.history) and self.history[0].get("role") == "developer"
            self._recorder.record_compaction(
                f"{SUMMARY_PREFIX}\n{summary}", self.history[1 if has_base else 0 :], self._tokens_at_mark, self.usage
            )
        self._emit(ContextCompacted(trigger))
        if self.hooks is not None:
            self.hooks.post_compact(trigger)

    def _quiet_sample(self, body: dict[str, object], turn_state: TurnState) -> list[ResponseItem]:
        """A model request whose output is not shown as it streams (the compaction summary)."""
        items: list[ResponseItem] = []
        headers = _compaction_metadata(self.thread_id, self.model.window_number)
        for event in self.model.stream(body, turn_state=turn_state, cancel=self._cancel, headers=headers):
            if self._cancel.is_set():
                raise _Interrupted
            if isinstance(event, OutputItemDone):
                items.append(event.item)
            elif isinstance(event, StreamRetry):
                items.clear()
                self._emit(ErrorNotice(event.notice, event.cause))
            elif isinstance(event, Completed):
                self._add_usage(event)
        if self._cancel.is_set():
            raise _Interrupted
        return items

    def _add_usage(self, event: Completed) -> None:
        if event.usage is None:
            return
        last = event.usage
        self.usage = self.usage + last
        self._pending_tokens = last.total_tokens
        if self._recorder is not None:
            self._recorder.record_usage(last, self.usage, event.response_id)

    def _mark_tokens(self) -> None:
        if self._pending_tokens is not None:
            self._tokens_at_mark, self._mark, self._pending_tokens = self._pending_tokens, len(self.history), None

    def _request_body(self, input: list[ResponseItem] | None = None,
                      tools: list[object] | None = None) -> dict[str, object]:
        body: dict[str, object] = {
            "model": self.request.model,
            "stream": True,
            "input": self.history if input is None else input,
            "tools": self.tools.specs() if tools is None else tools,
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

    def _sample(self, turn_state: TurnState, ctx: ToolContext) -> list[ResponseItem]:
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
                self._emit(ErrorNotice(event.notice, event.cause))
            elif isinstance(event, Completed):
                self._add_usage(event)
        if self._cancel.is_set():
            raise _Interrupted
        return sample.items

    def _announce_item(self, item: ResponseItem, ctx: ToolContext) -> None:
        kind = item.get("type")
        if kind == "message" and item.get("role") == "assistant":
            self._emit(ItemCompleted(AgentMessageItem(ctx.new_item_id(), _message_text(item))))
        elif kind == "reasoning":
            text = _reasoning_text(item)
            if text:
                self._emit(ItemCompleted(ReasoningItem(ctx.new_item_id(), text)))
        elif kind == "web_search_call":
            action = item.get("action")
            query = action.get("query") if isinstance(action, dict) else None
            search = WebSearchItem(ctx.new_item_id(), query if isinstance(query, str) else "", action)
            self._emit(ItemStarted(search))
            self._emit(ItemCompleted(search))

    def _run_tool_calls(self, calls: list[ToolCall], ctx: ToolContext) -> None:
        for call in calls:
            blocked: str | None = None
            hooks = self.hooks if call.kind != "search" else None  # finding tools is not a tool use
            if hooks is not None:
                pre = hooks.pre_tool_use(call)  # PreToolUse may block the call or rewrite its input
                call, blocked = pre.call, pre.blocked_output
            try:
                output = self.tools.run(call, ctx) if blocked is None else call.output_item(blocked)
            except KeyboardInterrupt:
                self._cancel.set()
                self._append(call.output_item("aborted by user"))
                raise
            context: list[ResponseItem] = []
            if hooks is not None and blocked is None and not self._cancel.is_set():
                output, context = hooks.post_tool_use(call, output)
            self._append(*context, output)
            if self._cancel.is_set():
                raise _Interrupted

    def _abort(self, ctx: ToolContext) -> TurnResult:
        self._cancel.set()
        self.tools.close()
        self._append(*_dangling_call_outputs(self.history))
        self._append(
            text_message("user", "<turn_aborted>\nThe user interrupted the previous turn.\n</turn_aborted>")
        )
        if self.hooks is not None:
            self.hooks.interrupt()
        self._emit(TurnAborted())
        return TurnResult("aborted")

    def _finish_plan(self, ctx: ToolContext) -> None:
        if ctx.plan_item is not None:
            self._emit(ItemCompleted(ctx.plan_item))


def _compaction_metadata(thread_id: str, window_number: int) -> dict[str, str]:
    """The `x-codex-turn-metadata` header of a compaction request (wire.md §2: `request_kind: "compaction"`)."""
    metadata = {
        "session_id": thread_id,
        "thread_id": thread_id,
        "window_id": f"{thread_id}:{window_number}",
        "window_number": window_number,
        "request_kind": "compaction",
    }
    return {"x-codex-turn-metadata": encode_json(metadata).decode("utf-8")}


def _is_context(item: ResponseItem) -> bool:
    return item.get("role") == "developer" or is_context_message(item)




def _message_text(item: ResponseItem) -> str:
    return "".join(content_texts(item, ("output_text", "text")))


def _reasoning_text(item: ResponseItem) -> str:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return ""
    return "\n".join(str(part.get("text", "")) for part in summary if isinstance(part, dict) and part.get("text"))


def _user_text(items: list[ResponseItem]) -> str:
    """The prompt: the texts of the last user message (earlier ones carry context such as `!cmd` results)."""
    users = [item for item in items if item.get("role") == "user"]
    return "\n".join(content_texts(users[-1], ("input_text",))) if users else ""


def _last_agent_text(items: list[ResponseItem]) -> str | None:
    texts = [_message_text(i) for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
    return texts[-1] if texts else None


def _dangling_call_outputs(history: list[ResponseItem]) -> list[ResponseItem]:
    """An "aborted" output for every call that has none, so the history stays valid for the next turn."""
    answered = {
        item.get("call_id")
        for item in history
        if item.get("type") in OUTPUT_TYPES
    }
    calls = [call for call in map(tool_call_from_item, history) if call is not None]
    return [call.output_item("aborted by user") for call in calls if call.call_id not in answered]
