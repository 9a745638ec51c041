"""Tests for codex_cli.model (with jsoncodec, tls and http) against the fake server over real sockets."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import trustme
from fake_responses import FakeResponsesServer, exec_call, message, reasoning
from hypothesis import given
from hypothesis import strategies as st

from codex_cli import tls
from codex_cli.errors import ApiError, ContextWindowExceeded, NetworkError, TLSError, UsageLimitReached
from codex_cli.http import create_client, map_transport_error, proxy_config, proxy_for
from codex_cli.jsoncodec import _encode_stdlib, decode_json, encode_json
from codex_cli.model import (
    Completed,
    IncompleteResponse,
    OutputItemAdded,
    OutputItemDone,
    ProviderSettings,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    ResponseEvent,
    ResponsesClient,
    StreamRetry,
    TextDelta,
    TurnState,
    usage_from_api,
    user_agent,
)
from codex_cli.protocol import Usage
from codex_cli.version import VERSION

WIRE = Path(__file__).parent / "data" / "wire"
HIGH_DEMAND = "We’re currently experiencing high demand, which may cause temporary errors."
THREAD = "01a2127e-83eb-7a81-9fe2-508756c34f9a"
BODY: dict[str, object] = {"model": "gpt-5.5", "stream": True, "input": [], "store": False}
PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]

StartServer = Callable[..., FakeResponsesServer]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # These machines export SSL_CERT_FILE / SSL_CERT_DIR and maybe proxies globally.
    for name in [*PROXY_VARS, *(v.lower() for v in PROXY_VARS)]:
        monkeypatch.delenv(name, raising=False)
    for name in ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CODEX_INTERNAL_ORIGINATOR_OVERRIDE"):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def model_client(base_url: str, **settings: Any) -> Iterator[ResponsesClient]:
    settings.setdefault("bearer_token", "sk-test")
    with ResponsesClient(ProviderSettings(base_url=base_url, **settings), thread_id=THREAD) as client:
        yield client


def run(server: FakeResponsesServer, body: dict[str, object] = BODY, **settings: Any) -> list[ResponseEvent]:
    with model_client(server.base_url, **settings) as client:
        return list(client.stream(body))


def fail(server: FakeResponsesServer, **settings: Any) -> tuple[Exception, list[ResponseEvent]]:
    events: list[ResponseEvent] = []
    with model_client(server.base_url, **settings) as client:
        with pytest.raises(Exception) as info:
            for event in client.stream(BODY):
                events.append(event)
    assert isinstance(info.value, Exception)
    return info.value, events


def final_text(events: list[ResponseEvent]) -> list[str]:
    return [
        part["text"]
        for e in events
        if isinstance(e, OutputItemDone) and e.item["type"] == "message"
        for part in e.item["content"]
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- successful streams ------------------------------------------------------------------------


def test_model_text_answer_fixture(fake_server: StartServer) -> None:
    events = run(fake_server([{"sse": str(WIRE / "text_answer.sse")}]))
    assert [e.delta for e in events if isinstance(e, TextDelta)] == ["The command ", "finished. All done."]
    assert final_text(events) == ["The command finished. All done."]
    assert isinstance(events[0], OutputItemAdded)
    assert events[-1] == Completed(
        "resp_text_1", Usage(input_tokens=1500, cached_input_tokens=1200, output_tokens=12, total_tokens=1512)
    )


def test_model_reasoning_events(fake_server: StartServer) -> None:
    events = run(fake_server([{"sse": str(WIRE / "reasoning_multi_item.sse")}]))
    assert ReasoningSummaryPartAdded(0) in events
    assert ReasoningSummaryDelta("**Inspecting the workspace**\n\n", 0) in events
    done = [e.item["type"] for e in events if isinstance(e, OutputItemDone)]
    assert done == ["reasoning", "message", "function_call"]


def test_model_exec_call_round_trip_shape(fake_server: StartServer) -> None:
    server = fake_server([{"sse": str(WIRE / "exec_call.sse")}, {"sse": str(WIRE / "text_answer.sse")}])
    with model_client(server.base_url) as client:
        first = list(client.stream(BODY))
        (call,) = [e.item for e in first if isinstance(e, OutputItemDone)]
        assert (call["type"], call["name"], call["call_id"]) == ("function_call", "exec_command", "call_exec_1")
        assert json.loads(call["arguments"])["yield_time_ms"] == 2000
        output = {"type": "function_call_output", "call_id": "call_exec_1", "output": "Process exited with code 3"}
        second_body = dict(BODY, input=[call, output])
        second = list(client.stream(second_body))
    assert final_text(second) == ["The command finished. All done."]
    first_request, second_request = server.response_requests
    assert second_request.body == second_body
    assert int(second_request.headers["content-length"]) == len(encode_json(second_body))


def test_model_large_body_arrives_whole_with_content_length(fake_server: StartServer) -> None:
    """A resumed thread's body (tens of MB) goes out in pieces of one buffer, framed exactly like small ones."""
    server = fake_server([{"output": [message("done")]}])
    output = "".join(f"line {n:05d}: ünïcödé build output\n" for n in range(100_000))  # ~3.6 MB
    body = dict(BODY, input=[{"type": "function_call_output", "call_id": "call_1", "output": output}])
    with model_client(server.base_url) as client:
        assert final_text(list(client.stream(body))) == ["done"]
    (request,) = server.response_requests
    assert request.body == body
    assert int(request.headers["content-length"]) == len(encode_json(body))
    assert "transfer-encoding" not in request.headers


def test_model_completed_ends_stream_at_once_even_if_connection_stays_open(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("done")], "hold_open": True}])
    start = time.monotonic()
    events = run(server, stream_idle_timeout_ms=5_000)
    assert time.monotonic() - start < 2
    assert final_text(events) == ["done"] and isinstance(events[-1], Completed)


def test_model_unknown_events_and_bad_json_are_skipped(fake_server: StartServer) -> None:
    events = [
        {"type": "response.some_future_event", "x": 1},
        "data: not json\n\n",
        {"type": "error", "code": "whatever", "message": "ignored"},
        {"type": "response.output_text.delta", "delta": "ok"},
    ]
    result = run(fake_server([{"events": events}]))
    assert [type(e) for e in result] == [TextDelta, Completed]


# -- headers, URL, body ------------------------------------------------------------------------


def test_model_sends_headers(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    run(server, headers={"X-Custom": "abc", "x-env-header": "from-env"})
    headers = server.requests[0].headers
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["originator"] == "codex_exec"
    assert headers["accept"] == "text/event-stream"
    assert headers["content-type"] == "application/json"
    assert headers["session-id"] == headers["thread-id"] == headers["x-client-request-id"] == THREAD
    assert headers["x-codex-window-id"] == f"{THREAD}:0"
    assert headers["x-custom"] == "abc" and headers["x-env-header"] == "from-env"
    assert "accept-encoding" not in headers and "x-codex-turn-state" not in headers
    ua = re.fullmatch(r"codex_exec/(\S+) \((.+) (\S+); (\S+)\) (\S+) \(codex_exec; (\S+)\)", headers["user-agent"])
    assert ua is not None and ua.group(1) == ua.group(6) == VERSION


def test_model_without_token_sends_no_authorization(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    run(server, bearer_token=None)
    assert "authorization" not in server.requests[0].headers


def test_model_originator_override_keeps_client_in_user_agent(
    fake_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "my_client")
    server = fake_server([{"output": [message("x")]}])
    run(server)
    headers = server.requests[0].headers
    assert headers["originator"] == "my_client"
    assert headers["user-agent"].startswith("my_client/") and headers["user-agent"].endswith(f"(codex_exec; {VERSION})")


def test_user_agent_terminal_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM_PROGRAM", "vscode")
    monkeypatch.setenv("TERM_PROGRAM_VERSION", "1.99.0")
    assert " vscode/1.99.0 (codex_exec; " in user_agent("codex_exec")
    monkeypatch.delenv("TERM_PROGRAM")
    monkeypatch.setenv("TERM", "dumb")
    assert " dumb (codex_exec; " in user_agent("codex_exec")
    monkeypatch.delenv("TERM")
    assert " unknown (codex_exec; " in user_agent("codex_exec")
    assert user_agent("x").isascii()


def test_model_query_params_are_appended(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    run(server, query_params={"api-version": "2025-04-01"})
    request = server.requests[0]
    assert (request.path, request.query) == ("/v1/responses", {"api-version": "2025-04-01"})


def test_model_turn_state_is_echoed_within_a_turn(fake_server: StartServer) -> None:
    server = fake_server(
        [{"output": [exec_call("ls", "c1")], "headers": {"x-codex-turn-state": "opaque-1"}}, {"output": [message("x")]}]
    )
    with model_client(server.base_url) as client:
        turn = TurnState()
        list(client.stream(BODY, turn_state=turn))
        list(client.stream(BODY, turn_state=turn))
        list(client.stream(BODY, turn_state=TurnState()))  # the next turn starts clean
    first, second, third = (r.headers for r in server.requests)
    assert "x-codex-turn-state" not in first
    assert second["x-codex-turn-state"] == "opaque-1"
    assert "x-codex-turn-state" not in third
    assert turn.value == "opaque-1"


def test_model_window_number_in_header(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    with model_client(server.base_url) as client:
        client.window_number = 1
        list(client.stream(BODY))
    assert server.requests[0].headers["x-codex-window-id"] == f"{THREAD}:1"


# -- retries -----------------------------------------------------------------------------------


def test_model_500_then_success_is_retried_silently(fake_server: StartServer) -> None:
    server = fake_server([{"status": 500, "body": "boom"}, {"output": [message("recovered")]}])
    events = run(server)
    assert not any(isinstance(e, StreamRetry) for e in events)
    assert final_text(events) == ["recovered"]
    assert len(server.requests) == 2
    gap = server.requests[1].time - server.requests[0].time
    assert 0.15 < gap < 1.0  # 200 ms × jitter


def test_model_500_with_stream_layer_only_emits_stream_retry(fake_server: StartServer) -> None:
    server = fake_server([{"status": 503}, {"output": [message("ok")]}])
    events = run(server, request_max_retries=0, stream_max_retries=1)
    retries = [e for e in events if isinstance(e, StreamRetry)]
    assert len(retries) == 1
    assert (retries[0].attempt, retries[0].max_attempts, retries[0].cause) == (1, 1, HIGH_DEMAND)
    assert 0.15 < retries[0].delay < 0.25
    assert events.index(retries[0]) == 0 and final_text(events) == ["ok"]


def test_model_persistent_500_fails_with_high_demand_text(fake_server: StartServer) -> None:
    server = fake_server([{"status": 500, "body": "{}"}])
    error, events = fail(server, request_max_retries=1, stream_max_retries=1)
    assert isinstance(error, ApiError) and str(error) == HIGH_DEMAND and error.status == 500
    assert len(server.requests) == 4  # (1 + 1 request retries) × (1 + 1 stream retries)
    assert sum(isinstance(e, StreamRetry) for e in events) == 1


def test_model_5xx_retry_after_sets_request_layer_delay(fake_server: StartServer) -> None:
    server = fake_server([{"status": 503, "headers": {"Retry-After": "1"}}, {"output": [message("ok")]}])
    assert final_text(run(server)) == ["ok"]
    assert server.requests[1].time - server.requests[0].time >= 0.95


def test_model_429_with_retry_after_is_stream_retried(fake_server: StartServer) -> None:
    server = fake_server(
        [{"status": 429, "body": "slow down", "headers": {"Retry-After": "1"}}, {"output": [message("ok")]}]
    )
    events = run(server, stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert retry.delay == 1.0
    assert final_text(events) == ["ok"]
    assert server.requests[1].time - server.requests[0].time >= 0.95


@pytest.mark.parametrize(
    "headers",
    [{}, {"retry-after-ms": "700"}, {"Retry-After": "0.5"}],
    ids=["no-retry-after", "retry-after-ms", "fractional"],
)
def test_model_429_without_integer_retry_after_fails_at_once(fake_server: StartServer, headers: dict[str, str]) -> None:
    body = {"error": {"code": "rate_limit_exceeded", "message": "slow"}}
    server = fake_server([{"status": 429, "body": body, "headers": headers}])
    error, events = fail(server)
    assert isinstance(error, ApiError)
    assert str(error) == "exceeded retry limit, last status: 429 Too Many Requests"
    assert len(server.requests) == 1 and events == []


def test_model_429_insufficient_quota(fake_server: StartServer) -> None:
    body = {"error": {"code": "insufficient_quota", "type": "insufficient_quota", "message": "no"}}
    error, _ = fail(fake_server([{"status": 429, "body": body}]))
    assert isinstance(error, UsageLimitReached)
    assert str(error) == "Quota exceeded. Check your plan and billing details."


def test_model_429_usage_limit_reached(fake_server: StartServer) -> None:
    body = {"error": {"type": "usage_limit_reached", "plan_type": "plus", "resets_at": 1_900_000_000}}
    error, _ = fail(fake_server([{"status": 429, "body": body}]))
    assert isinstance(error, UsageLimitReached)
    assert str(error).startswith("You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro)")
    assert " or try again at " in str(error)


def test_model_400_body_is_the_message_verbatim(fake_server: StartServer) -> None:
    raw = '{"error":{"message":"Invalid value for \'input\': bad thing.","type":"invalid_request_error"}}'
    server = fake_server([{"status": 400, "body": raw}, {"status": 400, "body": "plain bad request"}])
    error, _ = fail(server)
    assert isinstance(error, ApiError) and str(error) == raw and error.status == 400
    error, _ = fail(server)
    assert str(error) == "plain bad request"
    assert len(server.requests) == 2  # no retries


def test_model_400_context_length_exceeded(fake_server: StartServer) -> None:
    body = {"error": {"code": "context_length_exceeded", "message": "too long"}}
    error, _ = fail(fake_server([{"status": 400, "body": body}]))
    assert isinstance(error, ContextWindowExceeded)
    assert str(error) == (
        "Codex ran out of room in the model's context window. "
        "Start a new thread or clear earlier history before retrying."
    )


def test_model_401_unexpected_status_text(fake_server: StartServer) -> None:
    server = fake_server(
        [
            {"status": 401, "body": {"error": {"message": "bad key"}}},
            {"status": 404, "body": "not found", "headers": {"x-request-id": "req_1", "cf-ray": "ray9"}},
        ]
    )
    error, _ = fail(server, stream_max_retries=0)
    assert isinstance(error, ApiError) and error.status == 401
    assert error.message == f"unexpected status 401 Unauthorized: bad key, url: {server.base_url}/responses"
    error, _ = fail(server, stream_max_retries=0)
    assert error.message == (
        f"unexpected status 404 Not Found: not found, url: {server.base_url}/responses, cf-ray: ray9, request id: req_1"
    )


def test_model_401_is_stream_retried(fake_server: StartServer) -> None:
    server = fake_server([{"status": 401, "body": "nope"}, {"output": [message("ok")]}])
    events = run(server, stream_max_retries=1)
    assert isinstance(events[0], StreamRetry) and events[0].cause.startswith("unexpected status 401 Unauthorized")
    assert final_text(events) == ["ok"]


def test_model_mid_stream_drop_is_stream_retried(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("partial answer")], "drop_after": 3}, {"output": [message("full")]}])
    events = run(server, stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert (
        retry.cause
        == "stream disconnected before completion: Transport error: network error: error decoding response body"
    )
    before = events[: events.index(retry)]
    assert [type(e) for e in before] == [OutputItemAdded, TextDelta]
    assert final_text(events) == ["full"]


def test_model_mid_stream_drop_final_error(fake_server: StartServer) -> None:
    error, _ = fail(fake_server([{"output": [message("abc")], "drop_after": 2}]), stream_max_retries=0)
    assert isinstance(error, NetworkError)
    assert (
        str(error)
        == "stream disconnected before completion: Transport error: network error: error decoding response body"
    )


def test_model_clean_end_without_completed(fake_server: StartServer) -> None:
    server = fake_server([{"events": [{"type": "response.created", "response": {"id": "r"}}], "no_completed": True}])
    error, _ = fail(server, stream_max_retries=0)
    assert str(error) == "stream disconnected before completion: stream closed before response.completed"


def test_model_top_level_error_event_counts_as_closed_stream(fake_server: StartServer) -> None:
    events = [{"type": "error", "code": "server_error", "message": "oops"}]
    error, _ = fail(fake_server([{"events": events, "no_completed": True}]), stream_max_retries=0)
    assert str(error) == "stream disconnected before completion: stream closed before response.completed"


def test_model_completed_without_id_is_stream_error(fake_server: StartServer) -> None:
    server = fake_server([{"events": [{"type": "response.completed", "response": {}}]}, {"output": [message("ok")]}])
    events = run(server, stream_max_retries=1)
    assert isinstance(events[0], StreamRetry)
    assert (
        events[0].cause
        == "stream disconnected before completion: failed to parse ResponseCompleted: missing field `id`"
    )
    assert final_text(events) == ["ok"]


def test_model_response_failed_rate_limit_uses_hint(fake_server: StartServer) -> None:
    failed = {
        "type": "response.failed",
        "response": {"id": "r", "error": {"code": "rate_limit_exceeded", "message": "Please try again in 20ms."}},
    }
    events = run(fake_server([{"events": [failed]}, {"output": [message("ok")]}]), stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert retry.delay == pytest.approx(0.02)
    assert retry.cause == "rate limit exceeded: Please try again in 20ms."
    assert final_text(events) == ["ok"]


def test_model_response_failed_rate_limit_fixture_final_text(fake_server: StartServer) -> None:
    error, _ = fail(fake_server([{"sse": str(WIRE / "failed_rate_limit.sse")}]), stream_max_retries=0)
    assert str(error) == "rate limit exceeded: Rate limit reached for requests per min. Please try again in 1.5s."


@pytest.mark.parametrize(
    ("code", "error_type", "text", "requests"),
    [
        ("server_error", ApiError, "stream disconnected before completion: Something broke.", 2),
        (None, ApiError, "stream disconnected before completion: Something broke.", 2),
        ("context_length_exceeded", ContextWindowExceeded, "Codex ran out of room", 1),
        ("insufficient_quota", UsageLimitReached, "Quota exceeded. Check your plan and billing details.", 1),
        ("invalid_prompt", ApiError, "Something broke.", 1),
    ],
)
def test_model_response_failed_codes(
    fake_server: StartServer, code: str | None, error_type: type, text: str, requests: int
) -> None:
    failed = {
        "type": "response.failed",
        "response": {"id": "r", "error": {"code": code, "message": "Something broke."}},
    }
    server = fake_server([{"events": [failed]}])
    error, _ = fail(server, stream_max_retries=1)
    assert isinstance(error, error_type) and str(error).startswith(text)
    assert len(server.requests) == requests


def test_model_response_incomplete_is_not_retried(fake_server: StartServer) -> None:
    server = fake_server([{"sse": str(WIRE / "incomplete_max_output_tokens.sse")}])
    error, events = fail(server, stream_max_retries=3)
    assert isinstance(error, IncompleteResponse)
    assert str(error) == "Incomplete response returned, reason: max_output_tokens"
    assert error.usage == Usage(input_tokens=900, output_tokens=16, total_tokens=916)
    assert final_text(events) == ["Here is the beginning of a long ans"]
    assert len(server.requests) == 1


def test_model_idle_timeout_before_headers(fake_server: StartServer) -> None:
    server = fake_server([{"hang": True}])
    start = time.monotonic()
    error, _ = fail(server, stream_idle_timeout_ms=200, stream_max_retries=0)
    assert time.monotonic() - start < 2
    assert str(error) == "stream disconnected before completion: idle timeout waiting for SSE"


def test_model_idle_timeout_mid_stream_then_retry(fake_server: StartServer) -> None:
    stalled = {
        "events": [{"type": "response.output_text.delta", "delta": "a"}],
        "no_completed": True,
        "hold_open": True,
    }
    server = fake_server([stalled, {"output": [message("ok")]}])
    events = run(server, stream_idle_timeout_ms=200, stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert retry.cause == "stream disconnected before completion: idle timeout waiting for SSE"
    assert final_text(events) == ["ok"]


def test_model_connection_refused_fails_fast_naming_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    start = time.monotonic()
    with model_client(url) as client:  # default retry settings
        with pytest.raises(NetworkError) as info:
            list(client.stream(BODY))
    assert time.monotonic() - start < 5
    assert f"{url}/responses" in info.value.message and "refused" in info.value.message
    assert info.value.hint is not None and "base_url" in info.value.hint
    assert not isinstance(info.value, TLSError)


# -- cancellation ------------------------------------------------------------------------------


def test_model_cancel_mid_stream_returns_promptly(fake_server: StartServer) -> None:
    deltas = [{"type": "response.output_text.delta", "delta": str(i)} for i in range(50)]
    server = fake_server([{"events": deltas, "interval": 0.2}])
    cancel = threading.Event()
    seen: list[ResponseEvent] = []
    with model_client(server.base_url) as client:
        start = time.monotonic()
        for event in client.stream(BODY, cancel=cancel):
            seen.append(event)
            cancel.set()
        elapsed = time.monotonic() - start
    assert seen == [TextDelta("0")]
    assert elapsed < 1


def test_model_cancel_while_waiting_for_headers(fake_server: StartServer) -> None:
    server = fake_server([{"hang": True}])
    cancel = threading.Event()
    with model_client(server.base_url, stream_idle_timeout_ms=30_000) as client:
        threading.Timer(0.2, cancel.set).start()
        start = time.monotonic()
        assert list(client.stream(BODY, cancel=cancel)) == []
        assert time.monotonic() - start < 1.5


def test_model_cancel_during_retry_sleep(fake_server: StartServer) -> None:
    server = fake_server([{"status": 429, "headers": {"Retry-After": "30"}}])
    cancel = threading.Event()
    with model_client(server.base_url) as client:
        start = time.monotonic()
        events = []
        for event in client.stream(BODY, cancel=cancel):
            events.append(event)
            cancel.set()
        assert time.monotonic() - start < 1.5
    assert [type(e) for e in events] == [StreamRetry]


def test_model_unset_cancel_runs_normally(fake_server: StartServer) -> None:
    server = fake_server([{"status": 500}, {"output": [reasoning("r"), message("ok")]}])
    with model_client(server.base_url) as client:
        events = list(client.stream(BODY, cancel=threading.Event()))
    assert final_text(events) == ["ok"] and isinstance(events[-1], Completed)


def test_model_cancel_error_is_raised_from_worker(fake_server: StartServer) -> None:
    server = fake_server([{"status": 400, "body": "bad"}])
    with model_client(server.base_url) as client:
        with pytest.raises(ApiError, match="^bad$"):
            list(client.stream(BODY, cancel=threading.Event()))


# -- usage -------------------------------------------------------------------------------------


def test_token_usage_from_api_and_sum() -> None:
    usage = usage_from_api(
        {
            "input_tokens": 1500,
            "input_tokens_details": {"cached_tokens": 1200, "cache_write_tokens": 77},
            "output_tokens": 12,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 1512,
        }
    )
    assert usage == Usage(1500, 1200, 77, 12, 3, 1512)
    assert usage_from_api({"input_tokens": 1}) == Usage(input_tokens=1)
    assert usage_from_api(None) is None
    assert usage + Usage(1, 1, 1, 1, 1, 1) == Usage(1501, 1201, 78, 13, 4, 1513)


# -- jsoncodec ---------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(_json_values)
def test_jsoncodec_stdlib_matches_msgspec_bytes(value: object) -> None:
    assert _encode_stdlib(value) == msgspec.json.encode(value)
    assert decode_json(encode_json(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        {"s": 'a\x00\x1f\x7f\u2028é😀"\\\t\n</script>', "n": [0, -5, 2**70], "b": [True, False, None]},
        [1e16, 1e-7, 3e-05, 1.25e-05, -1e-05, 0.1, 1e300, 5e-324, -0.0, 12345678901234567890.0],
        {"nested": {"deep": [{"x": 1.5}, []]}, "empty": {}},
        BODY,
    ],
    ids=["strings-ints", "floats", "nested", "body"],
)
def test_jsoncodec_known_values_identical(value: object) -> None:
    assert _encode_stdlib(value) == msgspec.json.encode(value) == encode_json(value)


def test_jsoncodec_without_msgspec_uses_stdlib() -> None:
    code = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from codex_cli.jsoncodec import decode_json, encode_json, json_backend\n"
        "assert json_backend() == 'json'\n"
        "sys.stdout.buffer.write(encode_json({'a': [1e16, 'é', None]}))\n"
        "assert decode_json(b'{\"x\": 1}') == {'x': 1}\n"
        "try:\n    decode_json('NaN')\nexcept ValueError:\n    pass\nelse:\n    raise SystemExit('NaN accepted')\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=root, check=True)
    assert result.stdout == msgspec.json.encode({"a": [1e16, "é", None]})


def test_jsoncodec_invalid_json_is_value_error() -> None:
    with pytest.raises(ValueError):
        decode_json(b"{not json")
    with pytest.raises(ValueError):
        decode_json("NaN")
    assert decode_json('{"a": [1, "é"]}') == {"a": [1, "é"]}


# -- tls and http ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(fake_server: StartServer, ca: trustme.CA) -> FakeResponsesServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return fake_server([{"output": [message("over tls")]}], tls=context)


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_tls_codex_ca_certificate_makes_tls_work(
    tls_server: FakeResponsesServer, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(ca_file))
    assert final_text(run(tls_server)) == ["over tls"]
    assert str(ca_file) in tls.ca_bundle_description() and "CODEX_CA_CERTIFICATE" in tls.ca_bundle_description()


def test_tls_ssl_cert_file_is_the_fallback(
    tls_server: FakeResponsesServer, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", "")  # empty counts as unset
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    assert final_text(run(tls_server)) == ["over tls"]


def test_tls_bundle_with_several_certificates(
    tls_server: FakeResponsesServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# comment\n" + trustme.CA().cert_pem.bytes() + b"junk\n" + ca.cert_pem.bytes())
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(bundle))
    assert final_text(run(tls_server)) == ["over tls"]


def test_tls_untrusted_server_fails_fast_without_retry(tls_server: FakeResponsesServer) -> None:
    start = time.monotonic()
    error, _ = fail(tls_server)  # default retry settings
    assert time.monotonic() - start < 5
    assert isinstance(error, TLSError)
    assert "127.0.0.1" in error.message and "certificate" in error.message
    assert error.hint is not None and "CODEX_CA_CERTIFICATE" in error.hint
    assert tls.ca_bundle_description() in error.hint
    assert tls_server.requests == []


def test_tls_wrong_ca_fails(tls_server: FakeResponsesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(other))
    error, _ = fail(tls_server)
    assert isinstance(error, TLSError) and str(other) in str(error.hint)


def _write_bad(tmp_path: Path, kind: str, ca: trustme.CA) -> tuple[Path, str]:
    path = tmp_path / f"{kind}.pem"
    if kind == "missing":
        return (
            path,
            f"Failed to read CA certificate file {path} selected by {{var}}: No such file or directory (os error 2)",
        )
    if kind == "directory":
        path.mkdir()
        return path, f"Failed to read CA certificate file {path} selected by {{var}}: Is a directory (os error 21)"
    no_certs = f"Failed to load CA certificates from {path} selected by {{var}}: no certificates found in PEM file"
    contents = {
        "empty": (b"", no_certs),
        "garbage": (b"hello, this is not a certificate\n", no_certs),
        "der": (ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()), no_certs),
        "key-only": (ca.private_key_pem.bytes(), no_certs),
        "bad-base64": (
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            f"Failed to load CA certificates from {path} selected by {{var}}: failed to parse PEM file: base64 decode",
        ),
        "bad-der": (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            f"Failed to parse certificate #1 from {path} selected by {{var}}: ",
        ),
    }
    data, message = contents[kind]
    path.write_bytes(data)
    return path, message


@pytest.mark.parametrize("variable", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
@pytest.mark.parametrize(
    "kind", ["missing", "directory", "empty", "garbage", "der", "key-only", "bad-base64", "bad-der"]
)
def test_tls_bad_ca_file_is_an_immediate_error(
    kind: str, variable: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, message = _write_bad(tmp_path, kind, ca)
    monkeypatch.setenv(variable, str(path))
    # The bundle is read by the first HTTPS connection (a plain-http model never needs it), and fails it at once.
    with ResponsesClient(ProviderSettings(base_url="https://127.0.0.1:1/v1"), thread_id=THREAD) as client:
        with pytest.raises(TLSError) as info:
            list(client.stream(BODY))
    assert info.value.message.startswith(message.format(var=variable))
    assert info.value.hint is not None and "PEM file containing one or more CERTIFICATE blocks" in info.value.hint


@pytest.mark.parametrize("fallback", ["missing", "garbage"])
def test_tls_codex_variable_wins_over_ssl_cert_file(
    fallback: str, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "garbage.pem").write_text("junk")
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / f"{fallback}.pem"))
    assert isinstance(tls.ssl_context(), ssl.SSLContext)
    assert tls.selected_ca_bundle() == tls.CaBundle("CODEX_CA_CERTIFICATE", str(ca_file))


def test_tls_trusted_certificate_label_is_accepted(
    tls_server: FakeResponsesServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = ca.cert_pem.bytes().replace(b"BEGIN CERTIFICATE", b"BEGIN TRUSTED CERTIFICATE")
    path = tmp_path / "trusted.pem"
    path.write_bytes(pem.replace(b"END CERTIFICATE", b"END TRUSTED CERTIFICATE"))
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(path))
    assert final_text(run(tls_server)) == ["over tls"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HTTP_PROXY": "http://h:1"}, (None, "http://h:1")),
        ({"HTTPS_PROXY": "http://s:1"}, ("http://s:1", None)),
        ({"ALL_PROXY": "http://a:1", "HTTPS_PROXY": "http://s:1"}, ("http://s:1", "http://a:1")),
        ({"all_proxy": "socks5://a:1"}, ("socks5://a:1", "socks5://a:1")),
        ({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}, ("http://upper:1", None)),
        ({"HTTPS_PROXY": "", "https_proxy": "http://lower:1"}, ("http://lower:1", None)),
        ({"HTTPS_PROXY": "  "}, (None, None)),
    ],
    ids=["http-only", "https-only", "all-fallback", "lowercase-all", "upper-wins", "empty-is-unset", "blank"],
)
def test_http_proxy_config_rules(env: dict[str, str], expected: tuple[str | None, str | None]) -> None:
    config = proxy_config(env)
    assert (config.https, config.http) == expected


@pytest.mark.parametrize(
    ("url", "no_proxy", "expected"),
    [
        ("https://api.example.com/v1", "", "http://s:1"),
        ("https://api.example.com/v1", "example.com", None),
        ("https://example.com/v1", ".example.com", None),
        ("https://notexample.com/v1", "example.com", "http://s:1"),
        ("https://localhost:8443/v1", "localhost", None),
        ("https://localhost:8443/v1", "127.0.0.1", "http://s:1"),
        ("https://10.1.2.3/v1", "10.1.2.3", None),
        ("https://10.1.2.3/v1", "10.0.0.0/8", None),
        ("https://11.1.2.3/v1", "10.0.0.0/8", "http://s:1"),
        ("https://[fd00::1]:8443/v1", "fd00::/8", None),
        ("https://[fe80::1]/v1", "10.0.0.0/8,fd00::/8", "http://s:1"),
        ("https://10.0.0.0.example/v1", "10.0.0.0/8", "http://s:1"),
        ("https://host/v1", "host:443", None),
        ("http://host/v1", "host:443", "http://h:1"),
        ("https://host:8443/v1", "host:9999", "http://s:1"),
        ("https://anything/v1", "*", None),
        ("http://plain/v1", "", "http://h:1"),
    ],
)
def test_http_proxy_for_url(url: str, no_proxy: str, expected: str | None) -> None:
    config = proxy_config({"HTTPS_PROXY": "http://s:1", "HTTP_PROXY": "http://h:1", "NO_PROXY": no_proxy})
    assert proxy_for(url, config) == expected


def test_http_no_proxy_entries_are_split() -> None:
    assert proxy_config({"NO_PROXY": "localhost, .example.com,,10.0.0.1"}).no_proxy == (
        "localhost",
        ".example.com",
        "10.0.0.1",
    )


def test_http_proxy_is_used_for_http_targets(fake_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = fake_server([{"output": [message("via proxy")]}])  # answers absolute-form requests like a proxy
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    events = run_url("http://upstream.invalid/v1")
    assert final_text(events) == ["via proxy"]
    assert proxy.requests[0].headers["host"] == "upstream.invalid"


def run_url(base_url: str, **settings: Any) -> list[ResponseEvent]:
    with model_client(base_url, **settings) as client:
        return list(client.stream(BODY))


def test_http_dead_proxy_fails_and_no_proxy_bypasses(fake_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake_server([{"output": [message("direct")]}])
    dead = f"http://user:secret@127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    with pytest.raises(NetworkError) as info:
        run_url(server.base_url, request_max_retries=0)
    assert "through the proxy http://***@127.0.0.1:" in info.value.message and "secret" not in info.value.message
    assert server.requests == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert final_text(run_url(server.base_url)) == ["direct"]
    monkeypatch.setenv("NO_PROXY", "*")
    assert final_text(run_url(server.base_url)) == ["direct"]


def test_http_https_proxy_is_not_used_for_http(fake_server: StartServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake_server([{"output": [message("direct")]}])
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    assert final_text(run_url(server.base_url)) == ["direct"]


def test_http_http_proxy_is_not_used_for_https(
    tls_server: FakeResponsesServer, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(ca_file))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    assert final_text(run(tls_server)) == ["over tls"]


def test_http_bad_proxy_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://nope:1")
    with pytest.raises(NetworkError, match="Invalid proxy setting"):
        create_client()


def test_http_map_transport_error_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1/responses"
    with create_client() as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get(url)
    error = map_transport_error(info.value, url)
    assert isinstance(error, NetworkError) and not isinstance(error, TLSError)
    assert url in error.message
