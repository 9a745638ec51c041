"""`$CODEX_HOME/history.jsonl`: one line per submitted user message (`session_id`, `ts`, `text`), shared by every
codex process of the user.

The file is created with mode 0600 and forced back to 0600 on every write. Writers take an exclusive advisory lock
and append the whole line in one write, so lines from concurrent processes never interleave; readers take a shared
lock. `[history] persistence = "none"` disables writing; `max_bytes` trims the oldest lines (to 80 % of the limit,
always keeping the newest line) under the same lock (`sessions.md` §4).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codex_cli.jsoncodec import decode_json, encode_json
from codex_cli.records import Record

__all__ = ["HISTORY_FILE", "HistoryEntry", "append_entry", "read_entries"]

HISTORY_FILE = "history.jsonl"
_TRIM_TARGET_PERCENT = 80


class HistoryEntry(Record):
    session_id: str
    ts: int
    text: str


@contextmanager
def _locked(fd: int, *, exclusive: bool) -> Iterator[None]:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def append_entry(
    codex_home: Path,
    session_id: str,
    text: str,
    *,
    persistence: str = "save-all",
    max_bytes: int | None = None,
    now: float | None = None,
) -> bool:
    """Append one message; returns False when persistence is off. Errors writing the file are not fatal."""
    if persistence == "none":
        return False
    line = encode_json({"session_id": session_id, "ts": int(now if now is not None else time.time()), "text": text})
    path = codex_home / HISTORY_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        if sys.platform != "win32":
            os.fchmod(fd, 0o600)
        with _locked(fd, exclusive=True):
            _write_all(fd, line + b"\n")
            if max_bytes is not None and max_bytes > 0:
                _trim(fd, max_bytes)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _trim(fd: int, max_bytes: int) -> None:
    """Drop the oldest lines until the file is at most 80 % of `max_bytes`, keeping at least the newest line."""
    size = os.fstat(fd).st_size
    if size <= max_bytes:
        return
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    lines = b"".join(chunks).splitlines(keepends=True)
    target = max_bytes * _TRIM_TARGET_PERCENT // 100
    total = sum(map(len, lines))
    start = 0
    while total > target and start < len(lines) - 1:
        total -= len(lines[start])
        start += 1
    os.ftruncate(fd, 0)
    _write_all(fd, b"".join(lines[start:]))  # O_APPEND: written from the (new) end of file, i.e. offset 0


def read_entries(codex_home: Path) -> list[HistoryEntry]:
    """Every readable entry, oldest first; lines that are not valid entries are skipped."""
    path = codex_home / HISTORY_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return []
    try:
        with _locked(fd, exclusive=False):
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
    finally:
        os.close(fd)
    entries: list[HistoryEntry] = []
    for raw in b"".join(chunks).splitlines():
        try:
            obj = decode_json(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            ts = obj.get("ts")
            entries.append(HistoryEntry(str(obj.get("session_id", "")), ts if isinstance(ts, int) else 0, obj["text"]))
    return entries
