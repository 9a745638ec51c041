#!/usr/bin/env python3
"""Benchmark: how long N stdio MCP servers that each take DELAY seconds to start need to be ready together.

    python scripts/bench_mcp_start.py [--servers 5] [--delay 1.0] [--runs 3] [--limit 1.5]

Each server is `tests/data/mcp/minimal_server.py --delay DELAY` (stdlib only, so interpreter start-up is
small next to the delay). `McpConnectionManager.start()` launches them concurrently; we time start() plus
`wait_ready()`. Started one after another they would need N × DELAY seconds. Prints one line per run and
a summary; exits 1 when the slowest run exceeds `--limit` seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "data" / "mcp" / "minimal_server.py"
sys.path.insert(0, str(ROOT))

from codex_cli.mcp_client import McpConnectionManager, parse_mcp_servers  # noqa: E402


def measure(servers: int = 5, delay: float = 1.0) -> float:
    """Seconds from start() until every server has listed its tools."""
    raw = {
        f"slow{i}": {"command": sys.executable, "args": [str(SERVER), "--delay", str(delay)], "startup_timeout_sec": 30}
        for i in range(servers)
    }
    configs = parse_mcp_servers(raw, config_path=ROOT / "bench.toml")
    warnings: list[str] = []
    started = time.monotonic()
    manager = McpConnectionManager.start(configs, on_warning=warnings.append, grace_sec=0)
    try:
        if not manager.wait_ready(timeout=30):
            raise RuntimeError("servers did not become ready within 30 s")
        elapsed = time.monotonic() - started
        not_ready = [s.name for s in manager.list_status() if s.state != "connected"]
        if not_ready or warnings:
            raise RuntimeError(f"servers failed: {not_ready} {warnings}")
        return elapsed
    finally:
        manager.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=1.5)
    args = parser.parse_args(argv)
    times = []
    for run in range(1, args.runs + 1):
        times.append(measure(args.servers, args.delay))
        print(f"run {run}: {args.servers} servers × {args.delay:g} s start-up ready in {times[-1]:.3f} s")
    print(
        f"slowest {max(times):.3f} s, fastest {min(times):.3f} s "
        f"(sequential would be ≥ {args.servers * args.delay:.1f} s; limit {args.limit:g} s)"
    )
    return 0 if max(times) <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
