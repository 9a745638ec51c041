"""What the line UI reads: keys from the terminal in raw mode, and the edit buffer they change.

The terminal stays in cbreak mode without signals or echo whenever the UI reads (at the prompt and while a turn
runs), so Enter, Ctrl-J, Esc and Ctrl-C arrive as keys and the UI echoes what is typed itself. A bracketed paste
(the UI asks for it on terminals that draw, `ESC[?2004h`) arrives as one `paste` key with its newlines; without it,
the Enters of lines that arrive in one burst are newlines, not sends (codex-rs's paste-burst rule). `EditBuffer` is
the text being written: cursor keys, history, kills, large pastes held as `[Pasted Content N chars]`, and its
layout on the screen; the line UI draws it. `file_index` and `complete_mention` are the `@` mention search.
"""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codex_cli.records import Record

__all__ = [
    "EditBuffer",
    "Key",
    "Terminal",
    "char_width",
    "complete_command",
    "complete_mention",
    "file_index",
    "fuzzy_files",
    "parse_keys",
    "text_width",
]

_PASTE_START, _PASTE_END = "\x1b[200~", "\x1b[201~"
LARGE_PASTE_CHARS = 1000  # codex-rs shows a paste longer than this as a placeholder in the composer
BURST_GAP = 0.012  # seconds: input arriving this soon after an Enter belongs to the same paste


class Key(Record):
    """One key press: `name` is `text`, `paste`, `enter`, `newline`, `backspace`, `delete`, `left`, `right`, `up`,
    `down`, `home`, `end`, `word-left`, `word-right`, `tab`, `esc`, `ctrl-X`, `focus-in` or `focus-out`; `text`
    carries the characters of `text` and `paste`."""

    name: str
    text: str = ""


_CONTROL_KEYS = {
    "\r": "enter", "\n": "newline", "\x7f": "backspace", "\x08": "backspace", "\t": "tab", "\x01": "home",
    "\x02": "left", "\x03": "ctrl-c", "\x04": "ctrl-d", "\x05": "end", "\x06": "right", "\x0b": "ctrl-k",
    "\x0c": "ctrl-l", "\x0e": "down", "\x10": "up", "\x12": "ctrl-r", "\x14": "ctrl-t", "\x15": "ctrl-u",
    "\x17": "ctrl-w", "\x1a": "ctrl-z",
}
_CSI_FINAL = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end", "Z": "shift-tab",
              "I": "focus-in", "O": "focus-out"}
_CSI_TILDE = {"1": "home", "7": "home", "4": "end", "8": "end", "3": "delete"}
_WINDOWS_KEYS = {"H": "\x1b[A", "P": "\x1b[B", "M": "\x1b[C", "K": "\x1b[D", "G": "\x1b[H", "O": "\x1b[F",
                 "S": "\x1b[3~", "t": "\x1b[1;5C", "s": "\x1b[1;5D"}


def _csi_key(params: str, final: str) -> Key | None:
    """The key of `ESC [ params final` (xterm, kitty and modifyOtherKeys forms), None for ones the UI ignores."""
    fields = params.split(";")
    modifier = fields[1] if len(fields) > 1 else ""
    if final == "u" or (final == "~" and fields[0] == "27"):
        # kitty `13;2u` / modifyOtherKeys `27;2;13~`: Enter with a modifier (Shift, Alt) is a new line.
        code = fields[2] if final == "~" and len(fields) > 2 else fields[0]
        if code == "13":
            return Key("newline" if modifier not in ("", "1") else "enter")
        return None
    if final == "~":
        name = _CSI_TILDE.get(fields[0])
        return Key(name) if name else None
    name = _CSI_FINAL.get(final)
    if name is None:
        return None
    if name in ("left", "right") and modifier in ("3", "5"):  # Alt or Ctrl: a word
        return Key("word-" + name)
    return Key(name)


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
            nxt = data[i + 1]
            if nxt in "[O":
                j = i + 2
                while j < n and not ("@" <= data[j] <= "~"):
                    j += 1
                if j >= n:
                    if not final or nxt == "[":
                        flush()
                        return keys, data[i:]
                    j = n - 1
                flush()
                key = _csi_key(data[i + 2 : j], data[j]) if j > i + 1 else None
                if key is not None:
                    keys.append(key)
                i = j + 1
                continue
            flush()
            if nxt in "\r\n":
                keys.append(Key("newline"))  # Alt+Enter
                i += 2
            elif nxt in "bf":
                keys.append(Key("word-left" if nxt == "b" else "word-right"))
                i += 2
            elif nxt in "\x7f\x08":
                keys.append(Key("ctrl-w"))
                i += 2
            else:
                keys.append(Key("esc"))
                i += 1
            continue
        name = _CONTROL_KEYS.get(ch)
        if name is not None:
            flush()
            keys.append(Key(name))
        elif ch >= " ":
            text.append(ch)
        i += 1
    flush()
    return keys, ""


def _burst_newlines(keys: list[Key], *, more_follows: bool) -> list[Key]:
    """Enters that are part of a paste become newlines: one followed by typed text in the same burst, and the last
    one of a burst of several lines, or of one that more input follows at once. A lone line and its Enter (what a
    person or a script types) stays a send."""
    texts_after = 0
    out = list(keys)
    multi = False
    for index in range(len(out) - 1, -1, -1):
        key = out[index]
        if key.name in ("text", "paste"):
            texts_after += 1
        elif key.name == "enter" and texts_after:
            out[index] = Key("newline")
            multi = True
    if out and out[-1].name == "enter" and (more_follows or multi):
        out[-1] = Key("newline")
    return out


class Terminal:
    """The controlling terminal on stdin: raw reading mode (cbreak, no echo, no signals) and key reading."""

    def __init__(self, fd: int, *, write: Callable[[str], None], live: bool) -> None:
        self.fd, self.write, self.live = fd, write, live
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._held: list[Key] = []
        self.posix = sys.platform != "win32"
        self._depth = 0
        self._saved: list[Any] | None = None

    def raw_mode(self) -> None:
        """Keys arrive one by one, unechoed; Ctrl-C is a key, not SIGINT; Enter (CR) and Ctrl-J (LF) differ."""
        if not self.posix or self._saved is not None:
            return
        import termios

        try:
            saved = termios.tcgetattr(self.fd)
            mode = termios.tcgetattr(self.fd)
            mode[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON)
            mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        except termios.error:
            return
        self._saved = saved

    def restore(self) -> None:
        """Back to the mode the terminal had before `raw_mode()` (typed-ahead input is kept)."""
        if self._saved is None:
            return
        import termios

        saved, self._saved = self._saved, None
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, saved)
        except termios.error:
            pass

    @contextmanager
    def keys(self) -> Iterator[None]:
        """Raw mode for the block (nested blocks share the outer one); restored on exit."""
        self._depth += 1
        if self._depth == 1:
            self.raw_mode()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.restore()

    @contextmanager
    def cooked(self) -> Iterator[None]:
        """The terminal's own mode for the block (a pager, an editor), raw again afterwards if it was."""
        was_raw = self._saved is not None
        self.restore()
        if self.live:
            self.write("\x1b[?1004l\x1b[?2004l")
        try:
            yield
        finally:
            if self.live:
                self.write("\x1b[?2004h\x1b[?1004h")
            if was_raw:
                self.raw_mode()

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
            data = os.read(self.fd, 65536)
            return self._decoder.decode(data) if data else "\x04"
        import msvcrt

        chars = []
        while msvcrt.kbhit():  # type: ignore[attr-defined, unused-ignore]
            ch = msvcrt.getwch()  # type: ignore[attr-defined, unused-ignore]
            if ch in ("\x00", "\xe0"):  # a function key: its code follows; mapped to the VT sequence
                code = msvcrt.getwch()  # type: ignore[attr-defined, unused-ignore]
                ch = _WINDOWS_KEYS.get(code, "")
            chars.append(ch)
        return "".join(chars)

    def read_keys(self, timeout: float = 0.0) -> list[Key]:
        """Keys typed so far, waiting up to `timeout` for the first one; a paste's Enters come as newlines."""
        if self._held:
            keys, self._held = self._held, []
            return keys
        if not self._ready(timeout):
            if self._pending:
                keys, self._pending = parse_keys(self._pending, final=True)
                return keys
            return []
        data = self._pending + self._read()
        # A paste without bracketed paste mode may come in several reads: take what follows at once.
        while not data.endswith(_PASTE_END) and len(data) < 1 << 20 and self._ready(0.002):
            data += self._read()
        keys, self._pending = parse_keys(data, final=False)
        if self._pending and not self._pending.startswith(_PASTE_START) and not self._ready(0.03):
            more, self._pending = parse_keys(self._pending, final=True)
            keys += more
        more_follows = bool(keys) and keys[-1].name == "enter" and self._ready(BURST_GAP)
        return _burst_newlines(keys, more_follows=more_follows)

    def push_back(self, keys: list[Key]) -> None:
        """Keys read but not used, returned first by the next `read_keys()`."""
        self._held = list(keys) + self._held


# ---------------------------------------------------------------------------------------------- widths


def char_width(ch: str) -> int:
    """Columns one character takes on a terminal: 2 for wide East Asian characters, 0 for combining marks."""
    if ch < "\u0300":
        return 1 if ch >= " " else 0
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def text_width(text: str) -> int:
    """Columns `text` takes on one row, escape sequences not counted."""
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


# ---------------------------------------------------------------------------------------------- the buffer


class EditBuffer:
    """The message being written: text, cursor, history browsing, and pastes too large to show."""

    def __init__(self, text: str = "", history: Sequence[str] = ()) -> None:
        self.text, self.cursor = text, len(text)
        self.history = list(history)
        self._browse: int | None = None  # index into history while browsing with Up/Down
        self._draft = ""
        self.pastes: dict[str, str] = {}
        self.completion: list[str] = []
        self._completing: tuple[int, int, int] | None = None  # (word start, word end, choice) while Tab cycles

    def set(self, text: str) -> None:
        self.text, self.cursor = text, len(text)

    def expanded(self) -> str:
        """The text with placeholders replaced by what was pasted."""
        text = self.text
        for label, pasted in self.pastes.items():
            text = text.replace(label, pasted)
        return text

    def insert(self, text: str) -> None:
        text = "".join(ch for ch in text.replace("\r\n", "\n").replace("\r", "\n")
                       if ch >= " " or ch in "\n\t")
        self.text = self.text[: self.cursor] + text + self.text[self.cursor :]
        self.cursor += len(text)

    def paste(self, text: str) -> None:
        """A paste: shown as it is, or as `[Pasted Content N chars]` when longer than codex-rs shows."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) <= LARGE_PASTE_CHARS:
            self.insert(text)
            return
        label = f"[Pasted Content {len(text)} chars]"
        number = 2
        while label in self.pastes:
            label, number = f"[Pasted Content {len(text)} chars #{number}]", number + 1
        self.pastes[label] = text
        self.insert(label)

    def _placeholder_before(self) -> str | None:
        return next((label for label in self.pastes if self.text.endswith(label, 0, self.cursor)), None)

    def backspace(self) -> None:
        label = self._placeholder_before()
        size = len(label) if label is not None else 1
        if self.cursor:
            self.text = self.text[: self.cursor - size] + self.text[self.cursor :]
            self.cursor -= size
            if label is not None:
                del self.pastes[label]

    def delete(self) -> None:
        self.text = self.text[: self.cursor] + self.text[self.cursor + 1 :]

    def _line_bounds(self) -> tuple[int, int]:
        start = self.text.rfind("\n", 0, self.cursor) + 1
        end = self.text.find("\n", self.cursor)
        return start, len(self.text) if end < 0 else end

    def _word_left(self) -> int:
        i = self.cursor
        while i and self.text[i - 1].isspace():
            i -= 1
        while i and not self.text[i - 1].isspace():
            i -= 1
        return i

    def _word_right(self) -> int:
        i, n = self.cursor, len(self.text)
        while i < n and self.text[i].isspace():
            i += 1
        while i < n and not self.text[i].isspace():
            i += 1
        return i

    def _vertical(self, step: int) -> bool:
        """Move to the row above/below in a text of several lines; False at the first/last row."""
        start, end = self._line_bounds()
        column = self.cursor - start
        if step < 0:
            if start == 0:
                return False
            prev_start = self.text.rfind("\n", 0, start - 1) + 1
            self.cursor = min(prev_start + column, start - 1)
        else:
            if end >= len(self.text):
                return False
            next_end = self.text.find("\n", end + 1)
            next_end = len(self.text) if next_end < 0 else next_end
            self.cursor = min(end + 1 + column, next_end)
        return True

    def _history(self, step: int) -> None:
        if not self.history:
            return
        if self._browse is None:
            if step > 0:
                return
            self._draft, self._browse = self.text, len(self.history)
        index = self._browse + step
        if index < 0:
            return
        if index >= len(self.history):
            self._browse = None
            self.set(self._draft)
            return
        self._browse = index
        self.set(self.history[index])

    def edit(self, key: Key) -> bool:
        """Apply an editing key; False when `key` is not one (Enter, Tab, Esc, Ctrl-C... are the caller's)."""
        name = key.name
        if name != "tab":
            self._completing = None
            self.completion = []
        if name == "text":
            self.insert(key.text)
        elif name == "paste":
            self.paste(key.text)
        elif name == "newline":
            self.insert("\n")
        elif name == "backspace":
            self.backspace()
        elif name == "delete":
            self.delete()
        elif name == "left":
            self.cursor = max(0, self.cursor - 1)
        elif name == "right":
            self.cursor = min(len(self.text), self.cursor + 1)
        elif name == "home":
            self.cursor = self._line_bounds()[0]
        elif name == "end":
            self.cursor = self._line_bounds()[1]
        elif name == "word-left":
            self.cursor = self._word_left()
        elif name == "word-right":
            self.cursor = self._word_right()
        elif name == "ctrl-u":
            start = self._line_bounds()[0]
            start = start - 1 if start == self.cursor and start else start
            self.text, self.cursor = self.text[:start] + self.text[self.cursor :], start
        elif name == "ctrl-k":
            end = self._line_bounds()[1]
            end = end + 1 if end == self.cursor and end < len(self.text) else end
            self.text = self.text[: self.cursor] + self.text[end:]
        elif name == "ctrl-w":
            start = self._word_left()
            self.text, self.cursor = self.text[:start] + self.text[self.cursor :], start
        elif name == "up":
            if not self._vertical(-1):
                self._history(-1)
        elif name == "down":
            if not self._vertical(1):
                self._history(1)
        else:
            return False
        return True

    def complete(self, candidates: Callable[[str, bool], list[str]]) -> None:
        """Tab: replace the word before the cursor by the next of `candidates(word, at_start)`."""
        if self._completing is not None and self.completion:
            start, end, choice = self._completing
            choice = (choice + 1) % len(self.completion)
        else:
            start = self.cursor
            while start and not self.text[start - 1].isspace():
                start -= 1
            word = self.text[start : self.cursor]
            self.completion = candidates(word, not self.text[:start].strip()) if word else []
            if not self.completion:
                return
            end, choice = self.cursor, 0
        replacement = self.completion[choice]
        self.text = self.text[:start] + replacement + self.text[end:]
        self.cursor = start + len(replacement)
        self._completing = (start, self.cursor, choice) if len(self.completion) > 1 else None
        if len(self.completion) == 1:
            self.completion = []

    def layout(self, prompt: str, cont: str, width: int) -> tuple[list[str], int, int]:
        """(rows, cursor row, cursor column): the text under `prompt` (`cont` before later lines), broken into rows
        of at most `width` columns. Tabs show as four spaces."""
        rows: list[str] = []
        cursor_row = cursor_col = 0
        width = max(width, text_width(prompt) + 2)
        offset = 0
        for number, line in enumerate(self.text.split("\n")):
            prefix = prompt if number == 0 else cont
            row, col = prefix, text_width(prefix)
            for index, ch in enumerate(line + " "):
                if offset + index == self.cursor:
                    cursor_row, cursor_col = len(rows), col
                if index == len(line):
                    break
                shown = "    " if ch == "\t" else ch
                w = 4 if ch == "\t" else char_width(ch)
                if col + w > width:
                    rows.append(row)
                    row, col = " " * text_width(cont), text_width(cont)
                    if offset + index == self.cursor:
                        cursor_row, cursor_col = len(rows), col
                row += shown
                col += w
            if offset + len(line) == self.cursor:
                if col >= width:  # the cursor after a full row sits at the start of the next one
                    rows.append(row)
                    row, col = " " * text_width(cont), text_width(cont)
                cursor_row, cursor_col = len(rows), col
            rows.append(row)
            offset += len(line) + 1
        return rows, cursor_row, cursor_col


# ---------------------------------------------------------------------------------------------- completion


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return sorted({name for name in proc.stdout.decode("utf-8", "replace").split("\0") if name})


def file_index(root: Path, limit: int = 100_000) -> list[str]:
    """The files under `root` a mention can name, relative to it: git's list (so .gitignore is respected) in a
    repository, else a walk that skips hidden folders and dependency caches."""
    listed = _git_files(root)
    if listed is not None:
        return listed[:limit]
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
        for name in sorted(files):
            found.append(os.path.relpath(os.path.join(folder, name), root))
            if len(found) >= limit:
                return found
    return found


def _fuzzy_score(needle: str, path: str) -> int | None:
    """How well `needle` matches `path` as a subsequence (higher is better), None when it does not."""
    haystack = path.lower()
    base = haystack.rfind("/") + 1
    if needle in haystack:  # a contiguous match: best in the file name, then by how early it starts
        at = haystack.rfind(needle)
        return 1000 + (500 if at >= base else 0) - at - len(path)
    score, last, position = 0, -2, 0
    for ch in needle:
        found = haystack.find(ch, position)
        if found < 0:
            return None
        score += 10 if found == last + 1 else 0  # runs of adjacent characters
        score += 8 if found == 0 or haystack[found - 1] in "/_-. " else 0  # the start of a word
        score += 4 if found >= base else 0
        last, position = found, found + 1
    return score - len(path) // 4


def fuzzy_files(files: Sequence[str], query: str, limit: int = 20) -> list[str]:
    """The best `limit` of `files` for `query` (fuzzy, case-insensitive), best first."""
    needle = query.lower().lstrip("@")
    if not needle:
        return list(files[:limit])
    scored = []
    for path in files:
        score = _fuzzy_score(needle, path)
        if score is not None:
            scored.append((-score, path))
    scored.sort()
    return [path for _, path in scored[:limit]]


def complete_mention(word: str, cwd: Path, files: Sequence[str] | None = None, limit: int = 8) -> list[str]:
    """Completions of `@query`: the files that match it fuzzily across the repository, as `@path `."""
    index = file_index(cwd) if files is None else files
    return [f"@{path} " for path in fuzzy_files(index, word[1:], limit)]


def complete_command(word: str, commands: Sequence[str]) -> list[str]:
    """Completions of a `/command` at the start of the message."""
    return [f"{name} " for name in commands if name.startswith(word)]
