"""JSON-RPC 2.0 peers: correlation, notifications, error objects, framing over pipes, timeouts and closing."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from codex_cli.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    ConnectionClosed,
    IncomingRequest,
    JsonRpcPeer,
    LineTransport,
    RequestCancelled,
    RequestTimeout,
    RpcError,
    encode_line,
)


class Recorder:
    """A `send` that keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def __call__(self, message: dict) -> None:
        self.sent.append(message)


def _linked(on_request=None, on_notification=None, threaded=False) -> tuple[JsonRpcPeer, JsonRpcPeer, list]:
    """Two peers wired back to back; `client` asks, `server` answers with `on_request`."""
    notes: list = []
    box: dict[str, JsonRpcPeer] = {}
    client = JsonRpcPeer(lambda m: box["server"].dispatch(json.loads(encode_line(m))), name="client")
    server = JsonRpcPeer(
        lambda m: client.dispatch(json.loads(encode_line(m))),
        on_request=on_request,
        on_notification=on_notification or (lambda method, params: notes.append((method, params))),
        threaded_requests=threaded,
        name="server",
    )
    box["server"] = server
    return client, server, notes


def test_request_result_reaches_the_caller() -> None:
    client, _, _ = _linked(on_request=lambda req: {"echo": req.params, "method": req.method})
    assert client.request("ping", {"x": 1}, timeout=1) == {"echo": {"x": 1}, "method": "ping"}


def test_request_ids_count_up_from_first_id() -> None:
    sent = Recorder()
    peer = JsonRpcPeer(sent, first_id=0)
    peer.start_request("a")
    peer.start_request("b", {"k": 1})
    assert sent.sent == [
        {"jsonrpc": "2.0", "id": 0, "method": "a"},
        {"jsonrpc": "2.0", "id": 1, "method": "b", "params": {"k": 1}},
    ]


def test_out_of_order_responses_are_correlated_by_id() -> None:
    sent = Recorder()
    peer = JsonRpcPeer(sent)
    first, second = peer.start_request("first"), peer.start_request("second")
    peer.dispatch({"jsonrpc": "2.0", "id": second.id, "result": "two"})
    peer.dispatch({"jsonrpc": "2.0", "id": first.id, "result": "one"})
    assert (first.wait(1), second.wait(1)) == ("one", "two")


def test_notifications_have_no_id_and_reach_the_handler() -> None:
    client, _, notes = _linked()
    client.notify("notifications/initialized")
    client.notify("notifications/progress", {"progress": 1})
    assert notes == [("notifications/initialized", None), ("notifications/progress", {"progress": 1})]


def test_unknown_method_is_answered_with_method_not_found() -> None:
    client, _, _ = _linked()
    with pytest.raises(RpcError) as info:
        client.request("nope", timeout=1)
    assert info.value.code == METHOD_NOT_FOUND


def test_handler_rpc_error_becomes_the_error_object() -> None:
    def handler(request: IncomingRequest) -> object:
        raise RpcError(INVALID_PARAMS, "missing `uri`", {"field": "uri"})

    client, _, _ = _linked(on_request=handler)
    with pytest.raises(RpcError) as info:
        client.request("resources/read", {}, timeout=1)
    assert (info.value.code, info.value.message, info.value.data) == (INVALID_PARAMS, "missing `uri`", {"field": "uri"})


def test_handler_crash_becomes_internal_error_and_the_peer_keeps_working() -> None:
    calls = []

    def handler(request: IncomingRequest) -> object:
        calls.append(request.method)
        if request.method == "bad":
            raise KeyError("oops")
        return "fine"

    client, _, _ = _linked(on_request=handler)
    with pytest.raises(RpcError) as info:
        client.request("bad", timeout=1)
    assert info.value.code == INTERNAL_ERROR
    assert client.request("good", timeout=1) == "fine"


def test_garbage_line_is_answered_with_parse_error_and_null_id() -> None:
    sent = Recorder()
    JsonRpcPeer(sent).dispatch_line(b"{not json\n")
    assert sent.sent == [{"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}}]


@pytest.mark.parametrize(
    "message",
    [[1, 2], {"id": 3, "method": "x"}, {"jsonrpc": "2.0", "id": 3}, {"jsonrpc": "2.0", "id": [1], "method": "x"}],
    ids=["array", "no-version", "no-method", "bad-id"],
)
def test_invalid_messages_are_answered_with_invalid_request(message: object) -> None:
    sent = Recorder()
    JsonRpcPeer(sent).dispatch(message)
    assert sent.sent[0]["error"]["code"] == INVALID_REQUEST


def test_blank_lines_are_ignored() -> None:
    sent = Recorder()
    JsonRpcPeer(sent).dispatch_line(b"  \n")
    assert sent.sent == []


def test_timeout_leaves_no_pending_request_and_a_late_answer_is_ignored() -> None:
    sent = Recorder()
    peer = JsonRpcPeer(sent)
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        peer.request("slow", timeout=0.1)
    assert time.monotonic() - started < 1
    peer.dispatch({"jsonrpc": "2.0", "id": 0, "result": "late"})  # no error, no reply
    assert len(sent.sent) == 1


def test_cancel_event_stops_the_wait() -> None:
    peer = JsonRpcPeer(Recorder())
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    with pytest.raises(RequestCancelled):
        peer.request("slow", timeout=5, cancel=cancel)


def test_close_fails_pending_requests_and_refuses_new_ones() -> None:
    peer = JsonRpcPeer(Recorder())
    pending = peer.start_request("x")
    peer.close("server exited")
    with pytest.raises(ConnectionClosed, match="server exited"):
        pending.wait(1)
    with pytest.raises(ConnectionClosed):
        peer.request("y")


def test_fail_request_resolves_one_request_with_the_given_error() -> None:
    peer = JsonRpcPeer(Recorder())
    pending = peer.start_request("x")
    peer.fail_request(pending.id, ConnectionClosed("HTTP 500"))
    with pytest.raises(ConnectionClosed, match="HTTP 500"):
        pending.wait(1)


def test_threaded_requests_are_handled_concurrently() -> None:
    gate = threading.Event()

    def handler(request: IncomingRequest) -> object:
        if request.method == "wait":
            gate.wait(2)
            return "waited"
        gate.set()
        return "released"

    client, _, _ = _linked(on_request=handler, threaded=True)
    first = client.start_request("wait")
    assert client.request("release", timeout=2) == "released"
    assert first.wait(2) == "waited"


def test_line_transport_frames_one_object_per_line_over_pipes() -> None:
    # client writes → server reads, and back, over two OS pipes with reader threads.
    c2s_r, c2s_w = os.pipe()
    s2c_r, s2c_w = os.pipe()
    with open(c2s_r, "rb") as sr, open(c2s_w, "wb") as cw, open(s2c_r, "rb") as cr, open(s2c_w, "wb") as sw:
        server_lines = LineTransport(sr, sw, name="server")
        client_lines = LineTransport(cr, cw, name="client")
        server = JsonRpcPeer(server_lines.send, on_request=lambda r: {"got": r.params})
        client = JsonRpcPeer(client_lines.send)
        server_lines.start(server)
        client_lines.start(client, on_eof=lambda: "server went away")
        assert client.request("x", {"text": "a\nb ü"}, timeout=2) == {"got": {"text": "a\nb ü"}}
        sw.close()  # EOF for the client's reader
        client_lines.join(2)
        assert client.closed is not None and client.closed.reason == "server went away"
        client_lines.close_writer()
        server_lines.join(2)
        assert server.closed is not None


def test_encode_line_is_compact_and_newline_terminated() -> None:
    line = encode_line({"jsonrpc": "2.0", "method": "m", "params": {"t": "x\ny"}})
    assert line == b'{"jsonrpc":"2.0","method":"m","params":{"t":"x\\ny"}}\n'
    assert line.count(b"\n") == 1


def test_send_to_closed_stream_raises_connection_closed() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    with open(os.devnull, "rb") as reader:
        transport = LineTransport(reader, open(write_fd, "wb"))
        with pytest.raises(ConnectionClosed):
            transport.send({"jsonrpc": "2.0", "method": "x"})
        transport.close_writer()  # must not raise either
