"""Measure what the sandbox adds to one command: `true` under workspace-write vs danger-full-access.

Usage: python scripts/bench_sandbox.py [-n RUNS] [--mode read-only|workspace-write]

Prints the mean wall time per command for: danger-full-access (plain Popen), the sandbox prepared once and
reused (as the tool runner does), and prepare() + spawn + close() per command; then the overheads and ratios.
No assertions: a report for people.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codex_cli.sandbox import SandboxPolicy, prepare, probe_capabilities


def _time(runs: int, once: Callable[[], None]) -> float:
    once()  # warm up (imports, probes, page cache)
    start = time.perf_counter()
    for _ in range(runs):
        once()
    return (time.perf_counter() - start) / runs * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--runs", type=int, default=200)
    parser.add_argument("--mode", default="workspace-write", choices=("read-only", "workspace-write"))
    args = parser.parse_args(argv)
    true = shutil.which("true") or "/bin/true"
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(dir="/var/tmp" if os.path.isdir("/var/tmp") else None) as tmp:
        policy = SandboxPolicy.from_config(args.mode, Path(tmp))
        print(f"machine: {probe_capabilities()}")

        def plain() -> None:
            subprocess.run([true], cwd=tmp, env=env, check=True)

        reused = prepare(policy, env)
        child_env = {**env, **reused.env_updates}

        def sandboxed() -> None:
            subprocess.run(reused.command([true]), cwd=tmp, env=child_env, preexec_fn=reused.preexec, check=True)

        def per_command() -> None:
            with prepare(policy, env) as prepared:
                subprocess.run(prepared.command([true]), cwd=tmp, env=child_env, preexec_fn=prepared.preexec,
                               check=True)

        base = _time(args.runs, plain)
        warm = _time(args.runs, sandboxed)
        cold = _time(args.runs, per_command)
        reused.close()
    print(f"danger-full-access           {base:7.3f} ms/command")
    print(f"{args.mode:<16} (reused)  {warm:7.3f} ms/command  overhead {warm - base:6.3f} ms  ratio {warm / base:5.2f}")
    print(f"{args.mode:<16} (prepare) {cold:7.3f} ms/command  overhead {cold - base:6.3f} ms  ratio {cold / base:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
