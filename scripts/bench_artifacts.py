#!/usr/bin/env python3
"""Size and `--version` start-up of the release artifacts, as a ratio to `python -I -c pass`.

    python scripts/bench_artifacts.py [--binary dist/codex] [--zipapp dist/codex.pyz]
                                      [--codex-rs PATH] [--python PY] [-n RUNS] [--check]

Two baselines are timed: `python -I -c pass` with --python as it is (default: this interpreter,
site-packages and .pth files included) and the same in a throw-away virtualenv without pip made
from it ("bare": nothing but the interpreter starts). The zipapp runs on the bare one, the way a
user without packages runs it. Runs are interleaved and medians reported. Targets (issue 9):
binary <= 15 MB, zipapp <= 2 MB, zipapp --version <= 3x and binary --version <= 10x
`python -I -c pass`, and (issue 20) binary --version <= 60 ms; --check exits 1 when one is missed.
The Linux binary unpacks itself on its first run (build/launcher.py): the table times later runs, and a
"first run" line times runs that each start with an empty cache folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
# name -> (size limit in bytes, start-up ratio limit)
TARGETS = {"binary": (15 * MB, 10.0), "zipapp": (2 * MB, 3.0)}
MS_TARGETS = {"binary": 60.0}  # absolute start-up goals, on the 2-core development machine
FIRST_RUNS = 5


def _bare_python(python: str, where: Path) -> str:
    subprocess.run([python, "-m", "venv", "--without-pip", str(where)], check=True)
    return str(where / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


def _clean_env() -> dict[str, str]:
    keep = ("SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "HOME", "USERPROFILE")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PATH"] = os.pathsep.join(("/usr/bin", "/bin")) if os.name != "nt" else os.environ.get("PATH", "")
    return env


def _time(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command in milliseconds; the commands take turns."""
    env = _clean_env()
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the page cache; fail early on a broken artifact
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, env=env)
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def _first_run(binary: Path, scratch: Path) -> float | None:
    """Median wall time of `--version` when the binary must unpack itself first (a launcher); None otherwise."""
    with binary.open("rb") as fh:
        if not fh.read(16).startswith(b"#!/bin/sh"):
            return None
    samples = []
    for number in range(FIRST_RUNS):
        env = dict(_clean_env(), XDG_CACHE_HOME=str(scratch / f"cache-{number}"))
        start = time.perf_counter()
        subprocess.run([str(binary), "--version"], check=True, stdout=subprocess.DEVNULL, env=env)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_artifacts.py", description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=ROOT / "dist" / ("codex.exe" if os.name == "nt" else "codex"))
    parser.add_argument("--zipapp", type=Path, default=ROOT / "dist" / "codex.pyz")
    parser.add_argument("--codex-rs", type=Path, help="a codex-rs binary to measure the same way")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the zipapp and the baseline")
    parser.add_argument("-n", "--runs", type=int, default=30)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        python = _bare_python(args.python, Path(scratch) / "venv")
        commands = {"baseline": [args.python, "-I", "-c", "pass"], "bare": [python, "-I", "-c", "pass"]}
        artifacts = {"binary": args.binary, "zipapp": args.zipapp, "codex-rs": args.codex_rs}
        for name, path in artifacts.items():
            if path is None:
                continue
            if not path.is_file():
                print(f"{name}: {path} not found, skipped (build it first)", file=sys.stderr)
                continue
            commands[name] = [python, "-I", str(path), "--version"] if name == "zipapp" else [str(path), "--version"]
        medians = _time(commands, args.runs)
        first = _first_run(args.binary, Path(scratch)) if "binary" in commands else None
    baseline, bare = medians["baseline"], medians["bare"]
    print(f"baseline: {args.python} -I -c pass: {baseline:.1f} ms; bare venv: {bare:.1f} ms (medians of {args.runs})")
    print(f"{'artifact':<10} {'size':>9} {'--version':>10} {'ratio':>7} {'vs bare':>8}  target")
    missed = []
    for name, path in artifacts.items():
        if name not in medians or path is None:
            continue
        size, ratio = path.stat().st_size, medians[name] / baseline
        target = ""
        if name in TARGETS:
            size_limit, ratio_limit = TARGETS[name]
            ms_limit = MS_TARGETS.get(name)
            ok = size <= size_limit and ratio <= ratio_limit and (ms_limit is None or medians[name] <= ms_limit)
            target = f"<= {size_limit / MB:.0f} MB, <= {ratio_limit:.0f}x"
            target += f", <= {ms_limit:.0f} ms" if ms_limit is not None else ""
            target += f": {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(name)
        print(
            f"{name:<10} {size / MB:>6.2f} MB {medians[name]:>7.1f} ms {ratio:>6.1f}x "
            f"{medians[name] / bare:>7.1f}x  {target}"
        )
    if first is not None:
        print(f"binary first run (unpacks into an empty cache): {first:.0f} ms (median of {FIRST_RUNS})")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
