"""The argument tree of every subcommand: `build_parser()` for a whole command line, `exec_parser()` for one that
starts with `exec`. Each leaf names its handler as "module:function", which `cli.main` imports only when chosen."""

from __future__ import annotations

import argparse
import functools
import importlib
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING

from codex_cli.errors import CodexError, UsageError
from codex_cli.version import VERSION

if TYPE_CHECKING:
    from codex_cli.config import CliOverrides

__all__ = ["CODEX_RS_ONLY_COMMANDS", "add_override_options", "build_parser", "cli_overrides", "exec_parser"]

# `protocol.SANDBOX_MODES` and `protocol.APPROVAL_POLICIES`, spelled out so that `--help` does not load the event
# stream (tests/test_config.py keeps them equal).
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")

# codex-rs 0.169's commands that this implementation does not have (those its `--help` lists, `a` for apply, and
# two hidden internal ones), each with the name it is shown as. Without this table `codex cloud` started the line
# UI with "cloud" as its prompt.
CODEX_RS_ONLY_COMMANDS: Mapping[str, str] = {
    **{name: name for name in ("agents", "app-server", "apply", "cloud", "exec-server", "migrate-nfs-db",
                               "migrate-rollouts", "plugin", "queue", "remote-control", "responses-api-proxy",
                               "stdio-to-uds")},
    "a": "apply",
}


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
        "--local-provider", choices=("lmstudio", "ollama"), metavar="PROVIDER",
        help="the local provider --oss uses: lmstudio or ollama (default: oss_provider, else ollama)",
    )
    group.add_argument("--search", action="store_true", help="let the model search the live web (web_search tool)")
    group.add_argument(
        "-i", "--image", action="append", default=[], metavar="FILE",
        help="attach an image to the prompt (repeatable, or comma-separated; PNG, JPEG, GIF or WebP)",
    )
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
    group.add_argument(
        "--dangerously-bypass-hook-trust", action="store_true",
        help="run every enabled lifecycle hook, even untrusted ones, for this invocation",
    )


APPROVAL_POLICIES = ("untrusted", "on-failure", "on-request", "never")


def _add_interactive_options(parser: argparse.ArgumentParser) -> None:
    """The options of the interactive UI (`codex`, `codex resume`, `codex fork`)."""
    _add_config_options(parser)
    parser.add_argument(
        "-a", "--ask-for-approval", choices=APPROVAL_POLICIES, metavar="POLICY",
        help="when to ask before running a command: untrusted, on-failure, on-request (default), never",
    )


def _add_ui_thread_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`codex resume|fork [--last|ID] [PROMPT]`: continue (or copy) a recorded session in the interactive UI."""
    for name, text in (
        ("resume", "resume an interactive session (a numbered list to pick from by default, or --last)"),
        ("fork", "fork a previous interactive session into a new one and continue there"),
    ):
        parser = subparsers.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}.\n\nexample: codex {name} --last \"now add tests\"",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_interactive_options(parser)
        parser.add_argument("--last", action="store_true", help="the most recent session in this directory")
        parser.add_argument("--all", action="store_true", help="list or search sessions of every directory")
        parser.add_argument("--include-non-interactive", action="store_true",
                            help="also offer `codex exec` sessions (in the list and for --last)")
        parser.add_argument("session_id", nargs="?", metavar="SESSION_ID", help="session id (UUID) or name")
        parser.add_argument("prompt", nargs="?", metavar="PROMPT", help="the first message to send")
        _handler(parser, "codex_cli.ui.main:main")
        parser.set_defaults(ui_command=name)


def cli_overrides(args: argparse.Namespace, *, approval_policy: str | None = None) -> CliOverrides:
    """What a command line says about the configuration, for every command that runs threads (`codex`, `exec`,
    `mcp-server`; options a command lacks count as not given). `approval_policy` is the command's own (exec asks
    nobody), else `-a`."""
    from pathlib import Path

    from codex_cli.config import CliOverrides

    sandbox = getattr(args, "sandbox", None)
    approve_for_me = bool(getattr(args, "approve_for_me", False))
    if (getattr(args, "full_auto", False) or approve_for_me) and sandbox is None:
        sandbox = "workspace-write"
    directory = getattr(args, "cd", None)
    cwd = Path(directory).expanduser() if directory else None
    if cwd is not None and not cwd.is_dir():
        raise CodexError(f"Cannot use -C {directory}: no such directory.", "Pass an existing directory to -C/--cd.")
    local_provider = getattr(args, "local_provider", None)
    search = ('web_search="live"',) if getattr(args, "search", False) else ()
    return CliOverrides(
        config_overrides=(*args.config, *search),
        enable=tuple(args.enable),
        disable=tuple(args.disable),
        profile=getattr(args, "profile", None),
        model=getattr(args, "model", None),
        sandbox_mode=sandbox,
        approval_policy=approval_policy or getattr(args, "ask_for_approval", None),
        cwd=cwd.resolve() if cwd is not None else None,
        strict_config=bool(getattr(args, "strict_config", False)),
        bypass_approvals_and_sandbox=bool(getattr(args, "dangerously_bypass_approvals_and_sandbox", False)),
        add_dirs=tuple(Path(d).expanduser().resolve() for d in getattr(args, "add_dir", ())),
        oss=bool(getattr(args, "oss", False)) or local_provider is not None,
        model_provider=local_provider,
        ignore_user_config=bool(getattr(args, "ignore_user_config", False)),
        ignore_rules=bool(getattr(args, "ignore_rules", False)),
    )


def _handler(parser: argparse.ArgumentParser, target: str) -> None:
    parser.set_defaults(handler=target)


class _AnyName(dict):  # type: ignore[type-arg]
    """The command table of `_ExecCommands`: once sealed, every word passes argparse's choice check (a word that is
    not a command is the prompt)."""

    sealed = False

    def __contains__(self, key: object) -> bool:
        return self.sealed or super().__contains__(key)


class _ExecCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """`codex exec [OPTIONS] [PROMPT]` or `codex exec [OPTIONS] resume|fork ...`.

    argparse hands the first positional and everything after it to this action. A command name parses the rest with
    that command's parser, merging into the options given before it (which apply too, exec.md §1); anything else is
    the prompt, and the rest is parsed again as exec options."""

    unavailable: Mapping[str, str] = {}  # names refused outright (the root's CODEX_RS_ONLY_COMMANDS)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._name_parser_map = self.choices = _AnyName()

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        args = [str(v) for v in values] if isinstance(values, list) else [str(values)]
        name, rest = args[0], args[1:]
        if name == "--":  # everything after it is the prompt, even a command name or a leading dash
            if len(rest) != 1:
                parser.error("expected exactly one prompt after --")
            namespace.prompt = rest[0]
            return
        subparser = self._name_parser_map.get(name)
        if subparser is None and name in self.unavailable:
            raise UsageError(f"`codex {self.unavailable[name]}` is not available in this implementation.",
                             f"`codex --help` lists the commands it has; `codex -- {name}` sends {name!r} as a prompt.")
        if subparser is None:
            _, extras = parser.parse_known_args(rest, namespace)  # options after the prompt
            if getattr(namespace, "prompt", None) is not None or getattr(namespace, self.dest, None) is not None:
                extras = rest  # a second positional
            if extras:
                parser.error(f"unrecognized arguments: {' '.join(extras)}")
            namespace.prompt = name
            return
        _refuse_misplaced_options(parser, subparser, name, rest)
        setattr(namespace, self.dest, name)
        sub, extras = subparser.parse_known_args(rest, None)
        if extras:
            subparser.error(f"unrecognized arguments: {' '.join(extras)}")
        for key, value in vars(sub).items():
            before = getattr(namespace, key, None)
            if isinstance(value, list) and isinstance(before, list):
                setattr(namespace, key, [*before, *value])
            elif value not in (None, False, []) or not hasattr(namespace, key):
                setattr(namespace, key, value)


_EXEC_HANDLER = "codex_cli.exec_cli:main"


def _refuse_misplaced_options(parent: argparse.ArgumentParser, command: argparse.ArgumentParser, name: str,
                              words: list[str]) -> None:
    """Raise UsageError for an option of `parent` that `command` lacks among `words` (the command's arguments):
    `codex exec -a never "hi"` otherwise ends on "unrecognized arguments: hi", naming the wrong word. Only for
    `exec`, `review` and exec's own commands: others pass words on untouched (`codex mcp add NAME CMD -m x`)."""
    if _EXEC_HANDLER not in (parent.get_default("handler"), command.get_default("handler")):
        return
    for word in words:
        if word == "--":
            return
        if not word.startswith("-") or word == "-":
            continue
        # --name=value, -xVALUE: the option is the part before '=', or a short option's two characters.
        option = word.split("=", 1)[0] if word.startswith("--") else word[:2]
        action = parent._option_string_actions.get(option)
        if action is None or option in command._option_string_actions:
            continue
        hint = None
        if action.dest == "ask_for_approval":
            hint = (f"`{command.prog}` asks nobody for approval: its policy is always never (--approve-for-me lets a "
                    "reviewer model answer instead).")
        raise UsageError(
            f"unexpected argument '{word}' for `{command.prog}`: {'/'.join(action.option_strings)} is an option of "
            f"`{parent.prog}`, not of `{command.prog}`: put it before `{name}`.",
            hint,
        )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options of one non-interactive run, for `codex exec` and its commands (and `codex review`)."""
    parser.add_argument("--skip-git-repo-check", action="store_true", help="allow running outside a git repository")
    parser.add_argument("--approve-for-me", action="store_true",
                        help="workspace-write with on-request approvals that a reviewer model answers for you")
    parser.add_argument("--trust", action="store_true",
                        help="trust this project from now on (its .codex/config.toml and MCP servers); not one marked "
                        "untrusted")
    parser.add_argument("--ephemeral", action="store_true", help="do not keep a session file")
    parser.add_argument("--thread-source", metavar="SOURCE",
                        help="how a new or forked thread is classified in its session file (default: user)")
    parser.add_argument("--ignore-user-config", action="store_true",
                        help="do not read $CODEX_HOME/config.toml (the login still comes from CODEX_HOME)")
    parser.add_argument("--ignore-rules", action="store_true", help="do not read execpolicy .rules files")
    parser.add_argument("--output-schema", metavar="FILE", help="JSON Schema the final answer must follow")
    parser.add_argument("--json", "--experimental-json", action="store_true", help="print JSONL events on stdout")
    parser.add_argument("-o", "--output-last-message", metavar="FILE", help="also write the final message to FILE")


def add_override_options(parser: argparse.ArgumentParser) -> None:
    """`-c`, `--enable`, `--disable`: the config overrides of a command that loads the config for one purpose."""
    parser.add_argument(
        "-c", "--config", action="append", default=[], metavar="key=value", help="override a config.toml value"
    )
    parser.add_argument("--enable", action="append", default=[], metavar="FEATURE", help="turn a feature flag on")
    parser.add_argument("--disable", action="append", default=[], metavar="FEATURE", help="turn a feature flag off")


def _add_thread_options(parser: argparse.ArgumentParser, *, last: bool) -> None:
    """The options `exec resume` and `exec fork` accept (a subset of exec's; -s, -C, --add-dir go before them)."""
    add_override_options(parser)
    parser.add_argument("--strict-config", action="store_true", help="treat unknown config keys as errors")
    parser.add_argument("-m", "--model", help="the model to use")
    if last:
        parser.add_argument("--last", action="store_true", help="the most recent session in this directory")
        parser.add_argument("--all", action="store_true", help="with --last or a name: any directory")
    parser.add_argument(
        "--dangerously-bypass-approvals-and-sandbox", "--yolo", action="store_true",
        help="run every command without sandbox or approval",
    )
    _add_run_options(parser)


def _add_review_options(parser: argparse.ArgumentParser) -> None:
    """What `codex review` and `codex exec review` review: one of the changes, a base, a commit or instructions."""
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--uncommitted", action="store_true", help="review staged, unstaged and untracked changes")
    target.add_argument("--base", metavar="BRANCH", help="review the changes against a base branch")
    target.add_argument("--commit", metavar="SHA", help="review the changes a commit introduced")
    target.add_argument("prompt", nargs="?", metavar="PROMPT", help="custom review instructions ('-' reads stdin)")
    parser.add_argument("--title", help="the commit's title, shown with --commit")
    parser.set_defaults(exec_command="review")


_REVIEW_DESCRIPTION = (
    "Review code changes non-interactively: the findings are printed on stdout.\n\n"
    "example: codex review --uncommitted\n"
    "         codex review --base main"
)


def _add_exec(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "exec",
        aliases=["e"],
        help="run Codex non-interactively",
        description=(
            "Run one agent turn and print the final message on stdout.\n\n"
            "example: codex exec --sandbox workspace-write \"fix the failing test\"\n"
            "         codex exec resume --last \"now add tests\""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_options(parser)
    parser.add_argument("-V", "--version", action="version", version=f"codex-cli-exec {VERSION}")
    _add_run_options(parser)
    parser.add_argument("--color", choices=("always", "never", "auto"), default="auto", help="colour on stderr")
    # The prompt is the first positional unless it names a command; `_ExecCommands` tells them apart.
    parser.set_defaults(prompt=None)
    commands = parser.add_subparsers(
        dest="exec_command", metavar="PROMPT | COMMAND", action=_ExecCommands,
        help="the task ('-' or omitted reads stdin), or one of these commands:",
    )
    resume = commands.add_parser(
        "resume",
        prog="codex exec resume",
        help="continue a recorded session",
        description=(
            "Continue a recorded session with a new prompt: by id, by name (its first prompt) or the latest.\n\n"
            "example: codex exec resume --last \"now run the tests\""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_thread_options(resume, last=True)
    resume.add_argument("session_id", nargs="?", metavar="SESSION_ID", help="session id (UUID) or name")
    resume.add_argument("prompt", nargs="?", metavar="PROMPT", help="the next prompt; '-' or omitted reads stdin")
    fork = commands.add_parser(
        "fork",
        prog="codex exec fork",
        help="copy a recorded session into a new one and continue there",
        description="Fork a recorded session into a new session.\n\nexample: codex exec fork <SESSION_ID> \"try B\"",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_thread_options(fork, last=False)
    fork.add_argument("session_id", metavar="SESSION_ID", help="session id (UUID) or name")
    fork.add_argument("prompt", nargs="?", metavar="PROMPT", help="the next prompt; '-' or omitted reads stdin")
    review = commands.add_parser("review", prog="codex exec review", help="review code changes",
                                 description=_REVIEW_DESCRIPTION.replace("codex review", "codex exec review"),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_thread_options(review, last=False)
    _add_review_options(review)
    if isinstance(commands.choices, _AnyName):
        commands.choices.sealed = True
    _handler(parser, _EXEC_HANDLER)


def _add_review(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`codex review`: `codex exec review` as a command of its own (codex-rs 0.169)."""
    parser = subparsers.add_parser("review", help="review code changes non-interactively",
                                   description=_REVIEW_DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_thread_options(parser, last=False)
    _add_review_options(parser)
    parser.set_defaults(color="auto")
    _handler(parser, _EXEC_HANDLER)


def _add_session_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`codex archive|unarchive|delete <SESSION>`: move or remove one recorded session."""
    for name, text in (
        ("archive", "move a recorded session to archived_sessions/"),
        ("unarchive", "move an archived session back"),
        ("delete", "permanently delete a recorded session"),
    ):
        parser = subparsers.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}.\n\nexample: codex {name} 01a212d5-376f-71d2-92e1-2aaa60ca5725",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("session", metavar="SESSION", help="session id (UUID) or name (its first prompt)")
        if name == "delete":
            parser.add_argument("--force", action="store_true", help="delete without asking")
        _handler(parser, "codex_cli.cli:_run_session_command")
        parser.set_defaults(session_command=name)


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
    parser = subparsers.add_parser(
        "sandbox",
        help="run a command in the sandbox (linux|macos|windows)",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sandbox_args", nargs=argparse.REMAINDER, metavar="PLATFORM [OPTIONS] -- COMMAND")
    _handler(parser, "codex_cli.cli:_run_sandbox")
    parser.set_defaults(sandbox_entry="sandbox")


def _root_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """`codex [OPTIONS]` and its (still empty) table of commands."""
    parser = argparse.ArgumentParser(
        prog="codex",
        description=(
            "Codex CLI (Python): a coding agent for the terminal. Without a command it starts an interactive "
            "session (with PROMPT as the first message).\n\n"
            "example: codex \"explain this repository\"\n"
            "         codex exec \"explain this repository\""
        ),
        epilog=textwrap.fill("codex-rs commands not available in this implementation: "
                             + ", ".join(sorted(set(CODEX_RS_ONLY_COMMANDS.values()))), width=79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"codex-cli {VERSION}")
    _add_interactive_options(parser)
    parser.set_defaults(prompt=None)
    # A first positional that is not a command is the interactive session's prompt (`_ExecCommands`).
    subparsers = parser.add_subparsers(dest="command", metavar="[PROMPT] | COMMAND", action=_ExecCommands)
    if isinstance(subparsers, _ExecCommands):
        subparsers.unavailable = CODEX_RS_ONLY_COMMANDS
    return parser, subparsers


def _seal(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    if isinstance(subparsers.choices, _AnyName):
        subparsers.choices.sealed = True


@functools.lru_cache(maxsize=1)
def build_parser() -> argparse.ArgumentParser:
    """The whole argument tree (stdlib only, no I/O) for parsing, help and completions."""
    parser, subparsers = _root_parser()
    _add_exec(subparsers)
    _add_review(subparsers)
    _add_apply_patch(subparsers)
    _add_sandbox(subparsers)
    _add_session_commands(subparsers)
    _add_ui_thread_commands(subparsers)
    # Commands that own their argument trees; their modules import only the stdlib at the top.
    for module in ("mcp_cli", "login_cli", "doctor", "completion", "update", "mcp_server.main", "features_cli",
                   "debug_cli"):
        importlib.import_module(f"codex_cli.{module}").register(subparsers)
    _seal(subparsers)
    return parser


def exec_parser() -> argparse.ArgumentParser:
    """The tree for an argument list that starts with `exec`: the root and `exec` exactly as `build_parser()` builds
    them, without the other commands (whose trees and modules cost ~5 ms of `codex exec`'s start)."""
    parser, subparsers = _root_parser()
    _add_exec(subparsers)
    _seal(subparsers)
    return parser
