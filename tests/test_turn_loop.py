"""The turn loop in-process (session.py): a scripted model (tests/scripted_model.py), real tools, real hooks.

Turns, interrupts, compaction and hook orderings are checked directly, in milliseconds; the subprocess tests
(test_cli_exec.py and others) drive the same loop through the CLI.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_responses import apply_patch_call, exec_call, message, reasoning
from scripted_model import THREAD_ID, ScriptedModel, ScriptedRequest, scripted_session

from codex_cli import sandbox
from codex_cli.compaction import COMPACT_PROMPT, SUMMARY_PREFIX
from codex_cli.errors import SandboxError
from codex_cli.hook_config import DiscoveredHooks, HookHandler
from codex_cli.hooks import HookEngine
from codex_cli.protocol import (
    AgentMessageDelta,
    AgentMessageItem,
    CommandExecutionItem,
    CommandOutputDelta,
    ContextCompacted,
    ErrorNotice,
    FileChangeItem,
    HookRun,
    ItemCompleted,
    ItemStarted,
    ReasoningDelta,
    ReasoningItem,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
)
from codex_cli.response_items import OUTPUT_TYPES, text_message
from codex_cli.sandbox import PreparedSandbox
from codex_cli.session import Session, TurnResult

Item = dict[str, Any]
BIG_USAGE = {"input_tokens": 60_000, "output_tokens": 100, "total_tokens": 60_100}  # past the compaction limit
COMPACT_LIMIT = 50_000


def _prompt(text: str) -> list[Item]:
    return [text_message("user", text)]


def _kinds(events: list[object]) -> list[str]:
    """Each event's class name, with the item's class for item events (`ItemCompleted:AgentMessageItem`)."""
    names = []
    for event in events:
        item = getattr(event, "item", None)
        names.append(f"{type(event).__name__}:{type(item).__name__}" if item is not None else type(event).__name__)
    return names


def _calls_without_output(history: list[Item]) -> list[object]:
    answered = {item.get("call_id") for item in history if item.get("type") in OUTPUT_TYPES}
    calls = [item.get("call_id") for item in history if item.get("type") in ("function_call", "custom_tool_call")]
    return [call for call in calls if call not in answered]


def _output_of(request: ScriptedRequest, call_id: str) -> str:
    [output] = [item for item in request.body["input"] if item.get("type") in OUTPUT_TYPES
                and item.get("call_id") == call_id]
    return str(output["output"])


def _texts(items: list[Item]) -> list[str]:
    return [str(part.get("text")) for item in items if item.get("type") == "message"
            for part in item.get("content", []) if isinstance(part, dict)]


# ---------------------------------------------------------------------------------------------- plain turns


def test_turn_plain_answer_streams_and_completes(tmp_path: Path) -> None:
    model = ScriptedModel([{"output": [reasoning("Say hello."), message("Hello there.")]}])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    started = time.monotonic()
    result = session.run_turn(_prompt("hi"))
    assert time.monotonic() - started < 1.0
    assert result == TurnResult("completed", "Hello there.")
    assert _kinds(events) == [
        "TurnStarted", "ReasoningDelta", "ReasoningDelta", "ItemCompleted:ReasoningItem",
        "AgentMessageDelta", "AgentMessageDelta", "ItemCompleted:AgentMessageItem", "TurnCompleted",
    ]
    assert events[1] == ReasoningDelta("", new_section=True) and events[2] == ReasoningDelta("Say hello.")
    assert "".join(e.delta for e in events if isinstance(e, AgentMessageDelta)) == "Hello there."
    assert [e.item for e in events if isinstance(e, ItemCompleted)] == [
        ReasoningItem("item_0", "Say hello."), AgentMessageItem("item_1", "Hello there.")
    ]
    assert events[-1] == TurnCompleted(session.usage, "Hello there.") and session.usage.total_tokens == 120
    [request] = model.requests
    assert _texts(request.body["input"])[-1] == "hi" and request.body["prompt_cache_key"] == THREAD_ID
    assert [item.get("type") for item in session.history[-3:]] == ["message", "reasoning", "message"]


def test_turn_model_error_fails_the_turn_with_its_message(tmp_path: Path) -> None:
    model = ScriptedModel([{"error": "The model is overloaded."}])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    result = session.run_turn(_prompt("hi"))
    assert result == TurnResult("failed", error="The model is overloaded.")
    assert _kinds(events) == ["TurnStarted", "ErrorNotice", "TurnFailed"]
    assert events[1] == ErrorNotice("The model is overloaded.", fatal=True)
    assert isinstance(events[2], TurnFailed) and events[2].message == "The model is overloaded."


def test_turn_stream_retry_drops_the_items_of_the_failed_attempt(tmp_path: Path) -> None:
    model = ScriptedModel([{"retry": "stream disconnected", "output": [message("Second try.")]}])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    assert session.run_turn(_prompt("hi")).last_agent_message == "Second try."
    assert ErrorNotice("Reconnecting... 1/5", "stream disconnected") in events


# ---------------------------------------------------------------------------------------------- tool calls


def _tool_turn_sandbox(mode: str, cwd: Path) -> PreparedSandbox | None:
    if mode == "danger-full-access":
        return None
    try:
        return sandbox.prepare(sandbox.SandboxPolicy.from_config(mode, cwd), {})
    except SandboxError as exc:
        pytest.skip(f"no sandbox on this machine: {exc.message}")


@pytest.mark.parametrize("mode", ["danger-full-access", "workspace-write"])
def test_turn_command_then_answer_runs_the_real_command(tmp_path: Path, mode: str) -> None:
    model = ScriptedModel([
        {"output": [exec_call("echo hello > out.txt && cat out.txt", "call_1")]},
        {"output": [message("Wrote out.txt.")]},
    ])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append, sandbox_mode=mode,
                               sandbox=_tool_turn_sandbox(mode, tmp_path))
    result = session.run_turn(_prompt("write a file"))
    assert result == TurnResult("completed", "Wrote out.txt.")
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    kinds = [kind for kind in _kinds(events) if kind not in ("CommandOutputDelta", "AgentMessageDelta")]
    assert kinds == [
        "TurnStarted", "ItemStarted:CommandExecutionItem", "ItemCompleted:CommandExecutionItem",
        "ItemCompleted:AgentMessageItem", "TurnCompleted",
    ]
    [done] = [e.item for e in events if isinstance(e, ItemCompleted) and isinstance(e.item, CommandExecutionItem)]
    assert (done.status, done.exit_code, done.aggregated_output) == ("completed", 0, "hello\n")
    assert "hello" in "".join(e.chunk for e in events if isinstance(e, CommandOutputDelta))
    first, second = model.requests
    assert "hello" in _output_of(second, "call_1")
    assert second.body["input"][: len(first.body["input"])] == first.body["input"]  # the history only grows
    assert _calls_without_output(session.history) == []


def test_turn_apply_patch_then_answer_writes_the_file(tmp_path: Path) -> None:
    patch = "*** Begin Patch\n*** Add File: notes.txt\n+first line\n*** End Patch"
    model = ScriptedModel([{"output": [apply_patch_call(patch, "call_p")]}, {"output": [message("Added.")]}])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    assert session.run_turn(_prompt("add notes")).status == "completed"
    assert (tmp_path / "notes.txt").read_text() == "first line\n"
    changes = [e.item for e in events if isinstance(e, (ItemStarted, ItemCompleted))
               and isinstance(e.item, FileChangeItem)]
    assert [c.status for c in changes] == ["in_progress", "completed"]
    assert [(c.path, c.kind) for c in changes[-1].changes] == [(str(tmp_path / "notes.txt"), "add")]
    assert "notes.txt" in _output_of(model.requests[1], "call_p")


# ---------------------------------------------------------------------------------------------- interrupts


def _interrupt_when(session: Session, ready: Callable[[], bool]) -> threading.Thread:
    """Interrupt the session from another thread once `ready()`, as a front end's key reader would."""
    def interrupt() -> None:
        deadline = time.monotonic() + 10
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.005)
        session.interrupt()

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    return thread


def _gone(pid: int, wait: float = 5.0) -> bool:
    """The process has ended (and was reaped) within `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_interrupt_during_a_command_aborts_and_answers_every_call(tmp_path: Path) -> None:
    model = ScriptedModel([
        {"output": [exec_call("echo $$ > shell.pid && sleep 30", "call_1", yield_time_ms=30_000),
                    exec_call("echo never", "call_2")]},
        {"output": [message("Fresh start.")]},
    ])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    interrupter = _interrupt_when(session, (tmp_path / "shell.pid").exists)  # the command is running
    started = time.monotonic()
    result = session.run_turn(_prompt("wait a while"))
    interrupter.join()
    assert time.monotonic() - started < 10
    assert result == TurnResult("aborted")
    assert events[-1] == TurnAborted()
    assert not any(isinstance(e, (TurnCompleted, TurnFailed)) for e in events)
    [killed] = [e.item for e in events if isinstance(e, ItemCompleted) and isinstance(e.item, CommandExecutionItem)]
    assert killed.status == "failed" and killed.exit_code != 0
    assert _gone(int((tmp_path / "shell.pid").read_text()))
    assert _calls_without_output(session.history) == []  # call_2 never ran, and it has an output too
    outputs = {item["call_id"]: item["output"] for item in session.history if item.get("type") in OUTPUT_TYPES}
    assert set(outputs) == {"call_1", "call_2"} and outputs["call_2"] == "aborted by user"
    assert "The user interrupted the previous turn." in _texts(session.history)[-1]
    # The next turn starts from that history, with nothing left dangling.
    assert session.run_turn(_prompt("again")) == TurnResult("completed", "Fresh start.")
    assert _calls_without_output(model.requests[1].body["input"]) == []


def test_interrupt_while_the_model_streams_aborts_the_turn(tmp_path: Path) -> None:
    ready = threading.Event()

    def hang(request: ScriptedRequest) -> dict[str, object]:
        ready.set()
        return {"hang": True}

    model = ScriptedModel([{"output": [exec_call("echo one", "call_1")]}, hang])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append)
    interrupter = _interrupt_when(session, ready.is_set)
    result = session.run_turn(_prompt("go"))
    interrupter.join()
    assert result == TurnResult("aborted") and events[-1] == TurnAborted()
    assert len(model.requests) == 2 and _calls_without_output(session.history) == []
    assert "one" in _output_of(model.requests[1], "call_1")
    assert "The user interrupted the previous turn." in _texts(session.history)[-1]


# ---------------------------------------------------------------------------------------------- compaction


def test_auto_compaction_mid_turn_sends_the_compacted_history_next(tmp_path: Path) -> None:
    model = ScriptedModel([
        {"output": [exec_call("echo big", "call_1")], "usage": BIG_USAGE},
        {"output": [message("THE SUMMARY")]},
        {"output": [message("Done after compaction.")]},
    ])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append, auto_compact_limit=COMPACT_LIMIT)
    assert session.run_turn(_prompt("a big task")).last_agent_message == "Done after compaction."
    sample, summary_request, after = model.requests
    # The summary request: the whole history, then the compaction prompt, and no tools.
    assert summary_request.body["tools"] == [] and _texts(summary_request.body["input"])[-1] == COMPACT_PROMPT
    summarised = summary_request.body["input"][:-1]
    assert summarised[: len(sample.body["input"])] == sample.body["input"]
    assert [item["type"] for item in summarised[len(sample.body["input"]) :]] == ["function_call",
                                                                                 "function_call_output"]
    metadata = json.loads(summary_request.headers["x-codex-turn-metadata"])
    assert (metadata["request_kind"], metadata["window_number"]) == ("compaction", 0)
    # The next request carries the replacement history: base, fresh context, the prompt, the summary.
    assert after.window_number == 1 and session.model.window_number == 1
    texts = _texts(after.body["input"])
    assert texts[-3:] == [f"<environment_context>\n  <cwd>{tmp_path}</cwd>\n</environment_context>", "a big task",
                          f"{SUMMARY_PREFIX}\nTHE SUMMARY"]
    assert not any(item.get("type") in ("function_call", *OUTPUT_TYPES) for item in after.body["input"])
    kinds = _kinds(events)
    assert kinds.index("ItemCompleted:CommandExecutionItem") < kinds.index("ContextCompacted") < kinds.index(
        "ItemCompleted:AgentMessageItem")
    assert ContextCompacted("auto") in events
    assert not any(isinstance(e, ItemCompleted) and getattr(e.item, "text", "") == "THE SUMMARY" for e in events)


def test_auto_compaction_before_a_turn_when_the_last_one_filled_the_window(tmp_path: Path) -> None:
    model = ScriptedModel([
        {"output": [message("First answer.")], "usage": BIG_USAGE},
        {"output": [message("SUMMARY ONE")]},
        {"output": [message("Second answer.")]},
    ])
    events: list[object] = []
    session = scripted_session(model, tmp_path, events.append, auto_compact_limit=COMPACT_LIMIT)
    session.run_turn(_prompt("first"))
    assert ContextCompacted("auto") not in events  # the limit is checked before each sample, not after the last
    events.clear()
    assert session.run_turn(_prompt("second")).last_agent_message == "Second answer."
    assert _kinds(events)[:2] == ["TurnStarted", "ContextCompacted"]
    summary_request, after = model.requests[1:]
    assert "second" not in _texts(summary_request.body["input"])  # compacted before the new input joined
    assert _texts(after.body["input"])[-2:] == [f"{SUMMARY_PREFIX}\nSUMMARY ONE", "second"]


# ---------------------------------------------------------------------------------------------- hooks


def _hook_engine(tmp_path: Path, events: list[str]) -> HookEngine:
    """Handlers that log their payloads; the session reports their runs as HookRun events of its stream."""
    log = tmp_path / "hooks.jsonl"
    handlers = tuple(
        HookHandler(event, f"cat >> {log} && echo >> {log}", tmp_path / "hooks.json", index, 0, index)
        for index, event in enumerate(events)
    )
    discovered = DiscoveredHooks(handlers, state={})
    return HookEngine(discovered, cwd=tmp_path, model="gpt-5.5", permission_mode="bypassPermissions",
                      bypass_trust=True, env={**os.environ, "HOME": str(tmp_path)})  # no login profile


def test_hooks_run_in_order_around_a_tool_call(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    model = ScriptedModel([{"output": [exec_call("echo tool ran", "call_1")]}, {"output": [message("Finished.")]}])
    timeline: list[object] = []
    hook_events = ["SessionStart", "UserPromptSubmit", "PreModelRequest", "PreToolUse", "PostToolUse", "Stop"]
    engine = _hook_engine(tmp_path, hook_events)
    session = scripted_session(model, work, timeline.append, hooks=engine)
    assert session.run_turn(_prompt("use a tool")).status == "completed"
    assert all(r.status in ("running", "completed") for r in timeline if isinstance(r, HookRun))
    steps = []
    for entry in timeline:
        if isinstance(entry, HookRun) and entry.status == "running":
            steps.append(entry.event)
        elif isinstance(entry, (TurnStarted, TurnCompleted)):
            steps.append(type(entry).__name__)
        elif isinstance(entry, (ItemStarted, ItemCompleted)) and isinstance(entry.item, CommandExecutionItem):
            steps.append(f"{type(entry).__name__}:command")
        elif isinstance(entry, ItemCompleted) and isinstance(entry.item, AgentMessageItem):
            steps.append("ItemCompleted:message")
    assert steps == [
        "TurnStarted", "SessionStart", "UserPromptSubmit", "PreModelRequest",
        "PreToolUse", "ItemStarted:command", "ItemCompleted:command", "PostToolUse",
        "PreModelRequest", "ItemCompleted:message", "Stop", "TurnCompleted",
    ]
    # The handlers really ran, in that order, and were told about this turn and this call.
    payloads = [json.loads(line) for line in (tmp_path / "hooks.jsonl").read_text().splitlines() if line.strip()]
    assert [p["hook_event_name"] for p in payloads] == [step for step in steps if step in hook_events]
    assert {p["session_id"] for p in payloads} == {THREAD_ID}
    pre, post = (p for p in payloads if p["hook_event_name"] in ("PreToolUse", "PostToolUse"))
    assert pre["tool_input"] == {"command": "echo tool ran"} and pre["tool_use_id"] == "call_1"
    assert "tool ran" in post["tool_response"]
    assert [p["last_assistant_message"] for p in payloads if p["hook_event_name"] == "Stop"] == ["Finished."]


def test_hooks_compaction_and_interrupt_points_fire_where_they_belong(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ready = threading.Event()

    def hang(request: ScriptedRequest) -> dict[str, object]:
        ready.set()
        return {"hang": True}

    model = ScriptedModel([
        {"output": [exec_call("echo big", "call_1")], "usage": BIG_USAGE},
        {"output": [message("SUMMARY")]},
        hang,
    ])
    timeline: list[object] = []
    engine = _hook_engine(tmp_path, ["PreCompact", "PostCompact", "Interrupt"])
    session = scripted_session(model, work, timeline.append, auto_compact_limit=COMPACT_LIMIT, hooks=engine)
    interrupter = _interrupt_when(session, ready.is_set)
    assert session.run_turn(_prompt("big")).status == "aborted"
    interrupter.join()
    steps = [entry.event if isinstance(entry, HookRun) else type(entry).__name__ for entry in timeline
             if isinstance(entry, (ContextCompacted, TurnAborted)) or isinstance(entry, HookRun)
             and entry.status == "running"]
    assert steps == ["PreCompact", "ContextCompacted", "PostCompact", "Interrupt", "TurnAborted"]
