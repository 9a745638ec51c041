#!/usr/bin/env python3
"""Benchmark the line UI's streaming path: 20,000 text deltas and a 5,000-line command output.

A producer thread emits the events into the same queue the session uses; the UI's own event loop
(`line_ui.pump`) dispatches each one to `LineRenderer`, writing to a terminal-like sink (a file
descriptor, flushed per write: one write(2) per delta). On a live terminal the sink checks that every
delta's text was written before its event finished dispatching (the same loop tick: the row being
written is shown at once); plain output is written a whole wrapped row at a time.
CPU is `time.process_time()` for the whole process (producer and UI threads).

    python scripts/bench_render.py [--deltas 20000] [--lines 5000] [--plain] [--budget 1.0]

Exit status 1 when the CPU budget is exceeded or a delta was held back.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    CommandExecutionItem,
    CommandOutputDelta,
    ItemCompleted,
    ItemStarted,
    TurnCompleted,
    Usage,
)
from codex_cli.ui.line_render import LineRenderer
from codex_cli.ui.line_ui import Done, pump


class Sink:
    """A text stream over a file descriptor that keeps the last write, like a terminal would receive it."""

    def __init__(self, fd: int) -> None:
        self.fd, self.last, self.writes, self.pending = fd, "", 0, ""

    def write(self, text: str) -> int:
        self.pending += text
        return len(text)

    def flush(self) -> None:
        if self.pending:
            os.write(self.fd, self.pending.encode("utf-8"))
            self.last, self.pending = self.pending, ""
            self.writes += 1

    def isatty(self) -> bool:
        return True


def _delta(i: int) -> str:
    return f"word{i} " + ("\n" if i % 12 == 11 else "")


def produce(messages: queue.SimpleQueue[object], deltas: int, lines: int) -> None:
    text = []
    for i in range(deltas):
        piece = _delta(i)
        text.append(piece)
        messages.put(AgentMessageDelta(piece))
    messages.put(ItemCompleted(AgentMessageItem("m1", "".join(text))))
    command = CommandExecutionItem("c1", "/bin/bash -lc 'seq 1 5000'", cwd="/tmp")
    messages.put(ItemStarted(command))
    output = []
    for i in range(lines):
        line = f"output line {i}\n"
        output.append(line)
        messages.put(CommandOutputDelta("c1", line))
    messages.put(ItemCompleted(CommandExecutionItem("c1", command.command, "".join(output), 0, "completed")))
    messages.put(TurnCompleted(Usage(100, 10, 0, 20, 5, 120), None))
    messages.put(Done(None))


def run(deltas: int = 20_000, lines: int = 5_000, *, color: bool = True, out_path: str = os.devnull) \
        -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, deltas written late)."""
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    sink = Sink(fd)
    renderer = LineRenderer(sink, color=color, live=color, width=lambda: 120)  # type: ignore[arg-type]
    messages: queue.SimpleQueue[object] = queue.SimpleQueue()
    late = 0

    def dispatch(message: object) -> None:
        nonlocal late
        renderer.handle(message)  # type: ignore[arg-type]
        # A live terminal shows the row being written at once; plain output gets whole rows, so only live counts.
        if color and isinstance(message, AgentMessageDelta) and message.delta.strip() not in sink.last:
            late += 1

    last_tick = 0.0

    def between(now: float) -> None:
        nonlocal last_tick
        if now - last_tick >= 0.1:
            last_tick = now
            renderer.tick(now)

    cpu, wall = time.process_time(), time.perf_counter()
    renderer.begin_busy()
    producer = threading.Thread(target=produce, args=(messages, deltas, lines))
    producer.start()
    pump(messages, dispatch, between)
    producer.join()
    renderer.end_busy()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    os.close(fd)
    return cpu, wall, late


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--plain", action="store_true", help="no colour (the NO_COLOR / piped path)")
    parser.add_argument("--budget", type=float, default=1.0, help="CPU seconds allowed")
    parser.add_argument("--out", default=os.devnull, help="where the rendered bytes go")
    args = parser.parse_args()
    cpu, wall, late = run(args.deltas, args.lines, color=not args.plain, out_path=args.out)
    print(f"{args.deltas} deltas + {args.lines} output lines: cpu {cpu:.3f}s, wall {wall:.3f}s, "
          f"deltas written late: {late}")
    return 0 if cpu < args.budget and late == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
