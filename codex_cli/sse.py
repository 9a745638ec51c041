"""Server-Sent-Events framing: turns byte or text chunks, split anywhere, into whole events.

Follows the WHATWG event-stream rules: lines end with CRLF, LF or CR (a CRLF split across two
chunks counts once); `event:`, `data:`, `id:` and `retry:` fields; one space after the colon is
dropped; several `data:` lines join with `\\n`; lines starting with `:` are comments; a blank
line dispatches the event, and an event without any `data:` line is not dispatched. Invalid
UTF-8 is replaced, never fatal. At end of stream, `SseDecoder.close()` also dispatches a last
event that lacks its closing blank line, because some servers stop right after `data:`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from codex_cli.records import Record

__all__ = ["SseDecoder", "SseEvent", "iter_sse_events"]


class SseEvent(Record):
    """One dispatched event; `event` is `message` when the stream named none."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SseDecoder:
    """Incremental decoder: call `feed()` with each chunk, then `close()` at end of stream."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last complete line
        self._started = False  # the optional BOM is only looked for at the very start
        self._data: list[str] = []
        self._event = ""
        self._retry: int | None = None
        self._last_id: str | None = None

    def feed(self, chunk: bytes | str) -> list[SseEvent]:
        """Decode one chunk and return the events it completes (often none)."""
        text = self._text.decode(chunk) if isinstance(chunk, (bytes, bytearray, memoryview)) else chunk
        if not text:
            return []
        text = self._pending + text
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        # A trailing CR may be the first half of a CRLF: keep it until the next chunk.
        hold_cr = text.endswith("\r")
        if hold_cr:
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self._pending = lines.pop() + ("\r" if hold_cr else "")
        events: list[SseEvent] = []
        for line in lines:
            event = self._process_line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SseEvent]:
        """Flush at end of stream: the last line and an unterminated last event, if any."""
        tail = self._text.decode(b"", final=True)
        events = self.feed(tail) if tail else []
        rest = self._pending.rstrip("\r")
        self._pending = ""
        if rest:
            self._process_line(rest)
        last = self._process_line("")
        if last is not None:
            events.append(last)
        return events

    def _process_line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None
        return SseEvent(data="\n".join(data), event=event or "message", id=self._last_id, retry=retry)


def iter_sse_events(chunks: Iterable[bytes | str]) -> Iterator[SseEvent]:
    """Decode a whole stream of chunks lazily."""
    decoder = SseDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.close()
