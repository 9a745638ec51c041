#!/usr/bin/env python3
"""Benchmark resuming a large session and listing many sessions.

    python scripts/bench_resume.py [--items 10000] [--sessions 1000] [--check]

1. Writes a codex-rs-shaped rollout holding `--items` model-visible items (reasoning, function calls, ~8 KB command
   outputs, assistant messages, plus the event/token lines codex-rs writes beside them: about 50 MB for 10,000
   items), then runs the real CLI, `codex exec resume <id> "next"`, against the fake model. It reports the time from
   process start until the first model request has arrived, and the process's peak RSS next to the rollout's size
   (also above the peak RSS of resuming a tiny session, i.e. what the big history itself costs).
2. Writes `--sessions` small rollouts (each opening with a 21 KB session_meta, as codex-rs writes them) and times
   `rollout.list_threads()`, which reads only the head of each file, in a fresh process.

Targets (issue 5): first request < 1.5 s and < 2x the rollout's size in memory; listing 1,000 sessions < 0.5 s.
`--check` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from fake_responses import FakeResponsesServer, message  # noqa: E402

BASE_INSTRUCTIONS = "You are a coding agent. " * 900  # ~21 KB, like gpt-5.5's
_TS = "2026-11-25T12:00:00.000Z"


def _line(ordinal: int, kind: str, payload: dict[str, object]) -> str:
    return json.dumps({"timestamp": _TS, "ordinal": ordinal, "type": kind, "payload": payload},
                      separators=(",", ":")) + "\n"


def _usage(total: int) -> dict[str, int]:
    return {"input_tokens": total - 20, "cached_input_tokens": 0, "cache_write_input_tokens": 0,
            "output_tokens": 20, "reasoning_output_tokens": 5, "total_tokens": total}


def _write_rollout(home: Path, thread_id: str, cwd: Path, items: int) -> Path:
    """A rollout shaped like codex-rs 0.169's: four history items per step plus the event lines around them."""
    path = home / "sessions" / "2026" / "11" / "25" / f"rollout-2026-11-25T12-00-00-{thread_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"session_id": thread_id, "id": thread_id, "timestamp": _TS, "cwd": str(cwd), "originator": "codex_exec",
            "cli_version": "0.169.0", "source": "exec", "model_provider": "mock",
            "base_instructions": {"text": BASE_INSTRUCTIONS, "provenance": {"type": "model", "model": "gpt-5.5"}}}
    output = "".join(f"line {n:04d}: some build output that a command printed\n" for n in range(150))  # ~8 KB
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(_line(n, "session_meta", meta))
        n += 1
        f.write(_line(n, "turn_context", {"cwd": str(cwd), "approval_policy": "never", "model": "gpt-5.5",
                                          "sandbox_policy": {"type": "read-only"}, "summary": "none"}))
        n += 1
        f.write(_line(n, "response_item", {"type": "message", "role": "user",
                                           "content": [{"type": "input_text", "text": "start the long task"}]}))
        n += 1
        for step in range(items // 4):
            call_id = f"call_{step}"
            lines = [
                ("response_item", {"type": "reasoning", "id": f"rs_{step}", "summary": [
                    {"type": "summary_text", "text": "**Checking the build**"}], "content": None,
                    "encrypted_content": "gAAAA" + "x" * 1000}),
                ("response_item", {"type": "function_call", "id": f"fc_{step}", "name": "exec_command",
                                   "arguments": json.dumps({"cmd": f"make step-{step}"}), "call_id": call_id}),
                ("token_usage_record", {"response_id": f"resp_{step}", "usage": _usage(1000),
                                        "turn_token_usage": _usage(1000), "thread_token_usage": _usage(1000)}),
                ("event_msg", {"type": "item_completed", "item": {"type": "CommandExecution", "id": call_id,
                               "command": ["/bin/bash", "-lc", f"make step-{step}"], "status": "completed",
                               "aggregated_output": output, "exit_code": 0}}),
                ("response_item", {"type": "function_call_output", "call_id": call_id,
                                   "output": f"Chunk ID: abc123\nWall time: 0.1 seconds\nOutput:\n{output}"}),
                ("event_msg", {"type": "token_count", "info": {"total_token_usage": _usage(1000),
                                                               "last_token_usage": _usage(1000)}}),
                ("response_item", {"type": "message", "id": f"msg_{step}", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Step done; moving on to the next one. " * 10,
                     "annotations": []}]}),
                ("event_msg", {"type": "item_completed", "item": {"type": "AgentMessage", "id": f"msg_{step}",
                               "content": [{"type": "Text", "text": "Step done; moving on. " * 10}]}}),
            ]
            for kind, payload in lines:
                f.write(_line(n, kind, payload))
                n += 1
    return path


def _resume(home: Path, workdir: Path, thread_id: str) -> tuple[float, int, int]:
    """(seconds to the first request, peak RSS in bytes, request body bytes) of `codex exec resume`."""
    with FakeResponsesServer([{"output": [message("resumed")]}]) as server:
        config = (f'model = "gpt-5.5"\nmodel_provider = "mock"\n[model_providers.mock]\nname = "mock"\n'
                  f'base_url = "{server.base_url}"\nenv_key = "MOCK_API_KEY"\n')
        (home / "config.toml").write_text(config, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
        env.update(CODEX_HOME=str(home), MOCK_API_KEY="bench", PYTHONPATH=str(ROOT))
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "codex.py"), "exec", "--skip-git-repo-check", "resume", thread_id, "next"],
            cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        [request] = server.wait_for_requests(1, timeout=120)
        elapsed = request.time - started
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"resume failed ({proc.returncode}):\n{stderr}")
        body_bytes = len(json.dumps(request.body))
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return elapsed, usage.ru_maxrss * scale, body_bytes


def _write_sessions(home: Path, count: int, cwd: Path) -> None:
    for i in range(count):
        thread_id = f"01a212e0-0000-7000-8000-{i:012d}"
        path = _write_rollout(home, thread_id, cwd, 8)
        os.utime(path, (time.time() - i, time.time() - i))


def _time_listing(home: Path) -> tuple[float, int]:
    code = (
        "import sys, time; from pathlib import Path; t = time.monotonic(); "
        "from codex_cli import rollout; s = rollout.list_threads(Path(sys.argv[1])); "
        "print(time.monotonic() - t, len(s))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(home)], cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, count = out.stdout.split()
    return float(seconds), int(count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000, help="history items in the big session")
    parser.add_argument("--sessions", type=int, default=1_000, help="sessions to list")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        root = Path(tmp)
        workdir = root / "work"
        workdir.mkdir()
        home = root / "home"
        big_id, small_id = "01a212e0-0000-7000-8000-00000000b16b", "01a212e0-0000-7000-8000-000000000511"
        path = _write_rollout(home, big_id, workdir, args.items)
        _write_rollout(home, small_id, workdir, 8)
        size = path.stat().st_size
        _, small_rss, _ = _resume(home, workdir, small_id)
        seconds, rss, body = _resume(home, workdir, big_id)
        print(f"rollout: {args.items} items, {size / 1e6:.1f} MB; request body {body / 1e6:.1f} MB")
        print(f"first request after {seconds:.2f} s (target < 1.5 s)")
        print(f"peak RSS {rss / 1e6:.0f} MB = {rss / size:.2f}x the rollout; "
              f"{(rss - small_rss) / 1e6:.0f} MB = {(rss - small_rss) / size:.2f}x above resuming a tiny session "
              f"({small_rss / 1e6:.0f} MB) (target < 2x)")
        if seconds >= 1.5:
            failures.append("time to first request")
        if rss - small_rss >= 2 * size:
            failures.append("memory")

        list_home = root / "list-home"
        _write_sessions(list_home, args.sessions, workdir)
        list_seconds, listed = _time_listing(list_home)
        print(f"listed {listed} sessions in {list_seconds:.3f} s (target < 0.5 s)")
        if list_seconds >= 0.5 or listed != args.sessions:
            failures.append("listing")
    if failures:
        print("missed: " + ", ".join(failures))
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
