"""`codex` with no subcommand (and `codex resume|fork`): the arguments, the thread to continue, and the line UI's
app with its slash commands and approval questions plugged in.

This entry module is the one that imports the app (`line_ui`) together with what it plugs into it
(`slash_commands`, `approval_view`), so that those two may name the app without an import cycle.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from codex_cli.errors import CodexError

if TYPE_CHECKING:
    from codex_cli.bootstrap import ThreadStart
    from codex_cli.config import Config
    from codex_cli.ui.line_ui import AppParts, LineApp

__all__ = ["main"]


def main(args: argparse.Namespace) -> int:
    """Run the interactive UI (`codex [PROMPT]`, `codex resume …`, `codex fork …`); returns the exit code."""
    from codex_cli.cli_parser import cli_overrides
    from codex_cli.config import load_config
    from codex_cli.ui.line_ui import LineApp

    if not sys.stdin.isatty():
        raise CodexError("stdin is not a terminal", "Use `codex exec` for non-interactive runs.")
    overrides = cli_overrides(args)
    config = load_config(overrides)
    _exit_on_hangup()
    app = LineApp(config, overrides, parts=_parts(),
                  bypass_hook_trust=bool(getattr(args, "dangerously_bypass_hook_trust", False)))
    with app.terminal_session():
        app.ask_trust()
        chosen = _thread_start(args, app.config, app)
        if chosen is None:
            return 1
        start, source = chosen
        return app.run(start, source, getattr(args, "prompt", None))


def _parts() -> AppParts:
    from codex_cli.ui import approval_view, slash_commands
    from codex_cli.ui.line_ui import AppParts

    return AppParts(commands=slash_commands.command_names(), dispatch=slash_commands.dispatch,
                    replay=slash_commands.replay, review_hooks=slash_commands.review_hooks,
                    approval_details=approval_view.approval_details, ask_approval=approval_view.ask_approval)


def _exit_on_hangup() -> None:
    """A closed terminal or a kill ends the run through the normal cleanup (sandbox placeholders, processes)."""
    import signal

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for name in ("SIGHUP", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, leave)


def _thread_start(args: argparse.Namespace, config: Config, app: LineApp) \
        -> tuple[ThreadStart | None, str] | None:
    """(None, "startup") for a new thread, or the thread of `codex resume|fork [--last|ID]` (a numbered picker
    when neither is given); None when there is none to continue."""
    from codex_cli.thread import ThreadNotFound, ThreadRef, thread_start
    from codex_cli.ui.slash_commands import pick_thread

    command = getattr(args, "ui_command", None)
    if command not in ("resume", "fork"):
        return None, "startup"  # a new thread: built behind the prompt
    name = getattr(args, "session_id", None)
    if getattr(args, "last", False) and name is not None and getattr(args, "prompt", None) is None:
        args.prompt, name = name, None  # `resume --last PROMPT`: the one positional is the prompt
    cwd_filter = None if getattr(args, "all", False) else config.cwd
    with_exec = bool(getattr(args, "include_non_interactive", False))
    if getattr(args, "last", False) or name is not None:
        ref = ThreadRef(name=name, last=bool(getattr(args, "last", False)), cwd=cwd_filter,
                        model_provider=config.model_provider_id, interactive_only=not with_exec)
    else:
        picked = pick_thread(app, cwd_filter, include_exec=with_exec)
        if picked is None:
            return None
        ref = ThreadRef(path=picked)
    try:
        return thread_start(config.codex_home, ref, fork=command == "fork", source="cli"), command
    except ThreadNotFound:
        sys.stderr.write(f"ERROR: No saved session found with ID {name or '--last'}. Run `codex {command}` without "
                         "an ID to choose from existing sessions.\n")
        return None
