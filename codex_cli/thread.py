"""One thread's whole life, the same for every front end: finding the rollout a thread continues, opening it with
its hooks bound, what happens around each turn (`history.jsonl`, `notify`), the person's `!cmd`, its name, its
real context window, and closing it (SessionEnd).

Front ends render the events, ask the person and word the errors: a thread that cannot be found is a
`ThreadNotFound` carrying what was looked for, and each front end says it in its own words.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codex_cli.errors import CodexError
from codex_cli.records import Record
from codex_cli.response_items import ResponseItem

if TYPE_CHECKING:
    from codex_cli.bootstrap import SessionBundle, ThreadStart
    from codex_cli.config import Config
    from codex_cli.hooks import HookEngine
    from codex_cli.protocol import CommandExecutionItem, Event
    from codex_cli.safety import Approver
    from codex_cli.session import Session, TurnResult

__all__ = [
    "Thread", "ThreadNotFound", "ThreadRef", "find_rollout", "hook_engine", "open_thread", "thread_name",
    "thread_start",
]

log = logging.getLogger(__name__)

_SHELL_TIMEOUT_SEC = 600.0  # a `!cmd` that runs longer is killed, as before it streamed
_SHELL_ITEM_ID = "bang"
FROM_START = "from-start"  # open_thread's default hook source: how the thread begins (startup, resume, fork)


class ThreadRef(Record):
    """Which recorded thread to continue: by id or name, the latest one (`--last`), or a rollout already chosen
    (the line UI's picker). `cwd` limits `--last` and names to threads recorded there (None: any directory)."""

    name: str | None = None  # a thread id (UUID), else a thread name
    last: bool = False
    path: Path | None = None
    cwd: Path | None = None
    model_provider: str | None = None  # `--last` only: threads of this provider
    interactive_only: bool = False  # `--last` only: leave `codex exec` threads out
    by_name: bool = True  # False: a `name` that is not a UUID finds nothing (codex-reply takes ids only)


class ThreadNotFound(CodexError):
    """No recorded thread matches `ref`; `looked_for` says how it was looked for: "id", "name" or "last"."""

    def __init__(self, ref: ThreadRef, looked_for: Literal["id", "name", "last"]) -> None:
        what = "the latest thread" if looked_for == "last" else f"a thread with {looked_for} {ref.name}"
        super().__init__(f"No recorded thread found: {what}.")
        self.ref, self.looked_for = ref, looked_for


def find_rollout(codex_home: Path, ref: ThreadRef) -> Path:
    """The rollout file `ref` names; raises ThreadNotFound."""
    from codex_cli import rollout

    if ref.path is not None:
        return ref.path
    if ref.last:
        path = rollout.find_last_thread(codex_home, cwd=ref.cwd, model_provider=ref.model_provider,
                                        interactive_only=ref.interactive_only)
        if path is None:
            raise ThreadNotFound(ref, "last")
        return path
    name = ref.name or ""
    if rollout.is_uuid(name):
        path = rollout.find_thread(codex_home, name)
        if path is None:
            raise ThreadNotFound(ref, "id")
        return path
    path = rollout.find_thread_by_name(codex_home, name, cwd=ref.cwd) if ref.by_name and name else None
    if path is None:
        raise ThreadNotFound(ref, "name")
    return path


def thread_start(codex_home: Path, ref: ThreadRef | None = None, *, fork: bool = False, ephemeral: bool = False,
                 source: str = "exec", thread_source: str = "user") -> ThreadStart:
    """How a thread begins: new (`ref` None), or resumed or forked from the rollout `ref` names (ThreadNotFound
    when there is none)."""
    from codex_cli.bootstrap import ThreadStart

    if ref is None:
        return ThreadStart(ephemeral=ephemeral, source=source, thread_source=thread_source)
    from codex_cli.rollout import load_rollout

    resumed = load_rollout(find_rollout(codex_home, ref))
    return ThreadStart(resumed=resumed, fork=fork, ephemeral=ephemeral, source=source, thread_source=thread_source)


def hook_engine(config: Config, *, bypass_trust: bool = False, permission_mode: str | None = None) \
        -> HookEngine | None:
    """The lifecycle hooks of a thread, or None when no handler is configured (hooks.py is then never imported).
    `permission_mode` is what handlers are told; by default it follows the config's approval policy and sandbox."""
    from codex_cli.hook_config import discover_hooks

    discovered = discover_hooks(config)
    if not discovered.handlers:
        return None
    from codex_cli.hooks import HookEngine

    if permission_mode is None:
        return HookEngine.from_config(config, bypass_trust=bypass_trust)
    return HookEngine(discovered, cwd=config.cwd, model=config.model, permission_mode=permission_mode,
                      bypass_trust=bypass_trust)


def thread_name(codex_home: Path, thread_id: str) -> str | None:
    """The name a recorded thread was given (session_index.jsonl), or None."""
    from codex_cli.rollout import thread_names

    return thread_names(codex_home).get(thread_id.lower())


def _hook_source(start: ThreadStart) -> str:
    return "fork" if start.fork else "resume" if start.resumed is not None else "startup"


def open_thread(
    config: Config,
    start: ThreadStart,
    *,
    originator: str,
    client: str,
    emit: Callable[[Event], None],
    hooks: HookEngine | None = None,
    hook_source: str | None = FROM_START,
    approver: Approver | None = None,
    permission_hooks: bool = True,
    env: Mapping[str, str] | None = None,
    output_schema: object | None = None,
    model_client: tuple[str, str] | None = None,
) -> Thread:
    """Build the thread's session with `hooks` bound to it: SessionStart says `hook_source` (by default how the
    thread begins; None: it does not fire), and an approval asks the PermissionRequest hooks before `approver`
    unless `permission_hooks` is False (`codex exec` never asks them, its automatic approver included).
    `client` names the front end to the `notify` program; `model_client` is the MCP client that model requests
    name in their User-Agent."""
    from codex_cli.bootstrap import build_session

    if hooks is not None:
        from codex_cli.hooks import HookedApprover

        hooks.model = config.model
        if approver is not None and permission_hooks:
            approver = HookedApprover(approver, hooks)
    bundle = build_session(config, originator=originator, emit=emit, output_schema=output_schema, env=env,
                           start=start, approver=approver, client=model_client,
                           hooks=hooks, hook_source=_hook_source(start) if hook_source == FROM_START else hook_source)
    return Thread(bundle, config, start, client=client, emit=emit)


class Thread:
    """An open thread: its session, and what happens around each of its turns. Front ends call `run_turn` (or
    `compact`, `shell_command`) from one thread at a time; `interrupt` from anywhere."""

    def __init__(self, bundle: SessionBundle, config: Config, start: ThreadStart, *, client: str,
                 emit: Callable[[Event], None]) -> None:
        self.session: Session = bundle.session
        self.config, self.start, self.client = config, start, client
        self.rollout_path = bundle.rollout_path
        self._emit = emit
        self.pending_context: list[ResponseItem] = []  # `!cmd` results, sent with the next turn
        self._cancel = threading.Event()  # interrupts a `!cmd`
        self._closing = threading.Event()  # ends the title request
        self._naming: threading.Thread | None = None
        self._closed = False
        self.name: str | None = None  # from session_index.jsonl, /rename or the title of the first prompt
        resumed = start.resumed
        if resumed is not None and not start.fork:
            self.name = thread_name(config.codex_home, resumed.meta.id)

    @property
    def thread_id(self) -> str:
        return self.session.thread_id

    @property
    def hooks(self) -> HookEngine | None:
        return self.session.hooks

    @property
    def is_recorded(self) -> bool:
        """Whether the thread has a rollout file (it can be resumed and named)."""
        return self.rollout_path is not None

    def context_window(self) -> int:
        """The window compaction works with: what the context-left figure is a share of."""
        from codex_cli.bootstrap import context_window

        return context_window(self.config)

    # ------------------------------------------------------------------ turns

    def run_turn(self, user_items: list[ResponseItem], *, prompt: str | None = None) -> TurnResult:
        """One turn with the person's input; `prompt` (what they typed) goes into `history.jsonl` first. `!cmd`
        results since the last turn go before the input. `notify` runs when the turn completes."""
        if prompt is not None:
            self._remember(prompt)
        items, self.pending_context = [*self.pending_context, *user_items], []
        return self._notified(self.session.run_turn(items))

    def compact(self) -> TurnResult:
        """Summarise the conversation now and continue in a fresh window (`/compact`)."""
        return self._notified(self.session.compact())

    def interrupt(self) -> None:
        """Stop the running turn or `!cmd` (safe from a signal handler or another thread)."""
        self._cancel.set()
        self.session.interrupt()

    def _remember(self, text: str) -> None:
        if self.start.ephemeral:
            return
        from codex_cli.prompt_history import append_entry

        append_entry(self.config.codex_home, self.thread_id, text, persistence=self.config.history_persistence,
                     max_bytes=self.config.history_max_bytes)

    def _notified(self, result: TurnResult) -> TurnResult:
        """Run the `notify` program after a completed turn (ux.md §6.1), in every front end."""
        config, session = self.config, self.session
        if result.status == "completed" and config.notify and session.turn_id is not None:
            from codex_cli.notifications import notify_payload, run_notify, user_messages

            run_notify(config.notify, notify_payload(
                thread_id=session.thread_id, turn_id=session.turn_id, cwd=config.cwd, client=self.client,
                input_messages=user_messages(session.history), last_message=result.last_agent_message), config.cwd)
        return result

    # ------------------------------------------------------------------ the person's own command

    def shell_command(self, command: str, *, typed: str | None = None) -> CommandExecutionItem:
        """`!cmd`: run `command` through the person's shell in the thread's cwd, without the model and outside the
        sandbox, its output streamed as `CommandOutputDelta` events, until it ends or `interrupt()`. The result
        reaches the model as a `<user_shell_command>` message with the next turn (ux.md §3); `typed` goes into
        `history.jsonl`. Returns the finished command for the front end to show."""
        from codex_cli.protocol import CommandExecutionItem, ItemStarted

        if typed is not None:
            self._remember(typed)
        self._cancel.clear()
        started = time.monotonic()
        self._emit(ItemStarted(CommandExecutionItem(_SHELL_ITEM_ID, command, cwd=str(self.config.cwd))))
        output, code = self._run_shell(command)
        duration = time.monotonic() - started
        from codex_cli.response_items import text_message

        self.pending_context.append(text_message("user", (
            f"<user_shell_command>\n<command>\n{command}\n</command>\n<result>\nExit code: {code}\n"
            f"Duration: {duration:.4f} seconds\nOutput:\n{output}\n</result>\n</user_shell_command>")))
        return CommandExecutionItem(_SHELL_ITEM_ID, command, output, code, "completed" if code == 0 else "failed",
                                    cwd=str(self.config.cwd))

    def _run_shell(self, command: str) -> tuple[str, int | None]:
        """(output, exit code) of `command`; the exit code is None when it could not start, timed out or was
        interrupted (the output then says so)."""
        from codex_cli.protocol import CommandOutputDelta
        from codex_cli.shell import shell_argv, signal_group, spawn_argv

        try:
            proc = subprocess.Popen(spawn_argv(shell_argv(command)), cwd=self.config.cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=sys.platform != "win32")
        except OSError as exc:
            return str(exc), None
        chunks: list[bytes] = []
        stdout = proc.stdout
        assert stdout is not None

        def read() -> None:
            try:
                while chunk := os.read(stdout.fileno(), 65536):
                    chunks.append(chunk)
                    self._emit(CommandOutputDelta(_SHELL_ITEM_ID, chunk.decode("utf-8", "replace")))
            finally:
                stdout.close()

        reader = threading.Thread(target=read, name="codex-user-shell", daemon=True)
        reader.start()
        deadline = time.monotonic() + _SHELL_TIMEOUT_SEC
        ended: str | None = None
        while proc.poll() is None:
            if self._cancel.wait(0.05):
                ended = "interrupted by the user"
            elif time.monotonic() > deadline:
                ended = f"timed out after {_SHELL_TIMEOUT_SEC:g} seconds"
            if ended is not None:
                signal_group(proc, interrupt=False)  # the command with everything it started
                break
        proc.wait()
        reader.join(1.0)  # a background child of the command may keep the pipe open: not waited for longer
        output = b"".join(chunks).decode("utf-8", "replace")
        if ended is not None:
            return output + ("" if not output or output.endswith("\n") else "\n") + f"Command {ended}.", None
        return output, proc.returncode

    # ------------------------------------------------------------------ naming

    def rename(self, name: str) -> None:
        """Record `name` in session_index.jsonl, where `codex resume` finds it; raises OSError."""
        from codex_cli import rollout

        rollout.record_thread_name(self.config.codex_home, self.thread_id, name)
        self.name = name

    def name_from_prompt(self, prompt: str, on_named: Callable[[str], None]) -> None:
        """Ask the model for the thread's name while its first turn runs (ux.md §9), record it and tell
        `on_named`, unless /rename came first. Only for a recorded thread on the Responses wire (codex-rs has no
        title request for the chat wire to follow)."""
        if self.name is not None or not self.is_recorded or self.config.model_provider.wire_api != "responses":
            return
        from codex_cli import rollout

        session, home, cancel = self.session, self.config.codex_home, self._closing

        def name() -> None:
            try:
                title = session.thread_title(prompt, cancel)
                if title is None or cancel.is_set() or self.name is not None:  # /rename came first
                    return
                rollout.record_thread_name(home, session.thread_id, title)
            except Exception:  # a name is a nicety: nothing about it may disturb the session
                log.debug("naming thread %s failed", session.thread_id, exc_info=True)
                return
            self.name = title
            on_named(title)

        # Not a daemon: an interpreter exiting under a thread that is inside OpenSSL can crash; closing the thread
        # sets `cancel`, which ends the request at once.
        self._naming = threading.Thread(target=name, name="thread-title")
        self._naming.start()

    # ------------------------------------------------------------------ the end

    def close(self, *, end: bool = True) -> None:
        """Close what the session opened (commands, MCP servers, the rollout). `end`: the thread ends here, so
        its title request stops and the SessionEnd hooks run; not when the same thread goes on in another
        session (new permissions). Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if end:
                self._closing.set()
                if self._naming is not None:
                    self._naming.join()
                if self.hooks is not None:
                    self.hooks.session_end()
        finally:
            self.session.close()
