"""Tests for codex_cli.chat_wire: request translation, stream accumulation, and ChatClient over real sockets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fake_responses import FakeResponsesServer, apply_patch_call, exec_call, function_call, message, reasoning

from codex_cli.chat_wire import (
    ChatClient,
    ChatStreamParser,
    ToolNames,
    chat_messages,
    chat_request,
    chat_tools,
    usage_from_chat,
)
from codex_cli.errors import ApiError, ContextWindowExceeded, NetworkError
from codex_cli.model import (
    Completed,
    IncompleteResponse,
    OutputItemDone,
    ProviderSettings,
    ReasoningRawDelta,
    ResponseEvent,
    StreamRetry,
    TextDelta,
)
from codex_cli.protocol import Usage

StartServer = Callable[..., FakeResponsesServer]
THREAD = "01a2127e-83eb-7a81-9fe2-508756c34f9a"
PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
TOOLS: list[dict[str, object]] = [
    {"type": "function", "name": "exec_command", "description": "Run.", "strict": False,
     "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
    {"type": "custom", "name": "apply_patch", "description": "free", "format": {"type": "grammar"}},
    {"type": "namespace", "name": "mcp__demo", "description": "demo",
     "tools": [{"type": "function", "name": "echo", "parameters": {"type": "object", "properties": {}}}]},
    {"type": "web_search", "external_web_access": False},
]  # fmt: skip


def body(items: list[dict[str, Any]], **extra: Any) -> dict[str, object]:
    return {"model": "m", "stream": True, "input": items, "tools": TOOLS, "tool_choice": "auto",
            "parallel_tool_calls": True, "store": False, **extra}  # fmt: skip


def user(*texts: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": t} for t in texts]}


def developer(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}


def collect(server: FakeResponsesServer, request: dict[str, object], **settings: Any) -> list[ResponseEvent]:
    provider = ProviderSettings(base_url=server.base_url, bearer_token="sk-test", **settings)
    with ChatClient(provider, thread_id=THREAD) as client:
        return list(client.stream(request))


def done_items(events: list[ResponseEvent]) -> list[dict[str, Any]]:
    return [e.item for e in events if isinstance(e, OutputItemDone)]


# -- the request -------------------------------------------------------------------------------


def test_chat_request_has_stream_usage_tools_and_options() -> None:
    request, names = chat_request(body([user("hi")], reasoning={"effort": "high"}, text={"verbosity": "low"}))
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert request["tool_choice"] == "auto" and request["parallel_tool_calls"] is True
    assert request["reasoning_effort"] == "high" and request["verbosity"] == "low"
    assert "input" not in request and "store" not in request
    functions = [t["function"] for t in request["tools"]]  # type: ignore[index, union-attr]
    assert [f["name"] for f in functions] == ["exec_command", "apply_patch", "mcp__demo__echo"]  # no web_search
    assert functions[1]["parameters"]["required"] == ["input"]
    assert "input" in functions[1]["description"] and "not JSON" not in functions[1]["description"]
    assert names == ToolNames(frozenset({"apply_patch"}), {"mcp__demo__echo": ("mcp__demo", "echo")})


def test_chat_request_without_tools_leaves_tool_fields_out() -> None:
    request, _ = chat_request({"model": "m", "input": [user("x")], "tools": []})
    assert "tools" not in request and "tool_choice" not in request and "parallel_tool_calls" not in request


def test_chat_request_output_schema_becomes_response_format() -> None:
    schema = {"type": "json_schema", "strict": True, "schema": {"type": "object"}, "name": "codex_output_schema"}
    request, _ = chat_request(body([user("x")], text={"format": schema}))
    assert request["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "codex_output_schema", "schema": {"type": "object"}, "strict": True},
    }


def test_chat_messages_merge_context_and_group_calls_with_outputs() -> None:
    _, names = chat_tools(TOOLS)
    items = [
        developer("base"), developer("perms"), user("<environment_context>"), user("do it"),
        {"type": "reasoning", "summary": [], "encrypted_content": "x"},
        message("Looking."),
        exec_call("ls", "c1"),
        apply_patch_call(PATCH, "c2"),
        function_call("echo", {"a": 1}, "c3", namespace="mcp__demo"),
        {"type": "function_call_output", "call_id": "c1", "output": "out1"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "patched"},
        {"type": "function_call_output", "call_id": "c3", "output": [{"type": "input_text", "text": "echoed"}]},
        {"type": "web_search_call", "id": "ws_1", "action": {"type": "search", "query": "q"}},
        message("Done."),
    ]  # fmt: skip
    messages = chat_messages(items, names)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool", "tool", "assistant"]
    assert messages[0]["content"] == "base\n\nperms"
    assert messages[1]["content"] == "<environment_context>\n\ndo it"
    assert messages[2]["content"] == "Looking."
    calls = messages[2]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["exec_command", "apply_patch", "mcp__demo__echo"]  # type: ignore[union-attr, index]
    assert json.loads(calls[1]["function"]["arguments"]) == {"input": PATCH}  # type: ignore[index]
    assert [(m["tool_call_id"], m["content"]) for m in messages[3:6]] == [("c1", "out1"), ("c2", "patched"),
                                                                         ("c3", "echoed")]  # fmt: skip
    assert messages[6] == {"role": "assistant", "content": "Done."}


def test_chat_messages_images_as_parts_and_tool_images_after_the_tool_messages() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "original"}
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<image>"}, image]},
        function_call("view_image", {"path": "a.png"}, "v1"),
        function_call("view_image", {"path": "b.png"}, "v2"),
        {"type": "function_call_output", "call_id": "v1", "output": [image]},
        {"type": "function_call_output", "call_id": "v2", "output": "unable to locate image"},
    ]
    messages = chat_messages(items)
    assert messages[0]["content"] == [
        {"type": "text", "text": "<image>"}, {"type": "image_url", "image_url": {"url": image["image_url"]}}
    ]
    assert messages[1]["content"] is None and len(messages[1]["tool_calls"]) == 2  # type: ignore[arg-type]
    assert [m["role"] for m in messages[2:]] == ["tool", "tool", "user"]
    assert "attached in the next message" in str(messages[2]["content"])
    assert messages[4]["content"][-1] == {"type": "image_url", "image_url": {"url": image["image_url"]}}  # type: ignore[index]


# -- the stream parser -------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl_1", "choices": choices, **extra})


def test_parser_accumulates_tool_call_fragments_by_index() -> None:
    parser = ChatStreamParser(ToolNames(frozenset({"apply_patch"}), {"mcp__demo__echo": ("mcp__demo", "echo")}))
    events: list[ResponseEvent] = []
    feeds = [
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                "function": {"name": "apply_patch", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "exec_command", "arguments": '{"c'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": json.dumps({"input": PATCH})[:9]}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'md": "ls"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": json.dumps({"input": PATCH})[9:]}}]}),
        chunk({"tool_calls": [{"index": 2, "id": "call_c", "function": {"name": "mcp__demo__echo",
                                                                         "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        chunk(usage={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}),
        "[DONE]",
    ]  # fmt: skip
    for data in feeds:
        events += parser.feed(data)
    items = done_items(events)
    assert items == [
        {"type": "function_call", "status": "completed", "name": "exec_command", "arguments": '{"cmd": "ls"}',
         "call_id": "call_a"},
        {"type": "custom_tool_call", "status": "completed", "call_id": "call_b", "name": "apply_patch", "input": PATCH},
        {"type": "function_call", "status": "completed", "namespace": "mcp__demo", "name": "echo", "arguments": "{}",
         "call_id": "call_c"},
    ]  # fmt: skip
    assert events[-1] == Completed("chatcmpl_1", Usage(input_tokens=7, output_tokens=3, total_tokens=10))
    assert parser.feed(chunk({"content": "late"})) == [] and parser.finish() == []


def test_parser_text_reasoning_and_end_of_body_after_finish_reason() -> None:
    parser = ChatStreamParser()
    events = [*parser.feed(chunk({"reasoning_content": "think"})), *parser.feed(chunk({"content": "Hel"})),
              *parser.feed(chunk({"content": "lo"}, "stop"))]  # fmt: skip
    assert [e for e in events if isinstance(e, (TextDelta, ReasoningRawDelta))] == [
        ReasoningRawDelta("think"), TextDelta("Hel"), TextDelta("lo")
    ]
    assert done_items(events)[0]["content"] == [{"type": "reasoning_text", "text": "think"}]
    assert done_items(events)[1]["content"][0]["text"] == "Hello"
    final = parser.finish()  # the server closed the body without [DONE]
    assert isinstance(final[-1], Completed) and final[-1].usage is None


def test_parser_without_finish_reason_owes_nothing_at_end_of_body() -> None:
    parser = ChatStreamParser()
    parser.feed(chunk({"content": "partial"}))
    assert parser.finish() == []


def test_parser_length_finish_is_an_incomplete_response() -> None:
    parser = ChatStreamParser()
    parser.feed(chunk({"content": "cut"}, "length"))
    with pytest.raises(IncompleteResponse, match="max_output_tokens"):
        parser.feed("[DONE]")


def test_parser_freeform_call_with_raw_text_arguments_uses_them_as_input() -> None:
    parser = ChatStreamParser(ToolNames(frozenset({"apply_patch"})))
    call = {"index": 0, "id": "p", "function": {"name": "apply_patch", "arguments": PATCH}}
    parser.feed(chunk({"tool_calls": [call]}))
    items = done_items(parser.feed(chunk({}, "tool_calls")))
    assert items[0]["input"] == PATCH


def test_parser_stream_error_maps_like_response_failed() -> None:
    with pytest.raises(ContextWindowExceeded):
        ChatStreamParser().feed(json.dumps({"error": {"code": "context_length_exceeded", "message": "too long"}}))


def test_usage_from_chat_reads_details() -> None:
    usage = usage_from_chat({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                             "prompt_tokens_details": {"cached_tokens": 10},
                             "completion_tokens_details": {"reasoning_tokens": 5}})  # fmt: skip
    assert usage == Usage(100, 10, 0, 20, 5, 120)


# -- ChatClient against the fake server --------------------------------------------------------


def test_client_posts_chat_completions_and_reads_fake_stream(fake_server: StartServer) -> None:
    server = fake_server([{"output": [reasoning("hmm"), message("Hi there"), exec_call("ls", "c1")], "fragment": 2}])
    events = collect(server, body([developer("base"), user("hi")]), query_params={"api-version": "2025-04-01"},
                     headers={"api-key": "azure-key"})  # fmt: skip
    request = server.chat_requests[0]
    assert request.path == "/v1/chat/completions" and request.query == {"api-version": "2025-04-01"}
    assert request.headers["api-key"] == "azure-key" and request.headers["authorization"] == "Bearer sk-test"
    assert request.body["messages"] == [{"role": "system", "content": "base"}, {"role": "user", "content": "hi"}]
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Hi there"
    items = done_items(events)
    assert [i["type"] for i in items] == ["reasoning", "message", "function_call"]
    assert items[2]["arguments"] == json.dumps({"cmd": "ls"}) and items[2]["call_id"] == "c1"
    assert events[-1] == Completed("chatcmpl_1", Usage(100, 10, 0, 20, 5, 120))


def test_client_retries_dropped_stream_and_5xx(fake_server: StartServer) -> None:
    server = fake_server([
        {"status": 503, "body": "busy"},
        {"output": [message("one two three")], "drop_after": 2},
        {"output": [message("ok")]},
    ])  # fmt: skip
    events = collect(server, body([user("x")]), request_max_retries=1, stream_max_retries=1)
    retries = [e for e in events if isinstance(e, StreamRetry)]
    assert len(retries) == 1 and retries[0].cause.startswith("stream disconnected before completion")
    assert done_items(events)[-1]["content"][0]["text"] == "ok"
    assert len(server.chat_requests) == 3


def test_client_http_400_keeps_the_body(fake_server: StartServer) -> None:
    server = fake_server([{"status": 400, "body": {"error": {"message": "bad model", "code": "model_not_found"}}}])
    with pytest.raises(ApiError, match="bad model"):
        collect(server, body([user("x")]))


def test_client_refused_connection_fails_fast_naming_the_url() -> None:
    provider = ProviderSettings(base_url="http://127.0.0.1:9/v1", request_max_retries=4)
    with ChatClient(provider, thread_id=THREAD) as client, pytest.raises(NetworkError) as info:
        list(client.stream(body([user("x")])))
    assert "http://127.0.0.1:9/v1/chat/completions" in info.value.message


def test_client_raw_chunks_without_done_but_with_finish_reason_complete(fake_server: StartServer) -> None:
    server = fake_server([{"chunks": [json.loads(chunk({"content": "fine"}, "stop"))], "no_done": True}])
    events = collect(server, body([user("x")]), stream_max_retries=0)
    assert isinstance(events[-1], Completed) and done_items(events)[0]["content"][0]["text"] == "fine"
