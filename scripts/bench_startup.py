#!/usr/bin/env python3
"""Startup time of our CLI (`--version`, `--help`, `exec --help`) against a bare `python -I -c pass`.

Usage: python scripts/bench_startup.py [--runs N] [--codex-rs PATH] [--codex CMD] [--before CMD]

The commands run as real subprocesses (stdout/stderr to /dev/null) in N interleaved rounds after one
unmeasured warm-up each; the table shows the median and minimum wall time and the ratio of the median
to the baseline's. The issue's target is `codex --version` ≤ 2× `python -I -c pass`. With --codex-rs,
its `--version` is timed too. With --before, another build of our CLI (an older checkout's `codex.py`)
runs the same three commands in the same rounds, and each of ours is compared with its own: a change
must not slow start-up by more than 5%. A report for people: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_VERSION_RATIO = 2.0
TARGET_BEFORE_RATIO = 1.05  # ours / --before: start-up within 5% of the build compared with
_OURS = ("--version", "--help", "exec --help")


def _child_env() -> dict[str, str]:
    # An installed copy has its .pyc files; let the warm-up run write ours as it would.
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return (time.perf_counter() - start) * 1000


def time_commands(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall times in ms of `runs` rounds; each round runs every command once, so load drift hits all alike."""
    env = _child_env()
    for command in commands.values():
        _run(command, env)  # warm-up: page cache, .pyc files
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for number in range(runs):
        shift = number % len(names)  # each round starts with another command: going first or last costs something
        for name in names[shift:] + names[:shift]:
            times[name].append(_run(commands[name], env))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_startup.py",
        description="Median startup time of `codex --version`/`--help` as a ratio to `python -I -c pass`. "
        "Example: python scripts/bench_startup.py --runs 30 --codex-rs ~/bin/codex",
    )
    parser.add_argument("--runs", type=int, default=20, metavar="N", help="measured runs per command (default: 20)")
    parser.add_argument("--codex-rs", metavar="PATH", help="also time `PATH --version`")
    parser.add_argument(
        "--codex", metavar="CMD", default=shlex.join([sys.executable, str(ROOT / "codex.py")]),
        help="our CLI as a shell-quoted command (default: this Python running codex.py)",
    )
    parser.add_argument(
        "--before", metavar="CMD",
        help="another build of our CLI to compare with, as a shell-quoted command run by the same Python as "
        "--codex (e.g. an older checkout's codex.py); timed in the same rounds",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    commands: dict[str, list[str]] = {
        "python -I -c pass": [sys.executable, "-I", "-c", "pass"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    builds = {"codex": shlex.split(args.codex), **({"before": shlex.split(args.before)} if args.before else {})}
    for build, command in builds.items():
        commands.update({f"{build} {name}": [*command, *name.split()] for name in _OURS})
    if args.codex_rs:
        commands["codex-rs --version"] = [args.codex_rs, "--version"]
    print(f"median of {args.runs} runs; ours = {args.codex}" + (f"; before = {args.before}" if args.before else ""))
    times = time_commands(commands, args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    width = max(len(name) for name in commands) + 2
    print(f"{'':<{width}}{'median ms':>12}{'min ms':>10}{'ratio':>9}")
    for name, values in times.items():
        ratio = medians[name] / medians["python -I -c pass"]
        print(f"{name:<{width}}{medians[name]:>12.1f}{min(values):>10.1f}{ratio:>8.2f}x")
    ours_version = medians["codex --version"]
    version_ratio = ours_version / medians["python -I -c pass"]
    verdict = "met" if version_ratio <= TARGET_VERSION_RATIO else "MISSED"
    target = f"target ≤ {TARGET_VERSION_RATIO:.1f}x: {verdict}"
    print(f"\ncodex --version / python -I -c pass = {version_ratio:.2f}x ({target})")
    if args.codex_rs:
        print(f"codex --version / codex-rs --version = {ours_version / medians['codex-rs --version']:.2f}x")
    if args.before:
        for name in _OURS:
            ratio = medians[f"codex {name}"] / medians[f"before {name}"]
            verdict = "met" if ratio <= TARGET_BEFORE_RATIO else "MISSED"
            print(f"codex {name} / before {name} = {ratio:.2f}x (target ≤ {TARGET_BEFORE_RATIO:.2f}x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
