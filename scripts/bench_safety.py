#!/usr/bin/env python3
"""Measure how long judging one long `exec_command` takes (`safety.assess_command`), now and with the previous scanner.

Usage: python scripts/bench_safety.py [--small BYTES] [--large BYTES] [--check]

For each shape of script (a long word, many words, many lines, substitutions, nested `bash -c`, ...) it prints the
CPU time of one assessment of a `--small` script with the previous scanner (kept in tests/test_safety_scan.py:
quadratic in a word's length, exponential in the nesting) and with the current one (best of 3), their ratio, and
the current time for a `--large` script with its cost per KB. Targets: a 1 MB command of the everyday shapes (long
words, quoted text, here-documents, many lines) in under 100 ms; any 1 MB command in under 2 s.
`--check` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_safety_scan import _reference_dangerous, _reference_loose_segments, _reference_scan  # noqa: E402

from codex_cli import command_safety, safety, shell_parse  # noqa: E402

EVERYDAY_TARGET_S = 0.1
ANY_TARGET_S = 2.0

# name -> (everyday?, a script of about `size` characters)
SHAPES: dict[str, tuple[bool, Callable[[int], str]]] = {
    "one long word": (True, lambda size: "echo " + "a" * size),
    "single-quoted text": (True, lambda size: "echo '" + "a b " * (size // 4) + "'"),
    "double-quoted text": (True, lambda size: 'echo "' + "a b " * (size // 4) + '"'),
    "here-document": (True, lambda size: "cat > f <<'EOF'\n" + "print('hello')\n" * (size // 15) + "EOF\n"),
    "many lines": (True, lambda size: "".join(f"cp src/{n}.txt dst/{n}.txt\n" for n in range(size // 30))),
    "many words": (False, lambda size: "echo " + "a " * (size // 2)),
    "variables": (False, lambda size: "echo " + "$a" * (size // 2)),
    "backticks": (False, lambda size: "echo " + "`a`" * (size // 3)),
    "substitutions": (False, lambda size: "echo " + "$(a)" * (size // 4)),
    "unclosed substitutions": (False, lambda size: "echo " + "$(" * (size // 2)),
    "operators": (False, lambda size: "a&&" * (size // 3) + "a"),
    "assignments": (False, lambda size: "a=1 " * (size // 4) + "rm -f x"),
    "nested bash -c (6 deep)": (False, lambda size: "$(bash -c " * 6 + "a " * (size // 2) + ")" * 6),
}


def _assess(script: str, runs: int = 1) -> float:
    """CPU seconds of one assessment, as `exec_command` asks for it (the best of `runs`)."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        safety.assess_command(["/bin/bash", "-lc", script], policy="untrusted", sandbox_mode="workspace-write",
                              escalation_requested=False, justification=None)
        best = min(best, time.process_time() - started)
    return best


@contextmanager
def _previous_scanner() -> Iterator[None]:
    """`safety` with the scanner and dangerous-command walk it had before (the rest of the decision is shared)."""
    saved = shell_parse._scan, shell_parse.loose_segments, command_safety.any_dangerous
    shell_parse._scan = _reference_scan  # type: ignore[assignment]
    shell_parse.loose_segments = lambda cmd, scripts, depth=0: _reference_loose_segments(cmd, depth)  # type: ignore[assignment]
    command_safety.any_dangerous = lambda commands, scripts: any(_reference_dangerous(c, 0) for c in commands)  # type: ignore[assignment]
    try:
        yield
    finally:
        shell_parse._scan, shell_parse.loose_segments, command_safety.any_dangerous = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=30_000, help="script size compared with the previous scanner")
    parser.add_argument("--large", type=int, default=1_000_000, help="script size timed with the current scanner")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; CPU seconds of one assess_command")
    print(f"{'shape':<26} {'previous':>10} {'now':>10} {'ratio':>8}   {'now, large':>10} {'per KB':>9}")
    missed: list[str] = []
    for name, (everyday, make) in SHAPES.items():
        small, large = make(args.small), make(args.large)
        with _previous_scanner():
            before = _assess(small)
        now, big = _assess(small, runs=3), _assess(large, runs=3)
        print(f"{name:<26} {before * 1000:8.1f}ms {now * 1000:8.2f}ms {before / max(now, 1e-6):7.0f}x   "
              f"{big * 1000:8.1f}ms {big * 1e6 / (len(large) / 1000):7.1f}us")
        target = EVERYDAY_TARGET_S if everyday else ANY_TARGET_S
        if len(large) >= 1_000_000 and big > target:
            missed.append(f"{name}: {big:.3f} s for {len(large):,} characters (target {target} s)")
    print(f"\n({args.small:,}-character scripts in the first columns, {args.large:,} in the last two)")
    for line in missed:
        print(f"MISSED {line}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
