#!/usr/bin/env python3
"""A scripted fake Responses API server for tests, benchmarks and manual runs (stdlib only).

Run it:
    python scripts/fake_responses.py --script s.json [--port 0] [--tls-cert c.pem --tls-key k.pem]
                                     [--log requests.jsonl] [--no-repeat]
It prints `PORT <n>` and the base URL (`http://127.0.0.1:<n>/v1`), then serves until Ctrl-C.

Or import it (tests put `scripts/` on sys.path):
    with FakeResponsesServer([{"output": [message("hi")]}]) as server:
        ... server.base_url, server.requests, server.wait_for_requests(1) ...

The script is a list of steps; each step answers the next `POST …/responses`. A step is a
JSON-able dict (so script files and tests share the format), or in Python a callable taking
the `RecordedRequest` and returning one:

    {"sse": "path.sse"}                  send a fixture file verbatim (wire-fixtures format),
                                         one chunk per event; relative to the script file
    {"output": [item, ...], "usage": {...}?, "id": "resp_N"?}
                                         a realistic stream: response.created, then per item
                                         output_item.added, deltas (message text split in two,
                                         reasoning summaries), output_item.done, and finally
                                         response.completed (usage defaults to input 100 /
                                         cached 10 / output 20 / reasoning 5; `"usage": null`
                                         leaves it out)
    {"status": 500, "body": "..." | {...}, "headers": {...}}
                                         an HTTP error (a dict body is sent as JSON)
    {"events": [event dict | raw str, ...]}
                                         raw SSE events (`event:` is the dict's `type`; a str
                                         is written as is, in UTF-8, "\\udc80"-"\\udcff" standing
                                         for raw bytes 0x80-0xff: invalid UTF-8 on the wire);
                                         response.completed is appended
                                         unless a terminal event is present or
                                         `"no_completed": true` (body then ends cleanly)
    "drop_after": k                      (events, output, sse) close the socket abruptly
                                         after k events, mid-stream
Keys for any step: "delay": seconds before answering; "hang": true never answers (until the
server stops); "headers": extra response headers; "interval": seconds between events;
"hold_open": true keeps the connection open after the last event without ending the body.
A lone surrogate in a step's JSON data goes out as its JSON escape (`\\ud800`), as a server could send it.
When the script runs out the last step repeats, or a 500 is sent with `repeat_last=False`.

Chat Completions mode: a `POST …/chat/completions` takes the next step of the same script and answers
with `chat.completion.chunk` events (`data:` lines only, then `data: [DONE]`):
    {"output": [item, ...], "usage": {...}?, "id": "chatcmpl_N"?, "fragment": 7?, "interleave": false?}
                                         the same items as above, as a chat stream: a role chunk;
                                         reasoning summaries as `delta.reasoning_content`; message
                                         text split in two `delta.content` pieces; each call as
                                         `delta.tool_calls[{index}]` fragments (the first with `id`,
                                         `type` and `function.name`, then `function.arguments`
                                         cut every `fragment` characters; `interleave` alternates
                                         the calls' fragments); a custom_tool_call becomes the
                                         function `name` with `{"input": ...}` arguments and a
                                         namespaced call `<namespace>__<name>`; then the chunk with
                                         `finish_reason` ("tool_calls" or "stop") and a last chunk
                                         with `usage` in chat form (from the Responses usage)
    {"chunks": [chunk dict | raw str, ...], "no_done": true?}
                                         raw chunks; `data: [DONE]` is appended unless `no_done`
"sse", "status" and the keys for any step work as above.

Thread-title requests (the extra request a line UI sends on a thread's first prompt: a `title` JSON schema and
`thread_source: thread_title` in `x-codex-turn-metadata`) take no step: they are answered with
`{"title": <thread_title>}` (default "Scripted thread") and kept apart, in `title_requests`. With
`thread_title=None` they are served from the script like any other request.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeAlias
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DEFAULT_USAGE",
    "FakeResponsesServer",
    "RecordedRequest",
    "Step",
    "apply_patch_call",
    "custom_tool_call",
    "exec_call",
    "function_call",
    "main",
    "message",
    "reasoning",
]

Step = dict[str, Any]
StepLike: TypeAlias = "Step | Callable[[RecordedRequest], Step]"

DEFAULT_USAGE: dict[str, Any] = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 10},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 120,
}
_TERMINAL = ("response.completed", "response.failed", "response.incomplete")
_ID_PREFIX = {"message": "msg", "function_call": "fc", "custom_tool_call": "ctc", "reasoning": "rs"}


# -- output item builders ------------------------------------------------------------------------


def message(text: str, *, phase: str | None = None) -> dict[str, Any]:
    """An assistant message item."""
    item: dict[str, Any] = {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    if phase is not None:
        item["phase"] = phase
    return item


def function_call(
    name: str, arguments: dict[str, Any] | str, call_id: str, *, namespace: str | None = None
) -> dict[str, Any]:
    """A function_call item; `arguments` may be a dict (sent as a JSON string)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    item: dict[str, Any] = {
        "type": "function_call",
        "status": "completed",
        "name": name,
        "arguments": args,
        "call_id": call_id,
    }
    if namespace is not None:
        item["namespace"] = namespace
    return item


def exec_call(cmd: str, call_id: str, **extra: Any) -> dict[str, Any]:
    """An `exec_command` call, e.g. `exec_call("ls", "call_1", yield_time_ms=2000)`."""
    return function_call("exec_command", {"cmd": cmd, **extra}, call_id)


def custom_tool_call(name: str, input: str, call_id: str) -> dict[str, Any]:
    """A freeform custom_tool_call item."""
    return {"type": "custom_tool_call", "status": "completed", "call_id": call_id, "name": name, "input": input}


def apply_patch_call(patch: str, call_id: str) -> dict[str, Any]:
    """The freeform `apply_patch` call."""
    return custom_tool_call("apply_patch", patch, call_id)


def reasoning(summary_text: str) -> dict[str, Any]:
    """A reasoning item with one summary part and opaque encrypted content."""
    return {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary_text}],
        "encrypted_content": "gAAAAABfakeEncryptedReasoning==",
    }


# -- recorded requests ---------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the server saw it; `headers` keys are lower-case, `body` is JSON when it parses."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float  # time.monotonic() at arrival

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_title_request(request: RecordedRequest) -> bool:
    body = request.body if isinstance(request.body, dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    fmt = text.get("format") if isinstance(text.get("format"), dict) else {}
    schema = fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {}
    properties = schema.get("properties")
    return (request.method == "POST" and isinstance(properties, dict) and set(properties) == {"title"}
            and "thread_title" in request.headers.get("x-codex-turn-metadata", ""))


# -- building SSE bodies -------------------------------------------------------------------------


def _dumps(obj: Any, **options: Any) -> str:
    """JSON text keeping non-ASCII as is, except where a lone surrogate (unwritable as UTF-8) needs escapes."""
    text = json.dumps(obj, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, **options)
    return text


def _sse(event: dict[str, Any] | str) -> bytes:
    if isinstance(event, str):
        return event.encode("utf-8", "surrogateescape")  # "\udcff" sends the raw byte 0xff
    data = _dumps(event, separators=(",", ":"))
    kind = event.get("type")
    head = f"event: {kind}\n" if isinstance(kind, str) else ""
    return f"{head}data: {data}\n\n".encode()


def _completed(response_id: str, usage: Any, output: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = {"id": response_id, "object": "response", "status": "completed", "output": output}
    if usage is not None:
        response["usage"] = usage
    return {"type": "response.completed", "response": response}


def _item_events(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """output_item.added, the deltas, output_item.done for one item."""
    started = dict(item, status="in_progress")
    kind = item.get("type")
    deltas: list[dict[str, Any]] = []
    base = {"item_id": item["id"], "output_index": index}
    if kind == "message":
        started["content"] = []
        text = "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))
        half = len(text) // 2
        pieces = [piece for piece in (text[:half], text[half:]) if piece]
        deltas = [dict(base, type="response.output_text.delta", content_index=0, delta=piece) for piece in pieces]
    elif kind == "reasoning":
        started["summary"] = []
        started.pop("status")
        for number, part in enumerate(item.get("summary", [])):
            deltas.append(dict(base, type="response.reasoning_summary_part.added", summary_index=number))
            deltas.append(
                dict(
                    base, type="response.reasoning_summary_text.delta", summary_index=number, delta=part.get("text", "")
                )
            )
    elif kind == "function_call":
        started["arguments"] = ""
        deltas = [dict(base, type="response.function_call_arguments.delta", delta=item.get("arguments", ""))]
    elif kind == "custom_tool_call":
        started["input"] = ""
        deltas = [dict(base, type="response.custom_tool_call_input.delta", delta=item.get("input", ""))]
    return [
        {"type": "response.output_item.added", "output_index": index, "item": started},
        *deltas,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _output_events(step: Step, number: int) -> list[dict[str, Any]]:
    response_id = step.get("id") or f"resp_{number}"
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(step.get("output", [])):
        item = dict(raw)
        item.setdefault("id", f"{_ID_PREFIX.get(str(item.get('type')), 'item')}_{number}_{index}")
        items.append(item)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": response_id, "object": "response", "status": "in_progress"}}
    ]
    for index, item in enumerate(items):
        events.extend(_item_events(item, index))
    events.append(_completed(response_id, step.get("usage", DEFAULT_USAGE), items))
    for sequence, event in enumerate(events):
        event["sequence_number"] = sequence
    return events


def _chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """A Responses usage object in Chat Completions form."""
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": usage.get("total_tokens", prompt + completion),
        "prompt_tokens_details": {"cached_tokens": (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)},
        "completion_tokens_details": {
            "reasoning_tokens": (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0)
        },
    }


def _chat_call_fragments(item: dict[str, Any], index: int, size: int) -> list[dict[str, Any]]:
    """One call as `tool_calls` fragments: id, type and name first, then the arguments in `size` pieces."""
    name = str(item.get("name", ""))
    if item.get("type") == "custom_tool_call":
        arguments = json.dumps({"input": item.get("input", "")})
    else:
        arguments = str(item.get("arguments", ""))
        name = f"{item['namespace']}__{name}" if item.get("namespace") else name
    first = {"index": index, "id": item.get("call_id"), "type": "function", "function": {"name": name, "arguments": ""}}
    pieces = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    return [first, *({"index": index, "function": {"arguments": piece}} for piece in pieces)]


def _chat_output_chunks(step: Step, number: int, model: str) -> list[dict[str, Any]]:
    """The `output` items of a step as a streamed chat completion (see the module docstring)."""
    response_id = step.get("id") or f"chatcmpl_{number}"
    base = {"id": response_id, "object": "chat.completion.chunk", "created": 0, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])

    chunks = [chunk({"role": "assistant", "content": ""})]
    calls: list[list[dict[str, Any]]] = []
    size = max(int(step.get("fragment") or 7), 1)
    for item in step.get("output", []):
        kind = item.get("type")
        if kind == "reasoning":
            chunks += [chunk({"reasoning_content": part.get("text", "")}) for part in item.get("summary", [])]
        elif kind == "message":
            text = "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))
            half = len(text) // 2
            chunks += [chunk({"content": piece}) for piece in (text[:half], text[half:]) if piece]
        elif kind in ("function_call", "custom_tool_call"):
            calls.append(_chat_call_fragments(item, len(calls), size))
    if step.get("interleave"):
        longest = max((len(fragments) for fragments in calls), default=0)
        ordered = [fragments[i] for i in range(longest) for fragments in calls if i < len(fragments)]
    else:
        ordered = [fragment for fragments in calls for fragment in fragments]
    chunks += [chunk({"tool_calls": [fragment]}) for fragment in ordered]
    chunks.append(chunk({}, "tool_calls" if calls else "stop"))
    usage = step.get("usage", DEFAULT_USAGE)
    if usage is not None:
        chunks.append(dict(base, choices=[], usage=_chat_usage(usage)))
    return chunks


def _split_events(data: bytes) -> list[bytes]:
    """Cut an SSE body after each blank line, keeping every byte."""
    parts = data.split(b"\n\n")
    chunks = [part + b"\n\n" for part in parts[:-1]]
    if parts[-1]:
        chunks.append(parts[-1])
    return chunks


# -- the server ----------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeResponsesServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.fake.errors.append(sys.exc_info()[1] or RuntimeError("unknown error"))


class FakeResponsesServer:
    """Serves scripted answers on 127.0.0.1; a context manager. Thread-safe."""

    def __init__(
        self,
        script: Sequence[StepLike] = (),
        *,
        tls: ssl.SSLContext | None = None,
        repeat_last: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | Path | None = None,
        base_dir: str | Path | None = None,
        thread_title: str | None = "Scripted thread",
    ) -> None:
        self.script: list[StepLike] = list(script)
        self.thread_title = thread_title
        self.title_requests: list[RecordedRequest] = []
        self.tls = tls
        self.repeat_last = repeat_last
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.errors: list[BaseException] = []  # handshake failures and handler crashes, for debugging
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._answered = 0
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._log = open(log_path, "a", encoding="utf-8") if log_path is not None else None
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None
        self._closed = False

    # lifecycle

    def start(self) -> FakeResponsesServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-responses", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, release hanging handlers and idle keep-alive connections, join threads."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        with self._cond:
            connections, threads = list(self._connections), list(self._handler_threads)
        for conn in connections:
            try:
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)
        self._httpd.server_close()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> FakeResponsesServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def serve_until_interrupted(self) -> None:
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    # addresses

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # script and records

    def push(self, *steps: StepLike) -> None:
        """Append steps to the script (safe while serving)."""
        with self._cond:
            self.script.extend(steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the `POST …/chat/completions` requests."""
        return [r for r in self.requests if r.method == "POST" and r.path.rstrip("/").endswith("/chat/completions")]

    @property
    def response_requests(self) -> list[RecordedRequest]:
        """Only the `POST …/responses` requests."""
        return [r for r in self.requests if r.method == "POST" and r.path.rstrip("/").endswith("/responses")]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least `n` requests arrived; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"expected {n} requests, got {len(self._requests)} within {timeout}s")
            return list(self._requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(request)
            if self._log is not None:
                self._log.write(_dumps(request.to_json()) + "\n")
                self._log.flush()
            self._cond.notify_all()

    def _next_step(self, request: RecordedRequest) -> tuple[Step, int]:
        with self._cond:
            index = self._answered
            self._answered += 1
            if index < len(self.script):
                step = self.script[index]
            elif self.repeat_last and self.script:
                step = self.script[-1]
            else:
                step = {"status": 500, "body": {"error": {"message": "fake_responses: the script ran out"}}}
        return (step(request) if callable(step) else step), index + 1

    def _resolve(self, path: str) -> Path:
        candidate = Path(path)
        if not candidate.is_absolute() and self.base_dir is not None:
            candidate = self.base_dir / candidate
        return candidate


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/responses"): "_serve_responses",
        ("POST", "/chat/completions"): "_serve_chat",
    }

    def setup(self) -> None:
        fake = self.server.fake
        if fake.tls is not None:
            self.request.settimeout(10)  # a client that never finishes the handshake must not pin a thread
            self.request = fake.tls.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with fake._cond:
            fake._connections.add(self.request)
            fake._handler_threads.add(threading.current_thread())
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            fake = self.server.fake
            if fake.tls is not None:
                self.request.close()  # the server only knows (and closes) the socket it accepted
            with fake._cond:
                fake._connections.discard(self.request)
                fake._handler_threads.discard(threading.current_thread())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet; the request log is the record

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _dispatch(self) -> None:
        fake = self.server.fake
        raw = self._read_body()
        parts = urlsplit(self.path)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            self.command, parts.path, dict(parse_qsl(parts.query)), headers, body, time.monotonic()
        )
        if fake.thread_title is not None and _is_title_request(request):
            with fake._cond:
                fake.title_requests.append(request)
            answer = {"output": [message(json.dumps({"title": fake.thread_title}))]}
            self._stream([_sse(event) for event in _output_events(answer, 0)], answer, {})
            return
        fake._record(request)
        for (method, suffix), handler in self.routes.items():
            if self.command == method and parts.path.rstrip("/").endswith(suffix):
                getattr(self, handler)(request)
                return
        self._send_plain(404, {"error": {"message": f"no route for {self.command} {parts.path}"}}, {})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve_responses(self, request: RecordedRequest) -> None:
        self._serve_step(request, self._chunks)

    def _serve_chat(self, request: RecordedRequest) -> None:
        model = request.body.get("model") if isinstance(request.body, dict) else None
        self._serve_step(request, lambda step, number: self._chat_chunks(step, number, str(model or "")))

    def _serve_step(self, request: RecordedRequest, make_chunks: Callable[[Step, int], list[bytes]]) -> None:
        fake = self.server.fake
        step, number = fake._next_step(request)
        delay = float(step.get("delay") or 0)
        if delay and fake._stop.wait(delay):
            self.close_connection = True
            return
        if step.get("hang"):
            fake._stop.wait()
            self.close_connection = True
            return
        extra_headers = dict(step.get("headers") or {})
        if "status" in step:
            self._send_plain(int(step["status"]), step.get("body", ""), extra_headers)
            return
        self._stream(make_chunks(step, number), step, extra_headers)

    def _chunks(self, step: Step, number: int) -> list[bytes]:
        if "sse" in step:
            return _split_events(self.server.fake._resolve(str(step["sse"])).read_bytes())
        if "events" in step:
            events: list[dict[str, Any] | str] = list(step["events"])
            terminal = any(isinstance(e, dict) and e.get("type") in _TERMINAL for e in events)
            if not terminal and not step.get("no_completed"):
                events.append(_completed(str(step.get("id") or f"resp_{number}"), step.get("usage", DEFAULT_USAGE), []))
            return [_sse(event) for event in events]
        if "output" in step:
            return [_sse(event) for event in _output_events(step, number)]
        raise ValueError(f"fake_responses: a step needs sse, output, events or status: {step!r}")

    def _chat_chunks(self, step: Step, number: int, model: str) -> list[bytes]:
        if "sse" in step:
            return _split_events(self.server.fake._resolve(str(step["sse"])).read_bytes())
        if "chunks" in step:
            raw: list[dict[str, Any] | str] = list(step["chunks"])
            return [_sse(chunk) for chunk in raw] + ([] if step.get("no_done") else [b"data: [DONE]\n\n"])
        if "output" in step:
            return [_sse(chunk) for chunk in _chat_output_chunks(step, number, model)] + [b"data: [DONE]\n\n"]
        raise ValueError(f"fake_responses: a chat step needs sse, output, chunks or status: {step!r}")

    def _stream(self, chunks: list[bytes], step: Step, extra_headers: dict[str, str]) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for key, value in extra_headers.items():
            self.send_header(key, str(value))
        self.end_headers()
        drop_after = step.get("drop_after")
        limit = len(chunks) if drop_after is None else min(int(drop_after), len(chunks))
        interval = float(step.get("interval") or 0)
        for index, chunk in enumerate(chunks[:limit]):
            if index and interval and fake._stop.wait(interval):
                drop_after = index  # the server is stopping: end abruptly
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if drop_after is None and step.get("hold_open"):
            fake._stop.wait()
        elif drop_after is None:
            self.wfile.write(b"0\r\n\r\n")
            return
        # The body ends without its last chunk and the socket closes: a mid-stream drop.
        self.close_connection = True

    def _send_plain(self, status: int, body: Any, extra_headers: dict[str, str]) -> None:
        is_json = not isinstance(body, str)
        payload = (json.dumps(body) if is_json else body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if is_json else "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in extra_headers.items():
            self.send_header(key, str(value))
        self.end_headers()
        self.wfile.write(payload)


# -- command line --------------------------------------------------------------------------------


def _load_script(path: Path) -> tuple[list[StepLike], bool]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return list(data.get("steps", [])), bool(data.get("repeat_last", True))
    return list(data), True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fake_responses.py",
        description="Serve scripted Responses API answers on 127.0.0.1. "
        "Example: python scripts/fake_responses.py --script s.json --log requests.jsonl",
    )
    parser.add_argument("--script", required=True, type=Path, help="JSON list of steps, or {steps, repeat_last}")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate chain; serves https with --tls-key")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    parser.add_argument("--log", type=Path, help="append every request to this JSONL file")
    parser.add_argument("--no-repeat", action="store_true", help="answer 500 once the script runs out")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    steps, repeat_last = _load_script(args.script)
    context = None
    if args.tls_cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    server = FakeResponsesServer(
        steps,
        tls=context,
        repeat_last=repeat_last and not args.no_repeat,
        host=args.host,
        port=args.port,
        log_path=args.log,
        base_dir=args.script.resolve().parent,
    )
    with server:
        print(f"PORT {server.port}", flush=True)
        print(server.base_url, flush=True)
        server.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
