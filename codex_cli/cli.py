"""The argument tree of every subcommand, and dispatch to the chosen handler, imported lazily."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from codex_cli.version import VERSION

__all__ = ["build_parser", "main"]

SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """The options that shape the configuration, shared by `codex` and `codex exec`."""
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "-c", "--config", action="append", default=[], metavar="key=value",
        help="override a config.toml value; the value is parsed as TOML, else taken as a string",
    )
    group.add_argument("--enable", action="append", default=[], metavar="FEATURE", help="turn a feature flag on")
    group.add_argument("--disable", action="append", default=[], metavar="FEATURE", help="turn a feature flag off")
    group.add_argument("--strict-config", action="store_true", help="treat unknown config keys as errors")
    group.add_argument("-p", "--profile", help="use a configuration profile from config.toml")
    group.add_argument("-m", "--model", help="the model to use (e.g. gpt-5.5)")
    group.add_argument("--oss", action="store_true", help="use a local open-source model provider")
    group.add_argument(
        "-s", "--sandbox", choices=SANDBOX_MODES, metavar="MODE",
        help="sandbox for model-run commands: read-only (default), workspace-write, danger-full-access",
    )
    group.add_argument("--full-auto", action="store_true", help=argparse.SUPPRESS)
    group.add_argument(
        "--dangerously-bypass-approvals-and-sandbox", "--yolo", action="store_true",
        help="run every command without sandbox or approval (only inside an isolated environment)",
    )
    group.add_argument("-C", "--cd", metavar="DIR", help="use DIR as the working root")
    group.add_argument(
        "--add-dir", action="append", default=[], metavar="DIR", help="another writable directory (repeatable)"
    )


def _handler(parser: argparse.ArgumentParser, target: str) -> None:
    parser.set_defaults(handler=target)


def _add_exec(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "exec",
        aliases=["e"],
        help="run Codex non-interactively",
        description=(
            "Run one agent turn and print the final message on stdout.\n\n"
            "example: codex exec --sandbox workspace-write \"fix the failing test\""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_options(parser)
    parser.add_argument("prompt", nargs="?", metavar="PROMPT", help="the task; '-' or omitted reads stdin")
    parser.add_argument("--skip-git-repo-check", action="store_true", help="allow running outside a git repository")
    parser.add_argument("--ephemeral", action="store_true", help="do not keep a session file")
    parser.add_argument("--output-schema", metavar="FILE", help="JSON Schema the final answer must follow")
    parser.add_argument("--color", choices=("always", "never", "auto"), default="auto", help="colour on stderr")
    parser.add_argument("--json", "--experimental-json", action="store_true", help="print JSONL events on stdout")
    parser.add_argument(
        "-o", "--output-last-message", metavar="FILE", help="also write the final message to FILE"
    )
    _handler(parser, "codex_cli.exec_cli:main")


def _add_apply_patch(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "apply_patch",
        aliases=["apply-patch"],
        help="apply a patch in the apply_patch format",
        description=(
            "Apply a patch given as an argument or on stdin.\n\n"
            "example: codex apply_patch \"$(cat fix.patch)\""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("patch_args", nargs=argparse.REMAINDER, metavar="PATCH")
    _handler(parser, "codex_cli.cli:_run_apply_patch")


def _add_sandbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    description = (
        "Run a command under the sandbox Codex uses for model commands.\n\n"
        "examples:\n  codex sandbox linux -- sh -c 'echo hi > x'\n"
        "  codex sandbox linux -c 'sandbox_mode=\"workspace-write\"' -- touch x"
    )
    for name, platform in (("sandbox", None), ("debug", "debug")):
        parser = subparsers.add_parser(
            name,
            help="run a command in the sandbox (linux|macos|windows)" if platform is None else "debugging tools",
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("sandbox_args", nargs=argparse.REMAINDER, metavar="PLATFORM [OPTIONS] -- COMMAND")
        _handler(parser, "codex_cli.cli:_run_sandbox")
        parser.set_defaults(sandbox_entry=name)


@functools.lru_cache(maxsize=1)
def build_parser() -> argparse.ArgumentParser:
    """The whole argument tree (stdlib only, no I/O) for parsing, help and completions."""
    parser = argparse.ArgumentParser(
        prog="codex",
        description=(
            "Codex CLI (Python): a coding agent for the terminal.\n\n"
            "example: codex exec \"explain this repository\""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"codex-cli {VERSION}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_exec(subparsers)
    _add_apply_patch(subparsers)
    _add_sandbox(subparsers)
    return parser


def _run_apply_patch(args: argparse.Namespace) -> int:
    from codex_cli import patch_cli

    return patch_cli.main(list(args.patch_args))


def _run_sandbox(args: argparse.Namespace) -> int:
    from codex_cli import sandbox

    return sandbox.sandbox_cli_main(args.sandbox_entry, list(args.sandbox_args))


def _resolve(target: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, attr = target.partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module_name), attr)
    return handler


def _skip_unused_async_backends() -> None:
    """Keep httpcore from importing anyio and trio: the CLI only uses httpx's sync client (saves ~70 ms)."""
    for name in ("anyio", "trio"):
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `codex` command."""
    from codex_cli.errors import CodexError

    _skip_unused_async_backends()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler_path = getattr(args, "handler", None)
    if handler_path is None:
        parser.print_help()
        return 0
    try:
        return _resolve(handler_path)(args)
    except CodexError as exc:
        prefix = "" if exc.message.startswith("Error") else "Error: "
        sys.stderr.write(f"{prefix}{exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"{exc.hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
