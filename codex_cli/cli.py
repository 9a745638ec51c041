"""The `codex` entry point: quick answers (`--version`, `sandbox`), then the argument tree (`cli_parser`) and
dispatch to the chosen handler, imported lazily."""

from __future__ import annotations

import atexit
import functools
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from codex_cli.version import VERSION

if TYPE_CHECKING:
    import argparse

__all__ = ["main"]


def _run_apply_patch(args: argparse.Namespace) -> int:
    from codex_cli import patch_cli

    return patch_cli.main(list(args.patch_args))


def _run_sandbox(args: argparse.Namespace) -> int:
    return _sandbox(args.sandbox_entry, list(args.sandbox_args))


def _sandbox(entry: str, words: list[str]) -> int:
    from codex_cli import sandbox_cli

    return sandbox_cli.sandbox_cli_main(entry, words)


def _run_session_command(args: argparse.Namespace) -> int:
    from codex_cli import rollout
    from codex_cli.config import find_codex_home
    from codex_cli.errors import CodexError

    home = find_codex_home()
    if args.session_command == "archive":
        sys.stdout.write(f"Archived session {rollout.archive_thread(home, args.session)}.\n")
    elif args.session_command == "unarchive":
        sys.stdout.write(f"Unarchived session {rollout.unarchive_thread(home, args.session)}.\n")
    else:
        if not args.force:
            if not sys.stdin.isatty():
                raise CodexError(
                    "Cannot confirm session deletion without an interactive terminal.",
                    "Rerun with --force and a session UUID.",
                )
            sys.stderr.write(f"Permanently delete session {args.session}? [y/N] ")
            sys.stderr.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return 1
        sys.stdout.write(f"Deleted session {rollout.delete_thread(home, args.session)}.\n")
    return 0


def _run_handler(target: str, args: argparse.Namespace) -> int:
    """Import the handler named "module:function" and run it."""
    import importlib

    module_name, _, attr = target.partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module_name), attr)
    return handler(args)


def _skip_unused_imports() -> None:
    """Keep httpcore from importing anyio and trio: the CLI only uses httpx's sync client (saves ~70 ms). Also keep
    httpx from importing its own command line (`httpx._main`: click, pygments and rich when installed, ~10 ms);
    httpx then defines a stub `httpx.main` instead."""
    for name in ("anyio", "trio", "httpx._main"):
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def _end_without_teardown(status: list[int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can reach it
    os._exit(status[0])


def _one_shot_process() -> list[int]:
    """For `codex sandbox` run as a process, which only starts its child and waits: its start-up makes tens of
    thousands of objects that live as long as it does and almost no garbage, so the collector stays off; and once
    main() has returned and the other atexit handlers have run, the process ends without the interpreter's
    teardown (the final collection, clearing every module: ~3 ms). Not for the other commands: they run threads
    and may live long. Returns the list main() puts the exit status in; while it is empty, exit is the usual one.
    """
    gc.disable()
    status: list[int] = []
    # Registered before anything else of this command: atexit runs the handlers last-registered first.
    atexit.register(lambda: _end_without_teardown(status) if status else None)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `codex` command (`argv` None: this process's own arguments, and its exit is tuned)."""
    _skip_unused_imports()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--codex-run-as-confined-job"]:  # codex re-run by itself under a sandbox (macOS)
        from codex_cli.sandbox_cli import confined_job_main

        return confined_job_main(args_list[1:])
    if args_list in (["--version"], ["-V"]):
        # The common probe answers before the whole argument tree (and its modules) is built.
        sys.stdout.write(f"codex-cli {VERSION}\n")
        return 0
    if args_list[:1] == ["help"]:  # `codex help [COMMAND...]`: that command's --help, as clap's help command does
        args_list = [*args_list[1:], "--help"]
    exit_status: list[int] = []
    sandbox_entry = args_list[:1] == ["sandbox"] and args_list[1:2] not in (["-h"], ["--help"])
    if sandbox_entry or (args_list[:1] == ["debug"] and args_list[1:2] in (["landlock"], ["seatbelt"])):
        # The sandbox commands parse their own options, which may come before the platform or `--`.
        # Called directly: even argparse's module is a cost this short-lived command need not pay.
        if argv is None:
            exit_status = _one_shot_process()
        run: Callable[[], int] = functools.partial(_sandbox, args_list[0], args_list[1:])
    else:
        from codex_cli import cli_parser
        from codex_cli.errors import CodexError, report

        parser = cli_parser.exec_parser() if args_list[:1] in (["exec"], ["e"]) else cli_parser.build_parser()
        try:
            args = parser.parse_args(args_list)
        except CodexError as exc:  # a word refused while parsing (a codex-rs command this CLI lacks)
            return report(exc, sys.stderr)
        found: str | None = getattr(args, "handler", None)
        if found is None and getattr(args, "command", None) is None:
            found = "codex_cli.ui.main:main"  # `codex [OPTIONS] [PROMPT]`: the interactive UI
        if found is None:
            parser.print_help()
            return 0
        from codex_cli.logs import start_logging

        start_logging(os.environ, command=found.partition(":")[0])  # the one debug switch: CODEX_LOG (RUST_LOG)
        run = functools.partial(_run_handler, found, args)
    status = _run_reporting_errors(run)
    exit_status.append(status)
    return status


def _run_reporting_errors(run: Callable[[], int]) -> int:
    from codex_cli.errors import CodexError, report

    try:
        return run()
    except CodexError as exc:
        return report(exc, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
