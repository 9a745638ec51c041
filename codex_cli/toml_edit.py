"""Round-trip-preserving edits of config.toml: replace or remove one table, leaving every other byte alone.

codex-rs re-serialises the whole `[mcp_servers]` table on `codex mcp add/remove`, dropping comments and
unknown keys (mcp.md §2.1). We edit by hand instead: `scan()` splits the document into statements
(table headers, key/value pairs including multi-line strings and arrays, comments and blank lines), each
with its line span and full dotted key path. `remove_table()` deletes the statements at or under a key
path; `set_table()` does that and puts a freshly rendered block where the old table was (or at the end).
Comments inside the edited table go with it; comments and blank lines after its last key stay, since
they usually introduce the next table. Every result is parsed again with tomllib before it is returned,
and `write_text_atomic()` replaces the file in one step, keeping its mode (0600 for a new file).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from codex_cli.records import Record
from codex_cli.toml_doc import parse_toml

__all__ = [
    "Statement",
    "TomlEditError",
    "format_key",
    "format_value",
    "read_text",
    "remove_table",
    "render_table",
    "scan",
    "set_table",
    "set_value",
    "write_text_atomic",
]

KeyPath = tuple[str, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


class TomlEditError(Exception):
    """The document cannot be edited safely (invalid TOML, or the key is defined in a form we do not edit)."""


class Statement(Record):
    """One logical line (or several, for multi-line values): `[start, end)` are offsets into the text."""

    kind: Literal["table", "array_table", "keyval", "trivia"]
    path: KeyPath  # a header's table path, or a key/value's full path; () for trivia
    start: int
    end: int


# ---------------------------------------------------------------------------------------------------------- scanning


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> TomlEditError:
        line = self.text.count("\n", 0, self.pos) + 1
        return TomlEditError(f"line {line}: {message}")

    def skip_blanks(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def rest_of_line(self) -> None:
        """Accept an optional comment, then move past the newline (or to the end)."""
        self.skip_blanks()
        if self.peek() == "#":
            newline = self.text.find("\n", self.pos)
            self.pos = len(self.text) if newline < 0 else newline
        if self.text.startswith("\r\n", self.pos):
            self.pos += 2
        elif self.peek() == "\n":
            self.pos += 1
        elif self.pos < len(self.text):
            raise self.error("unexpected text after a value")

    def key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self.skip_blanks()
            char = self.peek()
            if char == '"':
                parts.append(self.basic_string())
            elif char == "'":
                end = self.text.find("'", self.pos + 1)
                if end < 0:
                    raise self.error("unterminated key")
                parts.append(self.text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    raise self.error("expected a key")
                parts.append(match.group())
                self.pos = match.end()
            self.skip_blanks()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def basic_string(self) -> str:
        """Read a one-line `"..."` string (the quote at `pos`) and return its value."""
        start = self.pos
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] not in '"\n':
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        if self.peek() != '"':
            raise self.error("unterminated string")
        self.pos += 1
        value = parse_toml(f"k = {self.text[start : self.pos]}")["k"]
        return str(value)

    def value(self) -> None:
        """Skip one value, however many lines its strings, arrays and inline tables span."""
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "\"'":
                self.string(char)
                continue
            if char == "#" and depth == 0:
                return  # a comment after the value: `rest_of_line` takes it
            if char == "#":
                newline = self.text.find("\n", self.pos)
                self.pos = len(self.text) if newline < 0 else newline
                continue
            if char == "\n" and depth == 0:
                return
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            self.pos += 1
        if depth:
            raise self.error("unterminated array or inline table")

    def string(self, quote: str) -> None:
        triple = quote * 3
        if self.text.startswith(triple, self.pos):
            self.pos += 3
            while self.pos < len(self.text):
                if quote == '"' and self.text[self.pos] == "\\":
                    self.pos += 2
                elif self.text.startswith(triple, self.pos):
                    self.pos += 3
                    while self.peek() == quote:  # up to two quotes may close the content
                        self.pos += 1
                    return
                else:
                    self.pos += 1
            raise self.error("unterminated multi-line string")
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] not in (quote, "\n"):
            self.pos += 2 if quote == '"' and self.text[self.pos] == "\\" else 1
        if self.peek() != quote:
            raise self.error("unterminated string")
        self.pos += 1


def scan(text: str) -> list[Statement]:
    """Split a TOML document into statements; raise TomlEditError on syntax we cannot follow."""
    scanner = _Scanner(text)
    statements: list[Statement] = []
    table: KeyPath = ()
    while scanner.pos < len(text):
        start = scanner.pos
        scanner.skip_blanks()
        char = scanner.peek()
        if char in ("", "#", "\n", "\r"):
            scanner.rest_of_line()
            statements.append(Statement("trivia", (), start, scanner.pos))
        elif char == "[":
            is_array = text.startswith("[[", scanner.pos)
            scanner.pos += 2 if is_array else 1
            table = scanner.key()
            closing = "]]" if is_array else "]"
            if not text.startswith(closing, scanner.pos):
                raise scanner.error("expected the end of a table header")
            scanner.pos += len(closing)
            scanner.rest_of_line()
            statements.append(Statement("array_table" if is_array else "table", table, start, scanner.pos))
        else:
            key = scanner.key()
            if scanner.peek() != "=":
                raise scanner.error("expected `=` after a key")
            scanner.pos += 1
            scanner.value()
            scanner.rest_of_line()
            statements.append(Statement("keyval", table + key, start, scanner.pos))
    return statements


# ---------------------------------------------------------------------------------------------------------- rendering


def format_key(key: str) -> str:
    """A bare key when possible, else a quoted one (`"bad.name"`)."""
    return key if _BARE_KEY.fullmatch(key) else _quote(key)


def _quote(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def format_value(value: object) -> str:
    """A TOML value: strings, booleans, integers, floats, arrays and inline tables."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{format_key(str(k))} = {format_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def render_table(path: KeyPath, values: Mapping[str, object]) -> str:
    """`[path]` with its scalar keys in the given order, then each mapping value as its own sub-table."""
    header = "[" + ".".join(format_key(part) for part in path) + "]\n"
    lines = [f"{format_key(k)} = {format_value(v)}\n" for k, v in values.items() if not isinstance(v, Mapping)]
    blocks = [header + "".join(lines)]
    for key, value in values.items():
        if isinstance(value, Mapping):
            blocks.append(render_table((*path, key), value))
    return "\n".join(blocks)


# ---------------------------------------------------------------------------------------------------------- editing


def _check(text: str, what: str) -> dict[str, object]:
    try:
        return parse_toml(text)
    except ValueError as exc:
        raise TomlEditError(f"{what} is not valid TOML: {exc}") from None


def _has_path(doc: Mapping[str, object], path: KeyPath) -> bool:
    node: object = doc
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _is_blank(text: str, statement: Statement) -> bool:
    return statement.kind == "trivia" and not text[statement.start : statement.end].strip()


def _removed_spans(text: str, statements: list[Statement], path: KeyPath) -> list[tuple[int, int]]:
    """Line spans to delete: tables at or under `path` (header to last key, plus one blank line before)."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(statements):
        statement = statements[index]
        under = statement.path[: len(path)] == path
        if statement.kind in ("table", "array_table") and under:
            last = index
            body = index + 1
            while body < len(statements) and statements[body].kind not in ("table", "array_table"):
                if statements[body].kind == "keyval":
                    last = body
                body += 1
            start = statement.start
            if index > 0 and _is_blank(text, statements[index - 1]):
                start = statements[index - 1].start
            spans.append((start, statements[last].end))
            index = last + 1
        elif statement.kind == "keyval" and under:
            spans.append((statement.start, statement.end))
            index += 1
        else:
            index += 1
    return spans


def _delete(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end in spans:
        start = max(start, cursor)
        pieces.append(text[cursor:start])
        cursor = max(cursor, end)
    pieces.append(text[cursor:])
    return "".join(pieces)


def remove_table(text: str, path: KeyPath) -> tuple[str, bool]:
    """Delete the table at `path` and everything under it; return (new text, whether anything was removed)."""
    doc = _check(text, "config.toml")
    if not _has_path(doc, path):
        return text, False
    spans = _removed_spans(text, scan(text), path)
    result = _delete(text, spans)
    if spans and spans[0][0] == 0:
        result = result.lstrip("\r\n")
    if _has_path(_check(result, "the edited config.toml"), path):
        raise TomlEditError(f"`{'.'.join(path)}` is defined inline inside another value; edit config.toml by hand")
    return result, True


def set_table(text: str, path: KeyPath, block: str) -> str:
    """Put `block` (a rendered table) in place of the table at `path`, or append it; keep all else as is."""
    _check(text, "config.toml")
    spans = _removed_spans(text, scan(text), path) if _has_path(parse_toml(text), path) else []
    if spans:
        first_start = spans[0][0]
        before = _delete(text[:first_start], [])
        separator = "\n" if text[first_start : first_start + 1] in ("\n", "\r") else ""
        after = _delete(text, spans)[len(before) :]
        result = before + separator + block + after
    else:
        result = text
        if result and not result.endswith("\n"):
            result += "\n"
        result += ("\n" if result else "") + block
    doc = _check(result, "the edited config.toml")
    if not _has_path(doc, path):
        raise TomlEditError(f"could not write `{'.'.join(path)}`")
    return result


def set_value(text: str, path: KeyPath, value: object) -> str:
    """Set the key at `path` to `value`: in place where it is written, else as a new line at the end of its
    table's own keys (for a top-level key, before the first table header; for a table without a header, in a new
    `[table]` at the end). Every other byte stays as it is."""
    _check(text, "config.toml")
    statements = scan(text)
    existing = next((st for st in statements if st.kind == "keyval" and st.path == path), None)
    if existing is not None:  # only the value changes: the key as written (dotted, quoted), a comment after it
        scanner = _Scanner(text)
        scanner.pos = existing.start
        scanner.key()
        key_end = scanner.pos
        scanner.pos += 1  # the `=`
        scanner.value()
        end = scanner.pos
        while end > key_end and text[end - 1] in " \t":
            end -= 1
        result = text[:key_end].rstrip(" \t") + " = " + format_value(value) + text[end:]
    else:
        table, key = path[:-1], f"{format_key(path[-1])} = {format_value(value)}\n"
        header = next((i for i, st in enumerate(statements) if st.kind == "table" and st.path == table), None)
        if table and header is None:
            result = text + ("\n" if text and not text.endswith("\n") else "")
            result += ("\n" if result else "") + "[" + ".".join(format_key(part) for part in table) + "]\n" + key
        else:
            first = 0 if header is None else header + 1  # the statements that belong to that table
            last = next((i for i in range(first, len(statements)) if statements[i].kind in ("table", "array_table")),
                        len(statements))
            keyvals = [st for st in statements[first:last] if st.kind == "keyval"]
            if keyvals:
                at = keyvals[-1].end
            elif header is not None:
                at = statements[header].end
            else:
                at = 0  # a document without top-level keys: the new key goes first
            before = text[:at] + ("\n" if at and not text[:at].endswith("\n") else "")
            result = before + key + text[at:]
    node: object = _check(result, "the edited config.toml")
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    if node != value:
        raise TomlEditError(f"`{'.'.join(path)}` is written in a form this edit cannot change; edit it by hand")
    return result


def read_text(path: Path) -> str:
    """The text of the file to edit, or "" when it does not exist yet."""
    return path.read_text(encoding="utf-8") if path.exists() else ""


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` in one step (making its folder first if need be); keep its permissions, or use 0600 for a
    new file (it may hold secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    fd, temp = tempfile.mkstemp(prefix=".config.", suffix=".toml.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
