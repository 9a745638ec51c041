"""`codex` with no subcommand: the interactive line UI — a prompt, streamed answers, plain-question approvals.

No full-screen drawing: everything is written into the terminal's normal scrollback (ux.md §2.2 "scrollback mode").
The UI reads the keyboard itself, at the prompt as while a turn runs (an `EditBuffer`, drawn under the output). The
first session is built on a thread behind the prompt (`open_behind`) and taken over when it is needed. The session
runs each turn on a worker thread and reports through `emit`; events go into a queue that the UI thread drains and
renders as they arrive, while it also reads keys (Esc/Ctrl-C interrupt, typed text is queued for the next turn).
Approvals come from the session thread through `_UiApprover`, which blocks it until the person has answered the
question the UI thread printed. The thread itself (hooks, history.jsonl, notify, `!cmd`, its name) is
`codex_cli.thread`'s. Slash commands (`slash_commands.py`) and approval questions (`approval_view.py`) are plugged in
by the entry module `ui/main.py` (`AppParts`), so that this module imports neither; drawing is in `line_render.py`,
reading in `line_input.py`.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from codex_cli.errors import AuthError, CodexError
from codex_cli.hooks import BYPASS_TRUST_WARNING, HookEngine
from codex_cli.protocol import AgentMessageItem, ItemCompleted
from codex_cli.records import Record, field
from codex_cli.ui.line_input import EditBuffer, Key, Terminal, complete_command, complete_mention, file_index
from codex_cli.ui.line_render import LineRenderer, compact_number, context_left_percent
from codex_cli.version import VERSION

if TYPE_CHECKING:
    from codex_cli.bootstrap import ThreadStart
    from codex_cli.config import CliOverrides, Config
    from codex_cli.notifications import DesktopNotifier
    from codex_cli.protocol import Event, FileChangeItem
    from codex_cli.rollout import ResumedThread
    from codex_cli.safety import ApprovalRequest, ReviewDecision
    from codex_cli.session import Session, TurnResult
    from codex_cli.thread import Thread

__all__ = ["CLIENT", "ORIGINATOR", "AppParts", "Done", "LineApp", "PendingApproval", "permissions_label", "pump"]

log = logging.getLogger(__name__)

ORIGINATOR = "codex-tui"
CLIENT = "codex-tui"
PROMPT = "› "


class PendingApproval(Record, frozen=False):
    """A question from the session thread, answered on the UI thread."""

    request: ApprovalRequest
    proposed: FileChangeItem | None = None  # the patch, for patch approvals
    prefix: tuple[str, ...] | None = None  # the command prefix offered for "always"
    done: threading.Event = field(default_factory=threading.Event)
    decision: ReviewDecision = "abort"


class AppParts(Record):
    """What the entry module (`ui/main.py`) plugs into the app: the slash commands and the approval questions."""

    commands: list[str]  # the slash command names, for Tab
    dispatch: Callable[[LineApp, str], bool]  # run one slash command; True: quit
    replay: Callable[[LineApp, ResumedThread], None]  # show a resumed thread's conversation
    review_hooks: Callable[[LineApp], None]  # the start-up question about new or changed hooks
    approval_details: Callable[[ApprovalRequest], tuple[FileChangeItem | None, tuple[str, ...] | None]]
    ask_approval: Callable[[LineApp, PendingApproval], None]


def permissions_label(config: Config) -> str:
    """`Read Only (Ask for approval)`, `Workspace (Ask for approval)`, `Full Access`, as /status shows it."""
    mode = {"read-only": "Read Only", "workspace-write": "Workspace", "danger-full-access": "Full Access"}.get(
        config.sandbox_mode, config.sandbox_mode)
    if config.sandbox_mode == "danger-full-access" and config.approval_policy == "never":
        return mode
    ask = {"on-request": "Ask for approval", "untrusted": "Ask for untrusted commands",
           "on-failure": "Ask on failure", "never": "Never ask"}.get(config.approval_policy, config.approval_policy)
    return f"{mode} ({ask})"


class Done(Record):
    """The worker's last message: what its call returned (or raised)."""

    result: object


def pump(messages: queue.SimpleQueue[object], dispatch: Callable[[object], None],
         between: Callable[[float], None]) -> object:
    """The turn's event loop: each message is dispatched (rendered) as soon as it arrives, `between(now)` runs
    after each one and at least every 50 ms (keys, spinner); returns the `Done` result."""
    get, monotonic, empty = messages.get, time.monotonic, queue.Empty
    while True:
        try:
            message = get(timeout=0.05)
        except empty:
            message = None
        if message is not None:
            if type(message) is Done:
                return message.result
            dispatch(message)
        between(monotonic())


class _Opened(Record):
    """The session built behind the prompt, or why it could not be."""

    start: ThreadStart
    source: str | None
    thread: Thread | None = None
    error: BaseException | None = None


class _UiApprover:
    """Blocks the session thread until the UI thread has put the question to the person."""

    def __init__(self, app: LineApp) -> None:
        self.app = app

    def request(self, req: ApprovalRequest) -> ReviewDecision:
        proposed, prefix = self.app.parts.approval_details(req)
        pending = PendingApproval(req, proposed, prefix)
        self.app.queue.put(pending)
        pending.done.wait()
        return pending.decision


class LineApp:
    """One interactive run: the current session, the screen, the keyboard and the queue between them."""

    def __init__(self, config: Config, overrides: CliOverrides, *, parts: AppParts, bypass_hook_trust: bool = False,
                 out: TextIO | None = None, env: dict[str, str] | None = None) -> None:
        from codex_cli.notifications import DesktopNotifier
        from codex_cli.style import stream_wants_color

        self.config, self.overrides, self.parts = config, overrides, parts
        self.out = out or sys.stdout
        reconfigure = getattr(self.out, "reconfigure", None)
        if callable(reconfigure):
            reconfigure(errors="replace")  # text from a server may hold a lone surrogate: show "?", never crash
        self.env = dict(os.environ if env is None else env)
        tty = self.out.isatty()
        color = tty and stream_wants_color(self.out, "auto", self.env)
        self.live = color and self.env.get("TERM") != "dumb"
        self._tty_fd: int | None = None
        self.renderer = LineRenderer(self.out, color=color, live=self.live, cwd=config.cwd,
                                     hide_reasoning=config.hide_agent_reasoning,
                                     echo=None if tty else self._tty_write)
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.terminal = Terminal(sys.stdin.fileno(), write=self._raw_write, live=self.live)
        self.notifier: DesktopNotifier = DesktopNotifier.from_config(
            config.raw.get("tui"), self.env, self._raw_write, can_write=self.live)
        self.hooks = HookEngine.from_config(config, bypass_trust=bypass_hook_trust)
        self.bypass_hook_trust = bypass_hook_trust
        self.main_thread = threading.get_ident()
        self.queued: list[str] = []
        self.buffer = EditBuffer()  # what is being written, at the prompt or while a turn runs
        self.last_answer = ""  # the last agent message, for /copy
        self.history: list[str] = []  # earlier messages, for Up
        self._files: list[str] | None = None  # the repository's files, for @ mentions (listed on first use)
        self.turns = 0
        self.forked_from: str | None = None
        self._swallow, self._swallow_until, self._swallowed_any = "", 0.0, False
        self._interrupting = False
        self._put_back = False  # the person stopped the turn: what they queued comes back to edit, unsent
        self._thread: Thread | None = None
        self._opening: threading.Thread | None = None  # building the first session behind the prompt
        self._opened: _Opened | None = None
        self.commands = parts.commands

    @property
    def draft(self) -> str:
        """The text waiting in the input (shown at the next prompt)."""
        return self.buffer.text

    @draft.setter
    def draft(self, text: str) -> None:
        self.buffer.set(text)

    @property
    def thread(self) -> Thread | None:
        """The current thread; waits for the first one when it is still being built."""
        if self._opening is not None and threading.get_ident() == self.main_thread:
            self._finish_opening()
        return self._thread

    @thread.setter
    def thread(self, thread: Thread | None) -> None:
        self._thread = thread

    @property
    def session(self) -> Session:
        thread = self.thread
        assert thread is not None
        return thread.session

    @property
    def thread_name(self) -> str | None:
        """From session_index.jsonl, /rename, or the title request of the first prompt."""
        thread = self.thread
        return thread.name if thread is not None else None

    # ------------------------------------------------------------------ plumbing

    def _raw_write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _tty_write(self, text: str) -> None:
        """Straight to the terminal (the echo of what is typed when stdout is a pipe)."""
        if self._tty_fd is None:
            try:
                self._tty_fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
            except OSError:
                self._tty_fd = sys.stdin.fileno()
        try:
            os.write(self._tty_fd, text.encode("utf-8", "replace"))
        except OSError:
            pass

    def _emit(self, event: Event) -> None:
        self.queue.put(event)

    def warn(self, text: str) -> None:
        """A warning of the UI's own (flags, hooks to review, a reloaded config), shown as the session's are."""
        from codex_cli.protocol import WarningNotice

        if threading.get_ident() == self.main_thread:
            self.renderer.handle(WarningNotice(text))
        else:
            self.queue.put(WarningNotice(text))

    def _history_texts(self) -> list[str]:
        from codex_cli.prompt_history import read_entries

        try:
            return [entry.text for entry in read_entries(self.config.codex_home)]
        except (OSError, ValueError):
            return []

    # ------------------------------------------------------------------ sessions

    def open(self, start: ThreadStart, source: str | None) -> None:
        """Build a session for `start` (new, resumed, forked), make it current and show its warnings."""
        self._adopt(start, self._build(start, source))
        self._drain()

    def open_behind(self, start: ThreadStart | None, source: str | None) -> None:
        """Build the first session on a thread of its own (MCP servers, the HTTP client, the sandbox, earlier
        prompts for Up), so the prompt is there at once; the session is waited for when it is first needed."""

        def build() -> None:
            self.history[:0] = self._history_texts()  # older than anything typed meanwhile
            from codex_cli.bootstrap import ThreadStart

            thread_start = start or ThreadStart(source="cli")
            try:
                opened = _Opened(thread_start, source, thread=self._build(thread_start, source))
            except BaseException as exc:  # reported on the UI thread
                opened = _Opened(thread_start, source, error=exc)
            self._opened = opened
            self.queue.put(opened)

        self._opening = threading.Thread(target=build, name="codex-open", daemon=True)
        self._opening.start()

    def _finish_opening(self) -> None:
        """Make the session built behind the prompt current (waiting for it); offer to log in when that failed
        for want of credentials, else raise what failed."""
        thread = self._opening
        if thread is None:
            return
        if thread.is_alive():
            self.renderer.area.status = self.renderer.pal.dim("◦ Starting (MCP servers, sandbox)…")
            self.renderer.refresh()
            thread.join()
            self.renderer.area.status = ""
            self.renderer.refresh()
        opened, self._opening, self._opened = self._opened, None, None
        assert opened is not None
        if opened.error is None and opened.thread is not None:
            self._adopt(opened.start, opened.thread)
            return
        self.renderer.hide_input()  # a question or an error follows: not under what is being typed
        while isinstance(opened.error, AuthError) and opened.error.message.startswith("Not logged in") \
                and self.offer_login(opened.error):
            try:
                self.open(opened.start, opened.source)
                return
            except AuthError as exc:
                opened = _Opened(opened.start, opened.source, error=exc)
        assert opened.error is not None
        raise opened.error

    def _build(self, start: ThreadStart, source: str | None) -> Thread:
        """The thread's parts; nothing here draws, so it may run off the UI thread."""
        from codex_cli.thread import open_thread

        thread = open_thread(self.config, start, originator=ORIGINATOR, client=CLIENT, emit=self._emit,
                             hooks=self.hooks, hook_source=source, approver=_UiApprover(self))
        thread.session.start()
        return thread

    def _adopt(self, start: ThreadStart, thread: Thread) -> None:
        self.thread = thread
        self.turns = 0
        self.forked_from = start.resumed.meta.id if start.fork and start.resumed is not None else None
        self.renderer.title_project = self.config.project_root.name or str(self.config.project_root)
        self.renderer.title_thread = thread.name
        self.renderer.set_title(self.renderer.title_project)

    def close_session(self) -> None:
        if self.thread is None:
            return
        self.thread.close()  # its title request stops, SessionEnd runs
        self._drain()

    def reopen(self, config: Config) -> bool:
        """Continue the same thread under a new config (permissions): rebuilt from its rollout file."""
        from codex_cli.bootstrap import ThreadStart
        from codex_cli.thread import ThreadRef, thread_start

        old = self.thread
        path = old.rollout_path if old is not None else None
        if (path is None or not path.exists()) and self.turns:
            self.renderer.error("This session has no session file to continue from.")
            return False
        if old is not None:
            old.close(end=False)  # the thread goes on: no SessionEnd
        self._drain()
        self.config = config
        start = ThreadStart(source="cli") if path is None or not path.exists() else thread_start(
            config.codex_home, ThreadRef(path=path), source="cli")
        self.open(start, None)
        if old is not None and self.thread is not None:
            self.thread.pending_context[:0] = old.pending_context  # `!cmd` results not sent yet
        return True

    def _drain(self) -> bool:
        """Render what the queue holds (not a turn's end or an approval); whether there was anything."""
        drained = False
        while True:
            try:
                message = self.queue.get_nowait()
            except queue.Empty:
                return drained
            if not isinstance(message, (Done, PendingApproval)):
                self._dispatch(message)
                drained = True

    # ------------------------------------------------------------------ the main loop

    @contextmanager
    def terminal_session(self) -> Iterator[None]:
        """Bracketed paste and focus reports on while the UI runs (live terminals), the terminal restored after."""
        self._watch_resize()
        if self.live:
            self._raw_write("\x1b[?2004h\x1b[?1004h")
        try:
            yield
        finally:
            self.terminal.restore()
            if self.live:
                self._raw_write("\x1b[?1004l\x1b[?2004l")

    def ask_trust(self) -> None:
        """The first start in a Git repository nobody decided about asks whether to trust it (ux.md §2.1 step 1).
        Trusted is recorded for the repository's root in config.toml and the project then runs as codex-rs runs
        trusted ones: workspace-write, asking before anything beyond it, its .codex/ settings in effect. "Not now"
        records nothing: read-only this time, and the question again next time."""
        from codex_cli import toml_edit
        from codex_cli.config import load_config
        from codex_cli.project_doc import find_project_root

        config = self.config
        cwd = config.cwd.resolve()
        root = find_project_root(cwd)
        if config.project_trust is not None or root is None:
            return
        renderer, pal = self.renderer, self.renderer.pal
        renderer.line(pal.bold("  Folder access"))
        renderer.line(f"  {cwd}")
        if root != cwd:
            renderer.line(f"  This folder is inside the Git repository {root}; your answer applies to all of it.")
        renderer.line("  Trust this folder? Trusted, Codex reads, edits and runs files here within your permission "
                      "settings, and the project's .codex/ settings apply (they can run programs without asking "
                      "the model). Trust only files you know. The answer is saved.")
        renderer.blank()
        renderer.line("  1. Trust and continue\n  2. Not now (read-only this time; asked again next start)")
        answer = self.ask_choice("Select [1-2] (enter: 1, esc: 2): ")
        if answer is None or answer.strip().lower() not in ("", "1", "t", "trust", "y", "yes"):
            renderer.note("Not trusted: read-only for this session.")
            renderer.blank()
            return
        path = config.config_path
        try:
            text = toml_edit.set_value(toml_edit.read_text(path), ("projects", str(root), "trust_level"), "trusted")
            toml_edit.write_text_atomic(path, text)
        except (OSError, UnicodeDecodeError, toml_edit.TomlEditError) as exc:
            self.renderer.error(f"Could not record trust for {root} in {path}: {exc}")
            return
        self.config = load_config(self.overrides)
        self.hooks = HookEngine.from_config(self.config, bypass_trust=self.bypass_hook_trust)  # the project's count
        renderer.note(f"Trusted {root}")
        renderer.blank()

    def run(self, start: ThreadStart | None, source: str, prompt: str | None) -> int:
        from codex_cli.thread import thread_name

        self.header()
        for warning in self.hooks.discovered.warnings:
            self.warn(warning)
        if self.bypass_hook_trust:
            self.warn(BYPASS_TRUST_WARNING)
        self.parts.review_hooks(self)
        self.open_behind(start, source)  # a CodexError there ends the run when it is reported: cli.main prints it
        try:
            if start is not None and start.resumed is not None:
                if start.fork:
                    old_id = start.resumed.meta.id
                    old_name = thread_name(self.config.codex_home, old_id)
                    self.renderer.note(f"Thread forked from {old_name} ({old_id})" if old_name
                                       else f"Thread forked from {old_id}")
                self.parts.replay(self, start.resumed)
            self._loop(prompt)
        except BaseException:
            if self._opening is not None:
                self._opening.join()
                opened = self._opened
                if opened is not None and opened.thread is not None:
                    self._thread = opened.thread
            if self._thread is not None:
                self._thread.close(end=False)  # leave no sandbox placeholders or child processes behind
            raise
        return self.exit()

    def _watch_resize(self) -> None:
        """SIGWINCH: wrap at the new width from the next row on."""
        import signal

        number = getattr(signal, "SIGWINCH", None)
        if number is not None and threading.current_thread() is threading.main_thread():
            signal.signal(number, lambda signum, frame: self.renderer.resized())

    def _loop(self, prompt: str | None) -> None:
        """Read and run messages until /quit, Ctrl-D, or Ctrl-C on an empty prompt."""
        pending = prompt
        while True:
            self._drain()
            if self.queued:
                text = self.queued.pop(0)
                self.renderer.user_prompt(text)
            elif pending:
                text, pending = pending, None
                self.renderer.user_prompt(text)
            else:
                try:
                    text = self.read_input(PROMPT)
                except EOFError:
                    break
                except KeyboardInterrupt:
                    break
            self.remember(text)
            try:
                if text.strip().startswith("/") and not text.strip().startswith("//"):
                    if self.parts.dispatch(self, text.strip()):
                        break
                elif text.startswith("!") and len(text.strip()) > 1:
                    self.shell_command(text[1:].strip(), text)
                elif text.strip():
                    self.submit(text)
            except KeyboardInterrupt:
                self.renderer.write("\n")
                self.renderer.error("Interrupted.")
            except CodexError as exc:
                self.renderer.error(exc.message)

    def remember(self, text: str) -> None:
        """Up at the prompt brings `text` back (also a prompt given on the command line or queued in a turn)."""
        if text.strip() and (not self.history or self.history[-1] != text):
            self.history.append(text)

    # ------------------------------------------------------------------ input

    def _candidates(self, word: str, at_start: bool) -> list[str]:
        if word.startswith("@"):
            if self._files is None:
                self._files = file_index(self.config.cwd)
            return complete_mention(word, self.config.cwd, self._files)
        if word.startswith("/") and at_start:
            return complete_command(word, self.commands)
        if word.startswith("$"):  # a skill, scanned again so that one added during the session shows up
            from codex_cli.skills import complete_skill, skills_for_config

            return complete_skill(word, skills_for_config(self.config))
        return []

    def _show(self, buffer: EditBuffer, prompt: str, *, secret: bool = False) -> None:
        if secret:
            hidden = EditBuffer("•" * len(buffer.text))
            hidden.cursor = buffer.cursor
            buffer = hidden
        rows, row, column = buffer.layout(prompt, "  ", self.renderer.width() - 1)
        pal = self.renderer.pal
        hints = []
        if buffer.completion and self.live:
            current = buffer._completing[2] if buffer._completing is not None else -1
            hints = ["  " + (pal.sgr("7", option.strip()) if index == current else pal.dim(option.strip()))
                     for index, option in enumerate(buffer.completion)]
        self.renderer.show_input(prompt, "  ", buffer.text, buffer.cursor, rows, row, column, hints)

    def read_input(self, prompt: str, *, history: bool = True, drain: bool = True, secret: bool = False) -> str:
        """One message from the keyboard, edited in place; Enter sends it. EOFError for Ctrl-D on an empty input,
        KeyboardInterrupt for Ctrl-C on an empty one (Ctrl-C with text clears it)."""
        buffer = self.buffer if history else EditBuffer()
        buffer.history = self.history if history else []
        with self.terminal.keys():
            self._show(buffer, prompt, secret=secret)
            while True:
                if drain and self._drain():
                    self._show(buffer, prompt, secret=secret)  # the input again, under what was written
                keys = self.terminal.read_keys(0.05)
                for index, raw in enumerate(keys):
                    key = self.filter_key(raw)
                    if key is None:
                        continue
                    if key.name == "enter":
                        if buffer.text.endswith("\\") and buffer.cursor == len(buffer.text):
                            buffer.backspace()  # a trailing backslash continues the message on a new line
                            buffer.insert("\n")
                            continue
                        text = buffer.expanded().rstrip("\n")  # a pasted last line's newline is not a line
                        self._show(buffer, prompt, secret=secret)  # keys read with the Enter are shown first
                        self.terminal.push_back(keys[index + 1 :])
                        if history:
                            self.buffer = EditBuffer()
                            self.renderer.commit_input(text)
                        else:
                            shown = "•" * len(text) if secret else text
                            self.renderer.commit_input(shown, echo_cell=False)
                            if self.live:
                                self.renderer.line(prompt + shown)
                        return text
                    if key.name == "ctrl-c":
                        if buffer.text:
                            buffer.set("")
                            buffer.pastes.clear()
                            continue
                        self.renderer.hide_input()
                        raise KeyboardInterrupt
                    if key.name == "ctrl-d":
                        if not buffer.text:
                            self.renderer.hide_input()
                            raise EOFError
                        buffer.delete()
                    elif key.name == "tab":
                        buffer.complete(self._candidates)
                    elif key.name == "ctrl-t" and history:
                        self.renderer.hide_input()
                        self.show_transcript()
                    elif key.name in ("focus-in", "focus-out"):
                        self.notifier.focused = key.name == "focus-in"
                    elif key.name == "ctrl-z":
                        self.suspend()
                    elif key.name == "esc":
                        if not history and not buffer.text:
                            self.renderer.hide_input()
                            raise KeyboardInterrupt  # an answer given up
                        buffer.completion = []
                    else:
                        buffer.edit(key)
                if keys:
                    self._show(buffer, prompt, secret=secret)

    def suspend(self) -> None:
        """Ctrl-Z at the prompt: the shell's job control, as with any program (the terminal as it was meanwhile)."""
        import signal

        stop = getattr(signal, "SIGTSTP", None)
        if stop is None:
            return
        self.renderer.hide_input()
        with self.terminal.cooked():
            os.kill(os.getpid(), stop)  # stopped here until `fg`

    def show_transcript(self) -> None:
        """Ctrl-T and /transcript: the whole session, nothing cut (full command output, reasoning), in $PAGER (or
        `less -R`) on a terminal that draws, else printed into the scrollback between two marker rows."""
        import shlex
        import shutil

        text = "\n".join(self.renderer.transcript) + "\n"
        pager = self.env.get("PAGER", "").strip()
        argv = shlex.split(pager) if pager else (["less", "-R"] if shutil.which("less") else [])
        if self.live and argv:
            try:
                with self.terminal.cooked():
                    subprocess.run(argv, input=text.encode("utf-8", "replace"), check=False)
                return
            except OSError:
                pass  # no such pager: printed instead
        rule = self.renderer.pal.dim("/ T R A N S C R I P T / / /")
        self.renderer.write(("" if self.renderer.at_line_start else "\n") + rule + "\n"
                            + self.renderer.wrap(text.rstrip("\n")) + "\n"
                            + self.renderer.pal.dim("/ end of transcript /") + "\n")

    def header(self) -> None:
        pal, config = self.renderer.pal, self.config
        self.renderer.line(f"{pal.bold('>_ Codex CLI (Python)')} {pal.dim(f'(v{VERSION})')}")
        effort = config.model_reasoning_effort or "default"
        self.renderer.dim_line(f"   model: {config.model} {effort} · directory: {config.cwd}")
        yolo = config.sandbox_mode == "danger-full-access" and config.approval_policy == "never"
        self.renderer.dim_line(f"   permissions: {'YOLO mode' if yolo else permissions_label(config)}")
        self.renderer.dim_line("   Tip: / for commands, @ to mention a file, ! to run a shell command, "
                               "Esc or Ctrl-C interrupts, Ctrl-D quits.")
        self.renderer.blank()

    def offer_login(self, error: AuthError) -> bool:
        """No credentials: `codex login`'s ways to sign in, offered right here; True once one of them worked."""
        from codex_cli import login_cli
        from codex_cli.auth_store import AuthDotJson, open_store
        from codex_cli.cli_parser import build_parser

        renderer = self.renderer
        renderer.error(error.message)
        renderer.line("  1. Sign in with ChatGPT (opens a browser)\n  2. Sign in with ChatGPT on another device "
                      "(a one-time code)\n  3. Use an API key (stored in auth.json)\n  4. Quit")
        overrides = [arg for override in self.overrides.config_overrides for arg in ("-c", override)]
        while True:
            answer = (self.ask_choice("Select [1-4]: ") or "4").strip().lower()
            if answer in ("1", "2"):
                args = build_parser().parse_args(["login", *overrides, *(["--device-auth"] if answer == "2" else [])])
                with self.terminal.cooked():  # its own prompts, and Ctrl-C ends it
                    try:
                        done = login_cli.main(args) == 0
                    except KeyboardInterrupt:
                        done = False
                if done:
                    return True
                renderer.error("Not signed in. Choose again, or 4 to quit.")
            elif answer == "3":
                if self.config.raw.get("forced_login_method") == "chatgpt":
                    renderer.error("API key login is disabled here (forced_login_method). Sign in with ChatGPT.")
                    continue
                key = (self.ask_choice("API key (not shown): ", secret=True) or "").strip()
                if not key:
                    continue
                setting = self.config.raw.get("cli_auth_credentials_store")
                try:
                    open_store(self.config.codex_home, setting if isinstance(setting, str) else None).save(
                        AuthDotJson("apikey", openai_api_key=key))
                except (CodexError, OSError) as exc:
                    renderer.error(f"Could not store the API key: {exc}")
                    continue
                renderer.note("API key saved. It is checked with the first request.")
                return True
            else:
                return False

    def ask(self, prompt: str) -> str:
        """A one-off answer (a picker number, a path) that stays out of the history; "" when given up."""
        return self.ask_choice(prompt) or ""

    def ask_choice(self, prompt: str, *, secret: bool = False) -> str | None:
        """`ask()`, with None when the person gave up (Esc, Ctrl-C or Ctrl-D on an empty answer); a `secret`
        answer shows as dots and is not echoed when sent."""
        try:
            return self.read_input(prompt, history=False, secret=secret)
        except (EOFError, KeyboardInterrupt):
            return None

    def exit(self) -> int:
        pal = self.renderer.pal
        thread = self.thread
        if thread is not None:
            session = thread.session
            self.close_session()
            usage = session.usage
            if usage.total_tokens or usage.input_tokens or usage.output_tokens:
                fresh = usage.input_tokens - usage.cached_input_tokens
                line = f"Token usage: total={usage.blended_total:,} input={fresh:,}"
                if usage.cached_input_tokens:
                    line += f" (+ {usage.cached_input_tokens:,} cached)"
                line += f" output={usage.output_tokens:,}"
                if usage.reasoning_output_tokens:
                    line += f" (reasoning {usage.reasoning_output_tokens:,})"
                self.renderer.line(line)
            if thread.rollout_path is not None and self.turns:
                self.renderer.line("To continue this session, run:")
                self.renderer.line("  " + pal.cyan(f"codex resume {session.thread_id}"))
                if thread.name:
                    self.renderer.line(f"Or run codex resume and select {pal.cyan(thread.name)}.")
        self.renderer.set_title("")
        return 0

    # ------------------------------------------------------------------ turns

    def submit(self, text: str) -> None:
        """Send one message as a turn and render it until it ends."""
        from codex_cli.response_items import text_message

        thread = self.thread
        assert thread is not None
        items = [text_message("user", text)]
        if self.turns == 0:
            thread.name_from_prompt(text, lambda title: self._named(thread, title))
        self.run_turn(lambda: thread.run_turn(items, prompt=text))

    def _named(self, thread: Thread, title: str) -> None:
        """The title request named `thread` (on its own thread): the terminal title shows it."""
        if self._thread is thread:
            self.renderer.title_thread = title

    def review(self, prompt: str) -> None:
        """`/review`: a turn in a thread of its own (ux.md §8), with the reviewer's instructions and its findings
        shown as the UI renders them; the conversation then goes on where it was."""
        from codex_cli.bootstrap import ThreadStart
        from codex_cli.protocol import WarningNotice
        from codex_cli.response_items import text_message
        from codex_cli.review import reviewer_config, showing_rendered_reviews
        from codex_cli.thread import open_thread

        config = reviewer_config(self.config)
        rendered = showing_rendered_reviews(self._emit, priorities=True)

        def emit(event: Event) -> None:
            if not isinstance(event, WarningNotice):  # the conversation's session has shown them already
                rendered(event)

        start = ThreadStart(ephemeral=True, source="cli")  # no rollout: a review is not a thread to resume
        review = open_thread(config, start, originator=ORIGINATOR, client=CLIENT, emit=emit,
                             approver=_UiApprover(self))
        main, turns = self.thread, self.turns
        self.thread = review  # the keys (Esc, approvals) act on the review while it runs
        try:
            review.session.start()
            self.run_turn(lambda: review.run_turn([text_message("user", prompt)]), label="Reviewing")
        finally:
            review.close()
            self._drain()
            self.thread, self.turns = main, turns

    def run_turn(self, work: Callable[[], TurnResult], label: str = "Working") -> TurnResult | None:
        """Run `work` (a session call) on a worker thread and render its events; the summary after."""
        from codex_cli.session import TurnResult

        started = time.monotonic()
        result = self.busy(work, label)
        self.turns += 1
        if isinstance(result, BaseException):
            self.renderer.error(f"{type(result).__name__}: {result}")
            return None
        if not isinstance(result, TurnResult):
            return None
        if result.status == "completed":
            thread = self.thread
            assert thread is not None
            left = context_left_percent(thread.session.context_tokens(), thread.context_window())
            self.renderer.turn_summary(thread.session.usage, time.monotonic() - started, left)
            self.turn_notifications(result)
        self.renderer.blank()
        return result

    def turn_notifications(self, result: TurnResult) -> None:
        """The desktop notification of a completed turn (the thread has run `notify`)."""
        self.notifier.notify("agent-turn-complete", result.last_agent_message or "Agent turn complete")

    def busy(self, work: Callable[[], object], label: str = "Working") -> object:
        """Run `work` on a worker thread; meanwhile render what it emits and read keys."""

        def target() -> None:
            try:
                result: object = work()
            except BaseException as exc:  # the worker must always report back
                result = exc
            self.queue.put(Done(result))

        thread = threading.Thread(target=target, name="codex-turn", daemon=True)
        self._interrupting = self._put_back = False
        self.renderer.begin_busy(label)
        try:
            with self.terminal.keys():
                thread.start()
                self.show_draft()
                while True:
                    try:
                        return self._pump()
                    except KeyboardInterrupt:  # a SIGINT that did not come through the keyboard
                        self._interrupting = self._put_back = True
                        self._interrupt()
        finally:
            self.renderer.end_message()
            self.renderer.hide_input()
            self.renderer.end_busy()
            if self._put_back and self.queued:
                # Stopped by the person: what they queued is theirs to edit and send again, not sent by itself.
                self.buffer.set("\n".join([*self.queued, *([self.buffer.text] if self.buffer.text else [])]))
                self.queued = []

    def _interrupt(self) -> None:
        thread = self.thread
        if thread is not None:
            thread.interrupt()  # the turn, or the `!cmd`

    def _pump(self) -> object:
        last = {"keys": 0.0, "tick": 0.0}

        def between(now: float) -> None:
            if now - last["keys"] >= 0.03:
                last["keys"] = now
                for key in self.terminal.read_keys(0):
                    self.turn_key(key)
            if now - last["tick"] >= 0.1:
                last["tick"] = now
                self.renderer.tick(now)

        return pump(self.queue, self._dispatch, between)

    def _dispatch(self, message: object) -> None:
        if isinstance(message, _Opened):
            if self._opening is not None:
                self._finish_opening()
        elif isinstance(message, PendingApproval):
            self.renderer.set_title(self.renderer.titled("[ ! ] Action Required"))
            self.parts.ask_approval(self, message)
        else:
            if isinstance(message, ItemCompleted) and isinstance(message.item, AgentMessageItem) and message.item.text:
                self.last_answer = message.item.text
            self.renderer.handle(message)  # type: ignore[arg-type]

    def swallow(self, rest_of_word: str) -> None:
        """After a one-key answer, drop the rest of the word (and the Enter after it) if the person types it."""
        self._swallow, self._swallow_until, self._swallowed_any = rest_of_word, time.monotonic() + 1.5, False

    def filter_key(self, key: Key) -> Key | None:
        """`key`, or what is left of it after `swallow()`; None when nothing is."""
        if not self._swallow_until or time.monotonic() > self._swallow_until:
            self._swallow_until = 0.0
            return key
        if key.name == "enter":
            self._swallow_until = 0.0
            return None if self._swallowed_any else key
        if key.name == "text":
            text = key.text
            while text and self._swallow and text[0].lower() == self._swallow[0]:
                text, self._swallow, self._swallowed_any = text[1:], self._swallow[1:], True
            if not text:
                return None
            self._swallow_until = 0.0
            return Key("text", text)
        self._swallow_until = 0.0
        return key

    def turn_key(self, key: Key) -> None:
        """A key typed while a turn runs: editing the next message under the output, Enter (or Tab) queues it."""
        filtered = self.filter_key(key)
        if filtered is None:
            return
        key = filtered
        buffer = self.buffer
        if key.name in ("esc", "ctrl-c"):
            if not self._interrupting:
                self._interrupting = self._put_back = True
                self._interrupt()
            return
        if key.name in ("enter", "tab"):
            if buffer.text.strip():
                text = buffer.expanded()
                self.queued.append(text)
                self.remember(text)
                self.buffer = EditBuffer()
                if not self.live:
                    self.renderer.defer_note(self.renderer.pal.dim(f"Queued for the next turn: {text}"))
        elif key.name in ("focus-in", "focus-out"):
            self.notifier.focused = key.name == "focus-in"
            return
        elif key.name == "ctrl-u" and buffer.cursor == 0:
            buffer.set("")
        else:
            buffer.history = self.history
            if not buffer.edit(key):
                return
        self.show_draft()

    def stopped_by_person(self) -> None:
        """The turn ends because the person said so (an approval cancelled): queued messages come back to edit."""
        self._put_back = True

    def show_draft(self) -> None:
        """While a turn runs: the queued messages and the text being written, under the output (live terminals)."""
        if not self.live:
            return
        pal = self.renderer.pal
        queued = [pal.dim("↳ " + text.split("\n")[0] + (" …" if "\n" in text else "")) for text in self.queued]
        if queued:
            queued.append(pal.dim("  sent when this turn ends · esc: stop and edit them"))
        self.renderer.area.queued = queued
        if self.buffer.text:
            self._show(self.buffer, PROMPT)
        else:
            self.renderer.hide_input()
            self.renderer.refresh()

    def shell_command(self, command: str, typed: str) -> None:
        """`!cmd`: run it locally (Esc stops it), show it, and tell the model about it with the next message."""
        from codex_cli.protocol import CommandExecutionItem

        thread = self.thread
        assert thread is not None
        ran = self.busy(lambda: thread.shell_command(command, typed=typed), label="Running")
        if isinstance(ran, BaseException):
            self.renderer.error(f"{type(ran).__name__}: {ran}")
        elif isinstance(ran, CommandExecutionItem):
            self.renderer.command(ran, verb="You ran")
        self.renderer.blank()

    def status_usage(self) -> tuple[str, str | None]:
        session = self.session
        usage = session.usage
        fresh = usage.input_tokens - usage.cached_input_tokens
        tokens = (f"{compact_number(usage.blended_total)} total  ({compact_number(fresh)} input + "
                  f"{compact_number(usage.output_tokens)} output)")
        if not usage.total_tokens and not usage.output_tokens:
            return tokens, None
        window = self.thread.context_window() if self.thread is not None else 0
        used = session.context_tokens()
        left = context_left_percent(used, window)
        return tokens, f"{left}% left ({compact_number(used)} used / {compact_number(window * 95 // 100)})"
