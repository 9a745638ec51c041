"""What the line UI prints: session events turned into scrollback text, streamed as they arrive.

`LineRenderer.handle()` writes each event at once (a text delta is written and flushed in the call that receives
it; only the few marker characters at the start of a line are held until the line's kind is known). Cells follow
ux.md §5: `• ` bullets, two-space continuation, `└` children. `Style` turns styling off entirely for `NO_COLOR`,
`TERM=dumb` or a non-terminal stdout, so the output then holds no escape sequence at all; the spinner/status line
is drawn only on a colour terminal.
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
)
from codex_cli.line_input import char_width, text_width
from codex_cli.records import Record, field
from codex_cli.style import Style

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
_INLINE = re.compile(r"[\n`*]")
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
    if len(words) == 3 and words[1] in ("-lc", "-c") and Path(words[0]).name in ("bash", "sh", "zsh", "dash"):
        return words[2]
    return command


class MarkdownStream:
    """Streaming light markdown: headings, lists, quotes, `code`, **bold**, fenced blocks kept verbatim.

    Each `feed()` returns what can be written now; only line-start markers (`#`, `-`, `1.`, ```` ``` ````) and a
    trailing `*` wait for the next character. Without colour the text passes through as is (markers kept), only
    indented under the cell's bullet."""

    def __init__(self, palette: Style, bullet: str = "• ", indent: str = "  ") -> None:
        self.pal, self.styled = palette, palette.enabled
        self.bullet, self.indent = bullet, indent
        self.first, self.line_start = True, True
        self.head, self.hold = "", ""
        self.code_block = self.skip_line = self.inline_code = self.bold = False
        self.line_style = ""

    def _prefix(self) -> str:
        self.line_start = False
        if self.first:
            self.first = False
            return self.pal.dim(self.bullet)
        return self.indent

    def _style(self) -> str:
        codes = [c for c in (self.line_style, "1;38;5;211" if self.bold else "", "32" if self.inline_code else "")
                 if c]
        return "\x1b[0m" + (f"\x1b[{';'.join(codes)}m" if codes else "")

    def _newline(self) -> str:
        active = self.line_style or self.bold or self.inline_code
        self.line_style, self.bold, self.inline_code = "", False, False
        self.line_start = True
        return "\x1b[0m\n" if active else "\n"

    def feed(self, text: str) -> str:
        if not self.styled:
            return self._feed_plain(text)
        text, self.hold = self.hold + text, ""
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            if self.skip_line:
                j = text.find("\n", i)
                if j < 0:
                    return "".join(out)
                self.skip_line, self.line_start, i = False, True, j + 1
                continue
            if self.line_start:
                ch = text[i]
                i += 1
                if ch == "\n":
                    out.append(self._flush_head() + self._newline() if self.head else "\n")
                    continue
                self.head += ch
                decided = self._classify()
                if decided is None:
                    continue
                prefix, rest = decided
                out.append(prefix)
                text, i, n = rest + text[i:], 0, len(rest) + n - i
                continue
            if self.code_block:
                j = text.find("\n", i)
                out.append(text[i : n if j < 0 else j])
                if j < 0:
                    break
                out.append(self._newline())
                i = j + 1
                continue
            match = _INLINE.search(text, i)
            if match is None:
                out.append(text[i:])
                break
            out.append(text[i : match.start()])
            i = match.start()
            ch = text[i]
            if ch == "\n":
                out.append(self._newline())
                i += 1
            elif ch == "`":
                while i < n and text[i] == "`":
                    i += 1
                self.inline_code = not self.inline_code
                out.append(self._style())
            elif i + 1 >= n:
                self.hold, i = "*", n  # `*` or the first half of `**`
            elif text[i + 1] == "*" and not self.inline_code:
                self.bold = not self.bold
                out.append(self._style())
                i += 2
            else:
                out.append("*")
                i += 1
        return "".join(out)

    def _feed_plain(self, text: str) -> str:
        out: list[str] = []
        for index, piece in enumerate(text.split("\n")):
            if index:
                out.append("\n")
                self.line_start = True
            if piece:
                if self.line_start:
                    out.append(self.bullet if self.first else self.indent)
                    self.first, self.line_start = False, False
                out.append(piece)
        return "".join(out)

    def _flush_head(self) -> str:
        head, self.head = self.head, ""
        prefix = self._prefix()
        if self.code_block:
            self.line_style = "32"
            return prefix + f"\x1b[32m{head}"
        return prefix + self.feed(head)

    def _classify(self) -> tuple[str, str] | None:
        """(what to write, text to process inline) once the line's kind is known; None: wait for more."""
        head = self.head
        rest = head.lstrip(" ")
        lead = head[: len(head) - len(rest)]
        if not rest:
            return None
        if self.code_block:
            if rest.startswith("```"):
                self.head, self.code_block, self.skip_line, self.line_start = "", False, True, False
                return "", ""
            if "```".startswith(rest):
                return None
            self.head, self.line_style = "", "32"
            return self._prefix() + f"\x1b[32m{head}", ""
        first = rest[0]
        if first == "`":
            if "```".startswith(rest):
                return None
            if rest.startswith("```"):
                self.head, self.code_block, self.skip_line, self.line_start = "", True, True, False
                return "", ""
        elif first == "#":
            marks = len(rest) - len(rest.lstrip("#"))
            if marks == len(rest) and marks <= 6:
                return None
            if rest[marks:marks + 1] == " " and marks <= 6:
                self.head = ""
                self.line_style = "1;4;38;5;211" if marks == 1 else "1"
                return self._prefix() + lead + self._style() + rest, ""
        elif first in "-+*":
            if len(rest) == 1:
                return None
            if rest[1] == " ":
                self.head = ""
                return self._prefix() + lead + self.pal.sgr("38;5;116", "•") + " ", rest[2:]
        elif first.isdigit():
            digits = len(rest) - len(rest.lstrip("0123456789"))
            if digits == len(rest) and digits < 10:
                return None
            marker = rest[digits:digits + 1]
            if marker in (".", ")"):
                if len(rest) == digits + 1:
                    return None
                if rest[digits + 1] == " ":
                    self.head = ""
                    return self._prefix() + lead + self.pal.sgr("38;5;12", rest[: digits + 1]) + " ", rest[digits + 2:]
        elif first == ">":
            self.head = ""
            self.line_style = "38;5;225"
            return self._prefix() + lead + self._style() + ">", rest[1:]
        self.head = ""
        return self._prefix(), head

    def finish(self) -> str:
        """Close the message: pending markers, open styles and the current line."""
        out = self._flush_head() if self.head else ""
        if self.hold:
            out += self.hold
            self.hold = ""
        if not self.line_start or out:
            out += self._newline() if self.styled else "\n"
        return out


class LineRenderer:
    """Renders the event stream into scrollback; `tick()` redraws the spinner line on a live terminal."""

    def __init__(self, out: TextIO, *, color: bool, live: bool, cwd: Path | None = None,
                 hide_reasoning: bool = False, width: Callable[[], int] | None = None) -> None:
        self.out, self.pal = out, Style(color)
        self.live = live and color
        self.cwd = cwd
        self.hide_reasoning = hide_reasoning
        self.width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        self.at_line_start = True
        self.status_visible = False
        self.busy_since: float | None = None
        self.label = "Working"
        self.draft = ""
        self._message: MarkdownStream | None = None
        self._streamed: list[str] = []
        self._reasoning = ""
        self._running: dict[str, str] = {}
        self._plan_shown: str | None = None
        # The terminal's title (ux.md §2.4): the project when idle, a spinner frame and the thread while working.
        self.title_project = ""
        self.title_thread: str | None = None
        self._title: str | None = None

    # ------------------------------------------------------------------ writing

    def write(self, text: str) -> None:
        if not text:
            return
        if self.status_visible:
            text = "\r\x1b[K" + text
            self.status_visible = False
        self.out.write(text)
        self.out.flush()
        self.at_line_start = text.endswith("\n")

    def line(self, text: str = "") -> None:
        self.end_message()
        self.write(("" if self.at_line_start else "\n") + text + "\n")

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
        """Draw the status line (spinner, label, elapsed time, queued draft) when nothing is half-written."""
        if not self.live or self.busy_since is None:
            return
        now = time.monotonic() if now is None else now
        frame = _FRAMES[int(now * 10) % len(_FRAMES)]
        self.set_title(f"{frame} " + self.titled(""))
        if not self.at_line_start:
            return
        elapsed = int(now - self.busy_since)
        text = f"{frame} {self.label} ({elapsed}s • esc to interrupt)"
        if self.draft:
            text += f"  › {self.draft}"
        width = max(10, self.width() - 1)
        if len(text) > width:
            text = text[: width - 1] + "…"
        self.out.write("\r\x1b[K" + self.pal.sgr("1", text[:1]) + " " + self.pal.dim(text[2:]))
        self.out.flush()
        self.status_visible = True

    def clear_status(self) -> None:
        if self.status_visible:
            self.out.write("\r\x1b[K")
            self.out.flush()
            self.status_visible = False

    def begin_busy(self, label: str = "Working") -> None:
        self.busy_since, self.label = time.monotonic(), label

    def end_busy(self) -> None:
        self.busy_since = None
        self.clear_status()
        self.set_title(self.title_project)

    # ------------------------------------------------------------------ cells

    def user_prompt(self, text: str) -> None:
        body = "\n".join(f"{'› ' if i == 0 else '  '}{line}" for i, line in enumerate(text.split("\n")))
        self.line(self.pal.sgr("1", body))

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
            self.write(stream.finish())

    def handle(self, event: Event) -> None:
        if isinstance(event, AgentMessageDelta):
            if self._message is None:
                if not self.at_line_start:
                    self.write("\n")
                self._message = MarkdownStream(self.pal)
                self._streamed = []
            self._streamed.append(event.delta)
            self.write(self._message.feed(event.delta))
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
                self._message = MarkdownStream(self.pal)
                self.write(("" if self.at_line_start else "\n") + self._message.feed(item.text))
            elif self._message is not None:
                streamed = "".join(self._streamed)
                if item.text.startswith(streamed) and len(item.text) > len(streamed):
                    self.write(self._message.feed(item.text[len(streamed):]))  # the final text is authoritative
            self.end_message()
        elif isinstance(item, ReasoningItem):
            if not self.hide_reasoning and item.text.strip():
                text = item.text.strip().replace("**", "") if self.pal.enabled else item.text.strip()
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
        self.line(f"{bullet} {self.pal.bold(verb)} {display_command(item.command)}{suffix}")
        self.children(self._output_lines(item.aggregated_output))

    def _output_lines(self, output: str) -> list[str]:
        lines = strip_controls(output).rstrip("\n").split("\n") if output.strip() else []
        if not lines:
            return ["(no output)"]
        width = max(20, self.width() - 6)
        lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
        if len(lines) <= 6:
            return lines
        return [*lines[:3], f"… +{len(lines) - 5} lines", *lines[-2:]]

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


def _diff_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.split("\n"):
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed
