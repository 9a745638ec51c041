"""Running commands for the model's shell tools: environment, launching, live sessions and the output text.

`exec_command` starts `[shell, "-lc", cmd]` in its own process group and waits up to `yield_time_ms`; a command
still running then becomes a session that `write_stdin` feeds or polls. stdout and stderr share one pipe (or one
PTY with `tty`), so their bytes arrive in the order the process wrote them. The model sees a plain-text header and
the output cut in the middle to its token budget (tokens = ceil(bytes / 4)), from a 1 MiB head-and-tail capture of
all of it; `on_output` callbacks see the output live up to `LIVE_OUTPUT_LIMIT_BYTES`, so codex stays small however
much a command prints. The older `shell` tool (an argv array with `timeout_ms`) runs through `run_legacy_shell` and
answers with a small JSON document.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from codex_cli.records import Record, field
from codex_cli.version import VERSION

__all__ = [
    "EnvPolicy",
    "ExecFailure",
    "ExecRequest",
    "ExecResult",
    "ProcessManager",
    "build_command_env",
    "cap_tool_output",
    "default_shell_name",
    "default_shell_path",
    "format_command_for_display",
    "profile_var_kept",
    "run_legacy_shell",
    "shell_argv",
    "signal_group",
    "spawn_argv",
    "truncate_for_model",
]

log = logging.getLogger(__name__)

OutputCallback = Callable[[str], None]
Preexec = Callable[[], None]

DEFAULT_YIELD_MS = 10_000
EXEC_YIELD_RANGE_MS = (250, 30_000)
WRITE_YIELD_DEFAULT_MS = 250
POLL_YIELD_RANGE_MS = (5_000, 300_000)
DEFAULT_MAX_OUTPUT_TOKENS = 10_000
CAPTURE_LIMIT_BYTES = 1 << 20
# How much text one process passes to `on_output` callbacks over its life, counted as the memory the text takes
# (1 to 4 bytes a character); later output is only captured. Front ends keep or forward what they are given, so
# without a limit a command printing gigabytes would grow codex by as much (codex-rs stops its live deltas too).
LIVE_OUTPUT_LIMIT_BYTES = 8 << 20
MAX_LIVE_SESSIONS = 64
LEGACY_TIMEOUT_MS = 60_000
LEGACY_TIMEOUT_EXIT_CODE = 124
PTY_ROWS, PTY_COLS = 24, 80
_TICK_S = 0.05  # how often waits look at the cancel event and the child's status
_EXIT_GRACE_S = 0.25  # after the child exits, how long background children may keep the output open
_CTRL_C = "\u0003"

_CORE_VARS = frozenset(
    {"PATH", "SHELL", "TMPDIR", "TEMP", "TMP", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LOGNAME", "USER"}
)
_DEFAULT_EXCLUDES = ("*KEY*", "*SECRET*", "*TOKEN*")
_FORCED_VARS = dict(  # set after the policy, overriding `set`
    item.split("=", 1)
    for item in "NO_COLOR=1 TERM=dumb LANG=C.UTF-8 LC_CTYPE=C.UTF-8 LC_ALL=C.UTF-8 COLORTERM= PAGER=cat GIT_PAGER=cat"
    " GH_PAGER=cat CODEX_CI=1 CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS=1".split()
)
# Set by build_command_env (and the sandbox) per command, after the policy.
_CODEX_VARS = frozenset(
    "CODEX_VERSION CODEX_THREAD_ID CODEX_SESSION_ID CODEX_TOOL_CALL_ID CODEX_SANDBOX_NETWORK_DISABLED "
    "CODEX_PERMISSION_PROFILE CODEX_SANDBOX".split()
)
_STDIN_CLOSED = (
    "write_stdin failed: stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
)


class ExecFailure(Exception):
    """Raised when a command cannot be started or a session cannot be used; `str()` is the text for the model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------- environment


class EnvPolicy(Record):
    """`[shell_environment_policy]`: which variables of codex's own environment a command starts with."""

    inherit: str = "all"
    ignore_default_excludes: bool = True
    exclude: tuple[str, ...] = ()
    include_only: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __post_init__(self) -> None:
        if self.inherit not in ("all", "core", "none"):
            raise ValueError(f"unknown variant `{self.inherit}`, expected one of `core`, `all`, `none`")
        object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "include_only", tuple(self.include_only))
        object.__setattr__(self, "set", MappingProxyType(dict(self.set)))


def _glob_matches(pattern: str, name: str) -> bool:
    """Whole-name, case-insensitive match where only `*` and `?` are special."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


def _matches_any(patterns: Sequence[str], name: str) -> bool:
    return any(_glob_matches(pattern, name) for pattern in patterns)


def _inherited(inherit: str, base_env: Mapping[str, str]) -> dict[str, str]:
    if inherit == "none":
        return {}
    if inherit == "core":
        fold = str.upper if sys.platform == "win32" else str
        return {k: v for k, v in base_env.items() if fold(k) in _CORE_VARS}
    return dict(base_env)


def _excludes(policy: EnvPolicy) -> list[str]:
    return [*(() if policy.ignore_default_excludes else _DEFAULT_EXCLUDES), *policy.exclude]


def profile_var_kept(policy: EnvPolicy, name: str) -> bool:
    """Whether a variable that the login profile exported reaches commands under `policy` (a shell snapshot keeps
    it): not excluded, within `include_only`, and not one that `set` or codex gives every command itself."""
    if name in policy.set or name in _FORCED_VARS or name in _CODEX_VARS or _matches_any(_excludes(policy), name):
        return False
    return not policy.include_only or _matches_any(policy.include_only, name)


def build_command_env(
    policy: EnvPolicy,
    base_env: Mapping[str, str],
    *,
    thread_id: str,
    call_id: str,
    network_disabled: bool,
    extra_path_dirs: Sequence[str] = (),
    permission_profile: str | None = None,
) -> dict[str, str]:
    """The environment of one command: inherit → default excludes → exclude → set → include_only → forced vars."""
    env = _inherited(policy.inherit, base_env)
    excludes = _excludes(policy)
    env = {k: v for k, v in env.items() if not _matches_any(excludes, k)}
    env.update(policy.set)
    if policy.include_only:
        env = {k: v for k, v in env.items() if _matches_any(policy.include_only, k)}
    env.update(_FORCED_VARS)
    env.update(CODEX_VERSION=VERSION, CODEX_THREAD_ID=thread_id, CODEX_SESSION_ID=thread_id, CODEX_TOOL_CALL_ID=call_id)
    if network_disabled:
        env["CODEX_SANDBOX_NETWORK_DISABLED"] = "1"
    if permission_profile:
        env["CODEX_PERMISSION_PROFILE"] = permission_profile
    if extra_path_dirs:
        env["PATH"] = os.pathsep.join([*extra_path_dirs, *filter(None, [env.get("PATH")])])
    return env


# ---------------------------------------------------------------------------------------------- shell argv


def default_shell_path() -> str:
    """The shell commands run in: `$SHELL` when it names an executable; else on Windows PowerShell (`pwsh`, then
    Windows PowerShell, then `%COMSPEC%`), elsewhere `bash` on PATH, else `/bin/sh`.

    On Windows `bash` is not looked up: the `bash.exe` on PATH is usually WSL's launcher, which would run the
    command in another system. Git Bash or `cmd` is chosen by pointing `SHELL` at it."""
    configured = os.environ.get("SHELL", "")
    found = shutil.which(configured) if configured else None  # an absolute path is checked, a name searched
    if found:
        return found
    if sys.platform == "win32":
        system_root = os.environ.get("SystemRoot", r"C:\Windows")
        windows_powershell = os.path.join(system_root, "System32", "WindowsPowerShell", "v1.0", "powershell.exe")
        for candidate in ("pwsh", "powershell", windows_powershell):
            found = shutil.which(candidate)
            if found:
                return found
        return os.environ.get("COMSPEC", "cmd.exe")
    return shutil.which("bash") or "/bin/sh"


def _shell_name(path: str) -> str:
    name = re.split(r"[\\/]", path)[-1]  # either separator: Windows paths are named on every platform
    return name[:-4] if name.lower().endswith(".exe") else name


def default_shell_name() -> str:
    """The basename of the default shell (`bash`, `zsh`, …), as reported in `<environment_context>`."""
    return _shell_name(default_shell_path())


def shell_argv(command: str, *, login: bool = True, shell: str | None = None) -> list[str]:
    """`[shell, "-lc", command]` (`-c` without login); `shell` is looked up on PATH, falling back to the default."""
    path = (shutil.which(shell) if shell else None) or default_shell_path()
    name = _shell_name(path).lower()
    if name == "cmd":
        return [path, "/c", command]
    if name in ("powershell", "pwsh"):
        return [path, "-Command", command] if login else [path, "-NoProfile", "-Command", command]
    return [path, "-lc" if login else "-c", command]


def format_command_for_display(argv: Sequence[str]) -> str:
    """The argv as one POSIX-shell-quoted string, e.g. `/bin/bash -lc 'echo hi'`."""
    return shlex.join(argv)


# ---------------------------------------------------------------------------------------------- output text


def _token_count(nbytes: int) -> int:
    return (nbytes + 3) // 4


def _line_count(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def _utf8_head(data: bytes, size: int) -> bytes:
    cut = min(size, len(data))
    while 0 < cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return data[:cut]


def _utf8_tail(data: bytes, size: int) -> bytes:
    start = max(len(data) - size, 0)
    while start < len(data) and data[start] & 0xC0 == 0x80:
        start += 1
    return data[start:]


def _output_budget(max_output_tokens: int | None) -> int:
    if max_output_tokens is None:
        return DEFAULT_MAX_OUTPUT_TOKENS
    return max(0, min(max_output_tokens, DEFAULT_MAX_OUTPUT_TOKENS))


def _render_output(text: str, budget: int, original_tokens: int, omitted_bytes: int) -> str:
    """The body after `Output:`; cut in the middle with a warning preamble when over `budget` tokens."""
    data = text.encode("utf-8", "replace")
    if omitted_bytes == 0 and _token_count(len(data)) <= budget:
        return text
    if omitted_bytes:
        second_line = f"... {omitted_bytes} bytes omitted ..."
        # Observed: the truncated-token figure also counts this line's bytes (seq 1 400000 → …252152 tokens…).
        counted = len(data) + len(second_line)
    else:
        second_line = f"Total output lines: {_line_count(text)}"
        counted = len(data)
    removed = _token_count(counted) - budget
    body = text if removed <= 0 else _cut_middle(data, 4 * budget, removed)
    return f"Warning: truncated output (original token count: {original_tokens})\n{second_line}\n\n{body}"


def _cut_middle(data: bytes, keep_bytes: int, removed_tokens: int | None = None) -> str:
    """The first and last `keep_bytes / 2` bytes of `data` (on UTF-8 boundaries) around a `…N tokens truncated…`
    marker; N is the tokens of the bytes left out unless the caller counts them its own way."""
    head = _utf8_head(data, keep_bytes // 2)
    tail = _utf8_tail(data, keep_bytes - keep_bytes // 2)
    if removed_tokens is None:
        removed_tokens = _token_count(len(data) - len(head) - len(tail))
    return f"{head.decode('utf-8', 'replace')}…{removed_tokens} tokens truncated…{tail.decode('utf-8', 'replace')}"


def cap_tool_output(output: str | list[dict[str, object]], budget_tokens: int) -> str | list[dict[str, object]]:
    """A tool's output as the history keeps it: at most `budget_tokens` (see `model_family.tool_output_budget`).

    A text output over the budget is cut in the middle. In a list, the items share the budget in order: text that
    fits stays, the text that crosses the limit is cut to what is left, later text items are left out and counted
    in a last `[omitted N text items ...]` item; images stay. Outputs already cut to their own smaller budget
    (`exec_command`) pass unchanged."""
    if isinstance(output, str):
        data = output.encode("utf-8", "replace")
        return output if _token_count(len(data)) <= budget_tokens else _cut_middle(data, 4 * budget_tokens)
    remaining, omitted = budget_tokens, 0
    kept: list[dict[str, object]] = []
    for item in output:
        text = item.get("text")
        if item.get("type") != "input_text" or not isinstance(text, str):
            kept.append(item)
            continue
        if remaining == 0:
            omitted += 1
            continue
        data = text.encode("utf-8", "replace")
        tokens = _token_count(len(data))
        if tokens <= remaining:
            kept.append(item)
            remaining -= tokens
        else:
            kept.append({**item, "text": _cut_middle(data, 4 * remaining)})
            remaining = 0
    if omitted:
        kept.append({"type": "input_text", "text": f"[omitted {omitted} text items ...]"})
    return kept


def truncate_for_model(text: str, max_tokens: int) -> str:
    """Keep the first and last 2×`max_tokens` bytes of `text` around a `…N tokens truncated…` marker."""
    return _render_output(text, max(0, max_tokens), _token_count(len(text.encode("utf-8", "replace"))), 0)


def _new_chunk_id() -> str:
    return f"{random.getrandbits(24):06x}"


class ExecRequest(Record):
    """One `exec_command` call, already resolved to an argv, a directory and an environment."""

    argv: list[str]
    cwd: Path
    env: Mapping[str, str]
    yield_time_ms: int | None = None
    max_output_tokens: int | None = None
    tty: bool = False


class ExecResult(Record):
    """What one `exec_command`/`write_stdin` call collected; `exit_code` is None while the process still runs."""

    output: str
    exit_code: int | None
    session_id: int | None
    wall_time: float
    original_token_count: int
    omitted_bytes: int = 0  # middle bytes that did not fit the 1 MiB capture buffer
    max_output_tokens: int | None = None
    chunk_id: str = field(default_factory=_new_chunk_id)

    def to_model_text(self) -> str:
        """The plain-text `function_call_output` the model reads."""
        if self.exit_code is not None:
            status = f"Process exited with code {self.exit_code}"
        else:
            status = f"Process running with session ID {self.session_id}"
        body = _render_output(
            self.output, _output_budget(self.max_output_tokens), self.original_token_count, self.omitted_bytes
        )
        return (
            f"Chunk ID: {self.chunk_id}\nWall time: {self.wall_time:.4f} seconds\n{status}\n"
            f"Original token count: {self.original_token_count}\nOutput:\n{body}"
        )


# ---------------------------------------------------------------------------------------------- processes


class _Capture:
    """Output not yet handed to the model: the first and the last half of the limit, and how much came in."""

    def __init__(self, limit: int = CAPTURE_LIMIT_BYTES) -> None:
        self._half = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def add(self, data: bytes) -> None:
        self._total += len(data)
        room = self._half - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            if len(self._tail) > self._half:
                del self._tail[: len(self._tail) - self._half]

    def take(self) -> tuple[bytes, int, int]:
        """(kept bytes, bytes dropped from the middle, bytes received) since the last take."""
        kept = bytes(self._head + self._tail)
        result = (kept, self._total - len(kept), self._total)
        self._head, self._tail, self._total = bytearray(), bytearray(), 0
        return result


def _creation_flags() -> int:
    if sys.platform == "win32":
        return subprocess.CREATE_NEW_PROCESS_GROUP
    return 0


def signal_group(popen: subprocess.Popen[bytes], interrupt: bool) -> None:
    """Send SIGINT (`interrupt`) or SIGKILL to the child's whole process group."""
    if sys.platform == "win32":
        if interrupt:
            popen.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            popen.kill()
        return
    try:
        os.killpg(popen.pid, signal.SIGINT if interrupt else signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _ask_supervisor_to_end(popen: subprocess.Popen[bytes]) -> bool:
    """SIGTERM to a sandboxed command's supervisor (the process codex started), which kills everything of the
    command and exits only once none of it can run any more (a PID namespace is reaped after its last process):
    what is removed after that (placeholders) cannot be raced. False when it did not end in time (then the
    caller kills the group outright)."""
    if sys.platform == "win32":
        return False
    try:
        popen.send_signal(signal.SIGTERM)
        popen.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return False
    return True


def _take_terminal() -> None:
    """Runs in a PTY child before exec: a new session whose controlling terminal is the PTY on fd 0."""
    if sys.platform != "win32":
        import fcntl
        import termios

        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _open_output(tty: bool) -> tuple[int, int]:
    """(parent read end, child end): a 24x80 PTY when `tty` (POSIX only), else one pipe for stdout and stderr."""
    if not tty or sys.platform == "win32":
        return os.pipe()
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", PTY_ROWS, PTY_COLS, 0, 0))
    return master, slave


def _child_setup(with_pty: bool, confine: Preexec | None) -> Preexec | None:
    """What the child runs between fork and exec: take the PTY, then confine itself (the sandbox)."""
    if not with_pty:
        return confine
    if confine is None:
        return _take_terminal

    def setup() -> None:
        _take_terminal()
        confine()

    return setup


_POWERSHELL_UTF8 = "[Console]::OutputEncoding=[System.Text.Encoding]::UTF8; "


def spawn_argv(argv: Sequence[str], platform: str = sys.platform) -> list[str]:
    """The argv actually started for `argv`: on Windows a PowerShell `-Command` script first switches the output
    to UTF-8 (Windows PowerShell writes to a pipe in the OEM code page; the output is read as UTF-8). Approvals
    and the displayed command use `argv` as the model asked for it."""
    if platform == "win32" and len(argv) >= 3 and argv[-2].lower() == "-command":
        if _shell_name(argv[0]).lower() in ("powershell", "pwsh"):
            return [*argv[:-1], _POWERSHELL_UTF8 + argv[-1]]
    return list(argv)


def _spawn(
    argv: list[str], cwd: Path, env: Mapping[str, str], tty: bool, confine: Preexec | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    read_fd, child_fd = _open_output(tty)
    with_pty = tty and sys.platform != "win32"
    try:
        popen = subprocess.Popen(
            spawn_argv(argv),
            cwd=cwd,
            env=dict(env),
            stdin=child_fd if with_pty else subprocess.DEVNULL,
            stdout=child_fd,
            stderr=child_fd,
            start_new_session=not with_pty and sys.platform != "win32",
            preexec_fn=_child_setup(with_pty, confine),
            creationflags=_creation_flags(),
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(child_fd)
    return popen, read_fd


class _LiveProcess:
    """One child process, the thread that drains its output, and what it has produced so far."""

    def __init__(
        self, argv: list[str], cwd: Path, env: Mapping[str, str], tty: bool, confine: Preexec | None = None
    ) -> None:
        self.popen, read_fd = _spawn(argv, cwd, env, tty, confine)
        self.confined = confine is not None
        self.is_tty = tty and sys.platform != "win32"
        self._write_fd = os.dup(read_fd) if self.is_tty else None
        self._typed: list[bytes] = []  # input for the terminal that the typist thread has not written yet
        self._typist: threading.Thread | None = None
        self.session_id: int | None = None
        self.command: list[str] = argv
        self.finished = False
        self._cond = threading.Condition()
        self._capture = _Capture()
        self._fresh: list[str] = []  # decoded output not yet passed to an `on_output` callback
        self._fresh_chars = 0
        self._live_left = LIVE_OUTPUT_LIMIT_BYTES
        self._pump = threading.Thread(target=self._drain, args=(read_fd,), name="codex-exec-output", daemon=True)
        self._pump.start()

    def _drain(self, fd: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            data = b"-"
            while data:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""  # EIO from a PTY master once the child side is closed
                text = decoder.decode(data, final=not data)
                with self._cond:
                    self._capture.add(data)
                    if text and self._live_left > 0:
                        self._live_left -= sys.getsizeof(text)
                        self._keep_fresh(text)
                    self._cond.notify_all()
        finally:
            os.close(fd)
            with self._cond:
                self._cond.notify_all()

    def _type(self, fd: int) -> None:
        try:
            while True:
                with self._cond:
                    if not self._typed or self._write_fd is None:
                        self._typed.clear()
                        return
                    data = self._typed.pop(0)
                while data:
                    data = data[os.write(fd, data) :]
        except OSError:  # the terminal is gone: the next wait reports the exit
            with self._cond:
                self._typed.clear()
        finally:
            os.close(fd)

    def _keep_fresh(self, text: str) -> None:
        """Hold `text` for the next waiter; between calls only the newest megabyte or so is kept."""
        self._fresh.append(text)
        self._fresh_chars += len(text)
        while self._fresh_chars > CAPTURE_LIMIT_BYTES and len(self._fresh) > 1:
            self._fresh_chars -= len(self._fresh.pop(0))

    @property
    def exit_code(self) -> int | None:
        code = self.popen.returncode
        if not self.finished or code is None:
            return None
        return 128 - code if code < 0 else code

    def write(self, chars: str) -> None:
        if self._write_fd is not None:
            # Written by a thread of its own: a program that stops reading its terminal (raw mode, a full input
            # queue) would otherwise block the turn in os.write for good, past every interrupt.
            with self._cond:
                self._typed.append(chars.encode("utf-8"))
                if self._typist is None or not self._typist.is_alive():
                    # Its own descriptor: close() may close ours while it writes, and the number be reused.
                    self._typist = threading.Thread(target=self._type, args=(os.dup(self._write_fd),),
                                                    name="codex-exec-input", daemon=True)
                    self._typist.start()
        elif chars == _CTRL_C:
            signal_group(self.popen, interrupt=True)
        else:
            raise ExecFailure(_STDIN_CLOSED)

    def wait(self, deadline: float, cancel: threading.Event | None, on_output: OutputCallback | None) -> None:
        """Stream output until the process has finished, `deadline` (monotonic) passes or `cancel` is set."""
        try:
            while not self._settle():
                if cancel is not None and cancel.is_set():
                    self.kill()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._pause(min(remaining, _TICK_S))
                self._deliver(on_output)
        finally:
            self._deliver(on_output)

    def _pause(self, seconds: float) -> None:
        if not self._pump.is_alive():
            try:
                self.popen.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                pass
            return
        with self._cond:
            if not self._fresh:
                self._cond.wait(timeout=seconds)

    def _deliver(self, on_output: OutputCallback | None) -> None:
        with self._cond:
            fresh, self._fresh, self._fresh_chars = self._fresh, [], 0
        if on_output is not None:
            for chunk in fresh:
                on_output(chunk)

    def _settle(self) -> bool:
        """True once the child has exited and its output is drained (killing leftovers that hold it open)."""
        if self.finished:
            return True
        if self.popen.poll() is None:
            return False
        self._pump.join(timeout=_EXIT_GRACE_S)
        if self._pump.is_alive():
            signal_group(self.popen, interrupt=False)  # background children still hold the output open
            self._pump.join(timeout=_EXIT_GRACE_S)
        self.finished = True
        return True

    def kill(self) -> None:
        """Kill the whole process group and reap the child."""
        if not self.finished:
            if self.confined and _ask_supervisor_to_end(self.popen):
                self._settle()
                return
            signal_group(self.popen, interrupt=False)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("process %d did not exit after SIGKILL", self.popen.pid)
                return
            self._settle()

    def take_output(self) -> tuple[str, int, int]:
        """(decoded output, middle bytes dropped, total bytes) produced since the last call."""
        with self._cond:
            kept, omitted, total = self._capture.take()
        return kept.decode("utf-8", "replace"), omitted, total

    def close(self) -> None:
        self.kill()
        with self._cond:
            fd, self._write_fd = self._write_fd, None
        if fd is not None:
            os.close(fd)


def _clamp(value: int | None, default: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(default if value is None else value, bounds[1]))


def _launch_failure(prefix: str, exc: OSError) -> ExecFailure:
    reason = exc.strerror or str(exc)
    detail = f"{reason} (os error {exc.errno})" if exc.errno is not None else reason
    inner = f'Rejected(\\"Failed to create unified exec process: {detail}\\")'
    return ExecFailure(f'{prefix} failed: CreateProcess {{ message: "{inner}" }}')


class ProcessManager:
    """The live `exec_command` sessions of one conversation; `close()` kills every one of them."""

    def __init__(
        self, *, launcher: Callable[[list[str]], list[str]] | None = None, preexec: Preexec | None = None
    ) -> None:
        self.launcher = launcher
        self.preexec = preexec
        self._lock = threading.Lock()
        self._sessions: dict[int, _LiveProcess] = {}
        self._running: set[_LiveProcess] = set()

    def exec_command(
        self, req: ExecRequest, *, on_output: OutputCallback | None = None, cancel: threading.Event | None = None
    ) -> ExecResult:
        """Start `req.argv` and wait for it up to the yield time (default 10 s, clamped to 0.25–30 s)."""
        start = time.monotonic()
        argv = self.launcher(list(req.argv)) if self.launcher else list(req.argv)
        try:
            proc = _LiveProcess(argv, req.cwd, req.env, req.tty, self.preexec)
        except OSError as exc:
            raise _launch_failure("exec_command", exc) from exc
        proc.command = list(req.argv)  # as the model asked for it, for /ps
        with self._lock:
            self._running.add(proc)
        yield_ms = _clamp(req.yield_time_ms, DEFAULT_YIELD_MS, EXEC_YIELD_RANGE_MS)
        proc.wait(start + yield_ms / 1000, cancel, on_output)
        return self._result(proc, start, req.max_output_tokens)

    def sessions(self) -> list[tuple[int, list[str]]]:
        """(session id, command) of each command still running in the background (the line UI's /ps)."""
        with self._lock:
            return [(sid, proc.command) for sid, proc in self._sessions.items() if not proc.finished]

    def has_session(self, session_id: int) -> bool:
        """Whether `session_id` names a live session of this manager."""
        with self._lock:
            return session_id in self._sessions

    def write_stdin(
        self,
        session_id: int,
        chars: str,
        *,
        yield_time_ms: int | None,
        max_output_tokens: int | None,
        on_output: OutputCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ExecResult:
        """Write `chars` to a session (empty = poll) and collect what it printed since the last call."""
        start = time.monotonic()
        with self._lock:
            proc = self._sessions.get(session_id)
        if proc is None:
            raise ExecFailure(f"write_stdin failed: Unknown process id {session_id}")
        if chars:
            proc.write(chars)
            wait_ms = _clamp(yield_time_ms, WRITE_YIELD_DEFAULT_MS, EXEC_YIELD_RANGE_MS)
        else:
            wait_ms = _clamp(yield_time_ms, POLL_YIELD_RANGE_MS[0], POLL_YIELD_RANGE_MS)
        proc.wait(start + wait_ms / 1000, cancel, on_output)
        return self._result(proc, start, max_output_tokens)

    def _result(self, proc: _LiveProcess, start: float, max_output_tokens: int | None) -> ExecResult:
        text, omitted, total = proc.take_output()
        exit_code = proc.exit_code
        if exit_code is None:
            self._register(proc)
        else:
            self._forget(proc)
        return ExecResult(
            output=text,
            exit_code=exit_code,
            session_id=proc.session_id,
            wall_time=time.monotonic() - start,
            original_token_count=_token_count(total),
            omitted_bytes=omitted,
            max_output_tokens=max_output_tokens,
        )

    def _register(self, proc: _LiveProcess) -> None:
        evicted: list[_LiveProcess] = []
        with self._lock:
            if proc.session_id is None:
                while len(self._sessions) >= MAX_LIVE_SESSIONS:
                    oldest = next(iter(self._sessions))
                    evicted.append(self._sessions.pop(oldest))
                    log.warning("more than %d live exec sessions; closing session %d", MAX_LIVE_SESSIONS, oldest)
                session_id = random.randint(1000, 99_999)
                while session_id in self._sessions:
                    session_id = random.randint(1000, 99_999)
                proc.session_id = session_id
                self._sessions[session_id] = proc
        for old in evicted:
            self._forget(old)

    def _forget(self, proc: _LiveProcess) -> None:
        with self._lock:
            if proc.session_id is not None:
                self._sessions.pop(proc.session_id, None)
            self._running.discard(proc)
        proc.close()

    def close(self) -> None:
        """Kill every live process group this manager started."""
        with self._lock:
            live = list(self._running)
            self._sessions.clear()
            self._running.clear()
        for proc in live:
            proc.close()


# ---------------------------------------------------------------------------------------------- legacy shell tool


def run_legacy_shell(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_ms: int | None,
    cancel: threading.Event | None = None,
    launcher: Callable[[list[str]], list[str]] | None = None,
    on_output: OutputCallback | None = None,
    preexec: Preexec | None = None,
) -> tuple[str, int]:
    """Run the older `shell` tool's argv directly; returns the `{"output", "metadata"}` JSON text and exit code."""
    start = time.monotonic()
    timeout = timeout_ms if timeout_ms is not None and timeout_ms > 0 else LEGACY_TIMEOUT_MS
    try:
        proc = _LiveProcess(launcher(list(argv)) if launcher else list(argv), cwd, env, False, preexec)
    except OSError as exc:
        raise ExecFailure(f"execution error: {exc.strerror or exc} (os error {exc.errno})") from exc
    try:
        proc.wait(start + timeout / 1000, cancel, on_output)
        timed_out = not proc.finished
        proc.kill()
        text, omitted, total = proc.take_output()
        exit_code = LEGACY_TIMEOUT_EXIT_CODE if timed_out else proc.exit_code
    finally:
        proc.close()
    if timed_out:
        text = f"command timed out after {timeout} milliseconds\n{text}"
    body = _render_output(text, DEFAULT_MAX_OUTPUT_TOKENS, _token_count(total), omitted)
    code = -1 if exit_code is None else exit_code
    metadata = {"exit_code": code, "duration_seconds": round(time.monotonic() - start, 1)}
    return json.dumps({"output": body, "metadata": metadata}, ensure_ascii=False, separators=(",", ":")), code
