#!/usr/bin/env python3
"""Benchmark one `codex exec` turn of N shell calls against the instant fake model, ours vs codex-rs.

Usage: python scripts/bench_turns.py [--codex-rs PATH] [--before CMD] [--runs N] [--calls N]
                                     [--wire responses|chat] [--empty-home | --profile-cost S]

Each run starts a fresh fake server (scripts/fake_responses.py) whose script answers with one
`exec_command` call per request (`echo step <i>`) and then a final message, a temp CODEX_HOME whose
config.toml points a custom provider at it, and a real subprocess:
`exec --skip-git-repo-check -s danger-full-access --json "<prompt>"`. `--wire chat` sets `wire_api = "chat"`
on the provider and the fake server answers the same script as Chat Completions streams (codex-rs 0.169 has
no chat wire, so compare `--wire chat` with `--wire responses` of our CLI).

Commands run in your own HOME by default, so your login profile (pyenv, nvm, conda...) costs what it costs you.
`--empty-home` gives each run an empty temp HOME instead (no profile at all); `--profile-cost S` gives it a temp
HOME whose `.bash_profile` sleeps S seconds, exports a variable, defines a function and counts its runs, with
SHELL set to bash, so the cost of a slow profile shows on any machine (the table then says how many times the
profile ran per session).

Measured per run: wall time (spawn to exit), CPU time (user + system of the child and the children it
waited for, from os.wait4), peak RSS (ru_maxrss of that rusage) and start-to-first-request (the fake
server's arrival time of the first model request minus the spawn time). The CLIs take turns run by run, so a
change in the machine's load hits both. The table shows medians and, under them, the spread (lowest-highest); the
last lines are ratios ours / codex-rs next to the issue's targets. `--before CMD` takes turns with another build of
our CLI (an older checkout's `codex.py`, run by the same Python) and prints ours / before: a change must not slow
start-to-first-request by more than 5%. A report for people: nothing is asserted, but a run that does not finish
the script is flagged.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

# Variables of the developer's machine that would change what either CLI does.
_SCRUBBED = (
    "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME", "OPENAI_BASE_URL", "CODEX_CA_CERTIFICATE", "RUST_LOG",
    "PYTHONDONTWRITEBYTECODE",  # an installed copy has its .pyc files; the warm-up run writes ours
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)
# (metric key, column title, target ratio ours / codex-rs from the issue)
_METRICS = (
    ("wall_ms", "wall ms", 0.5),
    ("cpu_ms", "CPU ms", 0.6),
    ("rss_mb", "peak RSS MB", 0.25),
    ("first_ms", "first request ms", 0.65),
)
TARGET_BEFORE_RATIO = 1.05  # ours / --before, for start-to-first-request: within 5% of the build compared with
# The `--profile-cost` login profile: slow, and leaving behind what a real one does (a variable, a function).
_PROFILE = """echo run >> "$HOME/profile-runs"
sleep {seconds}
export BENCH_PROFILE_VAR="set by .bash_profile"
bench_profile_fn() {{ echo "defined in .bash_profile"; }}
"""


@dataclass
class Sample:
    """One measured run."""

    wall_ms: float
    cpu_ms: float
    rss_mb: float
    first_ms: float
    returncode: int
    requests: int
    ok: bool
    profile_runs: int | None = None  # with --profile-cost: how many times the login profile ran


@dataclass(frozen=True)
class Wire:
    """What differs per wire API: the model script and the provider's config lines."""

    script: Callable[[int], list[dict[str, Any]]]
    provider_lines: str
    endpoint: str = "/responses"  # the path suffix of the model requests to count


def _responses_script(calls: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"output": [exec_call(f"echo step {i}", f"call_{i}")]} for i in range(calls)]
    steps.append({"output": [message(f"Ran {calls} commands.")]})
    return steps


# The fake server turns the same steps into Chat Completions streams on `/chat/completions`.
WIRES: dict[str, Wire] = {
    "responses": Wire(_responses_script, ""),
    "chat": Wire(_responses_script, 'wire_api = "chat"\n', "/chat/completions"),
}


def _write_config(home: Path, base_url: str, wire: Wire) -> None:
    (home / "config.toml").write_text(
        'model = "gpt-5.5"\n'
        'model_provider = "mock"\n'
        "\n"
        "[model_providers.mock]\n"
        'name = "mock"\n'
        f'base_url = "{base_url}"\n'
        'env_key = "MOCK_API_KEY"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
        f"{wire.provider_lines}",
        encoding="utf-8",
    )


def _rss_mb(maxrss: int) -> float:
    # Linux reports KiB, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def _spawn_and_wait(
    command: list[str], cwd: Path, env: dict[str, str], out_dir: Path, timeout: float
) -> tuple[float, int, Any]:
    """Run `command` with stdout/stderr to files; return (spawn time, exit code, rusage) via os.wait4."""
    with open(out_dir / "stdout", "wb") as stdout, open(out_dir / "stderr", "wb") as stderr:
        start = time.monotonic()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        watchdog = threading.Timer(timeout, proc.kill)  # a hung CLI must not hang the benchmark
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return start, proc.returncode, usage


def run_once(
    command: list[str], calls: int, wire: Wire, *, home_mode: str = "real", profile_cost: float = 0.0,
    timeout: float = 300,
) -> Sample:
    """One benchmark run of `command` (an exec-capable codex) in a fresh CODEX_HOME and work dir. `home_mode`:
    `real` keeps $HOME, `empty` sets an empty temp one, `profile` a temp one with a `profile_cost` s .bash_profile."""
    with tempfile.TemporaryDirectory(prefix="codex-bench-") as tmp:
        home, work = Path(tmp, "home"), Path(tmp, "work")
        home.mkdir()
        work.mkdir()
        (work / "README.md").write_text("hello\n", encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
        env.update({"CODEX_HOME": str(home), "MOCK_API_KEY": "dummy-key"})
        if home_mode != "real":
            env["HOME"] = str(home)
        if home_mode == "profile":
            (home / ".bash_profile").write_text(_PROFILE.format(seconds=profile_cost), encoding="utf-8")
            env["SHELL"] = shutil.which("bash") or "/bin/bash"
        prompt = f"Run {calls} shell commands, one at a time."
        argv = [*command, "exec", "--skip-git-repo-check", "-s", "danger-full-access", "--json", prompt]
        with FakeResponsesServer(wire.script(calls), repeat_last=False) as server:
            _write_config(home, server.base_url, wire)
            start, code, usage = _spawn_and_wait(argv, work, env, Path(tmp), timeout)
            end = time.monotonic()
            posts = [r for r in server.requests if r.method == "POST" and r.path.rstrip("/").endswith(wire.endpoint)]
        stdout = Path(tmp, "stdout").read_text(encoding="utf-8", errors="replace")
        ok = code == 0 and len(posts) == calls + 1 and '"turn.completed"' in stdout
        if not ok:
            stderr = Path(tmp, "stderr").read_text(encoding="utf-8", errors="replace")
            print(f"  ! {shlex.join(command)}: exit {code}, {len(posts)} requests\n{stderr[-2000:]}", file=sys.stderr)
        runs_file = home / "profile-runs"
        profile_runs = len(runs_file.read_text(encoding="utf-8").splitlines()) if runs_file.exists() else 0
    return Sample(
        wall_ms=(end - start) * 1000,
        cpu_ms=(usage.ru_utime + usage.ru_stime) * 1000,
        rss_mb=_rss_mb(usage.ru_maxrss),
        first_ms=(posts[0].time - start) * 1000 if posts else float("nan"),
        returncode=code,
        requests=len(posts),
        ok=ok,
        profile_runs=profile_runs if home_mode == "profile" else None,
    )


def _summary(samples: Sequence[Sample]) -> dict[str, float]:
    """Per metric: the median, and its lowest and highest values (`<key>_min`, `<key>_max`)."""
    summary: dict[str, float] = {}
    for key, _, _ in _METRICS:
        values = [getattr(s, key) for s in samples]
        summary.update({key: statistics.median(values), f"{key}_min": min(values), f"{key}_max": max(values)})
    runs = [s.profile_runs for s in samples if s.profile_runs is not None]
    if runs:
        summary["profile_runs"] = statistics.median(runs)
    return summary


def _bench(commands: dict[str, list[str]], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Run every CLI `args.runs` times, taking turns (ours, codex-rs, codex-rs, ours, ...): on a shared machine the
    load changes from minute to minute, and a block of runs per CLI would compare two different machines."""
    wire = WIRES[args.wire]
    home_mode = "profile" if args.profile_cost is not None else "empty" if args.empty_home else "real"

    def once(command: list[str]) -> Sample:
        return run_once(command, args.calls, wire, home_mode=home_mode, profile_cost=args.profile_cost or 0.0,
                        timeout=args.timeout)

    for _ in range(args.warmup):
        for command in commands.values():
            once(command)  # page cache, .pyc files
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    names = list(commands)
    for number in range(args.runs):
        shift = number % len(names)  # who goes first changes run by run: going first or last costs something
        for name in names[shift:] + names[:shift]:
            sample = once(commands[name])
            samples[name].append(sample)
            if args.verbose:
                print(f"  {name} run {number + 1}: {sample}")
    for name, taken in samples.items():
        failed = sum(not s.ok for s in taken)
        if failed:
            print(f"  ! {name}: {failed}/{len(taken)} runs did not finish the script", file=sys.stderr)
    return {name: _summary(taken) for name, taken in samples.items()}


def _print_table(rows: dict[str, dict[str, float]]) -> None:
    width = max(len(name) for name in rows) + 2
    runs = any("profile_runs" in values for values in rows.values())
    print("".join([f"{'':<{width}}", *(f"{title:>18}" for _, title, _ in _METRICS),
                   f"{'profile runs':>14}" if runs else ""]))
    for name, values in rows.items():
        print("".join([f"{name:<{width}}", *(f"{values[key]:>18.1f}" for key, _, _ in _METRICS),
                       f"{values.get('profile_runs', float('nan')):>14.0f}" if runs else ""]))
        spread = (f"{values[key + '_min']:.0f}-{values[key + '_max']:.0f}" for key, _, _ in _METRICS)
        print("".join([f"{'':<{width}}", *(f"{text:>18}" for text in spread)]))


def _print_ratios(ours: dict[str, float], theirs: dict[str, float]) -> None:
    print("\nratios ours / codex-rs (target):")
    for key, title, target in _METRICS:
        ratio = ours[key] / theirs[key] if theirs[key] else float("nan")
        goal = f"≤ {target:.2f}x " + ("met" if ratio <= target else "MISSED") if target is not None else "(no target)"
        print(f"  {title:<18} {ratio:6.2f}x   {goal}")


def _print_before_ratios(ours: dict[str, float], before: dict[str, float]) -> None:
    print("\nratios ours / before:")
    for key, title, _ in _METRICS:
        ratio = ours[key] / before[key] if before[key] else float("nan")
        goal = f"≤ {TARGET_BEFORE_RATIO:.2f}x " + ("met" if ratio <= TARGET_BEFORE_RATIO else "MISSED")
        print(f"  {title:<18} {ratio:6.2f}x   {goal if key == 'first_ms' else ''}".rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_turns.py",
        description="Time `codex exec` with N shell calls against the instant fake model; compare with codex-rs. "
        "Example: python scripts/bench_turns.py --codex-rs ~/bin/codex --runs 5",
    )
    parser.add_argument("--codex-rs", metavar="PATH", help="the codex-rs binary to compare with")
    parser.add_argument(
        "--codex", metavar="CMD", default=shlex.join([sys.executable, str(ROOT / "codex.py")]),
        help="our CLI as a shell-quoted command (default: this Python running codex.py)",
    )
    parser.add_argument("--before", metavar="CMD",
                        help="another build of our CLI to take turns with, as a shell-quoted command run by the same "
                        "Python as --codex (e.g. an older checkout's codex.py)")
    parser.add_argument("--runs", type=int, default=5, metavar="N", help="measured runs per CLI (default: 5)")
    parser.add_argument("--warmup", type=int, default=1, metavar="N", help="unmeasured runs first (default: 1)")
    parser.add_argument("--calls", type=int, default=20, metavar="N", help="shell calls per turn (default: 20)")
    parser.add_argument("--wire", choices=sorted(WIRES), default="responses", help="wire API (default: responses)")
    parser.add_argument("--timeout", type=float, default=300, metavar="S", help="kill a run after S seconds")
    homes = parser.add_mutually_exclusive_group()
    homes.add_argument("--empty-home", action="store_true",
                       help="an empty temp HOME per run, so no login profile runs (default: your HOME)")
    homes.add_argument("--profile-cost", type=float, metavar="S",
                       help="a temp HOME whose .bash_profile sleeps S seconds, exports a variable and defines a "
                       "function (SHELL=bash)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every run")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not hasattr(os, "wait4"):
        parser.error("needs os.wait4 (Linux or macOS) to read the child's CPU time and peak RSS")
    home = (f".bash_profile of {args.profile_cost:g} s" if args.profile_cost is not None
            else "empty HOME" if args.empty_home else f"HOME={os.environ.get('HOME', '')}")
    print(f"{args.calls} shell calls, {args.wire} wire, {home}, median of {args.runs} runs (spread below)")
    commands = {"ours": shlex.split(args.codex)}
    if args.before:
        commands["before"] = shlex.split(args.before)
    if args.codex_rs:
        commands["codex-rs"] = [args.codex_rs]
    rows = _bench(commands, args)
    _print_table(rows)
    if args.before:
        _print_before_ratios(rows["ours"], rows["before"])
    if args.codex_rs:
        _print_ratios(rows["ours"], rows["codex-rs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
