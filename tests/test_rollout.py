"""Rollout files: writing lines, reading them back (torn and corrupt lines, compaction, codex-rs files), finding,
listing, archiving and deleting threads."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from fake_responses import message

from codex_cli import rollout, shell
from codex_cli.compaction import (
    SUMMARY_PREFIX,
    auto_compact_limit,
    estimate_tokens,
    replacement_history,
    retained_user_messages,
)
from codex_cli.model import ProviderSettings, ResponsesClient
from codex_cli.protocol import AgentMessageItem, ItemCompleted, TurnCompleted, TurnStarted, Usage
from codex_cli.rollout import RolloutRecorder, SessionMeta, load_rollout
from codex_cli.session import ContextSettings, RequestSettings, Session
from codex_cli.tools import ToolRunner, ToolSettings

DATA = Path(__file__).parent / "data" / "rollouts"
RS_FIXTURE = DATA / "rollout-2026-11-25T13-11-32-01a212d5-376f-71d2-92e1-2aaa60ca5725.jsonl"
RS_ID = "01a212d5-376f-71d2-92e1-2aaa60ca5725"
OURS_FIXTURE = DATA / "rollout-2026-11-25T13-30-00-01a212e0-0000-7000-8000-000000000001.jsonl"


def _msg(role: str, text: str) -> dict[str, object]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


THREAD = "01a212e0-0000-7000-8000-00000000000a"


def _new_thread(home: Path, thread_id: str = THREAD, cwd: str = "/w") -> RolloutRecorder:
    meta = SessionMeta(thread_id, cwd, source="exec", model_provider="mock", base_instructions="BASE")
    return RolloutRecorder.create(home, meta, model="gpt-5.5", turn_context={"cwd": cwd})


def test_new_rollout_path_layout_and_envelope(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_items([_msg("developer", "ctx"), _msg("user", "<environment_context>x</environment_context>")])
    recorder.on_event(TurnStarted("turn-1"))
    recorder.record_items([_msg("user", "hello")])
    recorder.on_event(ItemCompleted(AgentMessageItem("item_0", "hi")))
    recorder.record_usage(Usage(100, 10, 0, 20, 5, 120), Usage(100, 10, 0, 20, 5, 120), "resp_1")
    recorder.on_event(TurnCompleted(Usage(), "hi"))
    recorder.close()

    rel = recorder.path.relative_to(tmp_path)
    assert rel.parts[0] == "sessions" and len(rel.parts) == 5
    year, month, day = rel.parts[1:4]
    assert rel.name.startswith(f"rollout-{year}-{month}-{day}T") and rel.name.endswith(f"-{recorder.thread_id}.jsonl")
    lines = _lines(recorder.path)
    assert [line["ordinal"] for line in lines] == list(range(len(lines)))
    assert all(line["timestamp"].endswith("Z") and len(line["timestamp"]) == 24 for line in lines)
    kinds = [(line["type"], line["payload"].get("type")) for line in lines]
    assert kinds[0] == ("session_meta", None)
    assert ("turn_context", None) in kinds and ("token_usage_record", None) in kinds
    assert ("event_msg", "task_started") in kinds and ("event_msg", "task_complete") in kinds
    user_done = [line for line in lines if line["payload"].get("item", {}).get("type") == "UserMessage"]
    assert len(user_done) == 1  # only the real prompt, not the context message
    meta = lines[0]["payload"]
    assert meta["id"] == recorder.thread_id and meta["base_instructions"]["text"] == "BASE"


def test_lines_are_on_disk_as_soon_as_written(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_items([_msg("user", "first")])
    # Another reader sees the line while the recorder is still open: nothing is buffered in-process.
    items = [line["payload"] for line in _lines(recorder.path) if line["type"] == "response_item"]
    assert items[-1]["content"][0]["text"] == "first"
    recorder.close()


def test_a_failed_write_stops_recording_without_raising(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    os.close(recorder._fd)  # the file becomes unwritable under the recorder (as with a full disk)
    recorder.record_items([_msg("user", "lost")])
    recorder.record_items([_msg("user", "also lost")])
    assert isinstance(recorder.error, OSError)
    recorder.close()
    assert len(_lines(recorder.path)) == 1


def test_a_failed_write_is_told_once_outside_the_lock(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    told: list[OSError] = []

    def on_error(exc: OSError) -> None:
        told.append(exc)
        recorder.write("event_msg", {"type": "warning"})  # re-entering must not deadlock; it is dropped

    recorder.on_error = on_error
    os.close(recorder._fd)
    recorder.record_items([_msg("user", "lost")])
    recorder.record_items([_msg("user", "also lost")])
    assert len(told) == 1 and told[0] is recorder.error
    recorder.close()


@pytest.mark.parametrize("when", ["at the start", "during the turn"])
def test_exec_says_when_the_session_file_cannot_be_written(tmp_path: Path, when: str) -> None:
    """A real write failure (the file-size limit, as a full disk would): the turn still answers, and the person is
    told, once, that the session is no longer saved, in both output modes."""
    import resource
    import subprocess

    from cli_harness import CODEX, make_codex_env
    from fake_responses import FakeResponsesServer, exec_call

    codex_env = make_codex_env(tmp_path)
    script = [{"output": [exec_call("seq 1 3000", "c1")]}, {"output": [message("still here")]}]

    def run(args: list[str], limit: int | None) -> subprocess.CompletedProcess[str]:
        def small_files() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        with FakeResponsesServer(script) as server:
            codex_env.write_config(server.base_url)
            return subprocess.run([*CODEX, "exec", *args, "hi"], capture_output=True, text=True, env=codex_env.env,
                                  cwd=codex_env.workdir, timeout=60, preexec_fn=small_files, stdin=subprocess.DEVNULL)

    limit = 256  # less than the session_meta line
    if when == "during the turn":  # just past the lines written before the command's output
        run([], None)
        (path,) = (codex_env.home / "sessions").rglob("*.jsonl")
        text = path.read_bytes()
        limit = text.index(b'"function_call_output"') + 10
        path.unlink()
    for args in (["--json"], []):
        proc = run(args, limit)
        assert proc.returncode == 0, proc.stderr
        assert "still here" in proc.stdout
        told = proc.stdout + proc.stderr
        assert told.count("Cannot write the session file") == 1, told
        assert "the rest of this session is not saved" in told


def test_round_trip_history_usage_and_state(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_world_state({"agents_md": {"directory": "/w", "text": "RULE"}}, full=True)
    recorder.on_event(TurnStarted("turn-1"))
    items = [_msg("developer", "ctx"), _msg("user", "q"), _msg("assistant", "a")]
    recorder.record_items(items)
    recorder.record_usage(Usage(total_tokens=500), Usage(total_tokens=500), "resp_1")
    recorder.record_items([{"type": "function_call_output", "call_id": "c", "output": "x" * 400}])
    recorder.close()

    thread = load_rollout(recorder.path)
    assert thread.meta.id == recorder.thread_id and thread.meta.base_instructions == "BASE"
    assert thread.history[:3] == items and len(thread.history) == 4
    assert thread.usage.total_tokens == 500
    assert thread.context_tokens == 500 + estimate_tokens(thread.history[3:])
    assert thread.world_state["agents_md"] == {"directory": "/w", "text": "RULE"}
    assert thread.last_cwd == "/w"
    assert thread.next_ordinal == len(_lines(recorder.path))


def test_world_state_and_turn_context_come_after_the_turns_context_messages(tmp_path: Path) -> None:
    # codex-rs's order (sessions.md §2.4): task_started, context messages, world_state, turn_context, the prompt; on
    # a later turn the changed context, its world_state as a merge patch, turn_context, the prompt.
    recorder = _new_thread(tmp_path)
    recorder.on_event(TurnStarted("turn-1"))
    recorder.record_items([_msg("developer", "ctx")])
    recorder.record_world_state({"agents_md": {"directory": "/w", "text": "RULE"}, "model": "m"}, full=True)
    recorder.record_items([_msg("user", "<environment_context>x</environment_context>"), _msg("user", "hello")])
    recorder.on_event(TurnStarted("turn-2"))
    recorder.record_world_state({"agents_md": {"directory": None, "text": None}}, full=False)
    recorder.record_world_state({"model": "n"}, full=False)  # one line for the turn, both changes merged
    recorder.record_items([_msg("developer", "ctx 2"), _msg("user", "again")])
    recorder.close()
    kinds = [(line["type"], line["payload"].get("type") or line["payload"].get("role", "")) for line in
             _lines(recorder.path)]  # fmt: skip
    assert kinds == [
        ("session_meta", ""), ("event_msg", "task_started"), ("response_item", "message"),
        ("response_item", "message"), ("world_state", ""), ("turn_context", ""), ("response_item", "message"),
        ("event_msg", "item_completed"), ("event_msg", "task_started"), ("response_item", "message"),
        ("world_state", ""), ("turn_context", ""), ("response_item", "message"), ("event_msg", "item_completed"),
    ]  # fmt: skip
    states = [line["payload"] for line in _lines(recorder.path) if line["type"] == "world_state"]
    assert states[1] == {"full": False, "state": {"agents_md": {"directory": None, "text": None}, "model": "n"}}
    assert load_rollout(recorder.path).world_state == {"agents_md": {}, "model": "n"}


def test_merge_patches_as_codex_rs_writes_and_reads_them() -> None:
    before = {"agents_md": {"directory": "/w", "text": "V1"}, "environments": {"current_date": "d1", "tz": "UTC"}}
    after = {"agents_md": {}, "environments": {"current_date": "d2", "tz": "UTC"}, "tools": {}}
    patch = rollout.merge_patch(before, after)
    assert patch == {"agents_md": {"directory": None, "text": None}, "environments": {"current_date": "d2"},
                     "tools": {}}  # fmt: skip
    assert rollout.apply_merge_patch(before, patch) == after
    assert rollout.merge_patch(after, after) is None
    assert rollout.apply_merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}  # arrays are replaced whole


def test_torn_last_line_is_skipped_and_appending_starts_a_new_line(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_items([_msg("user", "kept"), _msg("assistant", "also kept")])
    recorder.close()
    data = recorder.path.read_bytes()
    complete = data.count(b"\n")
    torn = json.dumps({"timestamp": "x", "ordinal": 9, "type": "response_item", "payload": _msg("user", "lost")})
    recorder.path.write_bytes(data + torn.encode()[: len(torn) // 2])  # crash in the middle of a line

    thread = load_rollout(recorder.path)
    assert [i["content"][0]["text"] for i in thread.history] == ["kept", "also kept"]
    assert thread.skipped_lines == 1

    again = RolloutRecorder(recorder.path, thread_id=recorder.thread_id, next_ordinal=thread.next_ordinal)
    again.record_items([_msg("user", "after crash")])
    again.close()
    raw = recorder.path.read_bytes().split(b"\n")
    assert json.loads(raw[complete + 1])["payload"]["content"][0]["text"] == "after crash"
    resumed = load_rollout(recorder.path)
    assert [i["content"][0]["text"] for i in resumed.history] == ["kept", "also kept", "after crash"]


def test_corrupt_line_in_the_middle_is_skipped(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_items([_msg("user", "one")])
    with open(recorder.path, "ab") as f:
        f.write(b"\x00\xffnot json at all\n")
    recorder.record_items([_msg("user", "two")])
    recorder.close()
    thread = load_rollout(recorder.path)
    assert [i["content"][0]["text"] for i in thread.history] == ["one", "two"]
    assert thread.skipped_lines == 1


def test_compacted_line_replaces_history(tmp_path: Path) -> None:
    recorder = _new_thread(tmp_path)
    recorder.record_items([_msg("user", "old"), _msg("assistant", "old answer")])
    replacement = [_msg("user", "old"), _msg("user", f"{SUMMARY_PREFIX}\nSUM")]
    recorder.record_compaction(f"{SUMMARY_PREFIX}\nSUM", replacement, 42, Usage(total_tokens=7))
    recorder.record_items([_msg("user", "new")])
    recorder.close()
    thread = load_rollout(recorder.path)
    assert thread.history == [*replacement, _msg("user", "new")]
    assert thread.window_number == 1
    kinds = [(line["type"], line["payload"].get("type")) for line in _lines(recorder.path)]
    assert ("compacted", None) in kinds and ("event_msg", "token_count") in kinds


def test_no_session_meta_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rollout-2026-01-01T00-00-00-x.jsonl"
    path.write_text('{"timestamp":"t","ordinal":0,"type":"response_item","payload":{}}\n')
    with pytest.raises(rollout.CodexError):
        load_rollout(path)


def test_codex_rs_fixture_loads() -> None:
    thread = load_rollout(RS_FIXTURE)
    assert thread.meta.id == RS_ID and thread.meta.model_provider == "mock" and thread.meta.cli_version == "0.169.0"
    assert thread.meta.base_instructions and thread.meta.base_instructions.startswith("You are Codex")
    kinds = [(i["type"], i.get("role")) for i in thread.history]
    assert kinds[:3] == [("message", "developer"), ("message", "user"), ("message", "user")]
    assert ("reasoning", None) in kinds and ("function_call", None) in kinds and ("function_call_output", None) in kinds
    assert all("internal_chat_message_metadata_passthrough" not in i for i in thread.history)
    assert thread.usage.total_tokens == 360 and thread.last_cwd == "/home/dev/work"
    assert thread.world_state["agents_md"]["text"] == "ROOT RULE\n"
    assert thread.last_sandbox_policy == {"type": "read-only"}
    assert thread.next_ordinal == 37 and thread.skipped_lines == 0


def test_our_fixture_loads() -> None:
    thread = load_rollout(OURS_FIXTURE)
    assert thread.meta.originator == "codex_exec" and thread.meta.base_instructions
    texts = [i["content"][0]["text"] for i in thread.history if i["type"] == "message"]
    assert texts[-2:] == ["first prompt", "first answer"]


def _seed(home: Path, thread_id: str, cwd: str, prompt: str, *, provider: str = "mock", age: float = 0) -> Path:
    meta = SessionMeta(thread_id, cwd, source="exec", model_provider=provider)
    recorder = RolloutRecorder.create(home, meta, model="m", turn_context={"cwd": cwd})
    recorder.record_items([_msg("user", "<environment_context>\n</environment_context>"), _msg("user", prompt)])
    recorder.on_event(TurnStarted("t"))
    recorder.close()
    stamp = time.time() - age
    os.utime(recorder.path, (stamp, stamp))
    return recorder.path


def test_find_last_filters_cwd_and_provider(tmp_path: Path) -> None:
    ids = [f"01a212e0-0000-7000-8000-00000000010{n}" for n in range(4)]
    _seed(tmp_path, ids[0], "/a", "oldest in a", age=30)
    newest_a = _seed(tmp_path, ids[1], "/a", "newest in a", age=20)
    _seed(tmp_path, ids[2], "/b", "in b", age=10)
    _seed(tmp_path, ids[3], "/a", "other provider", provider="other", age=0)
    assert rollout.find_last_thread(tmp_path, cwd=Path("/a"), model_provider="mock") == newest_a
    assert rollout.find_last_thread(tmp_path, cwd=None, model_provider="mock").name.endswith(f"{ids[2]}.jsonl")
    assert rollout.find_last_thread(tmp_path, cwd=Path("/nowhere"), model_provider="mock") is None
    assert rollout.find_thread(tmp_path, ids[1]) == newest_a
    assert rollout.find_thread_by_name(tmp_path, "in b", cwd=None).name.endswith(f"{ids[2]}.jsonl")
    listed = rollout.list_threads(tmp_path)
    assert [s.first_user_message for s in listed] == ["other provider", "in b", "newest in a", "oldest in a"]
    assert [s.id for s in rollout.list_threads(tmp_path, cwd=Path("/b"))] == [ids[2]]


def test_last_turn_cwd_is_read_from_the_tail(tmp_path: Path) -> None:
    path = _seed(tmp_path, "01a212e0-0000-7000-8000-000000000200", "/start", "p")
    recorder = RolloutRecorder(path, thread_id="x", next_ordinal=10, turn_context={"cwd": "/moved"})
    recorder.on_event(TurnStarted("t2"))
    recorder.record_items([_msg("assistant", "y" * 200_000)])  # pushes turn_context out of the last block
    recorder.close()
    assert rollout.find_last_thread(tmp_path, cwd=Path("/moved"), model_provider=None) == path
    assert rollout.find_last_thread(tmp_path, cwd=Path("/start"), model_provider=None) is None


def test_archive_unarchive_delete(tmp_path: Path) -> None:
    thread_id = "01a212e0-0000-7000-8000-000000000300"
    path = _seed(tmp_path, thread_id, "/a", "archive me")
    assert rollout.archive_thread(tmp_path, thread_id) == thread_id
    assert not path.exists() and (tmp_path / "archived_sessions" / path.name).exists()
    assert rollout.find_thread(tmp_path, thread_id) is None
    with pytest.raises(rollout.CodexError):
        rollout.archive_thread(tmp_path, thread_id)
    assert rollout.unarchive_thread(tmp_path, thread_id) == thread_id
    assert path.exists()
    assert rollout.delete_thread(tmp_path, "archive me") == thread_id  # by name (first prompt)
    assert not path.exists()
    with pytest.raises(rollout.CodexError, match="No session found"):
        rollout.delete_thread(tmp_path, thread_id)


def test_codex_rs_fixture_copies_into_a_home(tmp_path: Path) -> None:
    target = tmp_path / "sessions" / "2026" / "11" / "25" / RS_FIXTURE.name
    target.parent.mkdir(parents=True)
    shutil.copy(RS_FIXTURE, target)
    assert rollout.find_thread(tmp_path, RS_ID) == target
    summary = rollout.read_summary(target)
    assert summary is not None and summary.first_user_message == "first prompt" and summary.source == "exec"


# ---------------------------------------------------------------------------------------------- compaction


def test_auto_compact_limit() -> None:
    assert auto_compact_limit(None, None) == 244_800
    assert auto_compact_limit(10_000, None) == 9_000
    assert auto_compact_limit(10_000, 1_000) == 1_000


def test_retained_user_messages_budget_and_truncation() -> None:
    history = [
        _msg("developer", "base"),
        _msg("user", "<environment_context>\n</environment_context>"),
        _msg("user", "u1"),
        _msg("assistant", "a"),
        _msg("user", "U" * 150_000),
        _msg("user", "u3"),
    ]
    kept = retained_user_messages(history, budget=20_000)
    assert [len(m["content"]) for m in kept] == [3, 1]  # u1 dropped, the big one cut in the middle, u3 whole
    head, marker, tail = (p["text"] for p in kept[0]["content"])
    assert head.startswith("UUU") and tail.endswith("UUU") and "tokens truncated" in marker
    assert kept[1]["content"][0]["text"] == "u3"


def test_replacement_history_order() -> None:
    history = [_msg("developer", "base"), _msg("developer", "ctx"), _msg("user", "u1"), _msg("assistant", "a1"),
               _msg("user", "u2"), {"type": "function_call", "call_id": "c", "name": "x", "arguments": "{}"}]
    fresh = [_msg("developer", "fresh ctx"), _msg("user", "<environment_context>\nnew\n</environment_context>")]
    new = replacement_history(history, "SUM", lambda: fresh)
    texts = [i["content"][0]["text"] for i in new]
    assert texts == ["base", "u1", "fresh ctx", fresh[1]["content"][0]["text"], "u2", f"{SUMMARY_PREFIX}\nSUM"]


# ---------------------------------------------------------------------------------------------- Session.compact()


def test_session_compact_replaces_history_and_is_recorded(tmp_path: Path, fake_server) -> None:
    server = fake_server([{"output": [message("THE SUMMARY")]}, {"output": [message("next answer")]}])
    thread_id = "01a212e0-0000-7000-8000-000000000400"
    recorder = _new_thread(tmp_path, thread_id)
    fresh = [_msg("developer", "fresh ctx"), _msg("user", "<environment_context>\nnow\n</environment_context>")]
    events: list[object] = []
    session = Session(
        thread_id=thread_id,
        model=ResponsesClient(ProviderSettings(base_url=server.base_url, request_max_retries=0, stream_max_retries=0),
                          thread_id=thread_id),
        tools=ToolRunner(ToolSettings("danger-full-access", (tmp_path,), shell.EnvPolicy(), {})),
        request=RequestSettings(model="m"),
        cwd=tmp_path,
        emit=events.append,
        history=[_msg("developer", "base"), _msg("developer", "old ctx"), _msg("user", "task"),
                 _msg("assistant", "working")],
        context=ContextSettings(fresh_context=lambda: list(fresh)),
        recorder=recorder,
    )
    result = session.compact()
    assert result.status == "completed"
    [request] = server.response_requests
    assert request.body["tools"] == [] and request.body["input"][-1]["role"] == "user"
    assert [i["content"][0]["text"] for i in session.history] == [
        "base", "fresh ctx", fresh[1]["content"][0]["text"], "task", f"{SUMMARY_PREFIX}\nTHE SUMMARY"
    ]
    assert session.model.window_number == 1
    assert session.context_tokens() == estimate_tokens(session.history)
    session.run_turn([_msg("user", "continue")])
    assert server.response_requests[1].headers["x-codex-window-id"] == f"{thread_id}:1"
    session.close()
    thread = load_rollout(recorder.path)
    assert thread.history[:4] == session.history[1:5]  # replacement history without the base message
    assert thread.window_number == 1


def test_thread_names_come_from_the_session_index_last_line_winning(tmp_path: Path) -> None:
    first = _new_thread(tmp_path)
    first.record_items([_msg("user", "the first prompt")])
    first.close()
    assert rollout.thread_names(tmp_path) == {}
    rollout.record_thread_name(tmp_path, first.thread_id, "Old name")
    with open(tmp_path / "session_index.jsonl", "a", encoding="utf-8") as index:
        index.write("not json\n")  # a torn or foreign line is skipped
    rollout.record_thread_name(tmp_path, first.thread_id.upper(), "Fix the build")
    assert rollout.thread_names(tmp_path) == {first.thread_id: "Fix the build"}
    (summary,) = rollout.list_threads(tmp_path)
    assert (summary.name, summary.title, summary.first_user_message) == (
        "Fix the build", "Fix the build", "the first prompt")
    assert rollout.find_thread_by_name(tmp_path, "Fix the build", cwd=None) == first.path
    assert rollout.find_thread_by_name(tmp_path, "the first prompt", cwd=None) == first.path  # the fallback
    assert rollout.find_thread_by_name(tmp_path, "Old name", cwd=None) is None


def test_the_session_index_reads_codex_rs_lines(tmp_path: Path) -> None:
    (tmp_path / "session_index.jsonl").write_text(
        '{"id":"01a212e0-0000-7000-8000-00000000000a","thread_name":"Do the task",'
        '"updated_at":"2026-11-25T11:42:14.577Z"}\n', encoding="utf-8")
    assert rollout.thread_names(tmp_path) == {THREAD: "Do the task"}


def test_last_thread_can_leave_out_exec_sessions(tmp_path: Path) -> None:
    ui = RolloutRecorder.create(tmp_path, SessionMeta("01a212e0-0000-7000-8000-0000000000a1", "/w", source="cli",
                                                      model_provider="mock", base_instructions="B"), model="m")
    ui.close()
    time.sleep(0.01)
    headless = RolloutRecorder.create(tmp_path, SessionMeta("01a212e0-0000-7000-8000-0000000000a2", "/w",
                                                            source="exec", model_provider="mock",
                                                            base_instructions="B"), model="m")
    headless.close()
    os.utime(headless.path, (time.time() + 5, time.time() + 5))
    assert rollout.find_last_thread(tmp_path, cwd=None, model_provider=None) == headless.path
    assert rollout.find_last_thread(tmp_path, cwd=None, model_provider=None, interactive_only=True) == ui.path
