"""JSON-RPC 2.0 peers: message shapes, newline-delimited framing, request/response correlation and errors.

Transport-agnostic: a `JsonRpcPeer` is given a `send(message)` callable and is fed each incoming
message with `dispatch()` (or raw lines with `dispatch_line()`). `LineTransport` frames messages as
one compact JSON object per line over a pair of byte streams (stdio of a child process, or our own
stdin/stdout for `codex mcp-server`) and runs the reader thread. The MCP client (`mcp_client`) and
the MCP server share this module. Ids of our requests are integers counting up from `first_id`.

Errors follow the specification: `-32700` parse error (answered with id null), `-32600` invalid
request, `-32601` method not found, `-32602` invalid params, `-32603` internal error. A request
handler raises `RpcError` to answer with an error object; any other exception becomes `-32603`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import IO

from codex_cli.jsoncodec import decode_json, encode_json
from codex_cli.records import Record

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "ConnectionClosed",
    "IncomingRequest",
    "JsonRpcPeer",
    "LineTransport",
    "Message",
    "PendingRequest",
    "RequestCancelled",
    "RequestTimeout",
    "RpcError",
    "encode_line",
    "error_response",
    "notification",
    "request",
    "response",
]

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Message = dict[str, object]
RequestId = int | str

# How often a waiting caller looks at its cancel event.
_CANCEL_POLL_SEC = 0.05


class RpcError(Exception):
    """A JSON-RPC error object, raised by the side that waits for a response or by a request handler."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"


class ConnectionClosed(Exception):
    """The peer went away (EOF, broken pipe, transport failure) before answering."""

    def __init__(self, reason: str = "connection closed") -> None:
        super().__init__(reason)
        self.reason = reason


class RequestTimeout(Exception):
    """No response arrived within the caller's timeout; the request stays unanswered."""


class RequestCancelled(Exception):
    """The caller's cancel event was set while waiting for the response."""


def request(request_id: RequestId, method: str, params: object = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: object = None) -> Message:
    message: Message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def response(request_id: RequestId | None, result: object) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: RequestId | None, error: RpcError) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}


def encode_line(message: Mapping[str, object]) -> bytes:
    """One message framed for a line-oriented stream: compact JSON (never containing a newline) + `\\n`."""
    return encode_json(message) + b"\n"


class IncomingRequest(Record):
    """A request the other side sent us; the handler's return value becomes the result."""

    id: RequestId
    method: str
    params: object


class PendingRequest:
    """One of our requests waiting for its response."""

    def __init__(self, request_id: int, method: str) -> None:
        self.id = request_id
        self.method = method
        self._done = threading.Event()
        self._result: object = None
        self._error: BaseException | None = None

    def _resolve(self, result: object = None, error: BaseException | None = None) -> None:
        if not self._done.is_set():
            self._result, self._error = result, error
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None, cancel: threading.Event | None = None) -> object:
        """The result; raises RpcError, ConnectionClosed, RequestTimeout or RequestCancelled."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0 and not self._done.is_set():
                raise RequestTimeout(f"timed out awaiting {self.method}")
            step = remaining if cancel is None else min(_CANCEL_POLL_SEC, remaining or _CANCEL_POLL_SEC)
            if self._done.wait(step):
                break
            if cancel is not None and cancel.is_set():
                raise RequestCancelled(f"{self.method} cancelled")
        if self._error is not None:
            raise self._error
        return self._result


RequestHandler = Callable[[IncomingRequest], object]
NotificationHandler = Callable[[str, object], None]


class JsonRpcPeer:
    """Both directions of one JSON-RPC connection: our requests and notifications, and the other side's."""

    def __init__(
        self,
        send: Callable[[Message], None],
        *,
        on_request: RequestHandler | None = None,
        on_notification: NotificationHandler | None = None,
        threaded_requests: bool = False,
        first_id: int = 0,
        name: str = "peer",
    ) -> None:
        self._send = send
        self._on_request = on_request
        self._on_notification = on_notification
        self._threaded = threaded_requests
        self._ids = itertools.count(first_id)
        self._pending: dict[RequestId, PendingRequest] = {}
        self._lock = threading.Lock()
        self._closed: ConnectionClosed | None = None
        self.name = name

    # ------------------------------------------------------------------ outgoing

    @property
    def closed(self) -> ConnectionClosed | None:
        """Why the connection closed, or None while it is open."""
        return self._closed

    def start_request(self, method: str, params: object = None) -> PendingRequest:
        """Send a request and return at once; `wait()` on the result for the response."""
        with self._lock:
            if self._closed is not None:
                raise ConnectionClosed(self._closed.reason)
            pending = PendingRequest(next(self._ids), method)
            self._pending[pending.id] = pending
        try:
            self._send(request(pending.id, method, params))
        except ConnectionClosed as exc:
            self.forget(pending.id)
            raise ConnectionClosed(exc.reason) from None
        return pending

    def request(
        self, method: str, params: object = None, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> object:
        """Send a request and wait for its result (a timeout or cancel leaves it unanswered and forgotten)."""
        pending = self.start_request(method, params)
        try:
            return pending.wait(timeout, cancel)
        finally:
            self.forget(pending.id)

    def notify(self, method: str, params: object = None) -> None:
        self._send(notification(method, params))

    def forget(self, request_id: RequestId) -> None:
        """Stop waiting for a response; a late one is then ignored."""
        with self._lock:
            self._pending.pop(request_id, None)

    def fail_request(self, request_id: RequestId, error: BaseException) -> None:
        """Resolve one pending request with an error (a transport that knows this request failed)."""
        with self._lock:
            pending = self._pending.pop(request_id, None)
        if pending is not None:
            pending._resolve(error=error)

    def close(self, reason: str = "connection closed") -> None:
        """Mark the connection closed and fail every pending request with ConnectionClosed."""
        with self._lock:
            if self._closed is None:
                self._closed = ConnectionClosed(reason)
            pending = list(self._pending.values())
            self._pending.clear()
        for item in pending:
            item._resolve(error=ConnectionClosed(reason))

    # ------------------------------------------------------------------ incoming

    def dispatch_line(self, line: bytes | str) -> None:
        """Handle one framed line; blank lines are skipped, garbage is answered with a parse error."""
        if not line.strip():
            return
        try:
            message = decode_json(line)
        except ValueError:
            self._reply(error_response(None, RpcError(PARSE_ERROR, "Parse error")))
            return
        self.dispatch(message)

    def dispatch(self, message: object) -> None:
        """Handle one decoded message: a response, a request or a notification."""
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            request_id = message.get("id") if isinstance(message, dict) else None
            self._reply(error_response(_valid_id(request_id), RpcError(INVALID_REQUEST, "Invalid Request")))
            return
        method = message.get("method")
        if method is None and ("result" in message or "error" in message):
            self._handle_response(message)
        elif isinstance(method, str) and "id" in message:
            request_id = _valid_id(message.get("id"))
            if request_id is None:
                self._reply(error_response(None, RpcError(INVALID_REQUEST, "Invalid Request")))
                return
            incoming = IncomingRequest(request_id, method, message.get("params"))
            if self._threaded:
                threading.Thread(target=self._handle_request, args=(incoming,), daemon=True).start()
            else:
                self._handle_request(incoming)
        elif isinstance(method, str):
            self._handle_notification(method, message.get("params"))
        else:
            self._reply(error_response(_valid_id(message.get("id")), RpcError(INVALID_REQUEST, "Invalid Request")))

    def _handle_response(self, message: Mapping[str, object]) -> None:
        request_id = _valid_id(message.get("id"))
        with self._lock:
            pending = self._pending.pop(request_id, None) if request_id is not None else None
        if pending is None:
            log.debug("%s: ignoring a response to unknown request %r", self.name, message.get("id"))
            return
        error = message.get("error")
        if error is not None:
            pending._resolve(error=_error_from(error))
        else:
            pending._resolve(result=message.get("result"))

    def _handle_request(self, incoming: IncomingRequest) -> None:
        if self._on_request is None:
            self._reply(error_response(incoming.id, RpcError(METHOD_NOT_FOUND, "Method not found", incoming.method)))
            return
        try:
            result = self._on_request(incoming)
        except RpcError as exc:
            self._reply(error_response(incoming.id, exc))
        except Exception as exc:  # a handler bug must not kill the reader thread
            log.exception("%s: handler for %s failed", self.name, incoming.method)
            self._reply(error_response(incoming.id, RpcError(INTERNAL_ERROR, str(exc) or type(exc).__name__)))
        else:
            self._reply(response(incoming.id, result))

    def _handle_notification(self, method: str, params: object) -> None:
        if self._on_notification is None:
            return
        try:
            self._on_notification(method, params)
        except Exception:
            log.exception("%s: notification handler for %s failed", self.name, method)

    def _reply(self, message: Message) -> None:
        try:
            self._send(message)
        except ConnectionClosed:
            pass  # nobody is left to answer


def _valid_id(value: object) -> RequestId | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return value


def _error_from(error: object) -> RpcError:
    if isinstance(error, dict):
        code = error.get("code")
        return RpcError(
            code if isinstance(code, int) and not isinstance(code, bool) else INTERNAL_ERROR,
            str(error.get("message", "")),
            error.get("data"),
        )
    return RpcError(INTERNAL_ERROR, str(error))


class LineTransport:
    """Newline-delimited JSON over a readable and a writable byte stream, with its reader thread."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes], *, name: str = "jsonrpc") -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.name = name

    def send(self, message: Mapping[str, object]) -> None:
        """Write one message; raise ConnectionClosed when the other side has gone."""
        data = encode_line(message)
        with self._write_lock:
            try:
                self._writer.write(data)
                self._writer.flush()
            except (OSError, ValueError) as exc:  # ValueError: write to a closed file
                raise ConnectionClosed(f"connection closed: {exc}") from None

    def start(self, peer: JsonRpcPeer, on_eof: Callable[[], str | None] | None = None) -> threading.Thread:
        """Read lines into `peer.dispatch_line` on a daemon thread; at EOF close the peer.

        `on_eof` may return a better reason than "connection closed" (for example a child's exit code).
        """

        def run() -> None:
            try:
                for line in iter(self._reader.readline, b""):
                    peer.dispatch_line(line)
            except (OSError, ValueError):
                pass  # the stream was closed under us: same as EOF
            reason = on_eof() if on_eof is not None else None
            peer.close(reason or "connection closed")

        self._thread = threading.Thread(target=run, name=f"{self.name}-reader", daemon=True)
        self._thread.start()
        return self._thread

    def close_writer(self) -> None:
        """Close our side, which tells a well-behaved peer to exit."""
        with self._write_lock:
            try:
                self._writer.close()
            except OSError:
                pass

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
