"""`codex sandbox linux|macos|windows [...] -- CMD` and `codex debug landlock|seatbelt`: one command run under the
sandbox that config selects, with the person's own terminal."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from codex_cli import sandbox, sandbox_linux
from codex_cli.errors import UsageError
from codex_cli.sandbox import SandboxPolicy, host_platform, prepare, start_probing

__all__ = ["confined_job_main", "run_sandboxed_command", "sandbox_cli_main", "sandbox_command_main"]

_READ_ONLY_HINT = (
    "codex sandbox: the command failed in the read-only sandbox, where every write is refused; if it needed "
    "to write, pass -c 'sandbox_mode=\"workspace-write\"' to allow writes in the current directory"
)



def run_sandboxed_command(policy: SandboxPolicy, argv: list[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run `argv` under `policy` with inherited stdio; its exit status (128+N when killed by signal N),
    or 101 (1 unsandboxed) when it cannot be executed. Warnings and errors go to stderr."""
    if not argv:
        _say("Error: sandbox command must not be empty")
        return 1
    with prepare(policy, env) as prepared:
        for warning in prepared.warnings:
            _say(f"codex sandbox: warning: {warning}")
        try:
            pid = _spawn(prepared.command(argv), cwd, {**env, **prepared.env_updates}, prepared.preexec)
        except OSError as exc:
            _say(f"codex sandbox: failed to execute {argv[0]}: {exc.strerror or exc}")
            return 1 if policy.mode == "danger-full-access" else sandbox_linux.SETUP_FAILED_EXIT
        return _wait(pid)


def _spawn(argv: list[str], cwd: Path, env: Mapping[str, str], preexec: Callable[[], None] | None) -> int:
    """Fork, confine the child with `preexec` and exec `argv` in it with our stdio; the child's pid, or OSError
    when it cannot be executed. What `subprocess.Popen(preexec_fn=...)` does for the session's commands, by hand
    here: `subprocess` and what it imports are ~3 ms of this one-shot command's start (scripts/bench_sandbox.py).
    """
    if sys.platform == "win32":  # nothing forks there: `codex sandbox windows` runs nothing (sandbox_command_main)
        raise OSError(errno.ENOSYS, "no fork on Windows")
    report_read, report_write = os.pipe()  # close-on-exec: the parent reads EOF once the exec succeeded
    pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into the parent's code
        errno_text = b"0"
        try:
            os.close(report_read)
            for name in ("SIGPIPE", "SIGXFSZ"):  # the interpreter ignores them; the command expects the default
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            os.chdir(cwd)
            if preexec is not None:
                preexec()  # exits the child itself when it cannot confine it
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            errno_text = str(exc.errno or 0).encode()
        finally:
            os.write(report_write, errno_text)
            os._exit(sandbox_linux.SETUP_FAILED_EXIT)
    os.close(report_write)
    with open(report_read, "rb") as report:
        failure = report.read()
    if failure:
        os.waitpid(pid, 0)
        code = int(failure)
        raise OSError(code, os.strerror(code) if code else "the child failed before exec")
    return pid


def _wait(pid: int) -> int:
    # Like a shell: Ctrl-C and Ctrl-\ are for the command, which decides what they mean. SIGTERM and SIGHUP
    # sent to us are passed on, as if we were the command (codex-rs execs it); the sandbox closes after it.
    reaped = False

    def forward(signum: int, frame: object) -> None:
        if not reaped:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # reaped just now

    handlers: list[tuple[int, Callable[[int, object], None] | int]] = [(signal.SIGINT, signal.SIG_IGN)]
    for name, handler in (("SIGQUIT", signal.SIG_IGN), ("SIGTERM", forward), ("SIGHUP", forward)):
        number = getattr(signal, name, None)
        if number is not None:
            handlers.append((number, handler))
    main = threading.current_thread() is threading.main_thread()
    saved = [(s, signal.signal(s, h)) for s, h in handlers] if main else []
    try:
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        for sig, previous in saved:
            signal.signal(sig, previous)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _say(line: str) -> None:
    # `codex sandbox` is a front end: its diagnostics go straight to the terminal.
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_ENTRY_PLATFORMS = {"sandbox": ("linux", "macos", "windows"), "debug": ("landlock", "seatbelt")}
_HOST_SANDBOX = {"linux": "linux", "darwin": "macos", "win32": "windows"}


def sandbox_cli_main(entry: str, args: list[str]) -> int:
    """`codex sandbox [PLATFORM] ...` (entry `sandbox`; without a platform, as in codex-rs 0.169, the host's)
    or `codex debug landlock|seatbelt ...` (entry `debug`)."""
    choices = _ENTRY_PLATFORMS.get(entry, _ENTRY_PLATFORMS["sandbox"])
    if entry == "sandbox" and args and args[0].startswith("-"):
        args = [_HOST_SANDBOX.get(host_platform(), host_platform()), *args]
    if not args or args[0] not in choices:
        got = f" '{args[0]}'" if args else ""
        raise UsageError(f"codex {entry} needs a platform{got}: one of {', '.join(choices)}",
                         f"Example: codex {entry} {choices[0]} -- ls")
    prog = f"codex {entry} {args[0]}"
    full_auto = log_denials = False
    overrides: list[str] = []
    rest = list(args[1:])
    while rest and rest[0].startswith("-") and rest[0] != "--":
        word = rest.pop(0)
        if word in ("-h", "--help"):
            sys.stdout.write(_SANDBOX_HELP.format(prog=prog))
            return 0
        if word == "--full-auto":
            full_auto = True
        elif word == "--log-denials":
            log_denials = True
        elif word in ("-c", "--config"):
            if not rest:
                raise UsageError(f"{prog}: {word} needs a value (key=value)", _SANDBOX_USAGE.format(prog=prog))
            overrides.append(rest.pop(0))
        elif word.startswith("--config="):
            overrides.append(word.removeprefix("--config="))
        elif word.startswith("-c") and not word.startswith("--"):
            overrides.append(word[2:])  # `-ckey=value`, as argparse takes it
        else:
            raise UsageError(f"{prog}: unknown option {word}", _SANDBOX_USAGE.format(prog=prog))
    return sandbox_command_main(args[0], rest, config_overrides=overrides, full_auto=full_auto,
                                log_denials=log_denials)


# Parsed by hand rather than with argparse, whose help formatter alone imports shutil, bz2 and lzma: this command
# wraps a single process, and its start-up is the cost it adds (see scripts/bench_sandbox.py).
_SANDBOX_USAGE = "usage: {prog} [--full-auto] [-c key=value]... [--log-denials] [--] COMMAND [ARG...]"
_SANDBOX_HELP = _SANDBOX_USAGE + """

Run COMMAND under the sandbox policy from config (read-only unless config or an option says otherwise).

options:
  -h, --help              show this help and exit
  --full-auto             workspace-write instead of read-only
  -c, --config key=value  override a config.toml value (repeatable)
  --log-denials           macOS: log sandbox denials (not supported)
"""


def sandbox_command_main(platform: str, argv: list[str], *, config_overrides: list[str], full_auto: bool,
                         log_denials: bool) -> int:
    """Run `argv` under the sandbox that config (or `--full-auto`: workspace-write) selects; the exit status."""
    target = {"landlock": "linux", "seatbelt": "macos"}.get(platform, platform)
    if target == "windows":
        _say("codex sandbox windows: Windows has no OS-level sandbox in this implementation, so nothing was run; "
             "use WSL 2 and `codex sandbox linux`, or run the command yourself.")
        return 1
    host = _HOST_SANDBOX.get(host_platform(), host_platform())
    if target != host:
        _say(f"codex sandbox {platform}: this sandbox needs {target}, but this machine runs {host}")
        return 1
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        _say("Error: sandbox command must not be empty")
        return 1
    start_probing()  # forked namespace probes run while the config is read
    from codex_cli.config import CliOverrides, load_config

    config = load_config(CliOverrides(config_overrides=tuple(config_overrides),
                                      sandbox_mode="workspace-write" if full_auto else None))
    swr = config.sandbox_workspace_write
    policy = SandboxPolicy.from_config(
        config.sandbox_mode, config.cwd, writable_roots=swr.writable_roots, network_access=swr.network_access,
        exclude_tmpdir_env_var=swr.exclude_tmpdir_env_var, exclude_slash_tmp=swr.exclude_slash_tmp,
        add_dirs=config.add_dirs, codex_home=config.codex_home,
    )
    if log_denials:
        _say("codex sandbox: warning: --log-denials is not supported; denials show as the command's own errors")
    status = run_sandboxed_command(policy, argv, config.cwd, os.environ)
    # Not after a signal, a command that could not be found or run, or a failed sandbox setup: those have
    # their own causes (and messages), which a write refused does not explain.
    if 0 < status < 126 and status != sandbox_linux.SETUP_FAILED_EXIT and policy.mode == "read-only":
        _say(_READ_ONLY_HINT)
    return status


def confined_job_main(args: Sequence[str]) -> int:
    """`codex --codex-run-as-confined-job JOB`: the re-executed side of `PreparedSandbox.run_confined`, already
    under the sandbox. The payload is read from stdin, the job's output written to stdout; exit 1 on failure."""
    if len(args) != 1 or args[0] not in sandbox.CONFINED_JOBS:
        jobs = ",".join(sandbox.CONFINED_JOBS)
        _say(f"usage: codex {sandbox.CONFINED_JOB_FLAG} {{{jobs}}} < PAYLOAD (for codex's own use)")
        return 2
    try:
        output = sandbox.confined_job(args[0])(sys.stdin.buffer.read())
    except Exception as exc:
        _say(f"{type(exc).__name__}: {exc}")
        return 1
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0
