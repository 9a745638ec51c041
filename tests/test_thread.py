"""The core `thread` module in-process, against the fake Responses server: finding the thread to continue (and the
typed error when there is none), history.jsonl, notify after each completed turn, the person's `!cmd`, the real
context window, and close() running SessionEnd once."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CodexEnv, make_codex_env
from fake_responses import FakeResponsesServer, message

from codex_cli.bootstrap import ThreadStart
from codex_cli.config import CliOverrides, Config, load_config
from codex_cli.protocol import CommandOutputDelta, Event
from codex_cli.response_items import text_message
from codex_cli.thread import Thread, ThreadNotFound, ThreadRef, hook_engine, open_thread, thread_start

PY = sys.executable


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _config(codex_env: CodexEnv, server: FakeResponsesServer, extra: str = "") -> Config:
    codex_env.write_config(server.base_url, extra=extra)
    return load_config(CliOverrides(cwd=codex_env.workdir), env=codex_env.env)


@pytest.fixture
def opened() -> Iterator[Callable[..., Thread]]:
    """Open threads with `opened(config, start, events=..., **kwargs)`; all are closed after the test."""
    threads: list[Thread] = []

    def open_one(config: Config, start: ThreadStart | None = None, *, events: list[Event] | None = None,
                 env: dict[str, str], **kwargs: Any) -> Thread:
        sink = events if events is not None else []
        thread = open_thread(config, start or ThreadStart(), originator="codex_exec", client="test-client",
                             emit=sink.append, env=env, **kwargs)
        threads.append(thread)
        return thread

    yield open_one
    for thread in threads:
        thread.close()


def _turn(thread: Thread, text: str, *, remember: bool = True) -> str | None:
    result = thread.run_turn([text_message("user", text)], prompt=text if remember else None)
    assert result.status == "completed", result
    return result.last_agent_message


def _wait_for_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{path} did not get {count} line(s)")


def _history(codex_env: CodexEnv) -> list[dict[str, object]]:
    path = codex_env.home / "history.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# ---------------------------------------------------------------------------------------------- finding threads


def test_resume_by_id_name_and_last_and_fork_find_the_recorded_thread(
        codex_env: CodexEnv, opened: Callable[..., Thread]) -> None:
    with FakeResponsesServer([{"output": [message("first answer")]}]) as server:
        config = _config(codex_env, server)
        thread = opened(config, env=codex_env.env)
        _turn(thread, "hello")
        thread.rename("my thread")
        thread_id, path = thread.thread_id, thread.rollout_path
        thread.close()
    home = config.codex_home
    for ref in (ThreadRef(name=thread_id), ThreadRef(name=thread_id.upper()), ThreadRef(name="my thread"),
                ThreadRef(last=True, cwd=config.cwd, model_provider=config.model_provider_id), ThreadRef(path=path)):
        start = thread_start(home, ref, source="cli")
        assert start.resumed is not None and start.resumed.meta.id == thread_id, ref
        assert not start.fork and start.source == "cli"
    fork = thread_start(home, ThreadRef(name=thread_id), fork=True)
    assert fork.fork and fork.resumed is not None
    new = thread_start(home, None, ephemeral=True, thread_source="subagent")
    assert new.resumed is None and new.ephemeral and new.thread_source == "subagent"


@pytest.mark.parametrize(("ref", "looked_for"), [
    (ThreadRef(name="0198c6a2-0000-7000-8000-000000000000"), "id"),
    (ThreadRef(name="no such name"), "name"),
    (ThreadRef(last=True), "last"),
    (ThreadRef(name="no such name", by_name=False), "name"),
], ids=["id", "name", "last", "ids-only"])
def test_a_thread_that_is_not_recorded_raises_thread_not_found(
        tmp_path: Path, ref: ThreadRef, looked_for: str) -> None:
    with pytest.raises(ThreadNotFound) as caught:
        thread_start(tmp_path, ref)
    assert caught.value.looked_for == looked_for and caught.value.ref == ref


def test_names_are_looked_up_only_in_the_directory_asked_for(
        codex_env: CodexEnv, opened: Callable[..., Thread], tmp_path: Path) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        config = _config(codex_env, server)
        thread = opened(config, env=codex_env.env)
        _turn(thread, "hello")
        thread.rename("here")
    with pytest.raises(ThreadNotFound):
        thread_start(config.codex_home, ThreadRef(name="here", cwd=tmp_path))
    assert thread_start(config.codex_home, ThreadRef(name="here", cwd=None)).resumed is not None


# ---------------------------------------------------------------------------------------------- around turns


def test_a_submitted_prompt_goes_into_history_jsonl_unless_ephemeral(
        codex_env: CodexEnv, opened: Callable[..., Thread]) -> None:
    script = [{"output": [message("one")]}, {"output": [message("two")]}, {"output": [message("three")]}]
    with FakeResponsesServer(script) as server:
        config = _config(codex_env, server)
        thread = opened(config, env=codex_env.env)
        _turn(thread, "remember me")
        _turn(thread, "not me", remember=False)
        _turn(opened(config, ThreadStart(ephemeral=True), env=codex_env.env), "nor me")
    entries = _history(codex_env)
    assert [(e["session_id"], e["text"]) for e in entries] == [(thread.thread_id, "remember me")]


def test_notify_runs_after_each_completed_turn_naming_the_client(
        codex_env: CodexEnv, opened: Callable[..., Thread], tmp_path: Path) -> None:
    out = tmp_path / "notify.jsonl"
    script = tmp_path / "notify.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'a').write(sys.argv[-1] + '\\n')\n", encoding="utf-8")
    with FakeResponsesServer([{"output": [message("answer one")]}, {"output": [message("answer two")]}]) as server:
        config = _config(codex_env, server, extra=f"notify = [{json.dumps(PY)}, {json.dumps(str(script))}]")
        thread = opened(config, env=codex_env.env)
        _turn(thread, "first")
        _wait_for_lines(out, 1)  # the program runs in the background: one at a time keeps the order
        _turn(thread, "second")
        lines = _wait_for_lines(out, 2)
    payloads = [json.loads(line) for line in lines]
    assert [p["last-assistant-message"] for p in payloads] == ["answer one", "answer two"]
    assert [p["input-messages"] for p in payloads] == [["first"], ["first", "second"]]
    assert {p["client"] for p in payloads} == {"test-client"}
    assert {p["thread-id"] for p in payloads} == {thread.thread_id}


def test_the_context_window_is_the_one_compaction_uses(
        codex_env: CodexEnv, opened: Callable[..., Thread]) -> None:
    with FakeResponsesServer([]) as server:
        config = _config(codex_env, server, extra="model_context_window = 32000")
        assert opened(config, env=codex_env.env).context_window() == 32000


# ---------------------------------------------------------------------------------------------- !cmd


def test_shell_command_streams_and_reaches_the_model_with_the_next_turn(
        codex_env: CodexEnv, opened: Callable[..., Thread]) -> None:
    events: list[Event] = []
    with FakeResponsesServer([{"output": [message("noted")]}]) as server:
        config = _config(codex_env, server)
        thread = opened(config, events=events, env=codex_env.env)
        ran = thread.shell_command("echo hi from bang", typed="!echo hi from bang")
        assert (ran.exit_code, ran.aggregated_output, ran.status) == (0, "hi from bang\n", "completed")
        assert "".join(e.chunk for e in events if isinstance(e, CommandOutputDelta)) == "hi from bang\n"
        _turn(thread, "what did I run?")
        body = server.requests[0].body
    texts = [part["text"] for item in body["input"] if item.get("role") == "user" for part in item["content"]]
    assert texts[-1] == "what did I run?"
    assert texts[-2].startswith("<user_shell_command>\n<command>\necho hi from bang\n</command>\n<result>\n"
                                "Exit code: 0\nDuration: ")
    assert texts[-2].endswith("Output:\nhi from bang\n\n</result>\n</user_shell_command>")
    assert [e["text"] for e in _history(codex_env)] == ["!echo hi from bang", "what did I run?"]


def test_shell_command_stops_when_interrupted(codex_env: CodexEnv, opened: Callable[..., Thread]) -> None:
    with FakeResponsesServer([]) as server:
        config = _config(codex_env, server)
        thread = opened(config, env=codex_env.env)
        threading.Timer(0.5, thread.interrupt).start()
        started = time.monotonic()
        ran = thread.shell_command("echo started; sleep 30")
    assert time.monotonic() - started < 10
    assert ran.exit_code is None and ran.status == "failed"
    assert ran.aggregated_output == "started\nCommand interrupted by the user."


# ---------------------------------------------------------------------------------------------- hooks and close


def _session_end_hook(codex_env: CodexEnv, out: Path) -> str:
    """A trusted SessionEnd hook that appends a line to `out`; the config.toml lines that trust it."""
    from codex_cli.hook_config import HookHandler

    command = f"{PY} -c \"open({str(out)!r}, 'a').write('end\\\\n')\""
    (codex_env.home / "hooks.json").write_text(json.dumps(
        {"hooks": {"SessionEnd": [{"hooks": [{"type": "command", "command": command, "timeout": 3}]}]}}))
    normalized = {"type": "command", "command": command, "timeout": 3, "async": False}
    handler = HookHandler("SessionEnd", command, codex_env.home / "hooks.json", 0, 0, 0, None, 3,
                          normalized=normalized)
    return f'[hooks.state."{handler.key}"]\ntrusted_hash = "{handler.trust_hash()}"\n'


def test_close_runs_session_end_once_and_hooks_are_bound_at_construction(
        codex_env: CodexEnv, opened: Callable[..., Thread], tmp_path: Path) -> None:
    out = tmp_path / "ended.txt"
    trust = _session_end_hook(codex_env, out)
    with FakeResponsesServer([]) as server:
        config = _config(codex_env, server, extra=trust)
        hooks = hook_engine(config)
        assert hooks is not None
        thread = opened(config, env=codex_env.env, hooks=hooks)
        assert thread.hooks is hooks and hooks.session_id == thread.thread_id
        assert hooks.transcript_path == str(thread.rollout_path)
        thread.close()
        thread.close()
    assert out.read_text(encoding="utf-8") == "end\n"


def test_without_handlers_there_is_no_hook_engine(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([]) as server:
        assert hook_engine(_config(codex_env, server)) is None
