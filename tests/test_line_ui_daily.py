"""The line UI for daily use, driven in a pseudo-terminal as a person would: pasting, wrapping, typing while it
works, folder trust, the transcript, the commands people reach for, and start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_harness import CodexEnv, make_codex_env
from fake_responses import FakeResponsesServer, message
from line_term import Term, trust


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    env.env["TERM"] = "xterm-256color"
    return env


def _texts(request: Any, role: str = "user") -> list[str]:
    return [part["text"] for item in request.body["input"] if item.get("role") == role
            for part in item.get("content", []) if "text" in part]


TRACE = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom\n'


# ---------------------------------------------------------------------------------------------- 1. paste


def test_a_paste_at_the_prompt_is_one_message_sent_on_enter(codex_env: CodexEnv) -> None:
    """Bracketed paste is on whenever the UI reads (also at the idle prompt): pasted lines are text, never sent
    until Enter; Ctrl-J, Shift+Enter and Alt+Enter add a line without sending."""
    with FakeResponsesServer([{"output": [message("got the trace")]}, {"output": [message("got the lines")]}]) \
            as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env)
        term.prompt()
        assert term.raw.rfind("\x1b[?2004h") > term.raw.rfind("\x1b[?2004l")  # asked for at the idle prompt
        term.paste(TRACE)
        term.expect("ValueError: boom")
        term.settle(1.0)
        assert server.requests == []  # nothing sent: the paste's newlines are text
        term.send("\r")
        term.expect("got the trace")
        term.prompt()
        assert term.raw.rfind("\x1b[?2004h") > term.raw.rfind("\x1b[?2004l")  # still on for the next prompt
        term.send("first")
        term.send("\n")  # Ctrl-J
        term.send("second\x1b[13;2u")  # Shift+Enter as kitty reports it
        term.send("third\x1b[27;2;13~")  # ... and as xterm's modifyOtherKeys does
        term.send("fourth\x1b\r")  # Alt+Enter
        term.send("fifth")
        term.expect("fifth")
        term.settle(0.5)
        assert len(server.requests) == 1
        term.send("\r")
        term.expect("got the lines")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        requests = list(server.requests)
    assert _texts(requests[0])[-1] == TRACE.rstrip("\n")
    assert _texts(requests[1])[-1] == "first\nsecond\nthird\nfourth\nfifth"
    assert "\x1b[?2004l" in term.raw[-200:]  # given back at exit


def test_without_bracketed_paste_a_burst_of_lines_is_a_paste(codex_env: CodexEnv) -> None:
    """TERM=dumb: the UI writes no escape code at all, so the terminal pastes bare lines; lines that arrive in one
    burst are one message, sent by the next Enter. A line typed and sent on its own still goes at once."""
    codex_env.env["TERM"] = "dumb"
    script = [{"output": [message("one line")]}, {"output": [message("three lines")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env)
        term.prompt()
        term.line("just this")
        term.expect("one line")
        term.prompt()
        term.paste("alpha\nbeta\ngamma\n")
        term.expect("gamma")
        term.settle(1.0)
        assert len(server.requests) == 1
        term.send("\r")
        term.expect("three lines")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        requests = list(server.requests)
    assert _texts(requests[0])[-1] == "just this"
    assert _texts(requests[1])[-1] == "alpha\nbeta\ngamma"
    assert "\x1b" not in term.raw
