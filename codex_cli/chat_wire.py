"""The Chat Completions wire (`wire_api = "chat"`): one streamed `POST {base_url}/chat/completions` per sample,
read into the same events as the Responses client, so the session, the tools and every front end are unchanged.

`ChatClient` is a `ResponsesClient` (same headers, retry layers, idle timeout, cancellation and error texts) that
translates the request and the answer:

* request: the session's Responses-style body → `messages` (developer → `system`; consecutive user or system
  messages merged for strict chat templates; assistant text and its calls → one assistant message with
  `tool_calls`; outputs → `tool` messages; images as `image_url` parts, those from tool outputs in a user
  message after the tool messages); `tools` as functions. A freeform tool (`apply_patch`) becomes a function
  whose one argument is the `input` string; a namespace (MCP) becomes flat `<namespace>__<tool>` functions.
  Hosted tools (`web_search`) and reasoning items have no chat form and are left out. `reasoning.effort` →
  `reasoning_effort`, `text.verbosity` → `verbosity`, `text.format` → `response_format`;
  `stream_options.include_usage` asks for usage.
* answer: `choices[0].delta.content` → `TextDelta`; `tool_calls[i]` fragments accumulate by `index` (`id` and
  `function.name` from the first fragment that has them, `function.arguments` concatenated);
  `reasoning_content`/`reasoning` → a raw reasoning item. When `finish_reason` arrives the items are emitted
  (reasoning, message, calls in index order) as `OutputItemDone`, mapped back to `custom_tool_call` or to
  a namespaced `function_call` where the request said so; `[DONE]` (or the end of the body after a
  `finish_reason`) gives `Completed` with the usage of the last chunk. `finish_reason: "length"` fails like
  `response.incomplete`; an `error` object in the stream fails like `response.failed`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from codex_cli.jsoncodec import decode_json, encode_json, join_surrogate_pairs, replace_lone_surrogates
from codex_cli.model import (
    Completed,
    IncompleteResponse,
    OutputItemDone,
    ReasoningRawDelta,
    ResponseEvent,
    ResponsesClient,
    StreamParser,
    TextDelta,
    failure_from_error,
    without_lone_surrogates,
)
from codex_cli.patch_grammar import APPLY_PATCH_TOOL_DESCRIPTION
from codex_cli.protocol import Usage, uuid7
from codex_cli.records import Record, field

__all__ = [
    "ChatClient",
    "ChatStreamParser",
    "ToolNames",
    "chat_messages",
    "chat_request",
    "chat_tools",
    "usage_from_chat",
]

Item = Mapping[str, object]
Message = dict[str, object]

_INPUT_PARAMETERS: dict[str, object] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The whole input, exactly as the tool expects it."}},
    "required": ["input"],
    "additionalProperties": False,
}
_APPLY_PATCH_DESCRIPTION = APPLY_PATCH_TOOL_DESCRIPTION.replace(
    "sending a patch as plain text (not JSON)", "passing a patch as the `input` string"
)
_TOOL_IMAGES_TEXT = "Images returned by the tool call(s) above:"


class ToolNames(Record):
    """How the chat function names of one request map back to the session's tool calls."""

    freeform: frozenset[str] = frozenset()  # custom tools offered as `{input: string}` functions
    namespaced: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # flat name → (namespace, name)


# -- the request -------------------------------------------------------------------------------


def chat_request(body: Mapping[str, object]) -> tuple[dict[str, object], ToolNames]:
    """The Chat Completions request for a Responses-style `body`, and the tool-name mapping for its answer."""
    tools, names = chat_tools(body.get("tools"))
    items = body.get("input")
    request: dict[str, object] = {
        "model": body.get("model"),
        "messages": chat_messages(items if isinstance(items, list) else [], names),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        request["tools"] = tools
        request["tool_choice"] = "auto"
        request["parallel_tool_calls"] = body.get("parallel_tool_calls") is not False
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        request["reasoning_effort"] = reasoning["effort"]
    text = body.get("text")
    if isinstance(text, dict):
        if isinstance(text.get("verbosity"), str):
            request["verbosity"] = text["verbosity"]
        fmt = text.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            name, strict = fmt.get("name") or "output", fmt.get("strict", True)
            schema = {"name": name, "schema": fmt.get("schema"), "strict": strict}
            request["response_format"] = {"type": "json_schema", "json_schema": schema}
    return request, names


def chat_tools(specs: object) -> tuple[list[dict[str, object]], ToolNames]:
    """Responses `tools` → chat functions (see the module docstring)."""
    tools: list[dict[str, object]] = []
    freeform: set[str] = set()
    namespaced: dict[str, tuple[str, str]] = {}
    for spec in specs if isinstance(specs, list) else []:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            continue  # hosted tools (web_search, tool_search) have no chat form
        name, kind = spec["name"], spec.get("type")
        if kind == "function":
            tools.append(_function(name, spec.get("description"), spec.get("parameters")))
        elif kind == "custom":
            freeform.add(name)
            description = _APPLY_PATCH_DESCRIPTION if name == "apply_patch" else spec.get("description")
            tools.append(_function(name, description, _INPUT_PARAMETERS))
        elif kind == "namespace" and isinstance(spec.get("tools"), list):
            for inner in spec["tools"]:
                if isinstance(inner, dict) and inner.get("type") == "function" and isinstance(inner.get("name"), str):
                    flat = f"{name}__{inner['name']}"
                    namespaced[flat] = (name, inner["name"])
                    tools.append(_function(flat, inner.get("description"), inner.get("parameters")))
    return tools, ToolNames(frozenset(freeform), namespaced)


def _function(name: str, description: object, parameters: object) -> dict[str, object]:
    function: dict[str, object] = {"name": name}
    if isinstance(description, str) and description:
        function["description"] = description
    function["parameters"] = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def chat_messages(items: list[object], names: ToolNames | None = None) -> list[Message]:
    """The session's history items → chat `messages` (see the module docstring)."""
    flat_names = {value: key for key, value in (names or ToolNames()).namespaced.items()}
    messages: list[Message] = []
    tool_images: list[dict[str, object]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in ("function_call_output", "custom_tool_call_output"):
            text, images = _output_parts(item.get("output"))
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": text})
            tool_images.extend(images)
            continue
        if tool_images:  # after every tool message of the batch: a tool message must follow its call
            _add_parts(messages, "user", [{"type": "text", "text": _TOOL_IMAGES_TEXT}, *tool_images])
            tool_images = []
        if kind == "message":
            role = item.get("role")
            if role == "assistant":
                _add_assistant_text(messages, "".join(_texts(item.get("content"))))
            else:
                _add_parts(messages, "user" if role == "user" else "system", _input_parts(item.get("content")))
        elif kind in ("function_call", "custom_tool_call"):
            _add_tool_call(messages, _tool_call(item, flat_names))
    if tool_images:
        _add_parts(messages, "user", [{"type": "text", "text": _TOOL_IMAGES_TEXT}, *tool_images])
    return [_finished(message) for message in messages]


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    parts = content if isinstance(content, list) else []
    return [str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") in _TEXT_TYPES]


_TEXT_TYPES = ("input_text", "output_text", "text")


def _input_parts(content: object) -> list[dict[str, object]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    parts: list[dict[str, object]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in _TEXT_TYPES:
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif part.get("type") == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
    return parts


def _output_parts(output: object) -> tuple[str, list[dict[str, object]]]:
    """A tool output as the `tool` message's text, plus its images (sent in a user message)."""
    if isinstance(output, str):
        return output, []
    parts = _input_parts(output)
    images = [p for p in parts if p["type"] == "image_url"]
    text = "\n".join(str(p["text"]) for p in parts if p["type"] == "text")
    if images and not text:
        text = f"{len(images)} image(s), attached in the next message."
    return text, images


def _add_parts(messages: list[Message], role: str, parts: list[dict[str, object]]) -> None:
    """Add a system or user message; one that follows a message of the same role joins it."""
    if not parts:
        return
    last = messages[-1] if messages else None
    if last is not None and last["role"] == role and isinstance(last.get("content"), list):
        last["content"] = [*last["content"], *parts]  # type: ignore[misc]
    else:
        messages.append({"role": role, "content": parts})


def _add_assistant_text(messages: list[Message], text: str) -> None:
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and "tool_calls" not in last:
        last["content"] = f"{last['content'] or ''}{text}"
    else:
        messages.append({"role": "assistant", "content": text})


def _add_tool_call(messages: list[Message], call: dict[str, object]) -> None:
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        calls = last.setdefault("tool_calls", [])
        assert isinstance(calls, list)
        calls.append(call)
        if not last["content"]:
            last["content"] = None
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _tool_call(item: Item, flat_names: Mapping[tuple[str, str], str]) -> dict[str, object]:
    name = str(item.get("name", ""))
    if item.get("type") == "custom_tool_call":
        arguments = json.dumps({"input": str(item.get("input", ""))}, ensure_ascii=False)
    else:
        namespace = item.get("namespace")
        if isinstance(namespace, str) and namespace:
            name = flat_names.get((namespace, name), f"{namespace}__{name}")
        arguments = str(item.get("arguments") or "{}")
    call_id = str(item.get("call_id") or item.get("id") or "")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _finished(message: Message) -> Message:
    """Text-only content as one string (what every chat template accepts); images keep the parts form."""
    content = message.get("content")
    if isinstance(content, list) and all(part.get("type") == "text" for part in content):
        message["content"] = "\n\n".join(str(part.get("text", "")) for part in content)
    return message


# -- the answer --------------------------------------------------------------------------------


def usage_from_chat(usage: Mapping[str, object]) -> Usage:
    """Chat `usage` (prompt/completion tokens and their details) as the thread's Usage."""
    prompt, completion = _int(usage, "prompt_tokens"), _int(usage, "completion_tokens")
    return Usage(
        input_tokens=prompt,
        cached_input_tokens=_int(usage.get("prompt_tokens_details"), "cached_tokens"),
        output_tokens=completion,
        reasoning_output_tokens=_int(usage.get("completion_tokens_details"), "reasoning_tokens"),
        total_tokens=_int(usage, "total_tokens") or prompt + completion,
    )


def _int(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _PartialCall(Record, frozen=False):
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatStreamParser:
    """Accumulates one streamed chat completion into events (a `StreamParser`)."""

    def __init__(self, names: ToolNames | None = None) -> None:
        self._names = names or ToolNames()
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._finish_reason: str | None = None
        self._items_sent = False
        self._done = False
        self._usage: Usage | None = None
        self._response_id = ""

    def feed(self, data: str) -> list[ResponseEvent]:
        if self._done:
            return []
        if data.strip() == "[DONE]":
            return self._complete()
        try:
            chunk = decode_json(data)
        except ValueError:
            return []
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error") is not None:
            raise failure_from_error(without_lone_surrogates(chunk["error"]))
        if isinstance(chunk.get("id"), str) and not self._response_id:
            self._response_id = chunk["id"]
        if isinstance(chunk.get("usage"), dict):
            self._usage = usage_from_chat(chunk["usage"])
        events: list[ResponseEvent] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                events.extend(self._choice(choice))
        return events

    def finish(self) -> list[ResponseEvent]:
        """The body ended without `[DONE]`: complete only if the model had finished."""
        return self._complete() if self._finish_reason is not None and not self._done else []

    def _choice(self, choice: Mapping[str, object]) -> list[ResponseEvent]:
        events: list[ResponseEvent] = []
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        content = delta.get("content")
        # Kept raw until joined: the halves of a surrogate pair may come in two chunks.
        if isinstance(content, str) and content:
            self._text.append(content)
            events.append(TextDelta(replace_lone_surrogates(content)))
        thought = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thought, str) and thought:
            self._reasoning.append(thought)
            events.append(ReasoningRawDelta(replace_lone_surrogates(thought)))
        calls = delta.get("tool_calls")
        for fragment in calls if isinstance(calls, list) else []:
            if isinstance(fragment, dict):
                self._add_fragment(fragment)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason and self._finish_reason is None:
            self._finish_reason = reason
            events.extend(self._items())
        return events

    def _add_fragment(self, fragment: Mapping[str, object]) -> None:
        index = fragment.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = max(self._calls, default=-1) + 1  # a server that sends whole calls without an index
        call = self._calls.setdefault(index, _PartialCall())
        if isinstance(fragment.get("id"), str) and fragment["id"] and not call.call_id:
            call.call_id = str(fragment["id"])
        function = fragment.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        if isinstance(name, str) and name and name != call.name:
            call.name = name if not call.name else call.name + name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, dict):  # a few servers send an object instead of a JSON string
            call.arguments.append(encode_json(arguments).decode("utf-8"))

    def _items(self) -> list[ResponseEvent]:
        if self._items_sent:
            return []
        self._items_sent = True
        items: list[dict[str, object]] = []
        if self._reasoning:
            raw = replace_lone_surrogates("".join(self._reasoning))
            items.append({"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": raw}]})
        text = replace_lone_surrogates("".join(self._text))
        if text:
            part = {"type": "output_text", "text": text, "annotations": []}
            items.append({"type": "message", "role": "assistant", "status": "completed", "content": [part]})
        items.extend(self._call_item(self._calls[index]) for index in sorted(self._calls))
        return [OutputItemDone(item) for item in items]

    def _call_item(self, call: _PartialCall) -> dict[str, object]:
        call_id = replace_lone_surrogates(call.call_id) or f"call_{uuid7()}"
        # A lone surrogate stays in the payload: the tool answers the model that it cannot parse it.
        arguments = join_surrogate_pairs("".join(call.arguments))
        name = replace_lone_surrogates(call.name)
        if name in self._names.freeform:
            return {"type": "custom_tool_call", "status": "completed", "call_id": call_id, "name": name,
                    "input": _freeform_input(arguments)}  # fmt: skip
        namespaced = self._names.namespaced.get(name)
        if namespaced is not None:
            return {"type": "function_call", "status": "completed", "namespace": namespaced[0],
                    "name": namespaced[1], "arguments": arguments, "call_id": call_id}  # fmt: skip
        return {"type": "function_call", "status": "completed", "name": name, "arguments": arguments,
                "call_id": call_id}  # fmt: skip

    def _complete(self) -> list[ResponseEvent]:
        self._done = True
        events = self._items()
        if self._finish_reason in ("length", "content_filter") and not self._calls:
            reason = "max_output_tokens" if self._finish_reason == "length" else "content_filter"
            raise IncompleteResponse(reason, self._usage)
        events.append(Completed(self._response_id or f"chatcmpl_{uuid7()}", self._usage))
        return events


def _freeform_input(arguments: str) -> str:
    """The `input` string of a freeform call; a model that sent the raw text instead gets it used as is."""
    try:
        value = decode_json(arguments)
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return value if isinstance(value, str) else arguments


# -- the client --------------------------------------------------------------------------------


class ChatClient(ResponsesClient):
    """A `ResponsesClient` for providers with `wire_api = "chat"`: `POST {base_url}/chat/completions`."""

    endpoint = "chat/completions"

    def _prepare(self, body: dict[str, object]) -> tuple[bytes, Callable[[], StreamParser]]:
        request, names = chat_request(body)
        return encode_json(request), lambda: ChatStreamParser(names)
