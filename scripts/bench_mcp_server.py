#!/usr/bin/env python3
"""Benchmark: N `codex` tool calls issued at once to one `codex mcp-server` against a fake model that takes DELAY s.

    python scripts/bench_mcp_server.py [--calls 10] [--delay 1.0] [--runs 3] [--limit 2.0]

Starts `codex mcp-server` (CODEX_HOME in a temporary directory, config pointing at `fake_responses.py`, whose
every response waits DELAY seconds), initializes it, runs one warm-up call, then per run times one call alone
and N calls sent together (raw JSON-RPC lines on stdin; the run ends when all N results are in). Served one
after another the N calls would need about N × the single call. Prints one line per run and a summary; exits 1
when the slowest concurrent run takes more than `--limit` × the slowest single call.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from fake_responses import FakeResponsesServer, message  # noqa: E402

_CONFIG = """model = "gpt-5.5"
model_provider = "mock"

[model_providers.mock]
name = "mock"
base_url = "{url}"
env_key = "MOCK_API_KEY"
"""


class _Server:
    """`codex mcp-server` in a subprocess, spoken to in JSON lines."""

    def __init__(self, home: Path, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
        env.update(CODEX_HOME=str(home), MOCK_API_KEY="bench", HOME=str(home))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "codex.py"), "mcp-server"], cwd=workdir, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.responses: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ids = itertools.count(1)
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            message = json.loads(line)
            if "id" in message and "method" not in message:
                self.responses.put(message)

    def send(self, method: str, params: object) -> int:
        request_id = next(self._ids)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                                          "params": params}).encode() + b"\n")
        self.proc.stdin.flush()
        return request_id

    def wait(self, count: int, timeout: float = 120.0) -> list[dict[str, Any]]:
        return [self.responses.get(timeout=timeout) for _ in range(count)]

    def calls(self, count: int) -> float:
        """Seconds until `count` `codex` calls sent together have all been answered."""
        started = time.monotonic()
        for n in range(count):
            self.send("tools/call", {"name": "codex", "arguments": {"prompt": f"task {n}"}})
        answers = self.wait(count)
        elapsed = time.monotonic() - started
        failed = [a for a in answers if "error" in a or a["result"].get("isError")]
        if failed:
            raise RuntimeError(f"calls failed: {failed[0]}")
        threads = {a["result"]["structuredContent"]["threadId"] for a in answers}
        if len(threads) != count:
            raise RuntimeError("calls shared a session")
        return elapsed

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=2.0)
    args = parser.parse_args(argv)
    singles, concurrent = [], []
    with tempfile.TemporaryDirectory() as tmp, FakeResponsesServer([{"output": [message("done")],
                                                                      "delay": args.delay}]) as model:
        home, workdir = Path(tmp) / "home", Path(tmp) / "work"
        home.mkdir()
        workdir.mkdir()
        (home / "config.toml").write_text(_CONFIG.format(url=model.base_url), encoding="utf-8")
        server = _Server(home, workdir)
        try:
            server.send("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "bench", "version": "1"}})
            server.wait(1)
            server.calls(1)  # warm-up: imports and first connections
            for run in range(1, args.runs + 1):
                singles.append(server.calls(1))
                concurrent.append(server.calls(args.calls))
                print(f"run {run}: 1 call {singles[-1]:.3f} s, {args.calls} calls at once {concurrent[-1]:.3f} s "
                      f"(model delay {args.delay:g} s)")
        finally:
            server.close()
    ratio = max(concurrent) / max(singles)
    print(f"slowest single {max(singles):.3f} s, slowest {args.calls} at once {max(concurrent):.3f} s: "
          f"{ratio:.2f}× one call (one after another: ≈{args.calls}×)")
    return 0 if ratio <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
