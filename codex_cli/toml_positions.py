"""Where keys sit in a TOML text: a scanner that maps every key path to its line and column (tomllib gives no
positions, and every config message names file:line:col), the position of a tomllib syntax error, and the caret
excerpt shown under such a message.
"""

from __future__ import annotations

import re

from codex_cli.records import Record, field
from codex_cli.toml_doc import KeyPath

__all__ = [
    "KeySpot",
    "scan_key_spots",
    "snippet",
    "syntax_error_position",
]



class KeySpot(Record):
    """Where a key (or an array item) and its value start, 1-based, with their lengths on that line."""

    line: int
    col: int
    length: int
    value_line: int = 0
    value_col: int = 0
    value_length: int = 0


class _Scanner(Record, frozen=False):
    """A forgiving TOML reader that only records positions; run it on text tomllib already accepted."""

    text: str
    pos: int = 0
    line: int = 1
    line_start: int = 0
    spots: dict[KeyPath, KeySpot] = field(default_factory=dict)
    aot: dict[KeyPath, int] = field(default_factory=dict)

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def col(self) -> int:
        return self.pos - self.line_start + 1

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.pos < len(self.text) and self.text[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.advance()
            elif newlines and ch == "#":
                self.skip_line()
            else:
                return

    def skip_line(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] != "\n":
            self.pos += 1

    def run(self) -> dict[KeyPath, KeySpot]:
        table: KeyPath = ()
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                break
            start = self.pos
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)
            self.skip_blank(newlines=False)
            if self.peek() == "#":
                self.skip_line()
            if self.pos == start:  # never loop on text this reader does not understand
                self.skip_line()
        return self.spots

    def key_parts(self) -> list[tuple[str, int, int, int]]:
        parts: list[tuple[str, int, int, int]] = []
        while True:
            self.skip_blank(newlines=False)
            line, col, start = self.line, self.col(), self.pos
            if self.peek() in ('"', "'"):
                name = self.string_value()
            else:
                while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_-"):
                    self.pos += 1
                name = self.text[start : self.pos]
            parts.append((name, line, col, self.pos - start))
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def record(self, path: KeyPath, line: int, col: int, length: int, *, overwrite: bool) -> None:
        if overwrite or path not in self.spots:
            self.spots[path] = KeySpot(line, col, length)

    def header(self) -> KeyPath:
        is_array = self.peek(2) == "[["
        self.advance(2 if is_array else 1)
        parts = self.key_parts()
        self.advance(2 if is_array else 1)
        resolved: list[str | int] = []
        for i, (name, line, col, length) in enumerate(parts):
            resolved.append(name)
            here = tuple(resolved)
            self.record(here, line, col, length, overwrite=False)
            if is_array and i == len(parts) - 1:
                index = self.aot.get(here, -1) + 1
                self.aot[here] = index
                resolved.append(index)
                self.record(tuple(resolved), line, col, length, overwrite=True)
            elif here in self.aot:
                resolved.append(self.aot[here])
        return tuple(resolved)

    def key_value(self, table: KeyPath) -> None:
        parts = self.key_parts()
        path = table
        for name, line, col, length in parts:
            path = (*path, name)
            self.record(path, line, col, length, overwrite=False)
        self.skip_blank(newlines=False)
        if self.peek() != "=":
            return
        self.advance()
        self.skip_blank(newlines=False)
        self.value_with_spot(path, key=self.spots[path])

    def value_with_spot(self, path: KeyPath, key: KeySpot | None) -> None:
        line, col, start = self.line, self.col(), self.pos
        self.value(path)
        length = (self.pos - start) if self.line == line else len(self.text[start:].split("\n", 1)[0])
        if key is None:
            self.spots[path] = KeySpot(line, col, max(length, 1), line, col, max(length, 1))
        else:
            self.spots[path] = KeySpot(key.line, key.col, key.length, line, col, max(length, 1))

    def value(self, path: KeyPath) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.string_value()
        elif ch == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(self.text) or self.peek() == "]":
                    break
                self.value_with_spot((*path, index), key=None)
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
            self.advance()
        elif ch == "{":
            self.advance()
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(self.text) or self.peek() == "}":
                    break
                self.key_value(path)
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.advance()
            self.advance()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            while self.pos > 0 and self.text[self.pos - 1] in " \t":
                self.pos -= 1

    def string_value(self) -> str:
        quote = self.peek()
        delim = quote * 3 if self.peek(3) == quote * 3 else quote
        self.advance(len(delim))
        start = self.pos
        while self.pos < len(self.text) and self.peek(len(delim)) != delim:
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        raw = self.text[start : self.pos]
        self.advance(len(delim))
        while len(delim) == 3 and self.peek() == quote:  # `"""a""""` ends with quotes inside the string
            self.advance()
        if quote == "'":
            return raw
        import json  # on use, like tomllib (see parse_toml)

        try:
            decoded = json.loads(f'"{raw}"')
        except ValueError:
            return raw
        return decoded if isinstance(decoded, str) else raw


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def syntax_error_position(text: str, message: str) -> tuple[int, int, str]:
    """Line, column and bare message of a tomllib error; "at end of document" points just after the last
    non-blank character (where the unclosed array or string started to be missed)."""
    at = _TOML_AT.search(message)
    if at is not None:
        line, col, message = int(at.group(1)), int(at.group(2)), message[: at.start()]
    else:
        stripped = text.rstrip()
        line = stripped.count("\n") + 1
        col = len(stripped) - (stripped.rfind("\n") + 1) + 1
        message = _TOML_END.sub("", message)
    return line, col, message[:1].lower() + message[1:]


def scan_key_spots(text: str) -> dict[KeyPath, KeySpot]:
    """Map every key path (tables, dotted keys, inline tables, array items) in valid TOML to its position."""
    return _Scanner(text).run()


def snippet(text: str, line: int, col: int, length: int) -> str:
    """The three-line caret excerpt that follows a `path:line:col: message` line."""
    lines = text.split("\n")
    source = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    pad = " " * len(str(line))
    return f"{pad} |\n{line} | {source}\n{pad} | {' ' * (col - 1)}{'^' * max(length, 1)}"
