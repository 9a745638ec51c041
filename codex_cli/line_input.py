"""What the line UI reads: the prompt line (readline when the platform has it) and raw keys while a turn runs.

Between turns the prompt is an ordinary `input()` line: readline history (seeded from `history.jsonl`), Tab
completion of `@path` mentions and slash commands, a trailing `\\` continues on the next line, and a bracketed
paste keeps its newlines. Without readline the line is read from the terminal in canonical mode, and lines that
arrive together (a paste) are joined. While a turn runs, `Terminal.keys()` switches the terminal to cbreak mode
without signals so that Esc and Ctrl-C arrive as keys and typed text can be queued.
"""

from __future__ import annotations

import codecs
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from codex_cli.records import Record

__all__ = ["Key", "PromptReader", "Terminal", "complete_mention", "parse_keys"]

_PASTE_START, _PASTE_END = "\x1b[200~", "\x1b[201~"


class Key(Record):
    """One key press: `name` is `text`, `paste`, `enter`, `backspace`, `esc`, `ctrl-c`, `ctrl-d`, `ctrl-u`,
    `focus-in` or `focus-out`; `text` carries the characters of `text` and `paste`."""

    name: str
    text: str = ""


_CONTROL_KEYS = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace", "\x03": "ctrl-c",
                 "\x04": "ctrl-d", "\x15": "ctrl-u"}


def parse_keys(data: str, *, final: bool = True) -> tuple[list[Key], str]:
    """Keys in `data`, and the unfinished tail to prepend to the next read (an escape sequence cut in two).

    A lone ESC is the Esc key only when `final` (no more bytes followed it quickly)."""
    keys: list[Key] = []
    text: list[str] = []
    i, n = 0, len(data)

    def flush() -> None:
        if text:
            keys.append(Key("text", "".join(text)))
            text.clear()

    while i < n:
        ch = data[i]
        if ch == "\x1b":
            if data.startswith(_PASTE_START, i):
                end = data.find(_PASTE_END, i)
                if end < 0:
                    flush()
                    return keys, data[i:]
                flush()
                keys.append(Key("paste", data[i + len(_PASTE_START) : end].replace("\r\n", "\n").replace("\r", "\n")))
                i = end + len(_PASTE_END)
                continue
            if i + 1 >= n:
                if not final:
                    flush()
                    return keys, data[i:]
                flush()
                keys.append(Key("esc"))
                i += 1
                continue
            if data[i + 1] in "[O":
                j = i + 2
                while j < n and not ("@" <= data[j] <= "~"):
                    j += 1
                if j >= n:
                    flush()
                    return keys, data[i:]
                sequence = data[i : j + 1]
                flush()
                if sequence == "\x1b[I":
                    keys.append(Key("focus-in"))
                elif sequence == "\x1b[O":
                    keys.append(Key("focus-out"))
                i = j + 1
                continue
            flush()
            keys.append(Key("esc"))
            i += 1
            continue
        name = _CONTROL_KEYS.get(ch)
        if name is not None:
            flush()
            keys.append(Key(name))
        elif ch == "\t" or ch >= " ":
            text.append(ch)
        i += 1
    flush()
    return keys, ""


class Terminal:
    """The controlling terminal on stdin: cbreak-without-signals mode for turns, and key reading."""

    def __init__(self, fd: int, *, write: Callable[[str], None], live: bool) -> None:
        self.fd, self.write, self.live = fd, write, live
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self.posix = sys.platform != "win32"

    @contextmanager
    def keys(self) -> Iterator[None]:
        """Keys arrive one by one, unechoed; Ctrl-C is a key, not SIGINT. Restored on exit."""
        saved = None
        if self.posix:
            import termios

            try:
                saved = termios.tcgetattr(self.fd)
                mode = termios.tcgetattr(self.fd)
                mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
                mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
                termios.tcsetattr(self.fd, termios.TCSANOW, mode)
            except termios.error:
                saved = None
        if self.live:
            self.write("\x1b[?2004h\x1b[?1004h")  # bracketed paste, focus reports
        try:
            yield
        finally:
            if self.live:
                self.write("\x1b[?1004l\x1b[?2004l")
            if saved is not None:
                import termios

                termios.tcsetattr(self.fd, termios.TCSANOW, saved)
            self._pending = ""

    def _ready(self, timeout: float) -> bool:
        if self.posix:
            import select

            readable, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
            return bool(readable)
        import msvcrt

        deadline = time.monotonic() + timeout
        while True:
            if msvcrt.kbhit():  # type: ignore[attr-defined, unused-ignore]
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _read(self) -> str:
        if self.posix:
            data = os.read(self.fd, 4096)
            return self._decoder.decode(data) if data else "\x04"
        import msvcrt

        chars = []
        while msvcrt.kbhit():  # type: ignore[attr-defined, unused-ignore]
            chars.append(msvcrt.getwch())  # type: ignore[attr-defined, unused-ignore]
        return "".join(chars)

    def read_keys(self, timeout: float = 0.0) -> list[Key]:
        """Keys typed so far, waiting up to `timeout` for the first one."""
        if not self._ready(timeout):
            if self._pending:
                keys, self._pending = parse_keys(self._pending, final=True)
                return keys
            return []
        data = self._pending + self._read()
        keys, self._pending = parse_keys(data, final=False)
        if self._pending and not self._pending.startswith(_PASTE_START) and not self._ready(0.03):
            more, self._pending = parse_keys(self._pending, final=True)
            keys += more
        return keys


def complete_mention(word: str, cwd: Path, limit: int = 200) -> list[str]:
    """Completions of `@partial/path` relative to `cwd`: `@dir/` for folders, `@file ` for files."""
    partial = word[1:]
    folder, _, stem = partial.rpartition("/")
    base = (cwd / folder) if folder else cwd
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    results: list[str] = []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        path = f"{folder}/{entry.name}" if folder else entry.name
        results.append(f"@{path}/" if entry.is_dir() else f"@{path} ")
        if len(results) >= limit:
            break
    return results


class PromptReader:
    """The idle prompt: readline when stdin and stdout are terminals and it imports, else a canonical-mode read."""

    def __init__(self, *, cwd: Path, commands: Sequence[str], history: Sequence[str], fd: int,
                 write: Callable[[str], None], plain: bool) -> None:
        self.cwd, self.commands, self.fd, self.write = cwd, list(commands), fd, write
        self.readline = None
        if os.isatty(fd) and sys.stdout.isatty():
            try:
                import readline
            except ImportError:  # pragma: no cover - Windows without pyreadline
                readline = None  # type: ignore[assignment]
            if readline is not None:
                self.readline = readline
                self._setup(history, plain)

    def _setup(self, history: Sequence[str], plain: bool) -> None:
        rl = self.readline
        assert rl is not None
        rl.clear_history()
        for text in history[-1000:]:
            rl.add_history(text)
        rl.set_completer_delims(" \t\n")
        rl.set_completer(self._complete)
        if "libedit" in (rl.__doc__ or ""):
            rl.parse_and_bind("bind ^I rl_complete")
        else:
            rl.parse_and_bind("tab: complete")
            if plain:
                rl.parse_and_bind("set enable-bracketed-paste off")

    def _complete(self, text: str, state: int) -> str | None:
        rl = self.readline
        if rl is None:
            return None
        if text.startswith("@"):
            options = complete_mention(text, self.cwd)
        elif text.startswith("/") and rl.get_begidx() == 0:
            options = [f"{name} " for name in self.commands if name.startswith(text)]
        else:
            options = []
        return options[state] if state < len(options) else None

    def add_history(self, text: str) -> None:
        if self.readline is not None and text.strip():
            self.readline.add_history(text)

    def _forget_last(self, count: int) -> None:
        rl = self.readline
        if rl is None:
            return
        for _ in range(count):
            length = rl.get_current_history_length()
            if length:
                rl.remove_history_item(length - 1)

    def read(self, prompt: str, *, prefill: str = "", continuation: str = "… ") -> str:
        """One message; raises EOFError on Ctrl-D and KeyboardInterrupt on Ctrl-C."""
        lines = [self._line(prompt, prefill)]
        while lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            lines.append(self._line(continuation, ""))
        text = "\n".join(lines)
        if self.readline is not None:
            self._forget_last(sum(1 for line in lines if line.strip()))
            self.add_history(text)
        return text

    def ask(self, prompt: str) -> str:
        """A one-off answer (a picker number, a path) that stays out of the history."""
        text = self._line(prompt, "")
        if self.readline is not None and text.strip():
            self._forget_last(1)
        return text

    def _line(self, prompt: str, prefill: str) -> str:
        rl = self.readline
        if rl is not None:
            if prefill:
                rl.set_startup_hook(lambda: rl.insert_text(prefill))
            try:
                return input(prompt)
            finally:
                rl.set_startup_hook(None)
        if prefill:
            self.write(f"(not sent yet: {prefill})\n")
        return self._canonical(prompt)

    def _canonical(self, prompt: str) -> str:
        """A line from the terminal driver (it echoes and edits); lines arriving together are one paste."""
        self.write(prompt)
        if sys.platform == "win32":
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\r\n")
        import select

        chunks: list[bytes] = []
        while True:
            data = os.read(self.fd, 65536)
            if not data:
                if not chunks:
                    raise EOFError
                break
            chunks.append(data)
            if data.endswith(b"\n"):
                readable, _, _ = select.select([self.fd], [], [], 0.02)
                if not readable:
                    break
        return b"".join(chunks).decode("utf-8", "replace").rstrip("\n")
