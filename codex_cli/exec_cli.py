"""`codex exec`: run one agent turn without a person at the keyboard, for scripts and CI."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from codex_cli.errors import CodexError, UsageError
from codex_cli.version import VERSION

if TYPE_CHECKING:
    from codex_cli.bootstrap import ThreadStart
    from codex_cli.config import CliOverrides, Config
    from codex_cli.exec_output import HumanOutput, JsonOutput
    from codex_cli.hooks import HookEngine
    from codex_cli.protocol import Event
    from codex_cli.thread import Thread

__all__ = ["main", "resolve_prompt", "user_message"]

# How long a prompt argument waits for a first byte on a piped stdin that may never be written or closed.
STDIN_GRACE_SECONDS = 1.0


def _decode_stdin(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise CodexError("Failed to read prompt from stdin: UTF-32 input is not supported. Convert it to UTF-8.")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodexError(
            f"Failed to read prompt from stdin: input is not valid UTF-8 (invalid byte at offset {exc.start}). "
            "Convert it to UTF-8 and retry (e.g., `iconv -f <ENC> -t UTF-8 prompt.txt`)."
        ) from exc


def _read_all(stream: TextIO) -> bytes:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        return bytes(buffer.read())
    return stream.read().encode("utf-8")


def _first_byte_arrives(stream: TextIO, timeout: float) -> bool:
    """Whether stdin has data (or EOF) within `timeout`; a silent open pipe must not hang us."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return True
    if sys.platform != "win32":
        import select

        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    ready = threading.Event()
    threading.Thread(target=lambda: (os.read(fd, 0), ready.set()), daemon=True).start()
    return ready.wait(timeout)


def resolve_prompt(prompt: str | None, stdin: TextIO, err: TextIO, *, grace: float = STDIN_GRACE_SECONDS) -> str:
    """The user text from the argument and/or stdin, as exec's prompt rules say."""
    stdin_is_tty = bool(getattr(stdin, "isatty", lambda: False)())
    if prompt == "-" or (prompt is None and not stdin_is_tty):
        if prompt is None:
            err.write("Reading prompt from stdin...\n")
        text = _decode_stdin(_read_all(stdin))
        if not text.strip():
            raise CodexError("No prompt provided via stdin.")
        return text
    if prompt is None:
        raise CodexError(
            "No prompt provided. Either specify one as an argument or pipe the prompt into stdin."
        )
    if stdin_is_tty or stdin.closed:
        return prompt
    err.write("Reading additional input from stdin...\n")
    if not _first_byte_arrives(stdin, grace):
        err.write(
            f"No input arrived on stdin within {grace:g}s; going on without it "
            "(redirect stdin from /dev/null to skip this wait).\n"
        )
        return prompt
    extra = _decode_stdin(_read_all(stdin))
    if not extra.strip():
        return prompt
    return f"{prompt}\n\n<stdin>\n{extra}{'' if extra.endswith(chr(10)) else chr(10)}</stdin>"


def _load_output_schema(path: str | None) -> object | None:
    if path is None:
        return None
    import json

    schema_path = Path(path).resolve()
    try:
        text = schema_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodexError(f"Failed to read output schema file {schema_path}: {exc.strerror}.") from exc
    try:
        schema: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodexError(
            f"Output schema file {schema_path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    return schema


def _open_last_message_file(path: str | None) -> Path | None:
    if path is None:
        return None
    target = Path(path)
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CodexError(
            f'Failed to open last message file "{target}": {exc.strerror}.',
            "Check that the directory exists and is writable.",
        ) from exc
    return target


def _sandbox_label(config: Config) -> str:
    mode = str(config.sandbox_mode)
    if mode != "workspace-write":
        return mode
    swr = config.sandbox_workspace_write
    roots = ["workdir"]
    if not swr.exclude_slash_tmp:
        roots.append("/tmp")
    if not swr.exclude_tmpdir_env_var:
        roots.append("$TMPDIR")
    roots += [str(p) for p in (*config.add_dirs, *swr.writable_roots)]
    label = f"workspace-write [{', '.join(roots)}]"
    return label + (" (network access enabled)" if swr.network_access else "")


def _overrides(args: argparse.Namespace) -> CliOverrides:
    from codex_cli.cli_parser import cli_overrides

    # exec asks nobody (exec.md §8.1); --approve-for-me lets a reviewer model answer
    return cli_overrides(args, approval_policy="on-request" if getattr(args, "approve_for_me", False) else "never")


def user_message(prompt: str, args: argparse.Namespace) -> dict[str, object]:
    """The first user message: the prompt, after any `-i` images (exec.md §2.2); a bad image raises ImageError."""
    values = getattr(args, "image", None)
    paths: list[str] = []
    if values:
        from codex_cli.images import split_image_args

        paths = split_image_args(values)
    if not paths:
        from codex_cli.response_items import text_message

        return text_message("user", prompt)
    from codex_cli.images import user_message_with_images

    return user_message_with_images(prompt, paths)


def main(args: argparse.Namespace) -> int:
    """Run `codex exec`; returns the process exit code."""
    from codex_cli.exec_output import HumanOutput, JsonOutput
    from codex_cli.style import Style, stream_wants_color

    err, out = sys.stderr, sys.stdout
    human = HumanOutput(err, Style(stream_wants_color(err, args.color, os.environ)))
    from codex_cli.netwait import report_to

    with report_to(err):  # "connecting to HOST via proxy ... 4s" once a network wait passes 2 s
        return _run(args, human, JsonOutput(out, human) if args.json else None)  # a CodexError is cli.main's to print


def _run(args: argparse.Namespace, human: HumanOutput, jsonl: JsonOutput | None) -> int:
    from codex_cli import tls

    tls.warm_ssl_context()  # loads the trust roots (OpenSSL, GIL released) while the session is being set up

    from codex_cli.config import load_config

    if getattr(args, "full_auto", False):
        human.warning("--full-auto is deprecated; use --sandbox workspace-write.")
    _settle_thread_positionals(args)
    review = getattr(args, "exec_command", None) == "review"
    if review:
        prompt = ""  # the review's request is worded once the config (its cwd) is known
    elif getattr(args, "exec_command", None) is not None and args.prompt not in (None, "-"):
        prompt = args.prompt  # resume/fork: a prompt argument ignores piped stdin (exec.md §9.2)
    else:
        prompt = resolve_prompt(args.prompt, sys.stdin, sys.stderr)
    config = load_config(_overrides(args))
    shown, render = prompt, None
    if review:
        from codex_cli import review as code_review

        instructions = resolve_prompt("-", sys.stdin, sys.stderr) if args.prompt == "-" else args.prompt
        target = code_review.review_target(uncommitted=args.uncommitted, base=args.base, commit=args.commit,
                                           title=args.title, instructions=instructions, cwd=config.cwd)
        prompt, shown, render = target.prompt, target.label, code_review.render_review
        config = code_review.reviewer_config(config)
    from codex_cli.project_doc import find_project_root

    if not (args.skip_git_repo_check or args.dangerously_bypass_approvals_and_sandbox) and (
        find_project_root(config.cwd) is None
    ):
        raise CodexError(
            "Not inside a trusted directory and --skip-git-repo-check was not specified.",
            "Run codex exec inside a git repository, or pass --skip-git-repo-check.",
        )
    if getattr(args, "trust", False) and _trust_project(config, human):
        config = load_config(_overrides(args))  # the project's own configuration applies from this run on
    schema = _load_output_schema(args.output_schema)
    user_message("", args)  # refuse a bad `-i` image before anything starts
    last_message_path = _open_last_message_file(args.output_last_message)
    emit: Callable[[Event], None] = jsonl.handle if jsonl is not None else human.handle
    if review:
        emit = code_review.showing_rendered_reviews(emit)
    start = _thread_start(args, config)
    hooks = _hook_engine(args, config, emit)
    reviewer = None
    if config.approval_policy == "on-request" and getattr(args, "approve_for_me", False):
        from codex_cli.auto_approver import AutoApprover

        reviewer = AutoApprover(on_verdict=human.warning if jsonl is None else None)
    from codex_cli.thread import open_thread

    thread = open_thread(config, start, originator=os.environ.get("CODEX_INTERNAL_ORIGINATOR_OVERRIDE") or "codex_exec",
                         client="codex_exec", emit=emit, output_schema=schema, hooks=hooks, approver=reviewer,
                         permission_hooks=False)
    session = thread.session
    if reviewer is not None:
        reviewer.session = session
    if jsonl is None:
        human.header(_header_fields(config, session.thread_id), VERSION, shown)
    session.start()  # then the warnings met while building it
    return _run_turn(thread, prompt, args, last_message_path, render, remember=not review)


def _hook_engine(args: argparse.Namespace, config: Config, emit: Callable[[Event], None]) -> HookEngine | None:
    """Lifecycle hooks for this run (untrusted ones are skipped silently); their runs are the session's events
    (`hook: <Event> [<Status>]` on stderr). `hooks.py` is imported only when there are handlers (or the bypass
    warning to show)."""
    from codex_cli.thread import hook_engine

    bypass = bool(getattr(args, "dangerously_bypass_hook_trust", False))
    if bypass:
        from codex_cli.hooks import BYPASS_TRUST_WARNING
        from codex_cli.protocol import WarningNotice

        emit(WarningNotice(BYPASS_TRUST_WARNING, "hooks"))
    # exec never asks (exec.md §8.1)
    return hook_engine(config, bypass_trust=bypass, permission_mode="bypassPermissions")


def _trust_project(config: Config, human: HumanOutput) -> bool:
    """`--trust`: record `[projects."<git root>"] trust_level = "trusted"` in the user's config.toml (config.md §2.4),
    unless the project is marked untrusted. True when the file changed."""
    from codex_cli import toml_edit
    from codex_cli.project_doc import find_project_root

    root = find_project_root(config.cwd.resolve()) or config.cwd.resolve()
    if config.project_trust == "untrusted":
        human.warning(f"{root} is marked untrusted in {config.config_path}; --trust does not change that. Edit "
                      "its trust_level there first.")
        return False
    if config.project_trust == "trusted":
        return False
    path = config.config_path
    try:
        text = toml_edit.set_value(toml_edit.read_text(path), ("projects", str(root), "trust_level"), "trusted")
        toml_edit.write_text_atomic(path, text)
    except (OSError, UnicodeDecodeError, toml_edit.TomlEditError) as exc:
        raise CodexError(f"Could not record trust for {root} in {path}: {exc}", "Fix config.toml, then try again.") \
            from exc
    return True


def _settle_thread_positionals(args: argparse.Namespace) -> None:
    """With `resume --last` the one positional is the prompt, not a session id (exec.md §9.1)."""
    if getattr(args, "last", False) and getattr(args, "session_id", None) is not None:
        if args.prompt is not None:
            raise UsageError(
                "--last takes no SESSION_ID; pass only the prompt.", "Usage: codex exec resume --last [PROMPT]"
            )
        args.prompt, args.session_id = args.session_id, None


def _thread_start(args: argparse.Namespace, config: Config) -> ThreadStart:
    """New thread, or the recorded one that `resume`/`fork` names; `resume` with nothing found starts a new one."""
    from codex_cli.thread import ThreadNotFound, ThreadRef, thread_start

    command = getattr(args, "exec_command", None)
    ephemeral = bool(args.ephemeral)
    thread_source = getattr(args, "thread_source", None) or "user"
    name, last = getattr(args, "session_id", None), bool(getattr(args, "last", False))
    ref = None
    if command in ("resume", "fork") and (last or name is not None):
        ref = ThreadRef(name=name, last=last, cwd=None if getattr(args, "all", False) else config.cwd,
                        model_provider=config.model_provider_id)
    try:
        return thread_start(config.codex_home, ref, fork=command == "fork", ephemeral=ephemeral,
                            thread_source=thread_source)
    except ThreadNotFound as exc:
        if exc.looked_for == "id":
            raise CodexError(
                f"No rollout found for thread id {name}.",
                "List recorded sessions under $CODEX_HOME/sessions, or use `codex exec resume --last`.",
            ) from exc
        if exc.looked_for == "name" and command == "fork":
            raise CodexError(f"No saved session found with name {name}.", "Pass the session id (a UUID).") from exc
    return thread_start(config.codex_home, ephemeral=ephemeral, thread_source=thread_source)


def _header_fields(config: Config, thread_id: str) -> list[tuple[str, str]]:
    return [
        ("workdir", str(config.cwd)),
        ("model", str(config.model)),
        ("provider", str(config.model_provider_id)),
        ("approval", config.approval_policy),
        ("sandbox", _sandbox_label(config)),
        ("reasoning effort", config.model_reasoning_effort or "none"),
        ("reasoning summaries", config.model_reasoning_summary or "none"),
        ("session id", thread_id),
    ]


def _run_turn(thread: Thread, prompt: str, args: argparse.Namespace, last_path: Path | None,
              render: Callable[[str], str] | None = None, *, remember: bool = True) -> int:
    session = thread.session
    terminated: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Once the turn runs, nothing is raised here: an exception at an arbitrary point of the main thread can
        # land in an at-fork hook of subprocess.Popen (Python drops it, and the signal is lost) or between
        # starting a command and recording it (it is then never killed). The turn stops at its next check of the
        # flag instead, killing and reaping its commands. Before the turn has its id, run_turn may still clear
        # the flag, but has started nothing: leaving at once is safe. A second signal also ends at once.
        if terminated or session.turn_id is None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)
        terminated.append(signum)
        session.interrupt()

    ending = [number for name in ("SIGINT", "SIGTERM", "SIGHUP") if (number := getattr(signal, name, None)) is not None]
    before = [(number, signal.signal(number, on_signal)) for number in ending]
    try:
        try:
            result = thread.run_turn([user_message(prompt, args)], prompt=prompt if remember else None)
        finally:
            thread.close()
    finally:
        for number, handler in before:  # after close(): a first signal during the cleanup waits for it
            signal.signal(number, handler)
    if terminated:  # Ctrl-C is an interrupted run (1, as codex-rs); SIGTERM and SIGHUP say which one ended it
        return 1 if terminated[0] == signal.SIGINT else 128 + terminated[0]
    if result.status != "completed":
        return 1
    message = result.last_agent_message
    if message is not None and render is not None:
        message = render(message)
    if last_path is not None:
        last_path.write_text(message or "", encoding="utf-8")
        if message is None:
            sys.stderr.write(f"Warning: no last agent message; wrote empty content to {last_path}\n")
    if message is not None and not args.json and not (sys.stdout.isatty() and sys.stderr.isatty()):
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
    return 0
