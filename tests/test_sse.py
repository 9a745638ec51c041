"""Tests for codex_cli.sse: framing, line endings, chunk boundaries, comments and end of stream."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_cli.sse import SseDecoder, SseEvent, iter_sse_events

FIXTURES = sorted((Path(__file__).parent / "data" / "wire").glob("*.sse"))


def decode_all(*chunks: bytes | str) -> list[SseEvent]:
    return list(iter_sse_events(chunks))


def test_sse_event_and_data_lines_make_one_event() -> None:
    events = decode_all(b'event: response.created\ndata: {"type":"x"}\n\n')
    assert events == [SseEvent(data='{"type":"x"}', event="response.created")]


def test_sse_data_only_event_defaults_to_message() -> None:
    assert decode_all("data: hi\n\n") == [SseEvent(data="hi", event="message")]


def test_sse_multiline_data_is_joined_with_newline() -> None:
    assert decode_all("data: one\ndata:two\ndata:  three\n\n")[0].data == "one\ntwo\n three"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_sse_line_endings_are_normalised(newline: str) -> None:
    text = f"event: a{newline}data: 1{newline}{newline}data: 2{newline}data: 3{newline}{newline}"
    assert [(e.event, e.data) for e in decode_all(text)] == [("a", "1"), ("message", "2\n3")]


def test_sse_crlf_split_between_chunks_counts_once() -> None:
    events = decode_all(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n")
    assert [e.data for e in events] == ["a", "b"]


def test_sse_comments_and_unknown_fields_are_ignored() -> None:
    events = decode_all(": keep-alive\n\n: another\nfoo: bar\ndata: x\n: inside\n\n")
    assert [e.data for e in events] == ["x"]


def test_sse_event_without_data_is_not_dispatched() -> None:
    assert decode_all("event: ping\n\nid: 7\n\n") == []


def test_sse_id_persists_and_retry_is_reported() -> None:
    events = decode_all("id: 1\nretry: 250\ndata: a\n\ndata: b\n\n")
    assert [(e.id, e.retry) for e in events] == [("1", 250), ("1", None)]


def test_sse_field_without_colon_and_single_space_strip() -> None:
    events = decode_all("data\ndata:  two spaces\n\n")
    assert events[0].data == "\n two spaces"


def test_sse_byte_order_mark_at_start_is_dropped() -> None:
    assert decode_all("\ufeffdata: x\n\n".encode()) == [SseEvent(data="x")]


def test_sse_multibyte_utf8_split_across_chunks() -> None:
    raw = "data: héllo ’ 😀\n\n".encode()
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert decode_all(*chunks)[0].data == "héllo ’ 😀"


def test_sse_invalid_utf8_is_replaced_not_fatal() -> None:
    assert decode_all(b"data: \xff\xfe ok\n\n")[0].data == "\ufffd\ufffd ok"


def test_sse_unterminated_last_event_is_flushed_on_close() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: first\n\ndata: last") == [SseEvent(data="first")]
    assert decoder.close() == [SseEvent(data="last")]


def test_sse_feed_returns_events_as_soon_as_blank_line_arrives() -> None:
    decoder = SseDecoder()
    assert decoder.feed("data: a\n") == []
    assert decoder.feed("\n") == [SseEvent(data="a")]
    assert decoder.close() == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_sse_fixture_byte_by_byte_matches_whole(fixture: Path) -> None:
    raw = fixture.read_bytes()
    whole = decode_all(raw)
    assert whole == decode_all(*[raw[i : i + 1] for i in range(len(raw))])
    # every event of the wire fixtures carries JSON whose type equals the event name
    for event in whole:
        assert json.loads(event.data)["type"] == event.event


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_sse_fixture_random_chunking_with_crlf_matches(fixture: Path) -> None:
    raw = fixture.read_bytes()
    expected = decode_all(raw)
    crlf = raw.replace(b"\n", b"\r\n")
    rng = random.Random(fixture.name)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(crlf)), 25))
        chunks = [crlf[a:b] for a, b in zip([0, *cuts], [*cuts, len(crlf)])]
        assert decode_all(*chunks) == expected


_payload = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)


@given(
    datas=st.lists(st.lists(_payload, min_size=1, max_size=3), min_size=1, max_size=5),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_sse_any_chunking_gives_the_same_events(datas: list[list[str]], newline: str, cuts: list[int]) -> None:
    text = "".join("".join(f"data:{line}{newline}" for line in lines) + newline for lines in datas)
    raw = text.encode()
    points = sorted({c for c in cuts if 0 < c < len(raw)})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)])]
    expected = ["\n".join(line[1:] if line.startswith(" ") else line for line in lines) for lines in datas]
    assert [e.data for e in decode_all(*chunks)] == expected
