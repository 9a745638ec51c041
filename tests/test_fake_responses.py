"""Tests for scripts/fake_responses.py over real sockets: steps, recording, failures, TLS and the CLI."""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from fake_responses import (
    DEFAULT_USAGE,
    FakeResponsesServer,
    RecordedRequest,
    apply_patch_call,
    custom_tool_call,
    exec_call,
    function_call,
    message,
    reasoning,
)

from codex_cli.sse import iter_sse_events

WIRE = Path(__file__).parent / "data" / "wire"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fake_responses.py"

StartServer = Callable[..., FakeResponsesServer]


def post(server: FakeResponsesServer, body: Any = None, path: str = "/v1/responses", **headers: str) -> tuple:
    """POST and read the whole answer; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", path, body=json.dumps(body or {"model": "m"}), headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def events_of(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in iter_sse_events([raw])]


def test_fake_output_step_builds_realistic_stream(fake_server: StartServer) -> None:
    server = fake_server([{"output": [reasoning("thinking"), message("hello world"), exec_call("ls", "c1")]}])
    status, headers, raw = post(server)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    events = events_of(raw)
    types = [e["type"] for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["hello", " world"]
    assert "response.reasoning_summary_text.delta" in types
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [i["type"] for i in done] == ["reasoning", "message", "function_call"]
    assert done[2]["arguments"] == '{"cmd": "ls"}' and done[2]["call_id"] == "c1"
    assert all(i["id"] for i in done)
    completed = events[-1]["response"]
    assert completed["id"] == "resp_1" and completed["usage"] == DEFAULT_USAGE
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_fake_output_step_custom_id_and_usage(fake_server: StartServer) -> None:
    usage = {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}
    server = fake_server(
        [{"output": [message("x")], "id": "resp_custom", "usage": usage}, {"output": [], "usage": None}]
    )
    completed = events_of(post(server)[2])[-1]["response"]
    assert (completed["id"], completed["usage"]) == ("resp_custom", usage)
    assert "usage" not in events_of(post(server)[2])[-1]["response"]


def test_fake_builders_shapes() -> None:
    assert function_call("f", {"a": 1}, "c", namespace="mcp__x") == {
        "type": "function_call",
        "status": "completed",
        "name": "f",
        "arguments": '{"a": 1}',
        "call_id": "c",
        "namespace": "mcp__x",
    }
    assert exec_call("pwd", "c2", yield_time_ms=10)["arguments"] == '{"cmd": "pwd", "yield_time_ms": 10}'
    assert apply_patch_call("*** Begin Patch", "p")["name"] == "apply_patch"
    assert custom_tool_call("t", "in", "c3")["input"] == "in"
    assert message("m", phase="commentary")["phase"] == "commentary"


def test_fake_sse_step_sends_fixture_verbatim(fake_server: StartServer) -> None:
    server = fake_server([{"sse": str(WIRE / "text_answer.sse")}])
    assert post(server)[2] == (WIRE / "text_answer.sse").read_bytes()


def test_fake_sse_step_path_is_relative_to_base_dir(fake_server: StartServer) -> None:
    server = fake_server([{"sse": "exec_call.sse"}], base_dir=WIRE)
    assert post(server)[2] == (WIRE / "exec_call.sse").read_bytes()


def test_fake_http_error_step_with_headers(fake_server: StartServer) -> None:
    server = fake_server(
        [
            {"status": 429, "body": "slow down", "headers": {"Retry-After": "1"}},
            {"status": 400, "body": {"error": {"code": "bad"}}},
        ]
    )
    status, headers, raw = post(server)
    assert (status, headers["Retry-After"], raw) == (429, "1", b"slow down")
    status, headers, raw = post(server)
    assert (status, headers["Content-Type"], json.loads(raw)) == (400, "application/json", {"error": {"code": "bad"}})


def test_fake_events_step_appends_completed(fake_server: StartServer) -> None:
    server = fake_server([{"events": [{"type": "response.output_text.delta", "delta": "a"}, ": comment\n\n"]}])
    raw = post(server)[2]
    assert b": comment\n\n" in raw
    assert [e["type"] for e in events_of(raw)] == ["response.output_text.delta", "response.completed"]


def test_fake_events_step_keeps_terminal_event_and_no_completed(fake_server: StartServer) -> None:
    failed = {"type": "response.failed", "response": {"id": "r", "error": {"code": "server_error"}}}
    server = fake_server([{"events": [failed]}, {"events": [{"type": "response.created"}], "no_completed": True}])
    assert [e["type"] for e in events_of(post(server)[2])] == ["response.failed"]
    assert [e["type"] for e in events_of(post(server)[2])] == ["response.created"]


def test_fake_drop_after_ends_body_abruptly(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("abcdef")], "drop_after": 2}])
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", "/v1/responses", body="{}")
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as info:
            response.read()
    finally:
        conn.close()
    partial = events_of(info.value.partial)
    assert [e["type"] for e in partial] == ["response.created", "response.output_item.added"]


def test_fake_delay_step_waits(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")], "delay": 0.3}])
    start = time.monotonic()
    post(server)
    assert time.monotonic() - start >= 0.3


def test_fake_hang_step_does_not_block_close() -> None:
    server = FakeResponsesServer([{"hang": True}]).start()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", "/v1/responses", body="{}")
        server.wait_for_requests(1)
        start = time.monotonic()
        server.close()
        assert time.monotonic() - start < 2
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.getresponse()
    finally:
        conn.close()
        server.close()


def test_fake_hold_open_sends_events_then_keeps_connection(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")], "hold_open": True}])
    conn = http.client.HTTPConnection(server.host, server.port, timeout=0.2)
    try:
        conn.request("POST", "/v1/responses", body="{}")
        response = conn.getresponse()
        seen = b""
        while b"response.completed" not in seen:
            seen += response.read1(65536)
        with pytest.raises(TimeoutError):
            response.read1(65536)
    finally:
        conn.close()


def test_fake_script_repeats_last_step(fake_server: StartServer) -> None:
    server = fake_server([{"status": 500}, {"output": [message("again")]}])
    assert [post(server)[0] for _ in range(4)] == [500, 200, 200, 200]


def test_fake_script_exhausted_without_repeat_answers_500(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("once")]}], repeat_last=False)
    assert [post(server)[0] for _ in range(3)] == [200, 500, 500]


def test_fake_push_and_callable_steps(fake_server: StartServer) -> None:
    server = fake_server([])
    server.push(lambda request: {"output": [message(f"echo {request.body['model']}")]})
    events = events_of(post(server, {"model": "gpt-test"})[2])
    assert events[-2]["item"]["content"][0]["text"] == "echo gpt-test"


def test_fake_records_requests(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    post(server, {"model": "m", "input": []}, "/v1/responses?api-version=2025-04-01", **{"X-Custom": "abc"})
    (request,) = server.wait_for_requests(1)
    assert isinstance(request, RecordedRequest)
    assert (request.method, request.path, request.query) == ("POST", "/v1/responses", {"api-version": "2025-04-01"})
    assert request.headers["x-custom"] == "abc"
    assert request.body == {"model": "m", "input": []}
    assert request.time <= time.monotonic()
    assert server.response_requests == [request]


def test_fake_unknown_route_is_404_and_recorded(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    assert post(server, path="/v1/models")[0] == 404
    assert server.requests[0].path == "/v1/models"
    assert server.response_requests == []


def test_fake_non_json_body_is_kept_as_text(fake_server: StartServer) -> None:
    server = fake_server([{"output": []}])
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", "/v1/responses", body="not json")
        conn.getresponse().read()
    finally:
        conn.close()
    assert server.requests[0].body == "not json"


def test_fake_wait_for_requests_times_out(fake_server: StartServer) -> None:
    server = fake_server([])
    with pytest.raises(TimeoutError):
        server.wait_for_requests(1, timeout=0.1)


def test_fake_keep_alive_serves_several_requests_on_one_connection(fake_server: StartServer) -> None:
    server = fake_server([{"output": [message("x")]}])
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("POST", "/v1/responses", body="{}")
            assert conn.getresponse().read().endswith(b"\n\n")
    finally:
        conn.close()
    assert len(server.requests) == 3


def test_fake_log_file_gets_one_json_line_per_request(fake_server: StartServer, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    server = fake_server([{"output": []}], log_path=log)
    post(server, {"model": "a"})
    post(server, {"model": "b"})
    server.close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["body"]["model"] for line in lines] == ["a", "b"]
    assert lines[0]["path"] == "/v1/responses"


def test_fake_serves_tls(fake_server: StartServer) -> None:
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    server = fake_server([{"output": [message("secure")]}], tls=server_ctx)
    assert server.base_url.startswith("https://127.0.0.1:")
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    conn = http.client.HTTPSConnection(server.host, server.port, context=client_ctx, timeout=10)
    try:
        conn.request("POST", "/v1/responses", body="{}")
        raw = conn.getresponse().read()
    finally:
        conn.close()
    assert events_of(raw)[-2]["item"]["content"][0]["text"] == "secure"


def test_fake_cli_prints_port_and_serves(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"steps": [{"sse": str(WIRE / "text_answer.sse")}], "repeat_last": True}))
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--script", str(script), "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "PORT"
        port = int(first[1])
        assert proc.stdout.readline().strip() == f"http://127.0.0.1:{port}/v1"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", "/v1/responses", body="{}")
            assert conn.getresponse().read() == (WIRE / "text_answer.sse").read_bytes()
        finally:
            conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert json.loads(log.read_text().splitlines()[0])["method"] == "POST"
