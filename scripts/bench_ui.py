#!/usr/bin/env python3
"""Time to the interactive prompt: how long after `codex` starts a person can type, ours and codex-rs's.

    python scripts/bench_ui.py [--runs 9] [--codex-rs PATH] [--mcp] [--history N] [--budget 0.25]

Each run starts the CLI on a pseudo-terminal (80x24) in a trusted Git work dir, with a fresh CODEX_HOME whose
config.toml points at the scripted fake model (scripts/fake_responses.py), and measures the wall time from the
fork until the prompt is on the screen: our `› ` after the header, codex-rs's composer placeholder. The CLIs
take turns run by run, so a change in a shared machine's load hits both. `--mcp` adds an MCP server that takes
0.5 s to answer (its start must not hold the prompt back); `--history N` fills history.jsonl with N entries.
Prints the median and minimum of each and exits 1 when our median exceeds `--budget` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from fake_responses import FakeResponsesServer  # noqa: E402

ORACLE = Path("/tmp/oracle/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex")
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b.")
SLOW_MCP = ROOT / "tests" / "data" / "mcp" / "minimal_server.py"  # answers `initialize` after --delay seconds


def _home(base: Path, url: str, work: Path, *, mcp: bool, history: int) -> Path:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=base))
    config = (f'model = "gpt-5.5"\nmodel_provider = "mock"\n\n[model_providers.mock]\nname = "mock"\n'
              f'base_url = "{url}"\nenv_key = "MOCK_API_KEY"\nwire_api = "responses"\n\n'
              f'[projects."{work}"]\ntrust_level = "trusted"\n\n'
              # codex-rs's one-time model notice would stand in front of its prompt
              '[notice.model_migrations]\n"gpt-5.5" = "gpt-6-sol"\n\n[tui]\nscreen_reader_detection_done = true\n')
    if mcp:
        config += f'\n[mcp_servers.slow]\ncommand = "{sys.executable}"\nargs = ["{SLOW_MCP}", "--delay", "0.5"]\n'
    (home / "config.toml").write_text(config, encoding="utf-8")
    if history:
        lines = (json.dumps({"session_id": "s", "ts": 1_700_000_000 + i, "text": f"an earlier prompt number {i}"})
                 for i in range(history))
        (home / "history.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return home


def time_to_prompt(argv: list[str], env: dict[str, str], cwd: Path, marker: str, timeout: float = 20.0) -> float:
    """Seconds from fork until `marker` is on the screen (escape sequences removed); the process is then killed."""
    import pty

    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal's size, then the CLI
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    seen = ""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout:
            readable, _, _ = select.select([fd], [], [], 0.05)
            if not readable:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data.decode("utf-8", "replace")
            if marker in _ESCAPES.sub("", seen):
                elapsed = time.perf_counter() - start
                break
            if "\x1b[6n" in data.decode("utf-8", "replace"):  # a cursor position query: answer as a terminal would
                os.write(fd, b"\x1b[1;1R")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--codex-rs", type=Path, default=ORACLE if ORACLE.exists() else None)
    parser.add_argument("--mcp", action="store_true", help="with an MCP server that is slow to start")
    parser.add_argument("--history", type=int, default=0, help="entries in history.jsonl")
    parser.add_argument("--budget", type=float, default=0.25, help="seconds allowed for our median")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    work = base / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    work = work.resolve()
    # An installed copy has its .pyc files: the warm-up round writes ours as it would.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CODEX_", "OPENAI_")) and key != "PYTHONDONTWRITEBYTECODE"}
    env.update({"TERM": "xterm-256color", "MOCK_API_KEY": "bench", "PYTHONPATH": str(ROOT)})
    clis = {"codex (Python)": ([sys.executable, str(ROOT / "codex.py")], "› ")}
    if args.codex_rs is not None:
        clis["codex-rs"] = ([str(args.codex_rs), "--no-alt-screen", "--no-daemon"], "Ask Codex")
    times: dict[str, list[float]] = {name: [] for name in clis}
    try:
        with FakeResponsesServer([{"output": []}]) as server:
            for _ in range(args.runs + 1):  # the first round warms caches and is not counted
                for name, (argv, marker) in clis.items():
                    home = _home(base, server.base_url, work, mcp=args.mcp, history=args.history)
                    seconds = time_to_prompt(argv, {**env, "CODEX_HOME": str(home)}, work, marker)
                    times[name].append(seconds)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ours = statistics.median(times["codex (Python)"][1:])
    for name, values in times.items():
        counted = values[1:]
        sys.stdout.write(f"{name:16} median {statistics.median(counted) * 1000:6.0f} ms   "
                         f"min {min(counted) * 1000:6.0f} ms   ({len(counted)} runs)\n")
    sys.stdout.write(f"budget {args.budget * 1000:.0f} ms for ours: {'met' if ours <= args.budget else 'MISSED'}\n")
    return 0 if ours <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
