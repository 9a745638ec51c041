"""Network waits a person should hear about: which requests are connecting or waiting for an answer, and for how long.

`http.create_client()`'s transport opens a `waiting()` block around every request and its network backend moves
it to the connecting phase while a new connection is made (TCP, a proxy's CONNECT or SOCKS handshake, TLS). A
front end shows the oldest wait once it is older than `AFTER` seconds: `describe()` gives the line
("connecting to api.openai.com via proxy 10.1.2.3:8080 (HTTPS_PROXY)... 4s") for a status line it redraws
itself (the line UI), and `report_to(stream)` writes it from a thread of its own (exec's and login's stderr).
Standard library only, so a front end imports it for nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["AFTER", "Wait", "connected", "connecting", "describe", "report_to", "waiting"]

AFTER = 2.0  # seconds of silence before a wait is shown: a healthy connection never shows one

_lock = threading.Lock()
_active: dict[int, Wait] = {}
_local = threading.local()


class Wait:
    """One request in flight: where it goes, through what, and since when."""

    __slots__ = ("host", "phase", "started", "via")

    def __init__(self, host: str, via: str | None) -> None:
        self.host = host
        self.via = via  # "proxy 10.1.2.3:8080 (HTTPS_PROXY)", or None for a direct connection
        self.phase = "waiting"  # a reused connection goes straight to waiting for the answer
        self.started = time.monotonic()

    def text(self, now: float) -> str:
        seconds = int(now - self.started)
        if self.phase == "connecting":
            return f"connecting to {self.host}{' via ' + self.via if self.via else ''}... {seconds}s"
        return f"waiting for {self.host} to answer{' (via ' + self.via + ')' if self.via else ''}... {seconds}s"


@contextmanager
def waiting(host: str, via: str | None) -> Iterator[Wait]:
    """Track one request of this thread from now until the block ends (its response headers arrived, or it failed)."""
    wait = Wait(host, via)
    outer = getattr(_local, "wait", None)
    with _lock:
        _active[id(wait)] = wait
    _local.wait = wait
    try:
        yield wait
    finally:
        _local.wait = outer
        with _lock:
            _active.pop(id(wait), None)


def connecting() -> None:
    """This thread's request is opening a new connection (sync transports connect in the requesting thread)."""
    wait = getattr(_local, "wait", None)
    if wait is not None:
        wait.phase = "connecting"


def connected() -> None:
    """This thread's request has its connection and is now waiting for the answer."""
    wait = getattr(_local, "wait", None)
    if wait is not None:
        wait.phase = "waiting"


def describe(after: float = AFTER, now: float | None = None) -> str | None:
    """The line for the oldest wait older than `after` seconds, or None when nothing is slow."""
    now = time.monotonic() if now is None else now
    with _lock:
        oldest = min(_active.values(), key=lambda wait: wait.started, default=None)
    if oldest is None or now - oldest.started < after:
        return None
    return oldest.text(now)


@contextmanager
def report_to(stream: TextIO, *, after: float = AFTER, every: float = 10.0) -> Iterator[None]:
    """Write slow waits to `stream` while the block runs: on a terminal one line redrawn each second and erased
    when the wait ends; elsewhere (a log, a pipe) a whole line when a wait passes `after` and again every `every`
    seconds, so a log shows it without being flooded."""
    tty = _isatty(stream)
    stop = threading.Event()

    def run() -> None:
        shown: str | None = None
        last_line = 0.0
        while not stop.wait(0.25):
            text = describe(after)
            try:
                if tty:
                    if text != shown:
                        stream.write("\r\x1b[K" + (text or ""))
                        stream.flush()
                    shown = text
                elif text is not None and (shown is None or time.monotonic() - last_line >= every):
                    stream.write(text + "\n")
                    stream.flush()
                    shown, last_line = text, time.monotonic()
                elif text is None:
                    shown = None
            except (OSError, ValueError):  # the stream went away (closed pipe): nothing left to tell
                return
        if tty and shown:
            try:
                stream.write("\r\x1b[K")
                stream.flush()
            except (OSError, ValueError):
                pass

    thread = threading.Thread(target=run, name="codex-network-wait", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1.0)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
