"""Shell snapshots: the user's login shell runs once per session, and each command sources what it left behind.

A login profile that runs `eval "$(pyenv init -)"`, nvm or conda costs hundreds of milliseconds, and every
`exec_command` ran `$SHELL -lc`. `ShellSnapshot` runs the login shell once per session (from its first request on),
in the background and under the session's sandbox, with a script that prints what the profile produced: exported
variables (minus volatile ones and those `shell_environment_policy` or codex decide), functions, aliases, shell
options and the umask, for bash and zsh; exported variables only for other POSIX shells (sh, dash, ksh). Its output
is turned into `$CODEX_HOME/shell_snapshots/<thread id>.sh` (mode 0600, locked while the session lives, removed when
it ends; files that no live session holds are swept), checked by sourcing it once, and every `[shell, "-lc", cmd]`
of that shell then runs as `[shell, "-c", ". SNAPSHOT<newline>cmd"]` (zsh: `eval 'cmd'` on the second line, since
zsh parses the whole `-c` text before running any of it and an alias defined by the snapshot would not expand). The
variables the policy decides are left out of the file, so a command's own environment still supplies them.

When the shell cannot be snapshot (it fails, prints no snapshot, or takes longer than `TIMEOUT_S`), `failure` says
why in a sentence for the person and commands keep running `-lc`. PowerShell, cmd, fish and Windows get none.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = ["DIRECTORY", "TIMEOUT_S", "ShellSnapshot", "render", "snapshot_kind", "sweep_stale", "wrap"]

log = logging.getLogger(__name__)

DIRECTORY = "shell_snapshots"  # under $CODEX_HOME
TIMEOUT_S = 10.0  # for the login shell to run its profile and print the snapshot
_CHECK_TIMEOUT_S = 5.0  # for sourcing the written snapshot once
_OUTPUT_LIMIT = 32 << 20  # a profile's environment and functions are far smaller; more is a runaway profile
_EXIT_GRACE_S = 0.5  # after the shell exits, how long a background child it started may keep stdout open
_TERM_GRACE_S = 1.0  # between SIGTERM and SIGKILL when the shell is stopped
# The first line of every snapshot: the sweep removes no file without it (codex-rs keeps its own snapshots in the
# same folder, unlocked, while its sessions run).
_HEADER = b"# Snapshot of a login shell's environment, taken by codex once per session. Do not edit."
_NICENESS = 10  # of the login shell that takes the snapshot
_STALE_AGE_S = 60.0  # younger files are left alone by the sweep: their owner may be about to lock them

# Exported variables a snapshot never carries: the shell sets them for itself, per process or per directory.
_VOLATILE = frozenset(
    "PWD OLDPWD SHLVL _ RANDOM SRANDOM SECONDS LINENO HISTCMD EPOCHSECONDS EPOCHREALTIME BASHPID BASH_ARGV0 "
    "BASH_COMMAND BASH_SUBSHELL BASH_EXECUTION_STRING PPID UID EUID GROUPS SHELLOPTS BASHOPTS ZSH_SUBSHELL "
    "ZSH_EVAL_CONTEXT ZSH_ARGZERO COLUMNS LINES".split()
)
# Options that belong to how the shell was started (login, interactive, job control, line editing), not to the
# profile; setting them in a `-c` shell fails or changes its nature.
_STARTUP_OPTIONS = frozenset(
    "login_shell restricted_shell history monitor onecmd emacs vi privileged "  # bash
    "login interactive shinstdin restricted zle singlecommand".split()  # zsh
)
# Options applied after the rest of the snapshot: with them on, sourcing the snapshot itself would be traced,
# stopped by a failing line or refused (xtrace, errexit, nounset, noexec).
_LATE_OPTIONS = frozenset("xtrace verbose errexit errreturn nounset unset exec noexec sourcetrace".split())
_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_POSIX_SHELLS = frozenset({"sh", "dash", "ash", "ksh", "ksh93", "mksh", "posh"})


def snapshot_kind(shell_path: str) -> str | None:
    """`bash`, `zsh` or `sh` (a POSIX shell: variables only) for a shell that can be snapshot; None otherwise
    (fish, PowerShell, cmd, and anything on Windows)."""
    if sys.platform == "win32":
        return None
    name = os.path.basename(shell_path)
    if name in ("bash", "zsh"):
        return name
    return "sh" if name in _POSIX_SHELLS else None


# ---------------------------------------------------------------------------------------------- capture


def _capture_script(kind: str, nonce: str) -> str:
    """The `-lc` script that prints the snapshot's sections after the profile ran, each after a line
    `NONCE NAME`: the profile's own output comes first and is skipped. Options are read before anything here
    changes them; `builtin` and `\\` keep the profile's functions and aliases out of the way."""

    printf = "printf" if kind == "sh" else "\\builtin printf"

    def mark(name: str) -> str:
        return f"{printf} '\\n%s\\n' '{nonce} {name}'"

    if kind == "bash":
        env_loop = (
            'for __codex_n in $(builtin compgen -e); do [ -n "${!__codex_n+x}" ] || continue; '
            "\\builtin printf '%s=%s\\0' \"$__codex_n\" \"${!__codex_n}\"; done"
        )
        steps = [
            mark("options"), "\\builtin shopt -p", "\\builtin set +o",
            "\\builtin set +e +f +u +v +x +o posix", "IFS=$' \\t\\n'",
            mark("umask"), "\\builtin umask",
            mark("functions"), "\\builtin declare -f", "\\builtin declare -Fx",
            mark("aliases"), "\\builtin alias -p",
            mark("env"), env_loop,
        ]
    elif kind == "zsh":
        env_loop = (
            "for __codex_n in $(builtin typeset +x); do (( ${(P)+__codex_n} )) || continue; "
            "\\builtin printf '%s=%s\\0' \"$__codex_n\" \"${(P)__codex_n}\"; done"
        )
        steps = [
            mark("options"), "\\builtin setopt", "\\builtin emulate zsh", "IFS=$' \\t\\n\\0'",
            mark("umask"), "\\builtin umask",
            mark("fpath"), '\\builtin print -r -- "fpath=(${(q)fpath[@]})"',
            mark("functions"), "\\builtin functions",
            mark("aliases"), "\\builtin alias -L",
            mark("env"), env_loop,
        ]
    else:
        # POSIX has no list of exported names: awk's ENVIRON is the environment the shell exports.
        env_loop = (
            "for __codex_n in $(awk 'BEGIN { for (k in ENVIRON) print k }'); do "
            "case $__codex_n in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac; "
            'eval "__codex_v=\\${$__codex_n}"; printf \'%s=%s\\000\' "$__codex_n" "$__codex_v"; done'
        )
        steps = ["set +e +f +u +v +x", "IFS=' \t\n'", mark("umask"), "umask", mark("env"), env_loop]
    return "\n".join([*steps, mark("end"), ""])


def _sections(output: bytes, nonce: str) -> dict[str, bytes] | None:
    """The sections of a capture's output by name, or None when it did not reach its end mark."""
    parts = output.split(f"\n{nonce} ".encode())
    sections: dict[str, bytes] = {}
    for part in parts[1:]:
        name, _, body = part.partition(b"\n")
        sections[name.decode("ascii", "replace")] = body
    return sections if "end" in sections else None


def _quote(value: bytes) -> bytes:
    """`value` in single quotes, byte for byte: newlines, quotes and bytes that are not UTF-8 come back as they were."""
    return b"'" + value.replace(b"'", b"'\\''") + b"'"


def _exports(body: bytes) -> dict[str, bytes]:
    exported: dict[str, bytes] = {}
    for entry in body.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep and _NAME.fullmatch(name):
            exported[name.decode("ascii")] = value
    return exported


def _option_lines(kind: str, body: bytes) -> tuple[list[bytes], list[bytes]]:
    """The profile's options as lines to source: (before the functions, after everything else)."""
    early: list[bytes] = []
    late: list[bytes] = []
    for line in body.splitlines():
        words = line.split()
        if kind == "zsh":
            if len(words) != 1:
                continue
            option = words[0].decode("ascii", "replace")
            bare = option[2:] if option.startswith("no") else option
            if option in _STARTUP_OPTIONS or bare in _STARTUP_OPTIONS:
                continue
            (late if option in _LATE_OPTIONS or bare in _LATE_OPTIONS else early).append(b"setopt " + words[0])
        elif len(words) == 3 and words[0] in (b"shopt", b"set"):
            option = words[2].decode("ascii", "replace")
            if option in _STARTUP_OPTIONS:
                continue
            # bash: shopt options can change how function bodies parse (extglob); `set -o` ones cannot.
            (early if words[0] == b"shopt" else late).append(line)
    return early, late


def render(kind: str, sections: Mapping[str, bytes], *, initial_env: Mapping[str, str],
           keeps: Callable[[str], bool]) -> bytes:
    """The snapshot file for the captured `sections`. `keeps(name)` says whether a variable the profile exported
    belongs in it (the policy decides the others); `initial_env` is what the login shell started with, so that
    a variable the profile removed is removed again."""
    exported = _exports(sections.get("env", b""))
    lines = [_HEADER]
    lines += [b"export " + name.encode() + b"=" + _quote(value) for name, value in sorted(exported.items())
              if name not in _VOLATILE and keeps(name)]
    lines += [b"unset " + name.encode() for name in initial_env
              if name not in exported and name not in _VOLATILE and _NAME.fullmatch(name.encode()) and keeps(name)]
    umask = sections.get("umask", b"").strip()
    if re.fullmatch(rb"[0-7]{3,4}", umask):
        lines.append(b"umask " + umask)
    if kind == "sh":
        return b"\n".join(lines) + b"\n"
    early, late = _option_lines(kind, sections.get("options", b""))
    # Aliases go first and come back last: one defined here would otherwise expand inside function definitions.
    lines.append(b"unalias -a 2>/dev/null" if kind == "bash" else b"unalias -a; unalias -as")
    lines += early
    if kind == "zsh" and sections.get("fpath", b"").startswith(b"fpath=("):
        lines.append(sections["fpath"].rstrip(b"\n"))
    lines.append(sections.get("functions", b"").rstrip(b"\n"))
    lines.append(sections.get("aliases", b"").rstrip(b"\n"))
    if kind == "bash":
        lines.append(b"shopt -s expand_aliases")  # a non-interactive bash expands none otherwise
    lines += late
    return b"\n".join(line for line in lines if line) + b"\n"


def wrap(kind: str, snapshot: Path, command: str) -> str:
    """The `-c` text that runs `command` after sourcing `snapshot`. bash reads `-c` text a line at a time, so the
    snapshot's aliases expand in the lines after it; zsh parses all of it first, so the command goes through eval."""
    source = f". {shlex.quote(str(snapshot))}"
    if kind == "zsh":
        return f"{source}\neval {shlex.quote(command)}"
    return f"{source}\n{command}"


# ---------------------------------------------------------------------------------------------- running


def _signal_group(popen: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(popen.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class _Run:
    """One shell process of the snapshot; `kill()` may come from another thread (the session closing)."""

    def __init__(self, argv: list[str], cwd: Path, env: Mapping[str, str],
                 preexec: Callable[[], None] | None) -> None:
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec,
        )
        try:  # background work: under contention, codex's own start and the first request go first
            os.setpriority(os.PRIO_PROCESS, self.popen.pid, _NICENESS)
        except OSError:
            pass
        self._chunks: list[bytes] = []
        self.overflowed = False  # it printed more than _OUTPUT_LIMIT bytes: nothing was kept
        self._reader = threading.Thread(target=self._read_all, args=(self.popen.stdout,),
                                        name="codex-shell-snapshot-output", daemon=True)
        self._reader.start()

    def _read_all(self, stream: IO[bytes]) -> None:
        total = 0
        while data := stream.read(65536):
            total += len(data)
            if total <= _OUTPUT_LIMIT:
                self._chunks.append(data)
            elif not self.overflowed:
                self.overflowed = True
                self._chunks.clear()  # keep draining, so the shell is not blocked writing

    def finish(self, timeout: float) -> tuple[bytes, int | None]:
        """(stdout, exit status); status None when the shell did not exit within `timeout` (it is killed)."""
        try:
            status: int | None = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        if status is None:
            self.stop()
        self._reader.join(_EXIT_GRACE_S)
        if self._reader.is_alive():
            self.stop()  # a background child of the profile still holds stdout open
            self._reader.join(_EXIT_GRACE_S)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        return b"".join(self._chunks), status

    def stop(self) -> None:
        """End the shell's process group: SIGTERM first, so that the profile's traps run (pyenv's rehash removes
        its lock file in one; killed outright, it leaves the lock behind and every later rehash waits a minute for
        it), then SIGKILL for whatever is left after a grace period."""
        import signal

        _signal_group(self.popen, signal.SIGTERM)
        # The whole group, not only the shell: its children need a moment to run their traps after it is gone.
        deadline = time.monotonic() + _TERM_GRACE_S
        while time.monotonic() < deadline and self._group_alive():
            time.sleep(0.01)
        _signal_group(self.popen, signal.SIGKILL)
        self.popen.wait()

    def _group_alive(self) -> bool:
        if self.popen.poll() is None:
            return True
        try:
            os.killpg(self.popen.pid, 0)
        except OSError:
            return False
        return True


# ---------------------------------------------------------------------------------------------- files


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sweep_stale(directory: Path, now: float | None = None) -> None:
    """Remove the snapshots of this implementation that no live session holds (one killed before it could remove its
    own); other files, codex-rs's snapshots among them, are left alone."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not entry.name.endswith(".sh"):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < _STALE_AGE_S:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            head = os.read(fd, len(_HEADER))
            # An empty one was created by a session killed before it wrote; a live one holds the lock.
            if head in (b"", _HEADER) and _try_lock(fd):
                os.unlink(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)


def _create(directory: Path, thread_id: str) -> tuple[Path, int]:
    """A new, empty, locked snapshot file (0600): `<thread id>.sh`, or `<thread id>.<pid>.sh` while another live
    process of the same thread (a concurrent resume) holds that name."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for name in (f"{thread_id}.sh", f"{thread_id}.{os.getpid()}.sh"):
        path = directory / name
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            try:
                old = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            try:
                stale = _try_lock(old)
                if stale:
                    os.unlink(path)
            finally:
                os.close(old)
            if not stale:
                continue
            fd = os.open(path, flags, 0o600)
        if _try_lock(fd):
            return path, fd
        os.close(fd)
    raise OSError(f"no free snapshot name for thread {thread_id} in {directory}")


# ---------------------------------------------------------------------------------------------- the snapshot


# Closed at exit when their session could not be (an error while it was being built); the sweep gets the files
# of processes that were killed.
_OPEN: weakref.WeakSet[ShellSnapshot] = weakref.WeakSet()


def _close_open_snapshots() -> None:
    for snapshot in list(_OPEN):
        snapshot.close()


atexit.register(_close_open_snapshots)


class ShellSnapshot:
    """One session's snapshot of `shell`: `start()` takes it in a background thread, `command(argv)` gives the
    argv that runs a `[shell, "-lc", cmd]` through it (waiting for it if it is still being taken), `close()`
    removes it. `launcher` and `preexec` confine the login shell as the session's commands are confined."""

    def __init__(
        self,
        shell: str,
        *,
        directory: Path,
        thread_id: str,
        cwd: Path,
        env: Mapping[str, str],
        keeps: Callable[[str], bool],
        launcher: Callable[[list[str]], list[str]] | None = None,
        preexec: Callable[[], None] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        kind = snapshot_kind(shell)
        if kind is None:
            raise ValueError(f"{shell} cannot be snapshot")
        self.shell, self.kind = shell, kind
        self._real_shell = os.path.realpath(shell)
        self._directory, self._thread_id, self._cwd, self._env = directory, thread_id, cwd, dict(env)
        self._keeps, self._launcher, self._preexec, self._timeout = keeps, launcher, preexec, timeout
        self.path: Path | None = None  # set once the snapshot is written and checked
        self.failure: str | None = None  # why there is none, in a sentence for the person
        self._file: tuple[Path, int] | None = None  # the file and its locked descriptor, from creation to removal
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._running: _Run | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take the snapshot in a background thread (once; later calls do nothing); `command()` waits for it."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            _OPEN.add(self)
            self._thread = threading.Thread(target=self._take, name="codex-shell-snapshot", daemon=True)
            self._thread.start()

    def applies_to(self, argv: Sequence[str]) -> bool:
        """Whether `argv` is a login-shell command of this snapshot's shell (`[shell, "-lc", cmd]`)."""
        if len(argv) != 3 or argv[1] != "-lc":
            return False
        if argv[0] == self.shell:
            return True
        found = argv[0] if os.sep in argv[0] else shutil.which(argv[0])  # the legacy tool's `bash` is a name
        return found is not None and os.path.realpath(found) == self._real_shell

    def command(self, argv: Sequence[str], cancel: threading.Event | None = None) -> list[str] | None:
        """`[shell, "-c", ". SNAPSHOT; cmd"]` for `[shell, "-lc", cmd]`, once the snapshot is ready; None when
        there is none (`failure` says why, unless `cancel` was set while waiting)."""
        if not self.applies_to(argv):
            return None
        self.start()  # a command before any request (only tests call tools that way)
        while not self._done.wait(0.05):
            if cancel is not None and cancel.is_set():
                return None
        path = self.path
        if path is None:
            return None
        if not path.exists():
            self._fail(f"its snapshot {path} was removed by someone else")
            return None
        return [argv[0], "-c", wrap(self.kind, path, argv[2])]

    def _fail(self, reason: str) -> None:
        self.path = None
        self.failure = (
            f"Could not snapshot your login shell ({self.shell}): {reason}. Each command runs `{self.shell} -lc` "
            "instead, so your login profile runs for every command, which is slower."
        )

    def _spawn(self, argv: list[str]) -> _Run | None:
        with self._lock:
            if self._closed:
                return None
            run = _Run(self._launcher(argv) if self._launcher else argv, self._cwd, self._env, self._preexec)
            self._running = run
            return run

    def _take(self) -> None:
        try:
            self._take_snapshot()
        except Exception as exc:  # never into the session: commands fall back to -lc
            log.warning("shell snapshot failed: %s", type(exc).__name__)
            self._fail(f"{type(exc).__name__}: {exc}")
            self._remove()
        finally:
            with self._lock:
                self._running = None
            self._done.set()

    def _take_snapshot(self) -> None:
        sweep_stale(self._directory)
        nonce = os.urandom(16).hex()
        run = self._spawn([self.shell, "-lc", _capture_script(self.kind, nonce)])
        if run is None:
            return
        output, status = run.finish(self._timeout)
        sections = _sections(output, nonce)
        if self._closed:
            return
        if status is None:
            self._fail(f"`{self.shell} -l` did not finish within {self._timeout:g} s (does your login profile wait "
                       "for input, the network or a lock?)")
            return
        if run.overflowed:
            self._fail(f"`{self.shell} -l` printed more than {_OUTPUT_LIMIT >> 20} MiB")
            return
        if sections is None:
            self._fail(f"`{self.shell} -l` exited with status {status} before printing its environment")
            return
        content = render(self.kind, sections, initial_env=self._env, keeps=self._keeps)
        with self._lock:
            if self._closed:
                return
            path, fd = _create(self._directory, self._thread_id)
            self._file = (path, fd)
            os.write(fd, content)  # under the lock: close() may not close the descriptor meanwhile
        problem = self._check(path)
        if problem is not None:
            self._fail(problem)
            self._remove()
        elif not self._closed:
            self.path = path

    def _check(self, path: Path) -> str | None:
        """Source the snapshot once in a plain shell: it must print nothing and let the shell go on."""
        nonce = os.urandom(8).hex()
        source = f". {shlex.quote(str(path))}"
        script = f"printf '%s\\n' {nonce}-start; {{ {source}; }} 2>&1; printf '%s\\n' {nonce}-end"
        run = self._spawn([self.shell, "-c", script])
        if run is None:
            return None
        output, status = run.finish(_CHECK_TIMEOUT_S)
        _, _, after = output.partition(f"{nonce}-start\n".encode())
        if self._closed or (status == 0 and after == f"{nonce}-end\n".encode()):
            return None
        return f"sourcing its snapshot failed (status {status}, {len(after)} bytes of messages)"

    def _remove(self) -> None:
        with self._lock:
            file, self._file = self._file, None
            self.path = None
        if file is None:
            return
        path, fd = file
        try:
            path.unlink()
        except OSError:
            pass
        os.close(fd)

    def close(self) -> None:
        """Stop taking the snapshot, if it is still being taken, and remove the file."""
        with self._lock:
            self._closed = True
            running = self._running
        if running is not None:
            running.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._remove()
        self._done.set()
        _OPEN.discard(self)
