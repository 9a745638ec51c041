"""What `codex exec` writes: the human transcript on stderr, or JSONL events on stdout."""

from __future__ import annotations

from typing import TextIO

from codex_cli.jsoncodec import encode_json
from codex_cli.protocol import (
    AgentMessageItem,
    CommandExecutionItem,
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
    ReasoningItem,
    TodoListItem,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    WarningNotice,
    WebSearchItem,
    event_to_json,
)
from codex_cli.style import Style

__all__ = ["HumanOutput", "JsonOutput"]


def _format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s"


class HumanOutput:
    """The stderr transcript of `codex exec`, in the shape codex-rs prints."""

    def __init__(self, err: TextIO, style: Style, *, hide_reasoning: bool = False) -> None:
        self.err = err
        self.style = style
        self.hide_reasoning = hide_reasoning
        self._started: dict[str, float] = {}

    def _line(self, text: str = "") -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def header(self, fields: list[tuple[str, str]], version: str, prompt: str) -> None:
        self._line(f"Codex CLI (Python) v{version}")
        self._line("--------")
        for key, value in fields:
            self._line(f"{self.style.bold(key + ':')} {value}")
        self._line("--------")
        self._line(self.style.cyan("user"))
        self._line(prompt)

    def warning(self, message: str) -> None:
        self._line(f"{self.style.sgr('1;33', 'warning:')} {message}")

    def error(self, message: str) -> None:
        self._line(f"{self.style.red('ERROR:')} {message}")

    def handle(self, event: Event) -> None:
        import time

        if isinstance(event, ItemStarted):
            self._started[event.item.id] = time.monotonic()
            self._item_started(event.item)
        elif isinstance(event, ItemCompleted):
            elapsed = time.monotonic() - self._started.pop(event.item.id, time.monotonic())
            self._item_completed(event.item, elapsed)
        elif isinstance(event, ItemUpdated) and isinstance(event.item, TodoListItem):
            self._plan(event.item)
        elif isinstance(event, ErrorNotice) and not event.fatal:
            self.error(event.message)
        elif isinstance(event, WarningNotice):
            self.warning(event.message)
        elif isinstance(event, HookRun):
            status = "" if event.status == "running" else f" {event.status.capitalize()}"
            self._line(f"hook: {event.event}{status}")
        elif isinstance(event, TurnFailed):
            self.error(event.message)
            if event.hint:
                self._line(event.hint)
        elif isinstance(event, ContextCompacted):
            self._line("context compacted")
        elif isinstance(event, TurnAborted):
            self._line("turn interrupted")
        elif isinstance(event, TurnCompleted):
            self._line(self.style.dim("tokens used"))
            self._line(f"{event.usage.blended_total:,}")

    def _item_started(self, item: object) -> None:
        if isinstance(item, McpToolCallItem):
            self._line(f"mcp: {item.server}/{item.tool} started")
        elif isinstance(item, CommandExecutionItem):
            self._line(self.style.sgr("35;3", "exec"))
            self._line(f"{self.style.bold(item.command)} in {item.cwd}")
        elif isinstance(item, TodoListItem):
            self._plan(item)

    def _item_completed(self, item: object, elapsed: float) -> None:
        if isinstance(item, McpToolCallItem):
            self._line(f"mcp: {item.server}/{item.tool} ({item.status})")
        elif isinstance(item, AgentMessageItem):
            self._line(self.style.sgr("35;3", "codex"))
            self._line(item.text)
        elif isinstance(item, ReasoningItem) and not self.hide_reasoning:
            self._line(self.style.dim(item.text))
        elif isinstance(item, CommandExecutionItem):
            self._command_done(item, elapsed)
        elif isinstance(item, FileChangeItem):
            self._patch_done(item)
        elif isinstance(item, ErrorItem):
            self.error(item.message)
        elif isinstance(item, WebSearchItem):
            self._line(f"{self.style.sgr('35;3', 'web search')} {item.query}")

    def _command_done(self, item: CommandExecutionItem, elapsed: float) -> None:
        duration = _format_duration(elapsed)
        if item.exit_code == 0:
            self._line(self.style.green(f" succeeded in {duration}:"))
        else:
            self._line(self.style.red(f" exited {item.exit_code} in {duration}:"))
        if item.aggregated_output:
            self.err.write(self.style.dim(item.aggregated_output))
            if not item.aggregated_output.endswith("\n"):
                self.err.write("\n")
            self._line()

    def _patch_done(self, item: FileChangeItem) -> None:
        self._line(self.style.bold("apply patch"))
        self._line(f"patch: {item.status}")
        for change in item.changes:
            self._line(self.style.dim(change.path))
        if item.diff:
            self.err.write(item.diff if item.diff.endswith("\n") else item.diff + "\n")
        self._line()

    def _plan(self, item: TodoListItem) -> None:
        if item.explanation:
            self._line(item.explanation)
        for entry in item.items:
            mark = "✓" if entry.completed else ("→" if entry.in_progress else "•")
            self._line(f"  {mark} {entry.text}")


class JsonOutput:
    """`codex exec --json`: one compact JSON object per line on stdout, nothing else. Warnings become `error`
    items (`warning_N`, or `hook_trust` for the hooks' one), except an MCP server's, which `human` writes on stderr."""

    def __init__(self, out: TextIO, human: HumanOutput) -> None:
        self.out = out
        self.human = human
        self._warnings = 0

    def handle(self, event: Event) -> None:
        if isinstance(event, WarningNotice):
            self._warning(event)
            return
        line = event_to_json(event)
        if line is not None:
            self.out.write(encode_json(line).decode("utf-8") + "\n")
            self.out.flush()

    def _warning(self, event: WarningNotice) -> None:
        if event.source == "mcp":
            self.human.warning(event.message)
            return
        if event.source == "hooks":
            item_id = "hook_trust"
        else:
            item_id, self._warnings = f"warning_{self._warnings}", self._warnings + 1
        self.handle(ItemCompleted(ErrorItem(item_id, event.message)))
