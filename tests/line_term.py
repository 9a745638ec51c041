"""Driving the interactive line UI in a pseudo-terminal (pexpect), as a person at a terminal would."""

from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path
from typing import Any

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv  # noqa: E402
from render_typescript import Screen  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\r")
TIMEOUT = 40  # the machine is shared with other test runs: generous


def slow_stream(count: int = 60, interval: float = 0.15) -> dict[str, Any]:
    """A message that streams one word every `interval` seconds and never finishes by itself."""
    created = {"type": "response.created", "response": {"id": "r_slow", "object": "response", "status": "in_progress"}}
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": {"type": "message", "role": "assistant", "id": "m_slow", "status": "in_progress", "content": []}}
    deltas = [{"type": "response.output_text.delta", "item_id": "m_slow", "output_index": 0, "content_index": 0,
               "delta": f"chunk{i} "} for i in range(count)]
    return {"events": [created, added, *deltas], "interval": interval, "no_completed": True, "hold_open": True}


def finished_stream(count: int, interval: float = 0.1) -> dict[str, Any]:
    """`slow_stream` that ends: the message is done after its last word, and the response completes."""
    stream = slow_stream(count=count, interval=interval) | {"no_completed": False, "hold_open": False}
    done = {"type": "message", "role": "assistant", "id": "m_slow", "status": "completed",
            "content": [{"type": "output_text", "text": " ".join(f"chunk{i}" for i in range(count))}]}
    stream["events"].append({"type": "response.output_item.done", "output_index": 0, "item": done})
    return stream


def trust(codex_env: CodexEnv, level: str = "trusted") -> None:
    """Record a trust decision for the work dir in config.toml (unless there is one), so the UI starts without
    the trust question: "trusted" (workspace-write) or "untrusted" (read-only)."""
    config = codex_env.home / "config.toml"
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    entry = f'[projects."{codex_env.workdir.resolve()}"]'
    if entry not in text:
        config.write_text(text + f'\n{entry}\ntrust_level = "{level}"\n', encoding="utf-8")


class Term:
    """A `codex` child on a pseudo-terminal; `expect` fails with the screen text so far."""

    def __init__(self, codex_env: CodexEnv, *args: str, command: str | None = None, cols: int = 160,
                 rows: int = 50, trust_level: str | None = "untrusted") -> None:
        """`trust_level`: the decision recorded for the work dir when config.toml has none (read-only and no
        question by default); None leaves it undecided, so the UI asks."""
        if trust_level is not None:
            trust(codex_env, trust_level)
        self.log = io.StringIO()
        self.cols, self.rows = cols, rows
        program, argv = (CODEX[0], [*CODEX[1:], *args]) if command is None else ("bash", ["-c", command])
        self.child = pexpect.spawn(program, argv, cwd=str(codex_env.workdir), env=codex_env.env, encoding="utf-8",
                                   dimensions=(rows, cols), timeout=TIMEOUT)
        self.child.logfile_read = self.log
        self.pos, self.eof = 0, False

    @property
    def raw(self) -> str:
        return self.log.getvalue()

    @property
    def text(self) -> str:
        return ANSI.sub("", self.log.getvalue())

    def screen(self) -> Screen:
        """What the terminal shows (scrollback included), from everything written so far."""
        screen = Screen(self.cols, self.rows)
        screen.feed(self.raw)
        return screen

    def expect(self, needle: str, timeout: float = TIMEOUT) -> None:
        """Wait until `needle` shows up (colours stripped) after what the previous `expect` consumed."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.text.find(needle, self.pos)
            if found >= 0:
                self.pos = found + len(needle)
                return
            if time.monotonic() > deadline or not self.child.isalive() and self.eof:
                raise AssertionError(f"did not see {needle!r}; screen so far:\n{self.text[-3000:]}")
            self.pump(0.1)

    def pump(self, timeout: float = 0.1) -> None:
        """Read what the child wrote in the next `timeout` seconds."""
        try:
            self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            self.eof = True

    def settle(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(0.05)

    def prompt(self) -> None:
        self.expect("› ")

    def send(self, text: str) -> None:
        self.child.send(text)

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def paste(self, text: str) -> None:
        """Paste as a terminal does: inside bracketed-paste markers when the program has asked for them (and not
        taken that back), else the bare text; either way with its newlines as carriage returns."""
        raw = self.raw
        asked = raw.rfind("\x1b[?2004h") > raw.rfind("\x1b[?2004l")
        body = text.replace("\n", "\r")
        self.child.send(f"\x1b[200~{body}\x1b[201~" if asked else body)

    def quit(self) -> None:
        """At the next prompt, /quit; the UI must end with 0."""
        self.prompt()
        self.line("/quit")
        assert self.finish() == 0

    def finish(self) -> int:
        if not self.eof:
            self.child.expect(pexpect.EOF, timeout=TIMEOUT)
        self.child.close()
        return int(self.child.exitstatus or 0)
