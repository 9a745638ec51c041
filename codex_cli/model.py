"""The model client: the events a sample yields, the `ModelClient` protocol the session samples through, and the
Responses API client (one streamed `POST {base_url}/responses` per sample, with both retry layers).

`ResponsesClient.stream()` sends the body unchanged and yields typed events (wire.md §6). Failures
follow wire.md §7: the request layer silently retries 5xx and transport errors; the stream
layer re-runs the whole request after a `StreamRetry` event; every final failure is a
`CodexError` with the §7.3 text. Fail-fast rules override 0.169: a refused connection is
retried by the request layer only and TLS errors never (reference README §3). No wait lasts longer
than `MAX_RETRY_WAIT` (or the idle timeout), whatever a server's `Retry-After` asks for.
"""

from __future__ import annotations

import functools
import io
import math
import os
import platform
import queue
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast
from urllib.parse import urlencode

from codex_cli.errors import ApiError, CodexError, ContextWindowExceeded, NetworkError, TLSError, UsageLimitReached
from codex_cli.http import create_client, is_connect_error, map_transport_error
from codex_cli.jsoncodec import decode_json, encode_json, replace_lone_surrogates
from codex_cli.protocol import Usage
from codex_cli.records import Record, field
from codex_cli.sse import SseDecoder
from codex_cli.version import VERSION

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_RETRY_WAIT",
    "AttemptFailed",
    "AuthProvider",
    "Completed",
    "IncompleteResponse",
    "ModelClient",
    "OutputItemAdded",
    "OutputItemDone",
    "ProviderSettings",
    "ReasoningRawDelta",
    "ReasoningSummaryDelta",
    "ReasoningSummaryPartAdded",
    "ResponseEvent",
    "ResponsesClient",
    "StreamParser",
    "StreamRetry",
    "TextDelta",
    "TurnState",
    "failure_from_error",
    "retry_after_seconds",
    "usage_from_api",
    "user_agent",
    "without_lone_surrogates",
]

HIGH_DEMAND = "We’re currently experiencing high demand, which may cause temporary errors."
QUOTA_EXCEEDED = "Quota exceeded. Check your plan and billing details."
CONTEXT_WINDOW_EXCEEDED = (
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying."
)
_DISCONNECTED = "stream disconnected before completion: "
_SURROGATE_ESCAPE = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")  # a payload that may hold a lone surrogate
_RATE_LIMIT_HINT = re.compile(r"(?i)try again in\s*(\d+(?:\.\d+)?)\s*(s|ms|seconds?)")
_CANCEL_POLL = 0.05  # seconds between checks of the cancel flag while a worker blocks
_MAX_RETRIES = 100
# The longest wait before one retry, whatever a server asks for (`Retry-After: 99999` would otherwise hang the turn
# for a day). A minute is as long as a person should wait unaware; the provider's `stream_idle_timeout_ms` lowers
# it, as no wait should outlast the silence already taken for a dead server. So a server that keeps asking for
# more ends the turn after `stream_max_retries` capped waits, each announced with its length (StreamRetry.notice).
MAX_RETRY_WAIT = 60.0
_RETRY_AFTER_DIGITS = 12  # more digits than this are days of waiting anyway: the cap applies, int() is not asked


def usage_from_api(usage: object) -> Usage | None:
    """Read `response.usage`; the `*_details` objects are optional."""
    if not isinstance(usage, dict):
        return None
    inputs, outputs = usage.get("input_tokens_details"), usage.get("output_tokens_details")
    return Usage(
        input_tokens=_count(usage, "input_tokens"),
        cached_input_tokens=_count(inputs, "cached_tokens"),
        cache_write_input_tokens=_count(inputs, "cache_write_tokens"),
        output_tokens=_count(usage, "output_tokens"),
        reasoning_output_tokens=_count(outputs, "reasoning_tokens"),
        total_tokens=_count(usage, "total_tokens"),
    )


def _count(obj: object, key: str) -> int:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class TextDelta(Record):
    """Streaming assistant text (display only)."""

    delta: str


class ReasoningSummaryDelta(Record):
    """Streaming reasoning-summary text."""

    delta: str
    summary_index: int


class ReasoningSummaryPartAdded(Record):
    """A new reasoning-summary section starts."""

    summary_index: int


class ReasoningRawDelta(Record):
    """Raw reasoning text (shown only with `show_raw_agent_reasoning`)."""

    delta: str


class OutputItemAdded(Record):
    """An output item starts (progress display only)."""

    item: dict[str, Any]


class OutputItemDone(Record):
    """A complete output item: the only way an item becomes real."""

    item: dict[str, Any]


class Completed(Record):
    """The response finished; the stream ends here."""

    response_id: str
    usage: Usage | None


class StreamRetry(Record):
    """The attempt failed and will be re-run after `delay` seconds; drop the items it produced.

    `requested` is the server's longer wait (Retry-After, "try again in") when `delay` was capped to MAX_RETRY_WAIT.
    """

    attempt: int
    max_attempts: int
    cause: str
    delay: float
    requested: float | None = None

    @property
    def notice(self) -> str:
        """`Reconnecting... 1/5`, with `(waiting 60s: the server asked for 99999s)` when the wait was capped."""
        text = f"Reconnecting... {self.attempt}/{self.max_attempts}"
        if self.requested is None:
            return text
        return f"{text} (waiting {_seconds(self.delay)}: the server asked for {_seconds(self.requested)})"


ResponseEvent: TypeAlias = (
    TextDelta
    | ReasoningSummaryDelta
    | ReasoningSummaryPartAdded
    | ReasoningRawDelta
    | OutputItemAdded
    | OutputItemDone
    | Completed
    | StreamRetry
)


class IncompleteResponse(ApiError):
    """Raised for `response.incomplete`; never retried. `usage` still counts toward the thread."""

    def __init__(self, reason: str, usage: Usage | None) -> None:
        super().__init__(f"Incomplete response returned, reason: {reason}")
        self.reason = reason
        self.usage = usage


class AuthProvider(Protocol):
    """A credential that can change during a run (a ChatGPT login: `auth.AuthManager`)."""

    def bearer_token(self) -> str | None:
        """The token for the next request, refreshed first when it is about to expire."""
        ...

    def on_unauthorized(self, attempt: int) -> bool:
        """Called after the `attempt`-th 401 of one request; True means "send it again"."""
        ...


class ProviderSettings(Record):
    """What the client needs from a resolved `[model_providers.<id>]` entry."""

    base_url: str
    query_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # static plus resolved env_http_headers
    bearer_token: str | None = field(default=None, repr=False)
    auth: AuthProvider | None = None  # when set, it supplies the bearer token instead of `bearer_token`
    request_max_retries: int = 4
    stream_max_retries: int = 5
    stream_idle_timeout_ms: int = 300_000
    name: str = "openai"


class TurnState(Record, frozen=False):
    """The `x-codex-turn-state` value echoed on every later request of one turn (new one per turn)."""

    value: str | None = None


class _AttemptFailed(Exception):
    """One stream attempt failed; `error` is what the user sees if no retry is left; `delay` is the server's wait."""

    def __init__(self, error: CodexError, *, retryable: bool, delay: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable
        self.delay = delay


AttemptFailed = _AttemptFailed  # the public name, for the stream parsers of other wire APIs (chat_wire)


class StreamParser(Protocol):
    """Turns the SSE `data:` payloads of one response into events; a `Completed` ends the sample."""

    def feed(self, data: str) -> list[ResponseEvent]:
        """The events one payload produces (raise `AttemptFailed` or a `CodexError` to fail the attempt)."""
        ...

    def finish(self) -> list[ResponseEvent]:
        """The events owed when the body ends without a `Completed` (none: the stream was cut short)."""
        ...


class _ResponsesParser:
    """The Responses API: one event per payload, nothing owed at the end."""

    def feed(self, data: str) -> list[ResponseEvent]:
        event = _parse_event(data)
        return [] if event is None else [event]

    def finish(self) -> list[ResponseEvent]:
        return []


class _Request(Record):
    """One sample's request as sent on every attempt, and how to read its answer."""

    payload: bytes
    headers: Mapping[str, str]
    turn_state: TurnState | None
    new_parser: Callable[[], StreamParser]


class ModelClient(Protocol):
    """What the session needs from a model client: `ResponsesClient`, `chat_wire.ChatClient`, or a scripted model
    in tests."""

    window_number: int  # the thread's context window, named in `x-codex-window-id`; the session bumps it

    def stream(
        self,
        body: dict[str, object],
        *,
        turn_state: TurnState | None = None,
        cancel: threading.Event | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[ResponseEvent]:
        """Send `body` and yield its events; raise a CodexError when the sample fails for good. A set `cancel`
        ends the stream early without raising."""
        ...

    def close(self) -> None: ...


class ResponsesClient:
    """Streams Responses API calls for one thread; reusable across turns, thread-safe per call.

    Another wire API subclasses it: `endpoint`, `_prepare()` (body → bytes and a parser) and nothing else.
    """

    endpoint = "responses"

    def __init__(
        self,
        provider: ProviderSettings,
        *,
        thread_id: str,
        originator: str = "codex_exec",
        client: tuple[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.provider = provider
        self.thread_id = thread_id
        self.window_number = 0  # bumped by the session after a compaction
        self.originator = os.environ.get("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "").strip() or originator
        # `client` (name, version): the MCP client `codex mcp-server` serves, named in the agent's last parenthesis.
        name, version = client if client is not None else (originator, VERSION)
        self.user_agent = user_agent(self.originator, client=name, client_version=version)
        self.url = _endpoint_url(provider, self.endpoint)
        idle = provider.stream_idle_timeout_ms / 1000 if provider.stream_idle_timeout_ms > 0 else None
        self._idle_timeout = idle
        self.max_wait = min(MAX_RETRY_WAIT, idle) if idle is not None else MAX_RETRY_WAIT
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else create_client(read_timeout=idle)

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ResponsesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stream(
        self,
        body: dict[str, object],
        *,
        turn_state: TurnState | None = None,
        cancel: threading.Event | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[ResponseEvent]:
        """Send `body` and yield its events; raise a CodexError when the sample fails for good.

        `headers` are added to this request only (e.g. the compaction's `x-codex-turn-metadata`).
        A set `cancel` stops reading promptly and returns without raising.
        """
        payload, new_parser = self._prepare(body)
        request = _Request(payload, headers or {}, turn_state, new_parser)
        max_retries = min(max(self.provider.stream_max_retries, 0), _MAX_RETRIES)
        attempt = 0
        while cancel is None or not cancel.is_set():
            try:
                yield from self._attempt(request, cancel)
                return
            except _AttemptFailed as exc:
                failure = exc
            if not failure.retryable or attempt >= max_retries:
                raise failure.error from failure.__cause__
            attempt += 1
            asked = failure.delay
            delay = min(asked if asked is not None else _backoff(attempt), self.max_wait)
            requested = asked if asked is not None and asked > delay else None
            yield StreamRetry(attempt, max_retries, failure.error.message, delay, requested)
            if cancel is not None and cancel.wait(delay):
                return
            if cancel is None:
                time.sleep(delay)

    def _prepare(self, body: dict[str, object]) -> tuple[bytes, Callable[[], StreamParser]]:
        """The bytes to send for `body`, and a factory of parsers for the answer (one per attempt)."""
        return encode_json(body), _ResponsesParser

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, request: _Request, cancel: threading.Event | None) -> Iterator[ResponseEvent]:
        if cancel is None:
            return self._attempt_events(request, None)
        return _pumped(lambda abort: self._attempt_events(request, abort), cancel)

    def _attempt_events(self, request: _Request, abort: _Abort | None) -> Iterator[ResponseEvent]:
        response = self._send(request, abort)
        if response is None:
            return
        try:
            if abort is not None:
                abort.attach(response)
            yield from self._read_stream(response, request.new_parser(), abort)
        finally:
            if abort is not None:
                abort.detach()
            response.close()

    def _send(self, request_spec: _Request, abort: _Abort | None) -> httpx.Response | None:
        """The request layer: returns an open 2xx response, or raises; None when aborted."""
        import httpx

        max_retries = min(max(self.provider.request_max_retries, 0), _MAX_RETRIES)
        attempt = 0
        unauthorized = 0
        while True:
            request = self._build_request(request_spec)
            delay: float | None = None
            try:
                response = self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                if abort is not None and abort.is_set():
                    return None
                error = map_transport_error(exc, self.url)
                if isinstance(error, TLSError) or isinstance(exc, httpx.ConnectTimeout):
                    raise error from exc  # a connect timeout spent the whole connect budget: a retry doubles it
                if is_connect_error(exc) and attempt >= min(max_retries, 1):
                    raise error from exc  # refused, DNS or proxy: one quick retry, then fail fast
                if isinstance(exc, httpx.ReadTimeout):
                    idle_error = NetworkError(_DISCONNECTED + "idle timeout waiting for SSE")
                    raise _AttemptFailed(idle_error, retryable=True) from exc
                if attempt >= max_retries:
                    if is_connect_error(exc):
                        raise error from exc  # fail fast: no stream-level "waiting for network" loop
                    message = f"{_DISCONNECTED}error sending request for url ({self.url}): {exc}"
                    raise _AttemptFailed(NetworkError(message), retryable=True) from exc
            else:
                state = response.headers.get("x-codex-turn-state")
                if request_spec.turn_state is not None and state:
                    request_spec.turn_state.value = state
                if response.is_success:
                    return response
                body = _read_error_body(response)
                if response.status_code == 401 and self.provider.auth is not None:
                    unauthorized += 1
                    if self.provider.auth.on_unauthorized(unauthorized):
                        continue  # re-read or refreshed credentials; not a retry attempt
                if response.status_code < 500 or attempt >= max_retries:
                    raise self._status_failure(response, body)
                delay = retry_after_seconds(response.headers.get("retry-after"))
                if delay is not None and delay > self.max_wait:
                    # Too long to wait in silence: the stream layer waits (capped) and says so.
                    raise _AttemptFailed(ApiError(HIGH_DEMAND, status=response.status_code, retryable=True),
                                         retryable=True, delay=delay)  # fmt: skip
            attempt += 1
            wait = min(delay if delay is not None else _backoff(attempt), self.max_wait)
            if abort is not None:
                if abort.wait(wait):
                    return None
            else:
                time.sleep(wait)

    def _build_request(self, spec: _Request) -> httpx.Request:
        import httpx

        headers: dict[str, str | bytes] = {}
        auth = self.provider.auth
        authorization = _authorization(auth.bearer_token() if auth is not None else self.provider.bearer_token)
        if authorization is not None:
            headers["authorization"] = authorization
        headers.update(
            {
                "originator": self.originator,
                "user-agent": self.user_agent,
                "accept": "text/event-stream",
                "content-type": "application/json",
                "session-id": self.thread_id,
                "thread-id": self.thread_id,
                "x-client-request-id": self.thread_id,
                "x-codex-window-id": f"{self.thread_id}:{self.window_number}",
            }
        )
        headers.update(spec.headers)
        headers.update(self.provider.headers)
        if spec.turn_state is not None and spec.turn_state.value:
            headers["x-codex-turn-state"] = spec.turn_state.value
        timeout = httpx.Timeout(30.0, connect=15.0, read=self._idle_timeout)
        # The encoded body goes out in 64 KiB reads of one buffer (BytesIO shares the bytes, no copy): handed the
        # bytes whole, httpcore would copy the unsent rest after every partial socket write, some 20 MB more at the
        # peak for a resumed thread's 25 MB body. httpx measures the buffer, so Content-Length is sent as for bytes.
        content = io.BytesIO(spec.payload)
        raw = [(k.encode("ascii"), v if isinstance(v, bytes) else v.encode("ascii")) for k, v in headers.items()]
        request = self._client.build_request("POST", self.url, content=content, headers=raw, timeout=timeout)
        request.headers.pop("accept-encoding", None)  # 0.169 sends none; compressed SSE would buffer
        return request

    def _status_failure(self, response: httpx.Response, body: str) -> CodexError | _AttemptFailed:
        status = response.status_code
        error = _error_object(body)
        code, kind = error.get("code"), error.get("type")
        if status >= 500:
            return _AttemptFailed(ApiError(HIGH_DEMAND, status=status, retryable=True), retryable=True)
        if status == 429:
            if "insufficient_quota" in (code, kind):
                return UsageLimitReached(QUOTA_EXCEEDED, status=status)
            if kind == "usage_limit_reached" or code == "usage_limit_reached":
                return UsageLimitReached(_usage_limit_message(error), status=status)
            delay = retry_after_seconds(response.headers.get("retry-after"))
            message = "exceeded retry limit, last status: 429 Too Many Requests"
            retryable = delay is not None  # only a usable Retry-After makes a 429 retryable
            return _AttemptFailed(
                ApiError(message, status=status, retryable=retryable), retryable=retryable, delay=delay
            )
        if status == 400:
            if code == "context_length_exceeded":
                return ContextWindowExceeded(CONTEXT_WINDOW_EXCEEDED, status=status)
            if body.strip():
                return ApiError(body, status=status)
        detail = error.get("message") if isinstance(error.get("message"), str) else body.strip()
        message = f"unexpected status {status} {_reason(response)}" + (f": {detail}" if detail else "")
        message += f", url: {response.request.url}"
        if response.headers.get("cf-ray"):
            message += f", cf-ray: {response.headers['cf-ray']}"
        if response.headers.get("x-request-id"):
            message += f", request id: {response.headers['x-request-id']}"
        hint = "Check the API key or token for this provider." if status in (401, 403) else None
        return _AttemptFailed(ApiError(message, hint, status=status, retryable=True), retryable=True)

    # -- reading the event stream ------------------------------------------------------------

    def _read_stream(
        self, response: httpx.Response, parser: StreamParser, abort: _Abort | None
    ) -> Iterator[ResponseEvent]:
        import httpx

        decoder = SseDecoder()
        idle = self._idle_timeout
        last_event = time.monotonic()
        try:
            for chunk in response.iter_bytes():
                events = decoder.feed(chunk)
                now = time.monotonic()
                if not events:
                    if idle is not None and now - last_event > idle:  # only comments or partial lines arrive
                        raise _AttemptFailed(
                            NetworkError(_DISCONNECTED + "idle timeout waiting for SSE"), retryable=True
                        )
                    continue
                last_event = now
                for sse in events:
                    for event in parser.feed(sse.data):
                        yield event
                        if isinstance(event, Completed):
                            return
            for sse in decoder.close():
                for event in parser.feed(sse.data):
                    yield event
                    if isinstance(event, Completed):
                        return
            for event in parser.finish():
                yield event
                if isinstance(event, Completed):
                    return
        except httpx.ReadTimeout as exc:
            if abort is not None and abort.is_set():
                return
            raise _AttemptFailed(NetworkError(_DISCONNECTED + "idle timeout waiting for SSE"), retryable=True) from exc
        except httpx.TransportError as exc:
            if abort is not None and abort.is_set():
                return
            message = _DISCONNECTED + "Transport error: network error: error decoding response body"
            raise _AttemptFailed(NetworkError(message), retryable=True) from exc
        if abort is not None and abort.is_set():
            return
        raise _AttemptFailed(NetworkError(_DISCONNECTED + "stream closed before response.completed"), retryable=True)


# -- event parsing -----------------------------------------------------------------------------


def _parse_event(data: str) -> ResponseEvent | None:
    """Map one SSE `data:` payload to an event; unknown or malformed payloads are skipped."""
    try:
        obj = decode_json(data)
        if _SURROGATE_ESCAPE.search(data) is not None:
            obj = without_lone_surrogates(obj)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    if kind == "response.output_text.delta":
        return TextDelta(_text(obj.get("delta")))
    if kind == "response.reasoning_summary_text.delta":
        return ReasoningSummaryDelta(_text(obj.get("delta")), _count(obj, "summary_index"))
    if kind == "response.reasoning_text.delta":
        return ReasoningRawDelta(_text(obj.get("delta")))
    if kind == "response.reasoning_summary_part.added":
        return ReasoningSummaryPartAdded(_count(obj, "summary_index"))
    if kind in ("response.output_item.added", "response.output_item.done"):
        item = obj.get("item")
        if not isinstance(item, dict):
            return None
        return OutputItemAdded(item) if kind == "response.output_item.added" else OutputItemDone(item)
    response = obj.get("response")
    response = response if isinstance(response, dict) else {}
    if kind == "response.completed":
        response_id = response.get("id")
        if not isinstance(response_id, str):
            message = _DISCONNECTED + "failed to parse ResponseCompleted: missing field `id`"
            raise _AttemptFailed(ApiError(message, retryable=True), retryable=True)
        return Completed(response_id, usage_from_api(response.get("usage")))
    if kind == "response.failed":
        raise _failed(response)
    if kind == "response.incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        raise IncompleteResponse(str(reason or "unknown"), usage_from_api(response.get("usage")))
    return None  # response.created, *.done, `error` and future types are not needed


def _failed(response: dict[str, Any]) -> CodexError | _AttemptFailed:
    error = response.get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    message = _text(error.get("message"))
    if code == "context_length_exceeded":
        return ContextWindowExceeded(CONTEXT_WINDOW_EXCEEDED)
    if code == "insufficient_quota":
        return UsageLimitReached(QUOTA_EXCEEDED)
    if code == "usage_limit_reached":
        return UsageLimitReached(_usage_limit_message(error))
    if code == "invalid_prompt":
        return ApiError(message or "Invalid prompt.")
    if code == "rate_limit_exceeded":
        error_out = ApiError(f"rate limit exceeded: {message}", status=429, retryable=True)
        return _AttemptFailed(error_out, retryable=True, delay=_rate_limit_delay(message))
    text = _DISCONNECTED + (message or "response.failed event received")
    return _AttemptFailed(ApiError(text, retryable=True), retryable=True)


# The payload of a tool call, kept as sent: the tool answers the model that it cannot parse a lone surrogate.
_TOOL_PAYLOADS = {"function_call": "arguments", "custom_tool_call": "input"}


def without_lone_surrogates(value: object) -> object:
    """A decoded server payload with lone surrogates (escapes UTF-8 cannot hold) replaced by U+FFFD.

    Text shown on a terminal or written as UTF-8 is then safe; tool call payloads are the exception (above).
    """
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    if isinstance(value, list):
        return [without_lone_surrogates(element) for element in value]
    if isinstance(value, dict):
        kind = value.get("type")
        keep = _TOOL_PAYLOADS.get(kind) if isinstance(kind, str) else None
        return {
            replace_lone_surrogates(key) if isinstance(key, str) else key: (
                element if key == keep else without_lone_surrogates(element)
            )
            for key, element in value.items()
        }
    return value


def failure_from_error(error: object) -> CodexError | AttemptFailed:
    """What an `error` object inside a stream means (shared with the Chat Completions parser)."""
    return _failed({"error": error})


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- helpers -----------------------------------------------------------------------------------


def _endpoint_url(provider: ProviderSettings, endpoint: str) -> str:
    url = provider.base_url.rstrip("/") + "/" + endpoint
    if provider.query_params:
        url += "?" + urlencode(dict(provider.query_params))
    return url


def _backoff(attempt: int) -> float:
    """200 ms × 2^(n−1) × jitter in [0.9, 1.1)."""
    return 0.2 * float(2 ** (min(attempt, 12) - 1)) * random.uniform(0.9, 1.1)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a `Retry-After` value asks for, uncapped: whole seconds (all that 0.169 reads), or an HTTP-date as
    RFC 9110 also allows (0 once it has passed).

    None for anything else: no header, garbage, `0.5` (fractions do not count, as in 0.169; nor does
    `retry-after-ms`). `now` (a Unix time) is for tests.
    """
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return float(int(text)) if len(text) <= _RETRY_AFTER_DIGITS else float(10**_RETRY_AFTER_DIGITS)
    if not text or len(text) > 64:
        return None
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # RFC 9110 dates are GMT
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _seconds(value: float) -> str:
    """A wait as the notices show it: `60s`, `1.5s`."""
    return f"{value:.0f}s" if value >= 10 or value == int(value) else f"{value:.1f}s"


def _rate_limit_delay(message: str) -> float | None:
    match = _RATE_LIMIT_HINT.search(message)
    if match is None:
        return None
    amount = float(match.group(1))
    if not math.isfinite(amount):
        amount = float(10**_RETRY_AFTER_DIGITS)  # hundreds of digits: capped like any long wait
    return amount / 1000 if match.group(2).lower() == "ms" else amount


def _read_error_body(response: httpx.Response) -> str:
    import httpx

    try:
        return response.read().decode("utf-8", "replace")
    except httpx.HTTPError:
        return ""
    finally:
        response.close()


def _error_object(body: str) -> dict[str, Any]:
    try:
        parsed = decode_json(body)
    except ValueError:
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def _reason(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase or "Unknown"


def _usage_limit_message(error: dict[str, Any]) -> str:
    resets_at = error.get("resets_at")
    when = "try again later."
    if isinstance(resets_at, (int, float)) and not isinstance(resets_at, bool):
        moment = datetime.fromtimestamp(resets_at)
        hour = moment.hour % 12 or 12
        when = f"try again at {moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M} {moment:%p}."
    return (
        "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit "
        f"https://chatgpt.com/settings/usage to purchase more credits or {when}"
    )


def _authorization(token: str | None) -> bytes | None:
    """The `Authorization` value for a token, as codex-rs 0.169 sends it: any text as UTF-8 (a blank or padded
    experimental_bearer_token too, minus the trailing blanks that HTTP drops anyway), and no header at all for a
    token with a line break or other control character. Never an error: its text would carry the token."""
    if token is None:
        return None
    value = f"Bearer {token}".rstrip(" \t").encode("utf-8", "surrogateescape")
    if any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in value):
        return None
    return value


# -- user agent --------------------------------------------------------------------------------


def user_agent(originator: str, *, client: str | None = None, client_version: str = VERSION) -> str:
    """`{originator}/{version} ({os} {os version}; {arch}) {terminal} ({client}; {client version})` (wire.md §2;
    `codex mcp-server` names its MCP client there, mcp.md §10.1)."""
    os_name, os_version = _os_info()
    arch = platform.machine() or "unknown"
    own = f"{originator}/{VERSION} ({os_name} {os_version}; {arch}) {_terminal()}"
    text = f"{own} ({client or originator}; {client_version})"
    return "".join(ch if " " <= ch <= "~" else "_" for ch in text)


@functools.cache
def _os_info() -> tuple[str, str]:
    system = platform.system()
    if system == "Darwin":
        return "Mac OS", _semantic(platform.mac_ver()[0]) or "Unknown"
    if system == "Windows":
        return "Windows", platform.version() or "Unknown"
    if system == "Linux":
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            return "Linux", platform.release() or "Unknown"
        name = release.get("NAME", "Linux").replace(" GNU/Linux", "").strip() or "Linux"
        return name, _semantic(release.get("VERSION_ID", "")) or "Rolling Release"
    return system or "Unknown", platform.release() or "Unknown"


def _semantic(version: str) -> str:
    """`12` → `12.0.0`, `22.04` → `22.4.0` (the os_info crate's spelling); other text unchanged."""
    parts = version.split(".")
    if not version or len(parts) > 3 or not all(part.isdigit() for part in parts):
        return version
    numbers = [str(int(part)) for part in parts] + ["0"] * (3 - len(parts))
    return ".".join(numbers)


def _terminal() -> str:
    program = os.environ.get("TERM_PROGRAM", "").strip()
    if program:
        version = os.environ.get("TERM_PROGRAM_VERSION", "").strip()
        return f"{program}/{version}" if version else program
    return os.environ.get("TERM", "").strip() or "unknown"


# -- cancellation ------------------------------------------------------------------------------


class _Abort:
    """Stops a worker thread blocked on the network: sets a flag and shuts the response's socket."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    def attach(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        get_info = getattr(stream, "get_extra_info", None)
        sock = get_info("socket") if callable(get_info) else None
        with self._lock:
            self._sock = sock if isinstance(sock, socket.socket) else None
            fire = self._event.is_set()
        if fire:
            _shutdown(self._sock)

    def detach(self) -> None:
        with self._lock:
            self._sock = None

    def trigger(self) -> None:
        with self._lock:
            self._event.set()
            sock = self._sock
        _shutdown(sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        # The base-class call skips SSLSocket.shutdown(), which would drop the TLS object under the reader.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _pumped(make: Callable[[_Abort], Iterator[ResponseEvent]], cancel: threading.Event) -> Iterator[ResponseEvent]:
    """Run one attempt on a worker thread so that `cancel` is honoured even while a read blocks."""
    abort = _Abort()
    results: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()

    def work() -> None:
        try:
            for event in make(abort):
                results.put(("event", event))
        except BaseException as exc:  # handed to the consumer thread, which re-raises it
            results.put(("error", exc))
        else:
            results.put(("done", None))

    threading.Thread(target=work, name="codex-model-stream", daemon=True).start()
    finished = False
    try:
        while not cancel.is_set():
            try:
                kind, value = results.get(timeout=_CANCEL_POLL)
            except queue.Empty:
                continue
            if kind == "event":
                if not cancel.is_set():
                    yield cast(ResponseEvent, value)
                continue
            finished = True
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            return
    finally:
        if not finished:
            abort.trigger()
