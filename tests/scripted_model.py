"""A scripted model client in-process, and a Session around it: the turn loop tested without HTTP.

As mini-swe-agent's `DeterministicModel`, `ScriptedModel` answers each request with the next step of a script.
It speaks the script of `scripts/fake_responses.py` (build items with its `message`, `exec_call`,
`apply_patch_call`, `reasoning`) and yields the events `model.ResponsesClient` would, so the session cannot tell:

    model = ScriptedModel([{"output": [exec_call("echo hi", "call_1")]}, {"output": [message("Done.")]}])
    session = scripted_session(model, tmp_path, events.append)

A step answers the next `stream()` call. It is a dict, or a callable taking the `ScriptedRequest` and returning one:

    {"output": [item, ...], "usage": {...}?, "id": "resp_N"?}
        per item: a message's text in two `TextDelta`s, a reasoning item's summary parts as
        `ReasoningSummaryPartAdded` + `ReasoningSummaryDelta`, then `OutputItemDone`; last `Completed` with the
        usage in Responses form (`DEFAULT_USAGE` when absent, no usage with `"usage": None`)
    {"retry": "cause", ...}   a `StreamRetry` first: the client re-ran the request, drop what came before
    {"error": CodexError | str, ...}
                              the sample fails with it (a str is an `ApiError`) after the step's output
    {"hang": True}            nothing until the request is cancelled, then the stream ends (as a cancelled
                              `ResponsesClient.stream()` does, without raising)

Every request is kept in `requests` as sent (a deep copy: the session keeps appending to its history).
A request with no step left raises `ScriptExhausted`: a script names every request its test expects.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_responses import DEFAULT_USAGE

from codex_cli import shell
from codex_cli.errors import ApiError, CodexError
from codex_cli.hooks import HookEngine
from codex_cli.model import (
    Completed,
    OutputItemDone,
    ReasoningSummaryDelta,
    ReasoningSummaryPartAdded,
    ResponseEvent,
    StreamRetry,
    TextDelta,
    TurnState,
    usage_from_api,
)
from codex_cli.protocol import Event
from codex_cli.response_items import text_message
from codex_cli.sandbox import PreparedSandbox
from codex_cli.session import ContextSettings, RequestSettings, Session
from codex_cli.tools import ToolRunner, ToolSettings

__all__ = ["THREAD_ID", "ScriptExhausted", "ScriptedModel", "ScriptedRequest", "scripted_session"]

THREAD_ID = "01a212e0-0000-7000-8000-00000000a001"

Step = dict[str, Any]
_HANG_LIMIT = 30.0  # seconds a hanging step waits for its cancel before the test is failed


class ScriptExhausted(AssertionError):
    """The session sent a request the script has no step for."""


@dataclass
class ScriptedRequest:
    """One `stream()` call as the session made it."""

    body: dict[str, Any]
    headers: dict[str, str]
    window_number: int  # the client's window number when the request was sent (`x-codex-window-id`)
    turn_state: TurnState | None


class ScriptedModel:
    """A `ModelClient` that replays a script in-process; `requests` records what it was asked."""

    def __init__(self, script: list[Step | Callable[[ScriptedRequest], Step]]) -> None:
        self.script = list(script)
        self.requests: list[ScriptedRequest] = []
        self.window_number = 0
        self.closed = False

    def stream(
        self,
        body: dict[str, object],
        *,
        turn_state: TurnState | None = None,
        cancel: threading.Event | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[ResponseEvent]:
        request = ScriptedRequest(copy.deepcopy(body), dict(headers or {}), self.window_number, turn_state)
        self.requests.append(request)
        if not self.script:
            raise ScriptExhausted(f"request {len(self.requests)} has no step left in the script")
        step = self.script.pop(0)
        step = step(request) if callable(step) else step
        yield from _step_events(step, len(self.requests), cancel)

    def close(self) -> None:
        self.closed = True


def _step_events(step: Step, number: int, cancel: threading.Event | None) -> Iterator[ResponseEvent]:
    if step.get("hang"):
        if cancel is None or not cancel.wait(_HANG_LIMIT):
            raise AssertionError(f"request {number} hung and was never cancelled")
        return
    if "retry" in step:
        yield StreamRetry(1, 5, str(step["retry"]), 0.0)
    for index, raw in enumerate(step.get("output", [])):
        if cancel is not None and cancel.is_set():
            return
        item = {"id": f"{raw.get('type')}_{number}_{index}", **raw}
        yield from _item_events(item)
    error = step.get("error")
    if error is not None:
        raise error if isinstance(error, CodexError) else ApiError(str(error))
    usage = step.get("usage", DEFAULT_USAGE)
    yield Completed(step.get("id") or f"resp_{number}", usage_from_api(usage) if usage is not None else None)


def _item_events(item: dict[str, Any]) -> Iterator[ResponseEvent]:
    """What the client yields while one output item streams, then the item itself."""
    if item.get("type") == "message":
        text = "".join(str(part.get("text", "")) for part in item.get("content", []))
        half = len(text) // 2
        yield from (TextDelta(piece) for piece in (text[:half], text[half:]) if piece)
    elif item.get("type") == "reasoning":
        for index, part in enumerate(item.get("summary", [])):
            yield ReasoningSummaryPartAdded(index)
            yield ReasoningSummaryDelta(str(part.get("text", "")), index)
    yield OutputItemDone(item)


def scripted_session(
    model: ScriptedModel,
    cwd: Path,
    emit: Callable[[Event], None],
    *,
    sandbox_mode: str = "danger-full-access",
    sandbox: PreparedSandbox | None = None,
    auto_compact_limit: int | None = None,
    hooks: HookEngine | None = None,
) -> Session:
    """A Session as `bootstrap.build_session` assembles one (base instructions, then the context messages), with
    the real tool runner: commands run as real subprocesses in `cwd`, confined by `sandbox` when one is given.
    Their HOME is `cwd`, so no login profile of the machine's slows them down or changes what they print."""
    env = {**os.environ, "HOME": str(cwd)}
    tools = ToolRunner(ToolSettings(sandbox_mode, (cwd,), shell.EnvPolicy(), env, sandbox=sandbox))
    base = text_message("developer", "You are the agent of a scripted test.")

    def fresh_context() -> list[dict[str, object]]:
        return [text_message("user", f"<environment_context>\n  <cwd>{cwd}</cwd>\n</environment_context>")]

    if hooks is not None:
        hooks.bind(THREAD_ID, None)
    session = Session(
        thread_id=THREAD_ID,
        model=model,
        tools=tools,
        request=RequestSettings(model="gpt-5.5"),
        cwd=cwd,
        emit=emit,
        history=[base, *fresh_context()],
        context=ContextSettings(auto_compact_limit=auto_compact_limit, fresh_context=fresh_context),
        hooks=hooks,
    )
    return session
