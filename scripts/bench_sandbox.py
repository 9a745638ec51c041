#!/usr/bin/env python3
"""Measure what the sandbox costs: per spawned command, per command of a `codex exec` session, per `codex sandbox`.

Usage: python scripts/bench_sandbox.py [-n RUNS] [--mode read-only|workspace-write] [--calls N]
                                       [--session-runs N] [--cli-runs N] [--codex-rs PATH] [--skip PART ...]

Three parts, each a table of medians (or means) with overheads and ratios. No assertions: a report for people.

- `spawn`: `true` spawned in-process with danger-full-access (plain Popen), with the sandbox prepared once and
  reused (as the tool runner does), and with prepare() + spawn + close() per command.
- `session`: a real `codex exec --json` against the instant fake model (scripts/fake_responses.py) running
  `--calls` commands (`true`) under danger-full-access and under --mode; the per-command cost is the median
  time between consecutive model requests (robust to start-up noise). Target: sandbox overhead <= 10 ms/command.
- `cli`: `codex sandbox linux -- true` against `codex-rs sandbox -- true` (with --codex-rs; e.g.
  /tmp/oracle/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex), next to
  `python -c pass` and `codex --version` so the interpreter's own start-up is visible. Target: <= 1.5x codex-rs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

from codex_cli.sandbox import SandboxPolicy, prepare, probe_capabilities  # noqa: E402

CODEX = [sys.executable, str(ROOT / "codex.py")]
# Variables of the developer's machine that would change what the CLIs do.
_SCRUBBED = (
    "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME", "OPENAI_BASE_URL", "CODEX_CA_CERTIFICATE", "RUST_LOG",
    "CODEX_SANDBOX_TEST_DISABLE", "CODEX_SANDBOX_TEST_PLATFORM",
    "PYTHONDONTWRITEBYTECODE",  # an installed copy has its .pyc files; the warm-up run writes ours
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)
_SESSION_TARGET_MS = 10.0
_CLI_TARGET_RATIO = 1.5


def _mean_ms(runs: int, once: Callable[[], None]) -> float:
    once()  # warm up (imports, probes, page cache)
    start = time.perf_counter()
    for _ in range(runs):
        once()
    return (time.perf_counter() - start) / runs * 1000


def _median_ms(runs: int, commands: dict[str, Sequence[str]], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each command, run in turns (one of each per round), so that a change in the machine's
    load while the benchmark runs weighs on all of them alike. One warm-up round first (it also writes .pyc files).
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs + 1):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            if i:
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def _bench_spawn(runs: int, mode: str, base: Path) -> None:
    true = shutil.which("true") or "/bin/true"
    env = dict(os.environ)
    policy = SandboxPolicy.from_config(mode, base)

    def plain() -> None:
        subprocess.run([true], cwd=base, env=env, check=True)

    reused = prepare(policy, env)
    child_env = {**env, **reused.env_updates}

    def sandboxed() -> None:
        subprocess.run(reused.command([true]), cwd=base, env=child_env, preexec_fn=reused.preexec, check=True)

    def per_command() -> None:
        with prepare(policy, env) as prepared:
            subprocess.run(prepared.command([true]), cwd=base, env=child_env, preexec_fn=prepared.preexec,
                           check=True)

    plain_ms = _mean_ms(runs, plain)
    warm = _mean_ms(runs, sandboxed)
    cold = _mean_ms(runs, per_command)
    reused.close()
    print(f"\n[spawn] `true` in-process, mean of {runs}")
    print(f"  danger-full-access             {plain_ms:7.3f} ms/command")
    print(f"  {mode:<16} (reused)    {warm:7.3f} ms/command  overhead {warm - plain_ms:6.3f} ms  "
          f"ratio {warm / plain_ms:5.2f}")
    print(f"  {mode:<16} (prepare)   {cold:7.3f} ms/command  overhead {cold - plain_ms:6.3f} ms  "
          f"ratio {cold / plain_ms:5.2f}")


def _clean_env(home: Path, user_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    # A HOME of its own keeps a slow login-shell profile from timing every `bash -lc`.
    env.update({"CODEX_HOME": str(home), "HOME": str(user_home), "MOCK_API_KEY": "bench", "PYTHONPATH": str(ROOT)})
    return env


def _write_config(home: Path, base_url: str) -> None:
    (home / "config.toml").write_text(
        'model = "gpt-5.5"\nmodel_provider = "mock"\n\n[model_providers.mock]\nname = "mock"\n'
        f'base_url = "{base_url}"\nenv_key = "MOCK_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n',
        encoding="utf-8",
    )


def _exec_run(calls: int, mode: str, work: Path, env: dict[str, str], home: Path) -> tuple[list[float], float, bool]:
    """One `codex exec` run of `calls` commands: (ms between consecutive model requests, i.e. one command plus
    one instant model turn each; ms from spawn to the first request; whether every command ran and exited 0)."""
    script: list[dict[str, Any]] = [{"output": [exec_call("true", f"c{i}")]} for i in range(calls)]
    script.append({"output": [message("done")]})
    with FakeResponsesServer(script) as server:
        _write_config(home, server.base_url)
        start = time.monotonic()
        proc = subprocess.run([*CODEX, "exec", "--json", "--skip-git-repo-check", "-s", mode, "go"], cwd=work,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        times = [r.time for r in server.requests]
    ok = proc.returncode == 0 and len(times) == calls + 1 and proc.stdout.count(b'"exit_code":0') == calls
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
    return gaps, ((times[0] - start) * 1000 if times else float("nan")), ok


def _bench_session(runs: int, calls: int, mode: str, base: Path) -> None:
    home, user_home, work = base / "codex_home", base / "home", base / "work"
    for d in (home, user_home, work):
        d.mkdir(exist_ok=True)
    env = _clean_env(home, user_home)
    gaps: dict[str, list[float]] = {}
    firsts: dict[str, list[float]] = {}
    failed = False
    for i in range(runs + 1):  # the first round warms up (and writes .pyc files)
        for m in ("danger-full-access", mode):
            run_gaps, first, ok = _exec_run(calls, m, work, env, home)
            failed = failed or not ok
            if i:
                gaps.setdefault(m, []).extend(run_gaps)
                firsts.setdefault(m, []).append(first)
    print(f"\n[session] `codex exec` running {calls} commands (`true`), {runs} runs per mode; per command = median "
          "time between consecutive model requests (the command plus one instant model turn)")
    per = {m: statistics.median(values) for m, values in gaps.items()}
    first = {m: statistics.median(values) for m, values in firsts.items()}
    for m in ("danger-full-access", mode):
        print(f"  {m:<20} {per[m]:6.2f} ms/command   start to first request {first[m]:7.1f} ms")
    overhead = per[mode] - per["danger-full-access"]
    start_cost = first[mode] - first["danger-full-access"]
    print(f"  sandbox overhead {overhead:+.2f} ms/command (target <= {_SESSION_TARGET_MS:.0f}), ratio "
          f"{per[mode] / per['danger-full-access']:.2f}; session start {start_cost:+.1f} ms")
    if failed:
        print("  WARNING: a run did not finish its script or a command failed; numbers are suspect")


def _clean_venv(where: Path) -> Path:
    """A virtualenv of this Python with nothing installed but a path to this checkout: the interpreter start a
    pipx or venv install of codex has, without the .pth hooks the developer's site-packages may hold."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    Path(site_packages, "codex_checkout.pth").write_text(f"{ROOT}\n", encoding="utf-8")
    return python


def _bench_cli(runs: int, codex_rs: Path | None, base: Path) -> None:
    home, user_home = base / "cli_home", base / "cli_user"
    for d in (home, user_home):
        d.mkdir(exist_ok=True)
    env = _clean_env(home, user_home)
    venv_python = _clean_venv(base / "venv")
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("clean venv: python -c pass", [str(venv_python), "-c", "pass"]),
        ("clean venv: codex sandbox linux -- true", [str(venv_python), str(ROOT / "codex.py"), "sandbox", "linux",
                                                     "--", "true"]),
        ("python -S -c pass", [sys.executable, "-S", "-c", "pass"]),
        ("codex --version", [*CODEX, "--version"]),
        ("codex sandbox linux -- true", [*CODEX, "sandbox", "linux", "--", "true"]),
        ("  the same, python -S", [sys.executable, "-S", str(ROOT / "codex.py"), "sandbox", "linux", "--", "true"]),
        ("codex sandbox linux --full-auto -- true", [*CODEX, "sandbox", "linux", "--full-auto", "--", "true"]),
    ]
    if codex_rs is not None:
        rows.append(("codex-rs sandbox -- true", [str(codex_rs), "sandbox", "--", "true"]))
        rows.append(("codex-rs sandbox --full-auto", [str(codex_rs), "sandbox", "-c", 'sandbox_mode="workspace-write"',
                                                      "--", "true"]))
    print(f"\n[cli] one command per process, median of {runs} rounds (each round runs every row once)")
    results = _median_ms(runs, dict(rows), base, env)
    for name, ms in results.items():
        print(f"  {name:<42} {ms:7.1f} ms")
    ours = results["codex sandbox linux -- true"]
    if codex_rs is not None:
        theirs = results["codex-rs sandbox -- true"]
        clean = results["clean venv: codex sandbox linux -- true"]
        print(f"  ratio ours / codex-rs: {ours / theirs:.2f} (target <= {_CLI_TARGET_RATIO}); in a clean virtualenv: "
              f"{clean / theirs:.2f}; without site hooks (python -S): {results['  the same, python -S'] / theirs:.2f}")
        print("  (this interpreter's site-packages may run .pth hooks at every start, e.g. an editable install's "
              "finder; a clean virtualenv, as pipx or `python -m venv` make, has none)")
    print(f"  ours minus `python -c pass`: {ours - results['python -c pass']:.1f} ms; minus `codex --version`: "
          f"{ours - results['codex --version']:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--runs", type=int, default=200, help="spawns per variant in the spawn part")
    parser.add_argument("--mode", default="workspace-write", choices=("read-only", "workspace-write"))
    parser.add_argument("--calls", type=int, default=20, help="commands per `codex exec` session")
    parser.add_argument("--session-runs", type=int, default=5, help="`codex exec` runs per variant")
    parser.add_argument("--cli-runs", type=int, default=20, help="processes per CLI variant")
    parser.add_argument("--codex-rs", type=Path, help="the codex-rs binary to compare `codex sandbox` with")
    parser.add_argument("--skip", action="append", default=[], choices=("spawn", "session", "cli"))
    args = parser.parse_args(argv)
    print(f"machine: {probe_capabilities()}")
    print(f"python: {sys.executable} {sys.version.split()[0]}")
    # Under /var/tmp: /tmp is itself a writable root of workspace-write.
    with tempfile.TemporaryDirectory(dir="/var/tmp" if os.path.isdir("/var/tmp") else None) as tmp:
        base = Path(tmp)
        if "spawn" not in args.skip:
            _bench_spawn(args.runs, args.mode, base)
        if "session" not in args.skip:
            _bench_session(args.session_runs, args.calls, args.mode, base)
        if "cli" not in args.skip:
            _bench_cli(args.cli_runs, args.codex_rs, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
