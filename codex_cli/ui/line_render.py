"""What the line UI prints: session events turned into scrollback text, streamed as they arrive.

`LineRenderer.handle()` renders each event as it arrives. Text is wrapped at words to the terminal's width, rows
after the first indented under their bullet (code blocks are not wrapped); a streamed message's rows go into the
scrollback once they are complete, and on a live terminal the row still being written is shown at once in the
`LiveArea`, the rows under the output that are redrawn in place (that row, the status row, queued messages, the
input). Cells follow ux.md §5: `• ` bullets, two-space continuation, `└` children. `Style` turns styling off
entirely for `NO_COLOR`, `TERM=dumb` or a non-terminal stdout, so the output then holds no escape sequence at all:
no area, and the input echoed by `PlainEcho` with carriage returns and backspaces only.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    CommandExecutionItem,
    CommandOutputDelta,
    ContextCompacted,
    ErrorItem,
    ErrorNotice,
    Event,
    FileChangeItem,
    HookRun,
    ItemCompleted,
    ItemStarted,
    ItemUpdated,
    McpToolCallItem,
    ReasoningDelta,
    ReasoningItem,
    TodoListItem,
    TurnAborted,
    TurnFailed,
    TurnStarted,
    Usage,
    WarningNotice,
)
from codex_cli.records import Record, field
from codex_cli.shell_parse import shell_wrapper_script
from codex_cli.style import Style
from codex_cli.ui.line_input import char_width, text_width

__all__ = [
    "LineRenderer",
    "MarkdownStream",
    "compact_number",
    "context_left_percent",
    "display_command",
    "strip_controls",
]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_CONTROLS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")
_CONTEXT_BASELINE = 12_000


def strip_controls(text: str) -> str:
    """Text without escape sequences or control characters (tabs and newlines kept)."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n"))


def compact_number(n: int) -> str:
    """At most three significant digits with a K/M suffix: 999, 1.3K, 9.1K, 212K, 1.5M."""
    if n < 1000:
        return str(n)
    for suffix, scale in (("K", 1_000), ("M", 1_000_000), ("B", 1_000_000_000)):
        value = n / scale
        if value < 1000 or suffix == "B":
            digits = 2 if value < 10 else 1 if value < 100 else 0
            text = f"{value:.{digits}f}"
            return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix
    return str(n)


def context_left_percent(used: int, context_window: int) -> int:
    """ux.md §5.8: the window is 95 % of the model's; 12K tokens are always taken."""
    window = context_window * 95 // 100
    if window <= _CONTEXT_BASELINE:
        return 0
    left = round(100 * (window - used) / (window - _CONTEXT_BASELINE))
    return max(0, min(100, left))


def display_command(command: str) -> str:
    """`/bin/bash -lc 'echo hi'` → `echo hi`: the script, without the shell that runs it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    script = shell_wrapper_script(words)
    return command if script is None else script


def wrap_styled(text: str, first: int, rest: int | None = None, *, keep: int = 0) -> list[str]:
    """`text` (one line; SGR codes allowed) in rows of at most `first`, then `rest`, columns, broken at spaces; a
    word longer than a row is cut. No break is made in the first `keep` columns (a bullet and its space). A style
    open at a break is closed at the end of its row and opened again at the start of the next."""
    rest = first if rest is None else rest
    if text_width(text) <= first:
        return [text]
    rows: list[str] = []
    limit = max(1, first)
    row: list[str] = []
    width = 0
    style = ""

    def breakable() -> tuple[int, str, int] | None:
        """The last space of the row where a break may go: (index, style there, width before it)."""
        found, current, w = None, "", 0
        for index, piece in enumerate(row):
            if piece[0] == "\x1b":
                if piece[-1] == "m" and piece[1:2] == "[":
                    current = "" if piece in ("\x1b[0m", "\x1b[m") else current + piece
                continue
            if piece == " " and (w >= keep or rows):
                found = (index, current, w)
            w += char_width(piece)
        return found

    for token in _TOKENS.findall(text):
        if token[0] == "\x1b":
            row.append(token)
            if token[-1] == "m" and token[1:2] == "[":
                style = "" if token in ("\x1b[0m", "\x1b[m") else style + token
            continue
        w = char_width(token)
        while width + w > limit and width:
            if token == " ":  # a space at the break: it goes
                rows.append("".join(row) + ("\x1b[0m" if style else ""))
                row, width = ([style] if style else []), 0
                token, w = "", 0
                break
            at = breakable()
            if at is not None:
                index, at_style, before = at
                rows.append("".join(row[:index]) + ("\x1b[0m" if at_style else ""))
                row = ([at_style] if at_style else []) + row[index + 1 :]
                width -= before + 1
            else:
                rows.append("".join(row) + ("\x1b[0m" if style else ""))
                row, width = ([style] if style else []), 0
            limit = max(1, rest)
        if token:
            row.append(token)
            width += w
    rows.append("".join(row))
    return rows


_TOKENS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|.", re.S)


_LINK = re.compile(r"\[([^\]\n]{0,500})\]\(([^)\s]{1,2000})\)")
_LINK_PREFIX = re.compile(r"\[[^\]\n]{0,500}(?:\]\(?|\]\([^)\s]{0,2000})?")
_TABLE_RULE = re.compile(r"\s*:?-+:?\s*")
_LINK_STYLE = "4;38;5;111"


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


class MarkdownStream:
    """Streaming light markdown, wrapped at words to the width: headings, lists, quotes, `code`, **bold**, links as
    `text (url)`, tables as aligned columns, fenced code kept verbatim and never wrapped.

    `feed()` returns the rows that are final (each ends with a newline); `tentative()` is the row still being
    written, for a live terminal to show until it is final. Only line-start markers (`#`, `-`, `1.`, ```` ``` ````),
    a trailing `*`, an unfinished link and table rows wait for more text. Without colour, inline markers and fences
    stay as written (only links and tables are laid out), indented under the cell's bullet."""

    def __init__(self, palette: Style, bullet: str = "• ", indent: str = "  ",
                 width: Callable[[], int] | None = None) -> None:
        self.pal, self.styled = palette, palette.enabled
        self.bullet, self.indent = bullet, indent
        self.width = width or (lambda: 1 << 30)
        self.first, self.line_start = True, True
        self.head, self.hold = "", ""
        self.code_block = self.skip_line = self.inline_code = self.bold = False
        self.line_style = ""
        self.prefix = self.hang = self.content = ""
        self.wrap = True
        self.table: list[str] = []
        self.table_line: str | None = None
        self._out: list[str] = []

    # -------------------------------------------------------------- rows

    def _base(self) -> str:
        if self.first:
            self.first = False
            return self.pal.dim(self.bullet)
        return self.indent

    def _begin(self, prefix: str, *, wrap: bool = True) -> None:
        """Start a line: its first row begins with `prefix`, rows it wraps onto with as many spaces."""
        self.prefix, self.hang, self.wrap, self.line_start = prefix, " " * text_width(prefix), wrap, False

    def _commit(self, final: bool) -> None:
        total = self.width() - 1
        if not self.wrap:
            rows = [self.content] if final else []
        else:
            rows = wrap_styled(self.content, max(8, total - text_width(self.prefix)), max(8, total - len(self.hang)))
        done = rows if final else rows[:-1]
        for row in done:
            self._out.append(self.prefix + row + "\n")
            self.prefix = self.hang
        if final:
            self.content = ""
        elif done:
            self.content = rows[-1]

    def _end_line(self) -> None:
        if self.styled and (self.line_style or self.bold or self.inline_code):
            self.content += "\x1b[0m"
        self.line_style, self.bold, self.inline_code = "", False, False
        self._commit(final=True)
        self.line_start = True

    def tentative(self) -> str:
        """The row being written (prefix and text so far), or ""."""
        if self.line_start or not (self.content or self.hold):
            return ""
        text = self.prefix + self.content + self.hold
        return text + "\x1b[0m" if self.styled and "\x1b" in text else text

    # -------------------------------------------------------------- feeding

    def _style(self) -> str:
        codes = [c for c in (self.line_style, "1;38;5;211" if self.bold else "", "32" if self.inline_code else "")
                 if c]
        return "\x1b[0m" + (f"\x1b[{';'.join(codes)}m" if codes else "")

    def feed(self, text: str) -> str:
        text, self.hold = self.hold + text, ""
        i, n = 0, len(text)
        while i < n:
            if self.skip_line:
                j = text.find("\n", i)
                if j < 0:
                    break
                self.skip_line, self.line_start, i = False, True, j + 1
                continue
            if self.table_line is not None:
                j = text.find("\n", i)
                self.table_line += text[i : n if j < 0 else j]
                if j < 0:
                    break
                self.table.append(self.table_line)
                self.table_line, self.line_start, i = None, True, j + 1
                continue
            if self.line_start:
                ch = text[i]
                i += 1
                if ch == "\n":
                    if self.head:
                        rest = self._classify(final=True)
                        text, i, n = (rest or "") + "\n" + text[i:], 0, len(rest or "") + 1 + n - i
                    else:
                        self._flush_table()
                        self._out.append("\n")
                    continue
                self.head += ch
                decided = self._classify(final=False)
                if decided is None:
                    continue
                text, i, n = decided + text[i:], 0, len(decided) + n - i
                continue
            if self.code_block:
                j = text.find("\n", i)
                self.content += text[i : n if j < 0 else j]
                if j < 0:
                    break
                self._end_line()
                i = j + 1
                continue
            i = self._inline(text, i, n)
        if not self.line_start and self.wrap:
            self._commit(final=False)
        out, self._out = "".join(self._out), []
        return out

    def _inline(self, text: str, i: int, n: int) -> int:
        """Process text from `i` up to the end of its line; the index reached."""
        specials = "\n`*[" if self.styled else "\n["
        j = i
        while j < n and text[j] not in specials:
            j += 1
        self.content += text[i:j]
        if j >= n:
            return n
        ch = text[j]
        if ch == "\n":
            self._end_line()
            return j + 1
        if ch == "[" and not self.inline_code:
            match = _LINK.match(text, j)
            if match is not None:
                self.content += self._link(match.group(1), match.group(2))
                return match.end()
            if _LINK_PREFIX.fullmatch(text, j):
                self.hold = text[j:]  # perhaps a link: wait for the rest of it
                return n
            self.content += "["
            return j + 1
        if ch == "[":
            self.content += "["
            return j + 1
        if ch == "`":
            while j < n and text[j] == "`":
                j += 1
            self.inline_code = not self.inline_code
            self.content += self._style()
            return j
        if j + 1 >= n:
            self.hold = "*"  # `*` or the first half of `**`
            return n
        if text[j + 1] == "*" and not self.inline_code:
            self.bold = not self.bold
            self.content += self._style()
            return j + 2
        self.content += "*"
        return j + 1

    def _link(self, label: str, url: str) -> str:
        if not self.styled:
            return url if label in ("", url) else f"{label} ({url})"
        styled_url = self.pal.sgr(_LINK_STYLE, url)
        shown = styled_url if label in ("", url) else f"{self.pal.sgr(_LINK_STYLE, label)} ({styled_url})"
        return shown + self._style()

    def _classify(self, *, final: bool) -> str | None:
        """Start the line once its kind is known; the text to process inline. None: wait for more (not `final`)."""
        head = self.head
        rest = head.lstrip(" ")
        lead = head[: len(head) - len(rest)]
        if not rest and not final:
            return None
        if self.code_block:
            if rest.startswith("```"):
                return self._fence(head, opening=False)
            if "```".startswith(rest) and not final:
                return None
            self.head = ""
            self._begin(self._base(), wrap=False)
            if self.styled:
                self.line_style = "32"
                self.content = "\x1b[32m"
            return head
        first = rest[:1]
        if first == "|":
            self.head = ""
            self.table_line = head
            return ""
        self._flush_table()
        if first == "`":
            if "```".startswith(rest) and not final:
                return None
            if rest.startswith("```"):
                return self._fence(head, opening=True)
        elif first == "#":
            marks = len(rest) - len(rest.lstrip("#"))
            if marks == len(rest) and marks <= 6 and not final:
                return None
            if rest[marks:marks + 1] == " " and marks <= 6:
                self.head = ""
                self._begin(self._base() + lead)
                if self.styled:
                    self.line_style = "1;4;38;5;211" if marks == 1 else "1"
                    self.content = self._style()
                return rest
        elif first in "-+*":
            if len(rest) == 1 and not final:
                return None
            if rest[1:2] == " ":
                self.head = ""
                marker = self.pal.sgr("38;5;116", "•") if self.styled else first
                self._begin(self._base() + lead + marker + " ")
                return rest[2:]
        elif first.isdigit():
            digits = len(rest) - len(rest.lstrip("0123456789"))
            if digits == len(rest) and digits < 10 and not final:
                return None
            marker = rest[digits:digits + 1]
            if marker in (".", ")"):
                if len(rest) == digits + 1 and not final:
                    return None
                if rest[digits + 1:digits + 2] == " ":
                    self.head = ""
                    self._begin(self._base() + lead + self.pal.sgr("38;5;12", rest[: digits + 1]) + " ")
                    return rest[digits + 2:]
        elif first == ">":
            self.head = ""
            self._begin(self._base() + lead)
            if self.styled:
                self.line_style = "38;5;225"
                self.content = self._style()
            return rest
        self.head = ""
        self._begin(self._base())
        return head

    def _fence(self, head: str, *, opening: bool) -> str:
        """A ``` line opens or closes a code block: styled output leaves it out, plain output keeps it."""
        self.head, self.code_block = "", opening
        if self.styled:
            self.skip_line, self.line_start = True, False
            return ""
        self._begin(self._base(), wrap=False)
        return head

    # -------------------------------------------------------------- tables

    def _flush_table(self) -> None:
        lines, self.table = self.table, []
        if not lines:
            return
        rows = [_cells(line) for line in lines]
        if len(rows) < 2 or not all(_TABLE_RULE.fullmatch(cell) for cell in rows[1]):
            for line in lines:  # not a table after all: the lines as text
                self._begin(self._base())
                self._inline(line + "\n", 0, len(line) + 1)
            return
        header, body = rows[0], rows[2:]
        header = [self._cell(cell) for cell in header]
        body = [[self._cell(cell) for cell in row] for row in body]
        columns = max(len(header), *(len(row) for row in body)) if body else len(header)
        for row in (header, *body):
            row.extend([""] * (columns - len(row)))
        widths = [max(text_width(row[c]) for row in (header, *body)) for c in range(columns)]
        base = self._base()
        if text_width(base) + sum(widths) + 2 * (columns - 1) + 1 < self.width():
            def aligned(cells: list[str]) -> str:
                return "  ".join(cell + " " * (widths[c] - text_width(cell)) for c, cell in enumerate(cells)).rstrip()

            self._out.append(base + aligned([self.pal.sgr("1;33", cell) for cell in header]) + "\n")
            self._out.append(self.indent + "  ".join("━" * w for w in widths) + "\n")
            self._out.extend(self.indent + aligned(row) + "\n" for row in body)
            return
        # Too wide for the terminal: each row as `header: value` pairs, wrapped like text.
        for number, row in enumerate(body):
            self._begin(base if number == 0 else self.indent)
            pairs = [f"{self.pal.bold(header[c])}: {row[c]}" if header[c] else row[c] for c in range(columns)]
            self.content = " · ".join(pair for pair in pairs if pair)
            self._commit(final=True)
            self.line_start = True

    def _cell(self, cell: str) -> str:
        cell = _LINK.sub(lambda m: m.group(2) if m.group(1) in ("", m.group(2)) else f"{m.group(1)} ({m.group(2)})",
                         cell)
        if self.styled:
            cell = cell.replace("**", "").replace("`", "")
        return cell

    def finish(self) -> str:
        """Close the message: pending markers, open styles, the current line and a table in progress."""
        out = self.feed("")
        if self.table_line is not None:
            self.table.append(self.table_line)
            self.table_line = None
        if self.head:
            rest = self._classify(final=True) or ""
            out += self.feed(rest)
        if self.hold:
            hold, self.hold = self.hold, ""
            self.content += hold
        if not self.line_start:
            self._end_line()
        self._flush_table()
        out += "".join(self._out)
        self._out = []
        return out


_HANG = re.compile(r"( *)(?:(?:[•›■✔✗└↳─⚠$>]|\d{1,3}\.) )?")


def hang_width(text: str) -> int:
    """How far the rows a line wraps onto are indented: under the text after its bullet or number."""
    match = _HANG.match(strip_controls(text) if "\x1b" in text else text)
    return match.end() if match else 0


class LiveArea(Record, frozen=False):
    """The rows under the output that a live terminal redraws in place: the rest of the output's current row while
    it is still being written (a word arriving), the status row, queued messages, the input and its completions."""

    tentative: str = ""
    status: str = ""
    queued: list[str] = field(default_factory=list)
    input: list[str] = field(default_factory=list)
    cursor: tuple[int, int] | None = None  # (row of `input`, column)
    hints: list[str] = field(default_factory=list)


class PlainEcho:
    """What is typed, echoed without cursor addressing (TERM=dumb, NO_COLOR, a pipe): characters are appended,
    backspace is `\\b \\b`, other edits rewrite the current row after `\\r` when it fits, or the whole input on a
    new row. With stdout piped, the prompt goes to stdout (the transcript) and keys are echoed to the terminal."""

    def __init__(self, write: Callable[[str], None], width: Callable[[], int]) -> None:
        self.write, self.width = write, width
        self.prompt = self.cont = ""
        self.shown: str | None = None  # the text echoed since the prompt; None: no prompt on screen
        self.cursor = 0

    def open(self, prompt: str, cont: str, write_prompt: Callable[[str], None]) -> None:
        write_prompt(prompt)
        self.prompt, self.cont, self.shown, self.cursor = prompt, cont, "", 0

    def _row_prefix(self, text: str) -> str:
        return self.prompt if "\n" not in text else self.cont

    def update(self, text: str, cursor: int) -> None:
        shown = self.shown
        if shown is None or (text == shown and cursor == self.cursor):
            return
        at_end = self.cursor == len(shown)
        if at_end and cursor == len(text) and text.startswith(shown):
            self.write(text[len(shown):].replace("\n", "\n" + self.cont))
        elif at_end and cursor == len(text) and shown.startswith(text) and "\n" not in shown[len(text):]:
            w = text_width(shown[len(text):])
            self.write("\b" * w + " " * w + "\b" * w)
        else:
            line_start = text.rfind("\n", 0, len(text)) + 1
            old_start = shown.rfind("\n") + 1
            prefix = self._row_prefix(text)
            row, old_row = text[line_start:], shown[old_start:]
            fits = text_width(prefix) + max(text_width(row), text_width(old_row)) < self.width() - 1
            if shown[:old_start] == text[:line_start] and fits and cursor >= line_start:
                pad = max(0, text_width(old_row) - text_width(row))
                back = text_width(row[cursor - line_start:]) + pad
                self.write("\r" + prefix + row + " " * pad + "\b" * back)
            else:
                echoed = self.prompt + text.replace("\n", "\n" + self.cont)
                self.write("\n" + echoed + "\b" * text_width(text[cursor:].split("\n")[0]))
        self.shown, self.cursor = text, cursor

    def erase_tail(self) -> bool:
        """Take back the echoed text (for a transcript that gets it from stdout); False when it spans rows."""
        shown = self.shown or ""
        self.shown = None
        if "\n" in shown or text_width(self.prompt + shown) >= self.width() - 1:
            self.write("\n")
            return False
        w = text_width(shown[: self.cursor])
        tail = text_width(shown) - w
        self.write("\b" * w + " " * (w + tail) + "\b" * (w + tail))
        return True

    def close(self) -> None:
        if self.shown is not None:
            rest = self.shown[self.cursor:]
            self.write(rest.replace("\n", "\n" + self.cont) + "\n")
        self.shown = None


class LineRenderer:
    """Renders the event stream into scrollback; on a live terminal the rows under it (status, input) are redrawn
    in place, and `tick()` animates the status row."""

    def __init__(self, out: TextIO, *, color: bool, live: bool, cwd: Path | None = None,
                 hide_reasoning: bool = False, width: Callable[[], int] | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.out, self.pal = out, Style(color)
        self.live = live and color
        self.cwd = cwd
        self.hide_reasoning = hide_reasoning
        self._width_of = width or _terminal_width
        self._width: int | None = None
        self.at_line_start = True
        self.col = 0  # the visible column where output continues
        self.area = LiveArea()
        self._drawn_below: int | None = None  # rows from the output's row down to the cursor; None: nothing drawn
        self.echo = PlainEcho(echo or self._write_raw, self.width)
        self.echo_apart = echo is not None  # keys are echoed on the terminal, the transcript goes to stdout
        self.busy_since: float | None = None
        self.label = "Working"
        self._message: MarkdownStream | None = None
        self._streamed: list[str] = []
        self._reasoning = ""
        self._running: dict[str, str] = {}
        self._plan_shown: str | None = None
        self.deferred: list[str] = []  # notes for the next cell boundary (plain output never breaks a message)
        # Everything shown, in full and without styling (command output uncut, reasoning even when hidden): what
        # the transcript view (Ctrl-T, /transcript) shows.
        self.transcript: list[str] = []
        self._recording = True
        self._message_rows: list[str] = []
        # The terminal's title (ux.md §2.4): the project when idle, a spinner frame and the thread while working.
        self.title_project = ""
        self.title_thread: str | None = None
        self._title: str | None = None

    # ------------------------------------------------------------------ writing

    def width(self) -> int:
        """The terminal's width, read again after `resized()` (SIGWINCH)."""
        if self._width is None:
            self._width = max(20, self._width_of())
        return self._width

    def resized(self) -> None:
        self._width = None

    def _write_raw(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    @property
    def status_visible(self) -> bool:
        return self._drawn_below is not None

    def _erase(self) -> str:
        below, self._drawn_below = self._drawn_below, None
        if below is None:
            return ""
        return "\r" + (f"\x1b[{below}A" if below else "") + (f"\x1b[{self.col}C" if self.col else "") + "\x1b[J"

    def _draw(self) -> str:
        area, width = self.area, self.width() - 1
        rows = [row for row in ([area.status] if area.status else []) + area.queued]
        input_at = len(rows)
        rows += area.input + area.hints
        if not rows and not area.tentative:
            return ""
        height = _terminal_size()[1]
        if len(rows) > height - 2:  # keep the rows around the cursor on the screen
            keep = max(1, height - 2)
            cut = min(len(rows) - keep, max(0, input_at + (area.cursor[0] if area.cursor else 0) - keep + 1))
            rows, input_at = rows[cut : cut + keep], input_at - cut
        text = area.tentative
        first = 0
        if rows and (self.col or area.tentative):
            text += "\n"
            first = 1
        text += "\n".join(_fit(row, width) for row in rows)
        last = first + len(rows) - 1 if rows else 0
        if area.cursor is not None and rows:
            row, column = area.cursor
            target = min(last, max(first, first + input_at + row))
            up = last - target
            text += (f"\x1b[{up}A" if up else "") + "\r" + (f"\x1b[{column}C" if column else "")
            self._drawn_below = target
        else:
            self._drawn_below = last
        return text

    def write(self, text: str) -> None:
        """Output into the scrollback; on a live terminal the area under it is taken away and drawn again."""
        if not self.live:
            if text:
                self._plain_write(text)
            return
        erase = self._erase()
        if text:
            newline = text.rfind("\n")
            self.col = text_width(text[newline + 1 :]) if newline >= 0 else self.col + text_width(text)
            self.at_line_start = text.endswith("\n")
        self.out.write(erase + text + self._draw())
        self.out.flush()

    def _plain_write(self, text: str) -> None:
        echo = self.echo
        if echo.shown is not None and not self.echo_apart:
            # Output while a prompt is echoed (a warning from start-up): on rows of its own, then the prompt again.
            prompt, cont, shown, cursor = echo.prompt, echo.cont, echo.shown, echo.cursor
            echo.shown = None
            self.out.write("\r" + " " * (text_width(prompt) + 1) + "\r" if not shown else "\n")
            self.out.write(text if text.endswith("\n") else text + "\n")
            echo.open(prompt, cont, self._write_raw)
            echo.update(shown, cursor)
            return
        self.out.write(text)
        self.out.flush()
        newline = text.rfind("\n")
        self.col = text_width(text[newline + 1 :]) if newline >= 0 else self.col + text_width(text)
        self.at_line_start = text.endswith("\n")

    def write_control(self, sequence: str) -> None:
        """An escape sequence that moves nothing (clipboard, title), on a live terminal only."""
        if self.live:
            self.out.write(sequence)
            self.out.flush()

    def clear_screen(self) -> None:
        """Clear the screen and its scrollback (live terminals; plain output is never taken back)."""
        if self.live:
            self._drawn_below = None
            self.out.write("\x1b[H\x1b[2J\x1b[3J")
            self.out.flush()
            self.at_line_start, self.col = True, 0

    def refresh(self) -> None:
        """Draw the area again (its content changed)."""
        if self.live:
            self.write("")

    def wrap(self, text: str, hang: int | None = None) -> str:
        """`text` broken at words into rows no wider than the terminal; rows after the first indented by `hang`
        (by default: under the text after the line's bullet)."""
        width = self.width() - 1
        out = []
        for physical in text.split("\n"):
            if text_width(physical) <= width:
                out.append(physical)
                continue
            indent = hang_width(physical) if hang is None else hang
            indent = indent if indent < width // 2 else 0
            rows = wrap_styled(physical, width, width - indent, keep=indent)
            out.append(rows[0])
            out.extend(" " * indent + row for row in rows[1:])
        return "\n".join(out)

    def line(self, text: str = "", *, hang: int | None = None) -> None:
        """A row of its own (wrapped at words, rows after the first indented by `hang`)."""
        self.end_message()
        if self._recording:
            self.transcript.append(strip_controls(text))
        self.write(("" if self.at_line_start else "\n") + self.wrap(text, hang) + "\n")

    def blank(self) -> None:
        self.line("")

    def set_title(self, text: str) -> None:
        """Set the terminal's window title (OSC 0) on a live terminal; "" clears it."""
        if not self.live or text == self._title:
            return
        self._title = text
        self.out.write("\x1b]0;" + "".join(c for c in text if c.isprintable()) + "\x07")
        self.out.flush()

    def titled(self, prefix: str) -> str:
        """`prefix` + the thread's name and the project, as the title shows them."""
        return " | ".join(part for part in (prefix, self.title_thread, self.title_project) if part)

    def tick(self, now: float | None = None) -> None:
        """Animate the status row (spinner, label, elapsed time) and the title while busy."""
        if not self.live or self.busy_since is None:
            return
        now = time.monotonic() if now is None else now
        frame = _FRAMES[int(now * 10) % len(_FRAMES)]
        self.set_title(f"{frame} " + self.titled(""))
        elapsed = int(now - self.busy_since)
        from codex_cli.netwait import describe  # a slow connection says where it is stuck, after 2 s

        text = f"{describe() or self.label} ({elapsed}s • esc to interrupt)"
        status = self.pal.bold(frame) + " " + self.pal.dim(text)
        if status != self.area.status:
            self.area.status = status
            self.refresh()

    def clear_status(self) -> None:
        """Take the status row away (a question is being asked)."""
        if self.area.status:
            self.area.status = ""
            self.refresh()

    def begin_busy(self, label: str = "Working") -> None:
        self.busy_since, self.label = time.monotonic(), label

    def end_busy(self) -> None:
        self.busy_since = None
        self.area.status = ""
        self.area.queued = []
        self.refresh()
        self.set_title(self.title_project)

    # ------------------------------------------------------------------ input

    def show_input(self, prompt: str, cont: str, text: str, cursor: int, rows: list[str], row: int, column: int,
                   hints: list[str] | None = None) -> None:
        """The input being written: rows with the cursor (live), or an echo that follows it (plain)."""
        if self.live:
            self.area.input, self.area.cursor, self.area.hints = rows, (row, column), hints or []
            self.refresh()
            return
        if self.echo.shown is None:
            if not self.at_line_start:
                self._plain_write("\n")
            self.echo.open(prompt, cont, self._plain_write)
        self.echo.update(text, cursor)

    def hide_input(self) -> None:
        if self.live:
            if self.area.input or self.area.hints:
                self.area.input, self.area.cursor, self.area.hints = [], None, []
                self.refresh()
            return
        self.echo.close()
        self.at_line_start, self.col = True, 0

    def commit_input(self, text: str, *, echo_cell: bool = True) -> None:
        """The input was sent: it leaves the area, and stays in the scrollback as the person's message."""
        if self.live:
            self.area.input, self.area.cursor, self.area.hints = [], None, []
            if echo_cell:
                self.user_prompt(text)
            else:
                self.refresh()
            return
        if self.echo.shown is None:
            if echo_cell:
                self.user_prompt(text)
            return
        if not self.echo_apart:
            self.echo.close()  # the echo is the cell
        else:
            self.echo.erase_tail()  # `codex | cat` shows the message once: from stdout, after the prompt there
            self._plain_write(text.replace("\n", "\n  ") + "\n")
        self.at_line_start, self.col = True, 0

    # ------------------------------------------------------------------ cells

    def user_prompt(self, text: str) -> None:
        lines = text.expandtabs(4).split("\n")
        self.line("\n".join(self.pal.sgr("1", f"{'› ' if i == 0 else '  '}{line}") for i, line in enumerate(lines)))

    def note(self, text: str) -> None:
        self.line(f"{self.pal.dim('•')} {text}")

    def error(self, text: str) -> None:
        self.line(self.pal.red(f"■ {text}"))

    def dim_line(self, text: str) -> None:
        self.line(self.pal.dim(text))

    def children(self, lines: list[str], style: Callable[[str], str] | None = None) -> None:
        style = style or self.pal.dim
        for index, text in enumerate(lines):
            self.line(("  └ " if index == 0 else "    ") + style(text))

    def end_message(self) -> None:
        if self._message is not None:
            stream, self._message = self._message, None
            self.area.tentative = ""
            rest = stream.finish()
            self.transcript.append(strip_controls("".join(self._message_rows) + rest).rstrip("\n"))
            self._message_rows = []
            self.write(rest)
        if self.deferred:
            notes, self.deferred = self.deferred, []
            for text in notes:
                self.note(text)

    def handle(self, event: Event) -> None:
        if isinstance(event, AgentMessageDelta):
            if self._message is None:
                if not self.at_line_start:
                    self.write("\n")
                self._message = MarkdownStream(self.pal, width=self.width)
                self._streamed = []
            self._streamed.append(event.delta)
            self._stream(event.delta)
        elif isinstance(event, ReasoningDelta):
            self._reasoning_delta(event)
        elif isinstance(event, CommandOutputDelta):
            return
        elif isinstance(event, ItemStarted):
            self._started(event.item)
        elif isinstance(event, ItemUpdated) and isinstance(event.item, TodoListItem):
            self.plan(event.item)
        elif isinstance(event, ItemCompleted):
            self._completed(event.item)
        elif isinstance(event, ErrorNotice) and not event.fatal:
            self.line(self.pal.red(f"■ {event.message}") + (self.pal.dim(f" ({event.detail})") if event.detail else ""))
        elif isinstance(event, WarningNotice):
            self.line(self.pal.yellow(f"⚠ {event.message}"))
        elif isinstance(event, HookRun):
            self._hook_run(event)
        elif isinstance(event, TurnFailed):
            self.error(event.message)
            if event.hint:
                self.dim_line(f"  {event.hint}")
        elif isinstance(event, ContextCompacted):
            self.end_message()
            self.dim_line("• Context compacted")
        elif isinstance(event, TurnAborted):
            self.end_message()
            self.error("Conversation interrupted - tell the model what to do differently.")
        elif isinstance(event, TurnStarted):
            self._reasoning = ""
            self._plan_shown = None

    def _hook_run(self, run: HookRun) -> None:
        """A handler's status message when it starts; its own message, and why it blocked or failed, when it ends."""
        pal = self.pal
        if run.status == "running":
            if run.status_message:
                self.dim_line(f"↳ Hook · {run.status_message}")
            return
        if run.system_message:
            self.dim_line(f"↳ Hook · {run.system_message}")
        if run.status == "blocked":
            self.line(f"{pal.sgr('1;31', '•')} {pal.bold('Blocked by hook')} {pal.dim(f'({run.event})')}")
            self.children([run.detail or ""], style=lambda s: s)
        elif run.status == "failed":
            self.line(f"{pal.sgr('1;31', '•')} {pal.bold('Hook failed')} {pal.dim(f'({run.event})')}")
            self.children([run.detail or "failed"])

    def _stream(self, text: str) -> None:
        assert self._message is not None
        rows = self._message.feed(text)
        if rows:
            self._message_rows.append(rows)
        if self.live:
            self.area.tentative = self._message.tentative()
            self.write(rows)
        elif rows:
            self.write(rows)

    def defer_note(self, text: str) -> None:
        """A note now, or after the message being streamed when the terminal cannot show it apart."""
        if self._message is None or self.live:
            self.note(text)
        else:
            self.deferred.append(text)

    def _reasoning_delta(self, event: ReasoningDelta) -> None:
        if event.new_section:
            self._reasoning = ""
        self._reasoning += event.delta
        text = self._reasoning
        if text.startswith("**") and "**" in text[2:]:
            header = text[2 : text.index("**", 2)].strip()
            if header:
                self.label = header[:60]

    def _started(self, item: object) -> None:
        if isinstance(item, CommandExecutionItem):
            self._running[item.id] = item.command
            self.label = f"Running {display_command(item.command)}"[:80]
        elif isinstance(item, TodoListItem):
            self.plan(item)
        elif isinstance(item, McpToolCallItem):
            self.label = f"Calling {item.server}.{item.tool}"

    def _completed(self, item: object) -> None:
        if isinstance(item, AgentMessageItem):
            if self._message is None and item.text:
                if not self.at_line_start:
                    self.write("\n")
                self._message = MarkdownStream(self.pal, width=self.width)
                self._stream(item.text)
            elif self._message is not None:
                streamed = "".join(self._streamed)
                if item.text.startswith(streamed) and len(item.text) > len(streamed):
                    self._stream(item.text[len(streamed):])  # the final text is authoritative
            self.end_message()
        elif isinstance(item, ReasoningItem):
            text = item.text.strip().replace("**", "") if self.pal.enabled else item.text.strip()
            if self.hide_reasoning and text:
                self.transcript.append("\n".join(f"{'• ' if i == 0 else '  '}{line}"
                                                 for i, line in enumerate(text.split("\n"))))
            elif text:
                lines = text.split("\n")
                self.line(self.pal.sgr("2;3", "• " + lines[0]))
                for extra in lines[1:]:
                    self.line(self.pal.sgr("2;3", "  " + extra) if extra else "")
            self.label = "Working"
        elif isinstance(item, CommandExecutionItem):
            self._running.pop(item.id, None)
            self.command(item)
            self.label = "Working"
        elif isinstance(item, FileChangeItem):
            self.patch(item)
        elif isinstance(item, McpToolCallItem):
            self._mcp(item)
            self.label = "Working"
        elif isinstance(item, ErrorItem):
            self.error(item.message)

    def command(self, item: CommandExecutionItem, *, verb: str = "Ran") -> None:
        ok = item.exit_code == 0
        bullet = self.pal.sgr("1;32", "•") if ok else self.pal.sgr("1;31", "•")
        suffix = "" if ok else self.pal.dim(f" · exit {item.exit_code}" if item.exit_code is not None else "")
        shown = display_command(item.command)
        self.line(f"{bullet} {self.pal.bold(verb)} {shown}{suffix}")
        self._recording = False  # the transcript gets the whole output instead of the cut one
        try:
            self.children(self._output_lines(item.aggregated_output))
        finally:
            self._recording = True
        output = strip_controls(item.aggregated_output).rstrip("\n")
        status = "✓" if ok else f"✗ ({item.exit_code})" if item.exit_code is not None else "✗"
        self.transcript.append(f"  $ {shown}\n" + "".join(f"    {row}\n" for row in output.split("\n") if output)
                               + f"  {status}")

    def _output_lines(self, output: str) -> list[str]:
        lines = strip_controls(output).rstrip("\n").split("\n") if output.strip() else []
        if not lines:
            return ["(no output)"]
        width = max(20, self.width() - 6)
        lines = [_cut(line.expandtabs(8).rstrip(), width) for line in lines]  # padded progress rows, too
        if len(lines) <= 6:
            return lines
        return [*lines[:3], f"… +{len(lines) - 5} lines (ctrl-t shows them all)", *lines[-2:]]

    def _relative(self, path: str) -> str:
        if self.cwd is not None:
            try:
                return str(Path(path).relative_to(self.cwd))
            except ValueError:
                return path
        return path

    def patch(self, item: FileChangeItem, *, proposed: bool = False) -> None:
        added, removed = _diff_counts(item.diff)
        counts = f"({self.pal.green(f'+{added}')} {self.pal.red(f'-{removed}')})"
        failed = item.status == "failed"
        bullet = self.pal.sgr("1;31" if failed else "1;32", "•")
        if len(item.changes) == 1:
            change = item.changes[0]
            verb = {"add": "Added", "delete": "Deleted"}.get(change.kind, "Edited")
            title = f"{'Proposed: ' if proposed else ''}{verb} {self._relative(change.path)} {counts}"
        else:
            title = f"{'Proposed: ' if proposed else ''}Edited {len(item.changes)} files {counts}"
        self.line(f"{bullet} {self.pal.bold('Patch failed: ') if failed else ''}{title}")
        if len(item.changes) > 1:
            self.children([self._relative(change.path) for change in item.changes], style=lambda s: s)
        self.diff(item.diff, indent="    ")

    def diff(self, text: str, *, indent: str = "") -> None:
        out: list[str] = []
        for raw in strip_controls(text).rstrip("\n").split("\n") if text else []:
            if raw.startswith(("diff --git", "index ", "--- ", "+++ ", "new file", "deleted file")):
                out.append(indent + self.pal.bold(raw))
            elif raw.startswith("@@"):
                out.append(indent + self.pal.cyan(raw))
            elif raw.startswith("+"):
                out.append(indent + self.pal.green(raw))
            elif raw.startswith("-"):
                out.append(indent + self.pal.red(raw))
            else:
                out.append(indent + raw)
        if out:
            self.line("\n".join(out))

    def plan(self, item: TodoListItem) -> None:
        key = repr((item.items, item.explanation))
        if key == self._plan_shown:
            return
        self._plan_shown = key
        done = sum(1 for entry in item.items if entry.completed)
        progress = self.pal.dim(f"· {done}/{len(item.items)} complete")
        self.line(f"{self.pal.dim('•')} {self.pal.bold('Updated Plan')} {progress}")
        lines: list[str] = []
        if item.explanation:
            lines.append(self.pal.dim(item.explanation))
        for entry in item.items:
            if entry.completed:
                lines.append(self.pal.dim(f"✔ {entry.text}"))
            elif entry.in_progress:
                lines.append(self.pal.sgr("1;38;5;75", f"→ {entry.text}"))
            else:
                lines.append(self.pal.dim(f"□ {entry.text}"))
        self.children(lines, style=lambda s: s)

    def _mcp(self, item: McpToolCallItem) -> None:
        import json

        failed = item.status == "failed"
        bullet = self.pal.sgr("1;31" if failed else "1;32", "•")
        args = json.dumps(item.arguments, ensure_ascii=False) if item.arguments is not None else ""
        self.line(f"{bullet} {self.pal.bold('Called')} {item.server}.{item.tool}({args[:200]})")
        if failed:
            self.children([item.error or "failed"], style=self.pal.red)
        elif item.result is not None:
            text = json.dumps(item.result, ensure_ascii=False)
            self.children([text[:200] + ("…" if len(text) > 200 else "")])

    def turn_summary(self, usage: Usage, elapsed: float, context_left: int | None) -> None:
        minutes, seconds = divmod(int(elapsed), 60)
        took = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
        parts = [f"Worked for {took}",
                 f"Token usage: {compact_number(usage.blended_total)} total "
                 f"({compact_number(usage.input_tokens - usage.cached_input_tokens)} input + "
                 f"{compact_number(usage.output_tokens)} output)"]
        if context_left is not None:
            parts.append(f"{context_left}% context left")
        self.dim_line("─ " + " · ".join(parts))


def _terminal_size() -> tuple[int, int]:
    """(columns, rows) of the terminal: stdout's, else stdin's (stdout piped to `cat` or `tee` still ends there)."""
    import os
    import sys

    for stream in (sys.stdout, sys.stdin):
        try:
            size = os.get_terminal_size(stream.fileno())
            return size.columns, size.lines
        except (OSError, ValueError, AttributeError):
            continue
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines


def _terminal_width() -> int:
    return _terminal_size()[0]


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` columns with `…` (styling dropped when it is cut)."""
    if text_width(text) <= width:
        return text
    plain, out, used = strip_controls(text), [], 0
    for ch in plain:
        w = char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _fit(text: str, width: int) -> str:
    """A row of the live area cut to the width, so the terminal never wraps it (styling kept when it fits)."""
    return _cut(text, width)


def _diff_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.split("\n"):
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed
