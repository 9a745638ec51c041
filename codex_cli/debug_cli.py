"""`codex debug`: `models` (the built-in model family table as JSON), `prompt-input` (a new thread's first input
list as JSON) and the sandbox checks `landlock` and `seatbelt`.

codex-rs 0.169 has `models` and `prompt-input` (plus `app-server`, which this implementation lacks). Its
`models` prints the model catalog it fetched or bundled; this implementation has no catalog, only the
family table of `model_family` that shapes its requests, which `models` prints in its own shape. `prompt-input`
builds the input the first request of `codex "PROMPT"` would send (`bootstrap.prompt_input`) without any
credentials, model request or session file. `landlock` and `seatbelt` are answered by
`sandbox_cli.sandbox_cli_main` (`cli.main` sends them there before this parser is built). `register()` adds the
commands to the `codex` parser; `main()` is their handler.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main", "models_document", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `debug` and its subcommands to the `codex` parser."""
    from codex_cli.cli_parser import add_override_options

    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "debug",
        help="debugging tools: the model table, the first request's input, the sandbox",
        description="Debugging tools.\n\nexample: codex debug prompt-input \"explain this repository\"",
        formatter_class=raw,
    )
    commands = parser.add_subparsers(dest="debug_command", metavar="COMMAND", required=True)
    models = commands.add_parser(
        "models",
        help="print the built-in model family table as JSON",
        description=(
            "Print the model families this program knows as JSON: for each slug prefix its context window and "
            "which reasoning, summary, verbosity and tool_search fields its requests carry; `fallback` is what "
            "any other model gets.\n\nexample: codex debug models"
        ),
        formatter_class=raw,
    )
    models.add_argument("--bundled", action="store_true",
                        help="accepted as codex-rs has it: the table is always the one built into this program")
    prompt = commands.add_parser(
        "prompt-input",
        help="print the input list of a new session's first request as JSON",
        description=(
            "Print the input list that the first request of a new interactive session would send (instructions, "
            "permissions, AGENTS.md, environment context, then PROMPT) as JSON. Nothing is sent.\n\n"
            "example: codex debug prompt-input \"explain this repository\""
        ),
        formatter_class=raw,
    )
    prompt.add_argument("prompt", nargs="?", metavar="PROMPT", help="a user message to add after the context")
    prompt.add_argument("-i", "--image", action="append", default=[], metavar="FILE",
                        help="attach an image to PROMPT (repeatable, or comma-separated)")
    add_override_options(prompt)
    for name, platform in (("landlock", "Linux"), ("seatbelt", "macOS")):
        check = commands.add_parser(
            name,
            help=f"run a command under the {platform} sandbox (as `codex sandbox`)",
            description=f"Run a command under the {platform} sandbox; `codex debug {name} --help` has the options.",
            formatter_class=raw,
        )
        check.add_argument("sandbox_args", nargs=argparse.REMAINDER, metavar="[OPTIONS] -- COMMAND")
    parser.set_defaults(handler="codex_cli.debug_cli:main")


def models_document() -> dict[str, object]:
    """`codex debug models`' JSON: the family table, longest prefix first as it is matched, and the fallback."""
    from codex_cli.model_family import FALLBACK, FAMILIES, ModelFamily

    def entry(family: ModelFamily) -> dict[str, object]:
        return {
            "prefix": family.prefix,
            "context_window": family.context_window,
            "supports_reasoning": family.supports_reasoning,
            "default_reasoning_effort": family.default_reasoning_effort,
            "supports_reasoning_summaries": family.supports_reasoning_summaries,
            "default_reasoning_summary": family.default_reasoning_summary,
            "supports_verbosity": family.supports_verbosity,
            "default_verbosity": family.default_verbosity,
            "supports_search_tool": family.supports_search_tool,
        }

    ordered = sorted(FAMILIES, key=lambda family: len(family.prefix), reverse=True)
    fallback = entry(FALLBACK)
    del fallback["prefix"]
    return {"models": [entry(family) for family in ordered], "fallback": fallback}


def main(args: argparse.Namespace) -> int:
    """Run `codex debug ...`; returns the exit code."""
    import json

    command = args.debug_command
    if command in ("landlock", "seatbelt"):
        from codex_cli.sandbox_cli import sandbox_cli_main

        return sandbox_cli_main("debug", [command, *args.sandbox_args])
    if command == "models":
        sys.stdout.write(json.dumps(models_document(), indent=2) + "\n")
        return 0
    from codex_cli.bootstrap import prompt_input
    from codex_cli.config import CliOverrides, load_config
    from codex_cli.exec_cli import user_message

    config = load_config(CliOverrides(config_overrides=tuple(args.config), enable=tuple(args.enable),
                                      disable=tuple(args.disable)))
    wanted = args.prompt is not None or args.image
    items, warnings = prompt_input(config, [user_message(args.prompt or "", args)] if wanted else [])
    for warning in [*config.warnings, *warnings]:
        sys.stderr.write(f"warning: {warning}\n")
    sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
    return 0
