"""`history.jsonl`: line format, 0600, persistence = "none", max_bytes trimming, and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import sys
from pathlib import Path

from codex_cli.prompt_history import HISTORY_FILE, append_entry, read_entries


def test_line_format_and_mode(tmp_path: Path) -> None:
    assert append_entry(tmp_path, "sid-1", "hello\nworld", now=1795607147.9)
    path = tmp_path / HISTORY_FILE
    assert json.loads(path.read_text()) == {"session_id": "sid-1", "ts": 1795607147, "text": "hello\nworld"}
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        path.chmod(0o644)
        append_entry(tmp_path, "sid-1", "again")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # forced back on every write
    assert [e.text for e in read_entries(tmp_path)] == ["hello\nworld", "again"]


def test_persistence_none_writes_nothing(tmp_path: Path) -> None:
    assert not append_entry(tmp_path, "sid", "secret", persistence="none")
    assert not (tmp_path / HISTORY_FILE).exists()


def test_max_bytes_drops_oldest_lines_to_80_percent(tmp_path: Path) -> None:
    for n in range(20):
        append_entry(tmp_path, "sid", f"message {n:02d} " + "x" * 50, max_bytes=1000)
    path = tmp_path / HISTORY_FILE
    assert path.stat().st_size <= 1000
    texts = [e.text for e in read_entries(tmp_path)]
    assert texts[-1].startswith("message 19") and texts == sorted(texts)
    assert texts[0] != "message 00 " + "x" * 50


def test_max_bytes_keeps_the_newest_line_even_if_too_big(tmp_path: Path) -> None:
    append_entry(tmp_path, "sid", "small")
    append_entry(tmp_path, "sid", "y" * 500, max_bytes=100)
    assert [e.text for e in read_entries(tmp_path)] == ["y" * 500]


def test_corrupt_lines_are_skipped_when_reading(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_bytes(b'{"session_id":"a","ts":1,"text":"ok"}\n{"torn\n')
    assert [e.text for e in read_entries(tmp_path)] == ["ok"]


def _writer(home: str, worker: int, count: int, size: int) -> None:
    for n in range(count):
        append_entry(Path(home), f"worker-{worker}", f"{worker}:{n}:" + chr(ord("a") + worker) * size)


def test_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    # Lines larger than PIPE_BUF (4 KiB) would tear under plain O_APPEND writes from several processes.
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(tmp_path), w, 60, 20_000)) for w in range(4)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    raw = (tmp_path / HISTORY_FILE).read_bytes().splitlines()
    assert len(raw) == 240
    seen = set()
    for line in raw:
        entry = json.loads(line)
        worker, n, body = entry["text"].split(":", 2)
        assert body == chr(ord("a") + int(worker)) * 20_000
        seen.add((worker, n))
    assert len(seen) == 240
    assert os.stat(tmp_path / HISTORY_FILE).st_size == sum(len(line) + 1 for line in raw)
