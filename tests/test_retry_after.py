"""A server's `Retry-After` (or "try again in") is honoured up to a cap, and a capped wait says how long it is."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402

from codex_cli.errors import ApiError  # noqa: E402
from codex_cli.model import (  # noqa: E402
    HIGH_DEMAND,
    MAX_RETRY_WAIT,
    OutputItemDone,
    ProviderSettings,
    ResponseEvent,
    ResponsesClient,
    StreamRetry,
    retry_after_seconds,
)

StartServer = Callable[..., FakeResponsesServer]
BODY: dict[str, object] = {"model": "gpt-5.5", "input": [], "stream": True}
NOW = 1_700_000_000.0
TOO_MANY = "exceeded retry limit, last status: 429 Too Many Requests"


def _client(server: FakeResponsesServer, **settings: Any) -> ResponsesClient:
    provider = ProviderSettings(base_url=server.base_url, bearer_token="sk-test", **settings)
    return ResponsesClient(provider, thread_id="t")


def _events(server: FakeResponsesServer, **settings: Any) -> list[ResponseEvent]:
    with _client(server, **settings) as client:
        return list(client.stream(BODY))


def _answered(events: list[ResponseEvent]) -> bool:
    return any(isinstance(e, OutputItemDone) and e.item.get("type") == "message" for e in events)


# -- the header's value -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("99999", 99999.0),
        ("9" * 5000, 1e12),  # int() would refuse so many digits; the wait is capped anyway
        (formatdate(NOW + 120, usegmt=True), 120.0),
        (formatdate(NOW - 5, usegmt=True), 0.0),  # already passed: retry at once
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        ("Tue, 14 Nov 2023 23:15:20 +0100", 120.0),  # NOW is 22:13:20 GMT
    ],
)
def test_retry_after_whole_seconds_and_http_dates(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", [None, "", "0.5", "-1", "+5", "soon", "1e3", "٣", "Mon, 99 Foo 2020 99:99:99", "x" * 500]
)
def test_retry_after_garbage_is_no_hint(value: str | None) -> None:
    assert retry_after_seconds(value, now=NOW) is None


def test_notice_names_the_capped_wait_and_what_was_asked() -> None:
    assert StreamRetry(1, 5, "cause", 0.4).notice == "Reconnecting... 1/5"
    assert StreamRetry(1, 5, "cause", 60.0, 99999.0).notice == (
        "Reconnecting... 1/5 (waiting 60s: the server asked for 99999s)"
    )
    assert StreamRetry(2, 3, "cause", 1.5, 86400.0).notice == (
        "Reconnecting... 2/3 (waiting 1.5s: the server asked for 86400s)"
    )


def test_the_cap_is_a_minute_or_the_idle_timeout_if_shorter(fake_server: StartServer) -> None:
    server = fake_server([])
    assert MAX_RETRY_WAIT == 60.0
    for idle_ms, cap in ((300_000, 60.0), (1500, 1.5), (0, 60.0)):
        with _client(server, stream_idle_timeout_ms=idle_ms) as client:
            assert client.max_wait == cap


# -- against a real server --------------------------------------------------------------------------------------


def test_429_asking_for_a_day_waits_the_cap_and_recovers(fake_server: StartServer) -> None:
    server = fake_server([{"status": 429, "body": "slow down", "headers": {"Retry-After": "99999"}},
                          {"output": [message("ok")]}])  # fmt: skip
    started = time.monotonic()
    events = _events(server, stream_idle_timeout_ms=500, stream_max_retries=2)
    assert time.monotonic() - started < 30
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert (retry.delay, retry.requested, retry.cause) == (0.5, 99999.0, TOO_MANY)
    assert _answered(events)
    assert server.requests[1].time - server.requests[0].time >= 0.45


def test_429_with_an_http_date_is_retried_like_seconds(fake_server: StartServer) -> None:
    later = formatdate(time.time() + 3600, usegmt=True)
    server = fake_server([{"status": 429, "headers": {"Retry-After": later}}, {"output": [message("ok")]}])
    events = _events(server, stream_idle_timeout_ms=300, stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert retry.delay == 0.3 and retry.requested is not None and 3500 < retry.requested <= 3600
    assert _answered(events)


def test_429_with_a_garbage_retry_after_fails_at_once(fake_server: StartServer) -> None:
    server = fake_server([{"status": 429, "headers": {"Retry-After": "whenever"}}])
    with _client(server) as client, pytest.raises(ApiError, match=TOO_MANY):
        list(client.stream(BODY))
    assert len(server.requests) == 1


def test_429_that_keeps_asking_ends_after_the_stream_retries(fake_server: StartServer) -> None:
    server = fake_server([{"status": 429, "headers": {"Retry-After": "99999"}}])
    events: list[ResponseEvent] = []
    started = time.monotonic()
    with _client(server, stream_idle_timeout_ms=200, stream_max_retries=3) as client, pytest.raises(ApiError):
        events.extend(client.stream(BODY))
    assert time.monotonic() - started < 30
    assert [(e.attempt, e.delay, e.requested) for e in events if isinstance(e, StreamRetry)] == [
        (1, 0.2, 99999.0), (2, 0.2, 99999.0), (3, 0.2, 99999.0)
    ]
    assert len(server.requests) == 4


def test_503_asking_for_long_is_announced_by_the_stream_layer_not_waited_in_silence(
    fake_server: StartServer,
) -> None:
    server = fake_server([{"status": 503, "headers": {"Retry-After": "99999"}}, {"output": [message("ok")]}])
    events = _events(server, stream_idle_timeout_ms=400, request_max_retries=4, stream_max_retries=2)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert (retry.delay, retry.requested, retry.cause) == (0.4, 99999.0, HIGH_DEMAND)
    assert retry.notice == "Reconnecting... 1/2 (waiting 0.4s: the server asked for 99999s)"
    assert len(server.requests) == 2 and _answered(events)


def test_503_asking_for_a_short_wait_is_still_waited_silently(fake_server: StartServer) -> None:
    server = fake_server([{"status": 503, "headers": {"Retry-After": "1"}}, {"output": [message("ok")]}])
    events = _events(server, stream_idle_timeout_ms=2000)
    assert not [e for e in events if isinstance(e, StreamRetry)] and _answered(events)
    assert server.requests[1].time - server.requests[0].time >= 0.95


def test_rate_limit_failure_asking_for_long_is_capped(fake_server: StartServer) -> None:
    failed = {"type": "response.failed", "response": {"id": "r1", "error": {
        "code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 99999s."}}}
    server = fake_server([{"events": [failed]}, {"output": [message("ok")]}])
    events = _events(server, stream_idle_timeout_ms=300, stream_max_retries=1)
    (retry,) = [e for e in events if isinstance(e, StreamRetry)]
    assert (retry.delay, retry.requested) == (0.3, 99999.0)
    assert _answered(events)


# -- codex exec ---------------------------------------------------------------------------------------------------


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


@pytest.mark.parametrize("json_mode", [False, True], ids=["human", "json"])
def test_exec_says_how_long_it_waits_when_the_server_asks_for_a_day(codex_env: CodexEnv, json_mode: bool) -> None:
    script = [{"status": 429, "body": "slow down", "headers": {"Retry-After": "99999"}}, {"output": [message("ok")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, provider_extra="stream_idle_timeout_ms = 1000")
        started = time.monotonic()
        run = codex_env.run("exec", *(["--json"] if json_mode else []), "hi", stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert elapsed < 45 and len(requests) == 2
    assert requests[1].time - requests[0].time >= 0.95
    notice = "Reconnecting... 1/1 (waiting 1s: the server asked for 99999s)"
    if json_mode:
        errors = [e["message"] for e in run.events() if e["type"] == "error"]
        assert errors == [f"{notice} ({TOO_MANY})"]
        assert run.events()[-1]["type"] == "turn.completed"
    else:
        assert f"ERROR: {notice}\n" in run.stderr
        assert run.stdout == "ok\n"
