"""The apply_patch engine: parsing the patch format, placing chunks in files, and writing the result.

Two front doors share one parser and one placement algorithm (see shared/reference/apply-patch.md):

- `apply_patch_cli()` is the standalone-CLI contract: hunks are applied one by one and the first failure
  stops the run, leaving earlier hunks applied (upstream scenario 015).
- `apply_patch_atomic()` is the agent path, `plan_patch()` then `commit_patch()` (the caller may check
  policy in between): every hunk is verified and its new content computed in memory first; only then are
  all files written (temp file + rename), deletes last, with rollback on I/O errors. A failed call leaves
  the disk untouched. This is a deliberate difference from upstream, which verifies
  first but then writes sequentially.

Both refuse to lose data on `*** Move to:` naming the source itself (upstream deletes the file); such a
hunk is treated as a plain update.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

from codex_cli.patch_grammar import APPLY_PATCH_LARK_GRAMMAR, APPLY_PATCH_TOOL_DESCRIPTION
from codex_cli.records import Record, field
from codex_cli.shell_parse import shell_wrapper_script

__all__ = [
    "APPLY_PATCH_LARK_GRAMMAR",
    "APPLY_PATCH_TOOL_DESCRIPTION",
    "AddFile",
    "DeleteFile",
    "FileChange",
    "Hunk",
    "Patch",
    "PatchError",
    "PatchOutcome",
    "PatchParseError",
    "PlannedPatch",
    "ShellPatch",
    "UpdateChunk",
    "UpdateFile",
    "apply_patch_atomic",
    "apply_patch_cli",
    "commit_patch",
    "extract_apply_patch_from_shell",
    "parse_patch",
    "plan_patch",
]

_BEGIN = "*** Begin Patch"
_END = "*** End Patch"
_ADD = "*** Add File: "
_DELETE = "*** Delete File: "
_UPDATE = "*** Update File: "
_MOVE = "*** Move to: "
_EOF = "*** End of File"
_ENV = "*** Environment ID: "
_HEADERS = (_ADD, _DELETE, _UPDATE)
_HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')
_FIRST_LINE_MSG = "The first line of the patch must be '*** Begin Patch'"
_LAST_LINE_MSG = "The last line of the patch must be '*** End Patch'"
_SUCCESS_HEADER = "Success. Updated the following files:"

# Unicode White_Space, as Rust's char::is_whitespace / str::trim use it. Python's str.strip() would also
# strip U+001C..U+001F, which Rust keeps.
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"

_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys([*map(chr, range(0x2010, 0x2016)), "\u2212"], "-"),
        **dict.fromkeys(map(chr, range(0x2018, 0x201C)), "'"),
        **dict.fromkeys(map(chr, range(0x201C, 0x2020)), '"'),
        **dict.fromkeys(["\u00a0", *map(chr, range(0x2002, 0x200B)), "\u202f", "\u205f", "\u3000"], " "),
    }
)
_LINE_END = re.compile(r"\r\n|\n|\r")

_Ops = list[tuple[str, str]]  # a chunk's (kind, text) lines, kind in ' ', '-', '+'


# --------------------------------------------------------------------------------------------- errors


class PatchError(Exception):
    """A patch could not be parsed, verified or applied; str(error) is the text shown to the user or model.

    `phase` tells the caller where it failed: "parse" and "verify" leave the disk untouched in every front
    door; "write" is an I/O failure while writing (the atomic path has rolled back by then).
    """

    def __init__(self, message: str, *, phase: Literal["parse", "verify", "write"] = "verify") -> None:
        super().__init__(message)
        self.message = message
        self.phase = phase

    def __str__(self) -> str:
        return self.message


class PatchParseError(PatchError):
    """The patch text is malformed. str() uses the CLI wording; `agent_message` the agent wording."""

    def __init__(self, detail: str, line_number: int | None = None) -> None:
        self.detail = detail
        self.line_number = line_number
        if line_number is None:
            super().__init__(f"Invalid patch: {detail}", phase="parse")
        else:
            super().__init__(f"Invalid patch hunk on line {line_number}: {detail}", phase="parse")

    @property
    def agent_message(self) -> str:
        if self.line_number is None:
            return f"invalid patch: {self.detail}"
        return f"invalid hunk at line {self.line_number}, {self.detail}"


# ---------------------------------------------------------------------------------------- patch model


class AddFile(Record):
    """`*** Add File:` — `path` as written, `contents` with LF endings."""

    path: str
    contents: str


class DeleteFile(Record):
    """`*** Delete File:` — `path` as written."""

    path: str


class UpdateChunk(Record):
    """One `@@` block. `lines` holds (kind, text) pairs, kind being ' ' (context), '-' or '+'."""

    context: str | None
    lines: tuple[tuple[str, str], ...]
    is_end_of_file: bool = False

    @property
    def old_lines(self) -> list[str]:
        return [text for kind, text in self.lines if kind != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for kind, text in self.lines if kind != "-"]


class UpdateFile(Record):
    """`*** Update File:` with an optional `*** Move to:` and at least one chunk."""

    path: str
    move_path: str | None
    chunks: tuple[UpdateChunk, ...]


Hunk = AddFile | DeleteFile | UpdateFile


class Patch(Record):
    """A parsed patch: its hunks in patch order and the optional `*** Environment ID:` value."""

    hunks: tuple[Hunk, ...]
    environment_id: str | None = None


class FileChange(Record):
    """One file touched by a successful atomic apply. `content` is the new text (the old one for deletes)."""

    path: Path
    kind: Literal["add", "delete", "update"]
    move_path: Path | None
    unified_diff: str
    content: str

    def touched_paths(self) -> tuple[Path, ...]:
        """Every path this change writes or removes (a move touches both ends)."""
        return (self.path,) if self.move_path is None else (self.path, self.move_path)


class PatchOutcome(Record):
    """Result of `apply_patch_atomic`: the changes, and the summary text in the CLI's format."""

    changes: list[FileChange]
    summary: str


class PlannedPatch(Record):
    """A verified patch, not yet written: its changes, summary, and the final bytes per path (None: delete)."""

    changes: list[FileChange]
    summary: str
    final: dict[Path, bytes | None]

    @property
    def diff(self) -> str:
        """All changes as one unified diff, for people."""
        parts = []
        for change in self.changes:
            old = "/dev/null" if change.kind == "add" else str(change.path)
            new = "/dev/null" if change.kind == "delete" else str(change.move_path or change.path)
            parts.append(f"--- {old}\n+++ {new}\n{change.unified_diff}")
        return "".join(parts)


class ShellPatch(Record):
    """An apply_patch invocation found in a shell command: the patch and the `cd` directory, if any."""

    patch: str
    workdir: str | None = None


# -------------------------------------------------------------------------------------------- parsing


def _rust_lines(text: str) -> list[str]:
    """Split like Rust `str::lines`: on '\\n', dropping one '\\r' before it; a lone '\\r' is not a break."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
        return [p[:-1] if p.endswith("\r") else p for p in parts]
    return [p[:-1] if p.endswith("\r") else p for p in parts[:-1]] + [parts[-1]]


def _boundary_error(lines: Sequence[str]) -> str | None:
    first = lines[0].strip(_WS) if lines else None
    last = lines[-1].strip(_WS) if lines else None
    if first == _BEGIN and last == _END:
        return None
    return _FIRST_LINE_MSG if first is not None and first != _BEGIN else _LAST_LINE_MSG


def _patch_body(lines: list[str]) -> list[str]:
    error = _boundary_error(lines)
    if error is None:
        return lines[1:-1]
    if len(lines) >= 4 and lines[0] in _HEREDOC_OPENERS and lines[-1].endswith("EOF"):
        inner = lines[1:-1]
        inner_error = _boundary_error(inner)
        if inner_error is None:
            return inner[1:-1]
        error = inner_error
    raise PatchParseError(error)


def parse_patch(text: str) -> Patch:
    """Parse patch text (with the heredoc leniency); raises `PatchParseError` with upstream's messages."""
    body = _patch_body(_rust_lines(text.strip(_WS)))
    environment_id = None
    index = 0
    if body and body[0].strip(_WS).startswith(_ENV):
        environment_id = body[0].strip(_WS)[len(_ENV) :]
        index = 1
    hunks: list[Hunk] = []
    while index < len(body):
        hunk, index = _parse_hunk(body, index)
        hunks.append(hunk)
    return Patch(tuple(hunks), environment_id)


def _parse_hunk(body: list[str], index: int) -> tuple[Hunk, int]:
    # Line numbers count the trimmed patch with '*** Begin Patch' as line 1; body[0] is line 2.
    header = body[index].strip(_WS)
    if header == _END:
        raise PatchParseError(_LAST_LINE_MSG)
    if header.startswith(_ADD):
        end = index + 1
        while end < len(body) and body[end].startswith("+"):
            end += 1
        contents = "".join(line[1:] + "\n" for line in body[index + 1 : end])
        return AddFile(header[len(_ADD) :], contents), end
    if header.startswith(_DELETE):
        return DeleteFile(header[len(_DELETE) :]), index + 1
    if header.startswith(_UPDATE):
        return _parse_update(body, index, header[len(_UPDATE) :])
    raise PatchParseError(
        f"'{header}' is not a valid hunk header. Valid hunk headers: "
        "'*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'",
        index + 2,
    )


def _ends_update(line: str) -> bool:
    """Only an unindented header (or the end marker) ends an Update hunk; anything else is chunk text."""
    return line.startswith(_HEADERS) or line.rstrip(_WS) == _END


def _parse_update(body: list[str], index: int, path: str) -> tuple[UpdateFile, int]:
    cursor = index + 1
    move_path = None
    if cursor < len(body) and body[cursor].startswith(_MOVE):
        move_path = body[cursor][len(_MOVE) :].rstrip(_WS)
        cursor += 1
    chunks: list[UpdateChunk] = []
    while cursor < len(body) and not _ends_update(body[cursor]):
        if chunks and not body[cursor].strip(_WS):
            # Between chunks blank lines are skipped, as codex-rs does (upstream test_unified_diff_insert_at_eof):
            # only a chunk closed by `*** End of File` is followed by one, as any other takes it as empty context.
            cursor += 1
            continue
        chunk, cursor = _parse_chunk(body, cursor, is_first=not chunks)
        chunks.append(chunk)
    if not chunks:
        raise PatchParseError(f"Update file hunk for path '{path}' is empty", index + 2)
    return UpdateFile(path, move_path, tuple(chunks)), cursor


def _parse_chunk(body: list[str], cursor: int, *, is_first: bool) -> tuple[UpdateChunk, int]:
    line = body[cursor]
    context = None
    if line.rstrip(_WS) == "@@":
        cursor += 1
    elif line.startswith("@@ "):
        context = line[3:]
        cursor += 1
    elif not is_first:
        raise PatchParseError(f"Expected update hunk to start with a @@ context marker, got: '{line}'", cursor + 2)
    start = cursor
    ops: _Ops = []
    is_eof = False
    while cursor < len(body) and not _ends_update(body[cursor]):
        line = body[cursor]
        if line.rstrip(_WS) == _EOF:  # ends the chunk; an empty chunk is reported below
            is_eof = bool(ops)
            cursor += 1 if is_eof else 0
            break
        kind = line[:1] or " "  # an empty line is an empty context line
        if kind not in (" ", "-", "+"):
            if ops:
                break
            raise PatchParseError(
                f"Unexpected line found in update hunk: '{line}'. Every line should start with "
                "' ' (context line), '+' (added line), or '-' (removed line)",
                cursor + 2,
            )
        ops.append((kind, line[1:]))
        cursor += 1
    if not ops:
        raise PatchParseError("Update hunk does not contain any lines", start + 2)
    return UpdateChunk(context, tuple(ops), is_eof), cursor


# -------------------------------------------------------------------------------- placing the chunks


def _normalise_punctuation(text: str) -> str:
    return text.strip(_WS).translate(_PUNCTUATION)


_SEEK_PASSES: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    lambda s: s.rstrip(_WS),
    lambda s: s.strip(_WS),
    _normalise_punctuation,
)


def _seek(lines: Sequence[str], pattern: Sequence[str], start: int, is_eof: bool) -> int | None:
    """First index >= start where `pattern` matches, trying 4 ever looser passes (eof: only at the end)."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    first = len(lines) - len(pattern) if is_eof else start
    size = len(pattern)
    for norm in _SEEK_PASSES:
        wanted = [norm(p) for p in pattern]
        haystack = [norm(line) for line in lines]
        for at in range(first, len(lines) - size + 1):
            if haystack[at : at + size] == wanted:
                return at
    return None


def _split_file(text: str) -> list[tuple[str, str]]:
    """(text, terminator) pairs; '\\r\\n', '\\n' and a lone '\\r' all end a line; the last may have none."""
    lines: list[tuple[str, str]] = []
    start = 0
    for match in _LINE_END.finditer(text):
        lines.append((text[start : match.start()], match.group()))
        start = match.end()
    if start < len(text):
        lines.append((text[start:], ""))
    return lines


def _drop_trailing_blank(ops: _Ops) -> _Ops:
    """Remove the last old line (it is ''), and the last new line too when it is ''."""
    kinds = [kind for kind, _ in ops]
    texts = [text for _, text in ops]
    old_at = max(i for i, kind in enumerate(kinds) if kind in (" ", "-"))
    kinds[old_at] = "+" if kinds[old_at] == " " else ""
    new_at = max((i for i, kind in enumerate(kinds) if kind in (" ", "+")), default=None)
    if new_at is not None and texts[new_at] == "":
        kinds[new_at] = "-" if kinds[new_at] == " " else ""
    return [(kind, text) for kind, text in zip(kinds, texts, strict=True) if kind]


def _find_old_lines(texts: list[str], chunk: UpdateChunk, cursor: int) -> tuple[int, _Ops] | None:
    """Seek the chunk's old lines; on failure retry once without a trailing empty old line."""
    ops = list(chunk.lines)
    found = _seek(texts, chunk.old_lines, cursor, chunk.is_end_of_file)
    if found is None and chunk.old_lines[-1] == "":
        ops = _drop_trailing_blank(ops)
        found = _seek(texts, [text for kind, text in ops if kind != "+"], cursor, chunk.is_end_of_file)
    return None if found is None else (found, ops)


def _locate_chunks(texts: list[str], chunks: Sequence[UpdateChunk], path: Path) -> list[tuple[int, _Ops]]:
    """Where each chunk applies: (first file line, its ops), in file order."""
    edits: list[tuple[int, _Ops]] = []
    cursor = floor = 0  # floor: end of the last matched region (an end-of-file match may not reach back past it)
    for chunk in chunks:
        if chunk.context is not None:
            found = _seek(texts, [chunk.context], cursor, False)
            if found is None:
                raise PatchError(f"Failed to find context '{chunk.context}' in {path}")
            cursor = found + 1
        if not chunk.old_lines:
            edits.append((len(texts), list(chunk.lines)))  # pure insertion: always appended at the end
            continue
        match = _find_old_lines(texts, chunk, cursor)
        if match is None or match[0] < floor:
            raise PatchError(f"Failed to find expected lines in {path}:\n" + "\n".join(chunk.old_lines))
        edits.append(match)
        cursor = floor = match[0] + sum(1 for kind, _ in match[1] if kind != "+")
    return sorted(edits, key=lambda edit: edit[0])


def _updated_text(original: str, chunks: Sequence[UpdateChunk], path: Path) -> str:
    """Apply the chunks: context lines keep the file's bytes, each -/+ run is replaced by the patch text."""
    lines = _split_file(original)
    preferred = next((ending for _, ending in lines if ending), "\n")
    result: list[tuple[str, str]] = []
    position = 0
    for start, ops in _locate_chunks([text for text, _ in lines], chunks, path):
        result.extend(lines[position:start])
        position = start
        for kind, text in ops:
            if kind == "+":
                result.append((text, preferred))
                continue
            if kind == " ":
                result.append(lines[position])
            position += 1
    result.extend(lines[position:])
    return "".join(text + (ending or preferred) for text, ending in result)


# ------------------------------------------------------------------------------------- file helpers


def _resolve(cwd: Path, raw: str) -> Path:
    return Path(os.path.normpath(os.path.join(cwd, raw)))


def _os_detail(error: OSError) -> str:
    if error.errno is not None and error.strerror:
        return f"{error.strerror} (os error {error.errno})"
    return str(error)


def _utf8_detail(error: UnicodeDecodeError) -> str:
    if error.reason == "unexpected end of data":
        return f"incomplete utf-8 byte sequence from index {error.start}"
    return f"invalid utf-8 sequence of {error.end - error.start} bytes from index {error.start}"


def _read_file(path: Path, prefix: str) -> bytes:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise PatchError(f"{prefix}: path `{path}` is not a file")
        return path.read_bytes()
    except OSError as error:
        raise PatchError(f"{prefix}: {_os_detail(error)}") from error


def _read_text(path: Path, prefix: str) -> str:
    data = _read_file(path, prefix)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PatchError(f"{prefix}: {_utf8_detail(error)}") from error


def _updated_file(cwd: Path, hunk: UpdateFile) -> tuple[Path, Path, str, str]:
    """Read the source and compute the update: (source, destination, old text, new text)."""
    source = _resolve(cwd, hunk.path)
    old = _read_text(source, f"Failed to read file to update {source}")
    new = _updated_text(old, hunk.chunks, source)
    destination = source if hunk.move_path is None else _resolve(cwd, hunk.move_path)
    return source, destination, old, new


def _summary(added: list[str], modified: list[str], deleted: list[str]) -> str:
    rows = [_SUCCESS_HEADER, *(f"A {p}" for p in added), *(f"M {p}" for p in modified)]
    rows += [f"D {p}" for p in deleted]
    return "\n".join(rows) + "\n"


def _summary_for(patch: Patch) -> str:
    added = [h.path for h in patch.hunks if isinstance(h, AddFile)]
    modified = [h.move_path or h.path for h in patch.hunks if isinstance(h, UpdateFile)]
    deleted = [h.path for h in patch.hunks if isinstance(h, DeleteFile)]
    return _summary(added, modified, deleted)


# ------------------------------------------------------------------------------ CLI (sequential) path


def _write_now(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise PatchError(f"Failed to write file {path}", phase="write") from error


def _delete_now(path: Path) -> None:
    try:
        os.remove(path)
    except OSError as error:
        raise PatchError(f"Failed to delete file {path}", phase="write") from error


def _apply_hunk_now(cwd: Path, hunk: Hunk) -> None:
    if isinstance(hunk, AddFile):
        _write_now(_resolve(cwd, hunk.path), hunk.contents.encode("utf-8"))
    elif isinstance(hunk, DeleteFile):
        _delete_now(_resolve(cwd, hunk.path))
    else:
        source, destination, _, new = _updated_file(cwd, hunk)
        _write_now(destination, new.encode("utf-8"))
        if destination != source:
            _delete_now(source)


def apply_patch_cli(patch_text: str, cwd: Path, stdout: TextIO, stderr: TextIO) -> int:
    """Run a patch like the standalone `apply_patch` binary: sequential, stop at the first error, exit 0/1."""
    cwd = Path(os.path.abspath(cwd))
    try:
        patch = parse_patch(patch_text)
        if not patch.hunks:
            raise PatchError("No files were modified.", phase="parse")
        for hunk in patch.hunks:
            _apply_hunk_now(cwd, hunk)
    except PatchError as error:
        stderr.write(f"{error}\n")
        return 1
    stdout.write(_summary_for(patch))
    return 0


# --------------------------------------------------------------------------------- agent (atomic) path


def _unified_diff(old: str, new: str) -> str:
    rows = difflib.unified_diff([t for t, _ in _split_file(old)], [t for t, _ in _split_file(new)], n=1, lineterm="")
    return "".join(row + "\n" for row in list(rows)[2:])


class _Plan(Record, frozen=False):
    """Collects the changes and the final state per path (bytes, or None to delete); sources of moves apart."""

    final: dict[Path, bytes | None] = field(default_factory=dict)
    vacated: list[Path] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)

    def add(self, path: Path, contents: str) -> None:
        self.final[path] = contents.encode("utf-8")
        self.changes.append(FileChange(path, "add", None, _unified_diff("", contents), contents))

    def delete(self, path: Path) -> None:
        old = _read_file(path, f"Failed to read {path}").decode("utf-8", "replace")
        self.final[path] = None
        self.changes.append(FileChange(path, "delete", None, _unified_diff(old, ""), old))

    def update(self, cwd: Path, hunk: UpdateFile) -> None:
        source, destination, old, new = _updated_file(cwd, hunk)
        self.final[destination] = new.encode("utf-8")
        moved = destination if destination != source else None
        if moved is not None:
            self.vacated.append(source)
        self.changes.append(FileChange(source, "update", moved, _unified_diff(old, new), new))


def _check_duplicates(patch: Patch, cwd: Path) -> None:
    seen: set[Path] = set()
    for hunk in patch.hunks:
        path = _resolve(cwd, hunk.path)
        if path in seen:
            raise PatchError(f"apply_patch verification failed: invalid patch: multiple operations target {path}")
        seen.add(path)


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.apply-patch-{tag}")


class _Journal:
    """Stages writes next to their targets and records how to undo every step taken so far."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []
        self.backups: list[Path] = []

    def make_parents(self, path: Path) -> None:
        missing = [p for p in path.parents if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            self.undo.append(directory.rmdir)

    def stage(self, target: Path, data: bytes) -> Path:
        if target.is_dir():
            raise IsADirectoryError(target)
        self.make_parents(target)
        temp = _sibling(target, "new")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.undo.append(lambda: temp.unlink(missing_ok=True))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if target.exists():  # keep the mode of the file being replaced, as an in-place write would
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
        return temp

    def set_aside(self, path: Path) -> None:
        backup = _sibling(path, "old")
        os.rename(path, backup)
        self.backups.append(backup)
        self.undo.append(lambda: os.replace(backup, path))

    def replace(self, temp: Path, target: Path) -> None:
        if os.path.lexists(target):
            self.set_aside(target)
        else:
            self.undo.append(lambda: target.unlink(missing_ok=True))
        os.replace(temp, target)

    def rollback(self) -> None:
        for step in reversed(self.undo):
            try:
                step()
            except OSError:
                continue

    def finish(self) -> None:
        for backup in self.backups:
            backup.unlink(missing_ok=True)


def _write_target(path: Path) -> Path:
    """Writes follow a symlink to its target, as upstream's in-place writes do."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _commit(final: dict[Path, bytes | None]) -> None:
    writes = [(path, data) for path, data in final.items() if data is not None]
    deletes = [path for path, data in final.items() if data is None]
    journal = _Journal()
    current, verb = Path(), "write"
    try:
        staged = []
        for current, data in writes:
            staged.append((journal.stage(_write_target(current), data), current))
        for temp, current in staged:
            journal.replace(temp, _write_target(current))
        verb = "delete"
        for current in deletes:
            journal.set_aside(current)
    except OSError as error:
        journal.rollback()
        raise PatchError(f"Failed to {verb} file {current}", phase="write") from error
    journal.finish()


def plan_patch(patch_text: str, cwd: Path) -> PlannedPatch:
    """Parse and verify a patch against the disk, computing every new file in memory; writes nothing.

    Raises `PatchError` with the agent-side message (`apply_patch verification failed: ...`,
    `patch rejected: empty patch`, ...).
    """
    cwd = Path(os.path.abspath(cwd))
    try:
        patch = parse_patch(patch_text)
    except PatchParseError as error:
        raise PatchError(f"apply_patch verification failed: {error.agent_message}", phase="parse") from error
    if patch.environment_id is not None:
        raise PatchError("apply_patch environment selection is unavailable for this turn", phase="parse")
    if not patch.hunks:
        raise PatchError("patch rejected: empty patch", phase="parse")
    _check_duplicates(patch, cwd)
    plan = _Plan()
    try:
        for hunk in patch.hunks:
            if isinstance(hunk, AddFile):
                plan.add(_resolve(cwd, hunk.path), hunk.contents)
            elif isinstance(hunk, DeleteFile):
                plan.delete(_resolve(cwd, hunk.path))
            else:
                plan.update(cwd, hunk)
    except PatchError as error:
        raise PatchError(f"apply_patch verification failed: {error}") from error
    final = dict(plan.final)
    for source in plan.vacated:  # a move source is removed unless the patch also writes that path
        final.setdefault(source, None)
    return PlannedPatch(plan.changes, _summary_for(patch), final)


def commit_patch(planned: PlannedPatch) -> PatchOutcome:
    """Write a planned patch: all files or none (temp files, renames, rollback on any I/O error)."""
    _commit(planned.final)
    return PatchOutcome(planned.changes, planned.summary)


def files_payload(final: Mapping[Path, bytes | None]) -> bytes:
    """The payload of the confined `write-files` job (`write_files_job`) for a planned patch's `final` map."""
    import json

    header = json.dumps([[str(path), None if data is None else len(data)] for path, data in final.items()])
    return header.encode("ascii") + b"\n" + b"".join(data for data in final.values() if data is not None)


def write_files_job(payload: bytes) -> bytes:
    """The confined job (`sandbox.CONFINED_JOBS`) that writes a planned patch, all files or none: b"" on success,
    else the write error's text. Runs in a child under the session's sandbox, so the kernel, not a check made
    earlier, decides where it may write: a folder swapped for a symlink meanwhile leads nowhere it could not."""
    import json

    header, _, body = payload.partition(b"\n")
    final: dict[Path, bytes | None] = {}
    offset = 0
    for path, size in json.loads(header):
        if size is None:
            final[Path(path)] = None
        else:
            final[Path(path)] = body[offset : offset + size]
            offset += size
    try:
        _commit(final)
    except PatchError as error:
        return error.message.encode("utf-8", "surrogateescape")
    return b""


def apply_patch_atomic(patch_text: str, cwd: Path) -> PatchOutcome:
    """Apply a patch for the agent: `plan_patch` then `commit_patch`; on any failure the disk is unchanged."""
    return commit_patch(plan_patch(patch_text, cwd))


# ----------------------------------------------------------------------------- shell interception


_IMPLICIT_MSG = (
    "apply_patch verification failed: patch detected without explicit call to apply_patch. "
    'Rerun as ["apply_patch", "<patch>"]'
)
_HEREDOC_HEAD = re.compile(
    r"""[ \t\n]*(?:cd[ \t]+(?P<dir>'[^'\n]*'|"[^"\\$`\n]*"|[^\s'"\\;&|<>()$`#]+)[ \t]*&&[ \t]*)?"""
    r"""(?:apply_patch|applypatch)[ \t]*<<(?P<dash>-?)[ \t]*(?P<tag>'[^'\n]+'|"[^"\n]+"|[A-Za-z0-9_.-]+)[ \t]*\n"""
)


def _parses(text: str) -> bool:
    try:
        parse_patch(text)
    except PatchError:
        return False
    return True


def _heredoc_patch(script: str) -> ShellPatch | None:
    """Match `[cd DIR && ]apply_patch <<TAG` + body + `TAG`, with nothing else in the script."""
    head = _HEREDOC_HEAD.match(script)
    if head is None:
        return None
    tag = head["tag"].strip("'\"")
    lines = script[head.end() :].split("\n")
    body: list[str] = []
    for index, line in enumerate(lines):
        if (line.lstrip("\t") if head["dash"] else line) == tag:
            if any(rest.strip() for rest in lines[index + 1 :]):
                return None
            workdir = head["dir"]
            if workdir is not None and workdir[:1] in "'\"":
                workdir = workdir[1:-1]
            return ShellPatch("\n".join(body).rstrip("\n"), workdir)
        body.append(line.lstrip("\t") if head["dash"] else line)
    return None


def _shell_script(argv: Sequence[str]) -> str | None:
    """The script of a POSIX shell wrapper (`bash -lc S`, `sh -c S`: `shell_parse`'s rule), of
    `pwsh [-NoProfile] -Command S` or of `cmd /c S`."""
    script = shell_wrapper_script(argv)
    if script is not None:
        return script
    name = re.split(r"[\\/]", argv[0])[-1].lower().removesuffix(".exe")
    args = list(argv[1:])
    if name in ("pwsh", "powershell"):
        if args and args[0].lower() == "-noprofile":
            args = args[1:]
        if len(args) == 2 and args[0].lower() == "-command":
            return args[1]
    if name == "cmd" and len(args) == 2 and args[0].lower() == "/c":
        return args[1]
    return None


def extract_apply_patch_from_shell(command: str | Sequence[str]) -> ShellPatch | None:
    """Detect an apply_patch call in a shell command (a script string or an argv list).

    Returns None when the command is not an interceptable apply_patch call (it then runs as a normal
    command). Raises `PatchError` when the command is a bare patch with no apply_patch call at all.
    """
    if isinstance(command, str):
        script: str | None = command
    elif len(command) == 2 and command[0] in ("apply_patch", "applypatch"):
        return ShellPatch(command[1])
    elif len(command) == 1:
        script = command[0] if _parses(command[0]) else None
    else:
        script = _shell_script(command) if command else None
    if script is None:
        return None
    if _parses(script):
        raise PatchError(_IMPLICIT_MSG, phase="parse")
    return _heredoc_patch(script)
