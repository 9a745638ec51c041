"""Sessions end to end: rollouts written by `codex exec`, `exec resume`/`exec fork`, `--ephemeral`, codex-rs
rollouts in both directions, archive/unarchive/delete, AGENTS.md, auto-compaction and `history.jsonl`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_harness import CODEX, CodexEnv, codex_rs_binary, make_codex_env
from fake_responses import FakeResponsesServer, RecordedRequest, function_call, message

from codex_cli.rollout import RolloutRecorder, SessionMeta, world_state_fingerprint

DATA = Path(__file__).parent / "data" / "rollouts"
RS_FIXTURE = DATA / "rollout-2026-11-25T13-11-32-01a212d5-376f-71d2-92e1-2aaa60ca5725.jsonl"
RS_ID = "01a212d5-376f-71d2-92e1-2aaa60ca5725"
PLAN = {"plan": [{"step": "look around", "status": "in_progress"}]}


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _run(env: CodexEnv, *args: str, cwd: Path | None = None):
    return env.run(*args, stdin=subprocess.DEVNULL, cwd=cwd)


def _rollouts(env: CodexEnv) -> list[Path]:
    return sorted((env.home / "sessions").rglob("rollout-*.jsonl")) if (env.home / "sessions").exists() else []


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _texts(request: RecordedRequest) -> list[str]:
    return [
        part["text"]
        for item in request.body["input"]
        if item.get("type") == "message"
        for part in item["content"]
        if part.get("type") in ("input_text", "output_text")
    ]


def _item_texts(item: dict) -> list[str]:
    return [str(part.get("text", "")) for part in item.get("content", [])]


def _thread_id(stderr: str) -> str:
    return next(line.split()[-1] for line in stderr.splitlines() if line.startswith("session id:"))


# ------------------------------------------------------------------------------------------ rollout + resume


def test_exec_writes_rollout_and_resume_last_resends_history(codex_env: CodexEnv) -> None:
    script = [
        {"output": [function_call("update_plan", PLAN, "call_plan")]},
        {"output": [message("first answer")]},
        {"output": [message("second answer")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        first = _run(codex_env, "exec", "--json", "first prompt")
        assert first.returncode == 0, first.stderr
        [path] = _rollouts(codex_env)
        thread_id = first.events()[0]["thread_id"]
        assert path.name.endswith(f"-{thread_id}.jsonl")
        size_after_first = len(_lines(path))
        second = _run(codex_env, "exec", "resume", "--last", "next")
        requests = server.response_requests

    assert second.returncode == 0, second.stderr
    assert second.stdout == "second answer\n" and _thread_id(second.stderr) == thread_id
    assert len(requests) == 3
    before, after = requests[1].body["input"], requests[2].body["input"]
    assert after[: len(before)] == before  # the whole earlier history, unchanged
    assert [i.get("type") for i in before].count("function_call_output") == 1
    assert after[len(before)]["content"][0]["text"] == "first answer"
    assert after[-1]["id"].startswith("msg_")
    assert {k: v for k, v in after[-1].items() if k != "id"} == {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "next"}]
    }
    assert len(after) == len(before) + 2  # nothing changed, so no context update
    assert requests[2].headers.get("session-id") == thread_id
    assert requests[2].body["prompt_cache_key"] == thread_id

    assert _rollouts(codex_env) == [path]  # appended to the same file
    lines = _lines(path)
    assert len(lines) > size_after_first
    assert [line["ordinal"] for line in lines] == list(range(len(lines)))
    assert [line["type"] for line in lines].count("session_meta") == 1
    history = [json.loads(line) for line in (codex_env.home / "history.jsonl").read_text().splitlines()]
    assert [(h["session_id"], h["text"]) for h in history] == [(thread_id, "first prompt"), (thread_id, "next")]


def test_resume_by_id_with_exec_options_before_resume(codex_env: CodexEnv) -> None:
    script = [{"output": [message("one")]}, {"output": [message("two")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        first = _run(codex_env, "exec", "first")
        thread_id = _thread_id(first.stderr)
        bad = _run(codex_env, "exec", "resume", "--last", "-s", "workspace-write", "x")
        second = _run(codex_env, "exec", "-s", "danger-full-access", "--color", "never", "resume", thread_id, "go on")
        requests = server.response_requests
    assert bad.returncode == 2 and "-s" in bad.stderr
    assert second.returncode == 0, second.stderr
    assert "sandbox: danger-full-access" in second.stderr
    new_items = requests[1].body["input"][len(requests[0].body["input"]) + 1 :]
    roles = [(i["role"], i["content"][0]["text"].split("\n")[0]) for i in new_items]
    assert roles == [
        ("developer", "<permissions instructions>"),
        ("user", "<environment_context>"),
        ("user", "go on"),
    ]
    env_update = new_items[1]["content"][0]["text"]
    assert "<cwd>" not in env_update and '<permission_profile type="disabled">' in env_update


def test_first_turn_records_what_the_model_was_told_as_codex_rs_does(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("one")]}]) as server:
        codex_env.write_config(server.base_url)
        run = _run(codex_env, "exec", "-s", "workspace-write", "first")
        [request] = server.response_requests
    assert run.returncode == 0, run.stderr
    [path] = _rollouts(codex_env)
    lines = _lines(path)
    kinds = [(line["type"], line["payload"].get("type") or line["payload"].get("role", "")) for line in lines]
    assert kinds[:7] == [  # codex-rs's order (sessions.md §2.4)
        ("session_meta", ""), ("event_msg", "task_started"), ("response_item", "message"),
        ("response_item", "message"), ("world_state", ""), ("turn_context", ""), ("response_item", "message"),
    ]  # fmt: skip
    developer, environment = request.body["input"][1:3]
    [permissions] = [t for t in _item_texts(developer) if t.startswith("<permissions instructions>")]
    state = lines[4]["payload"]
    assert state["full"] is True
    state = state["state"]
    assert list(state) == sorted(state)
    assert state["permissions"] == {"instructions": world_state_fingerprint("developer", permissions),
                                    "approved_command_prefixes": []}  # fmt: skip
    env = state["environments"]
    work = str(codex_env.workdir)
    assert env["environments"] == {"local": {"cwd": work, "status": "available", "shell": env["environments"]
                                             ["local"]["shell"]}}  # fmt: skip
    told = _item_texts(environment)[-1]
    for key in ("current_date", "timezone"):
        assert f"<{key}>{env[key]}</{key}>" in told
    assert env["filesystem"] in told and (state["agents_md"], state["model"]) == ({}, "gpt-5.5")
    turn = lines[5]["payload"]
    entries = turn["permission_profile"]["file_system"]["entries"]
    assert turn["permission_profile"]["network"] == "restricted" and turn["approvals_reviewer"] == "user"
    assert entries[:4] == [
        {"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"},
        {"path": {"type": "path", "path": work}, "access": "write"},
        {"path": {"type": "special", "value": {"kind": "slash_tmp"}}, "access": "write"},
        {"path": {"type": "special", "value": {"kind": "tmpdir"}}, "access": "write"},
    ]
    assert entries[4] == {"path": {"type": "path", "path": f"{work}/.git"}, "access": "read",
                          "missing_path_behavior": "skip"}  # fmt: skip
    assert turn["file_system_sandbox_policy"] == {"kind": "restricted", "entries": entries}


def test_resume_on_another_day_sends_the_date_again(codex_env: CodexEnv) -> None:
    # As codex-rs does: the world_state's date no longer matches, so date, timezone and filesystem go out again.
    script = [{"output": [message("one")]}, {"output": [message("two")]}, {"output": [message("three")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        thread_id = _thread_id(_run(codex_env, "exec", "first").stderr)
        [path] = _rollouts(codex_env)
        text = path.read_text()
        state = next(line for line in _lines(path) if line["type"] == "world_state")["payload"]["state"]
        today = state["environments"]["current_date"]
        path.write_text(text.replace(f'"current_date":"{today}"', '"current_date":"2001-01-01"'))
        second = _run(codex_env, "exec", "resume", thread_id, "second")
        third = _run(codex_env, "exec", "resume", thread_id, "third")
        requests = server.response_requests
    assert second.returncode == third.returncode == 0, second.stderr + third.stderr
    added = requests[1].body["input"][len(requests[0].body["input"]) + 1 :]
    assert [_item_texts(i)[0].split("\n")[0] for i in added] == ["<environment_context>", "second"]
    update = _item_texts(added[0])[0]
    assert "<cwd>" not in update and f"<current_date>{today}</current_date>" in update and "<filesystem>" in update
    states = [line["payload"] for line in _lines(path) if line["type"] == "world_state"]
    assert states[-1] == {"full": False, "state": {"environments": {"current_date": today}}}
    assert [_item_texts(i) for i in requests[2].body["input"][len(requests[1].body["input"]) + 1 :]] == [["third"]]


def test_thread_recorded_before_its_first_turn_is_resumed_with_the_whole_context(codex_env: CodexEnv) -> None:
    # The context is recorded when the first turn starts: a thread left before it has none, and gets it on resume.
    thread_id = "01a212e0-0000-7000-8000-0000000000aa"
    meta = SessionMeta(thread_id, str(codex_env.workdir), source="cli", model_provider="mock")
    RolloutRecorder.create(codex_env.home, meta, model="gpt-5.5").close()
    with FakeResponsesServer([{"output": [message("hello")]}]) as server:
        codex_env.write_config(server.base_url)
        run = _run(codex_env, "exec", "resume", thread_id, "hi")
        [request] = server.response_requests
    assert run.returncode == 0, run.stderr
    firsts = [_item_texts(i)[-1].split("\n")[0] for i in request.body["input"]]
    assert firsts[1:] == ["<permissions instructions>", "<environment_context>", "hi"]


def test_resume_unknown_id_and_last_with_nothing(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("fresh")]}]) as server:
        codex_env.write_config(server.base_url)
        missing = _run(codex_env, "exec", "resume", "01a212e0-0000-7000-8000-0000000000ff", "hi")
        fresh = _run(codex_env, "exec", "resume", "--last", "start anew")
    assert missing.returncode == 1
    assert "No rollout found for thread id 01a212e0-0000-7000-8000-0000000000ff" in missing.stderr
    assert fresh.returncode == 0 and fresh.stdout == "fresh\n"
    assert len(_rollouts(codex_env)) == 1


def test_ephemeral_writes_no_session_files(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = _run(codex_env, "exec", "--ephemeral", "--json", "secret")
        again = _run(codex_env, "exec", "--ephemeral", "resume", "--last", "more")
    assert run.returncode == 0 and again.returncode == 0
    assert not (codex_env.home / "sessions").exists()
    assert not (codex_env.home / "history.jsonl").exists()


def test_torn_last_line_resumes(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("one")]}, {"output": [message("two")]}]) as server:
        codex_env.write_config(server.base_url)
        first = _run(codex_env, "exec", "first")
        [path] = _rollouts(codex_env)
        data = path.read_bytes()
        last_start = data.rstrip(b"\n").rfind(b"\n") + 1
        path.write_bytes(data[: last_start + (len(data) - last_start) // 2])  # cut the last line in half
        second = _run(codex_env, "exec", "resume", _thread_id(first.stderr), "again")
        requests = server.response_requests
    assert second.returncode == 0, second.stderr
    assert second.stdout == "two\n"
    assert _texts(requests[1])[-3:] == ["first", "one", "again"]
    assert all(json.loads(line) for line in path.read_text().splitlines()[:-1] if line and line[-1] == "}")
    resumed_lines = path.read_bytes().split(b"\n")
    assert sum(1 for line in resumed_lines if line.strip() and not line.endswith(b"}")) == 1  # only the torn one


def test_fork_copies_history_into_a_new_session(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("one")]}, {"output": [message("forked")]}]) as server:
        codex_env.write_config(server.base_url)
        first = _run(codex_env, "exec", "original")
        source_id = _thread_id(first.stderr)
        fork = _run(codex_env, "exec", "fork", source_id, "branch off")
        requests = server.response_requests
    assert fork.returncode == 0, fork.stderr
    fork_id = _thread_id(fork.stderr)
    assert fork_id != source_id
    assert _texts(requests[1])[-3:] == ["original", "one", "branch off"]
    paths = _rollouts(codex_env)
    assert len(paths) == 2
    fork_path = next(p for p in paths if fork_id in p.name)
    meta = _lines(fork_path)[0]["payload"]
    assert meta["id"] == fork_id and meta["forked_from_id"] == source_id


def test_archive_unarchive_delete_cli(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("one")]}]) as server:
        codex_env.write_config(server.base_url)
        thread_id = _thread_id(_run(codex_env, "exec", "keep me").stderr)
    [path] = _rollouts(codex_env)
    archived = _run(codex_env, "archive", thread_id)
    assert (archived.returncode, archived.stdout) == (0, f"Archived session {thread_id}.\n")
    assert (codex_env.home / "archived_sessions" / path.name).exists() and not path.exists()
    unarchived = _run(codex_env, "unarchive", thread_id)
    assert (unarchived.returncode, unarchived.stdout) == (0, f"Unarchived session {thread_id}.\n")
    assert path.exists()
    refused = _run(codex_env, "delete", thread_id)
    assert refused.returncode == 1 and "--force" in refused.stderr and path.exists()
    deleted = _run(codex_env, "delete", "--force", thread_id)
    assert (deleted.returncode, deleted.stdout) == (0, f"Deleted session {thread_id}.\n")
    assert not path.exists()
    unknown = _run(codex_env, "archive", thread_id)
    assert unknown.returncode == 1 and "No active session found" in unknown.stderr


# ------------------------------------------------------------------------------------------ codex-rs files


def _install_fixture(env: CodexEnv) -> Path:
    target = env.home / "sessions" / "2026" / "11" / "25" / RS_FIXTURE.name
    target.parent.mkdir(parents=True)
    shutil.copy(RS_FIXTURE, target)
    return target


def test_codex_rs_fixture_resumes(codex_env: CodexEnv) -> None:
    target = _install_fixture(codex_env)
    original_lines = len(_lines(target))
    with FakeResponsesServer([{"output": [message("continued")]}]) as server:
        codex_env.write_config(server.base_url)
        run = _run(codex_env, "exec", "--json", "resume", RS_ID, "third prompt")
        [request] = server.response_requests
    assert run.returncode == 0, run.stderr
    assert run.events()[0] == {"type": "thread.started", "thread_id": RS_ID}
    items = request.body["input"]
    assert items[0]["role"] == "developer" and items[0]["content"][0]["text"].startswith("You are Codex")
    kinds = [i["type"] for i in items]
    assert kinds.count("reasoning") == 1 and kinds.count("function_call") == 1
    reasoning = next(i for i in items if i["type"] == "reasoning")
    assert reasoning["encrypted_content"] and reasoning["summary"][0]["text"] == "thinking"
    assert all("internal_chat_message_metadata_passthrough" not in i for i in items)
    texts = _texts(request)
    assert texts.index("first prompt") < texts.index("first answer") < texts.index("second prompt")
    assert texts[-1] == "third prompt"
    assert any(t.startswith("<environment_context>\n  <cwd>" + str(codex_env.workdir)) for t in texts)  # cwd moved
    lines = _lines(target)
    assert len(lines) > original_lines and lines[original_lines]["ordinal"] == 37


@pytest.mark.skipif(codex_rs_binary() is None, reason="codex-rs 0.169 binary not available")
def test_rollouts_cross_between_codex_rs_and_us(codex_env: CodexEnv) -> None:
    binary = codex_rs_binary()
    assert binary is not None
    script = [
        {"output": [message("from codex-rs")]},
        {"output": [message("from us")]},
        {"output": [message("ours first")]},
        {"output": [message("codex-rs continues ours")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)

        def codex_rs(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([binary, *args], cwd=codex_env.workdir, env=codex_env.env, capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL, timeout=120)

        theirs = codex_rs("exec", "-s", "danger-full-access", "made by codex-rs")
        assert theirs.returncode == 0, theirs.stderr
        theirs_id = _thread_id(theirs.stderr)
        resumed = _run(codex_env, "exec", "resume", "--last", "continued by us")
        ours = _run(codex_env, "exec", "made by us")
        ours_id = _thread_id(ours.stderr)
        back = codex_rs("exec", "resume", ours_id, "continued by codex-rs")
        requests = server.response_requests
    assert resumed.returncode == 0, resumed.stderr
    assert _thread_id(resumed.stderr) == theirs_id
    texts = _texts(requests[1])
    assert texts.index("made by codex-rs") < texts.index("from codex-rs") < texts.index("continued by us")
    assert texts[-1] == "continued by us"
    assert back.returncode == 0, back.stderr
    assert "made by us" in _texts(requests[3]) and "ours first" in _texts(requests[3])
    assert _texts(requests[3])[-1] == "continued by codex-rs"


# ------------------------------------------------------------------------------------------ AGENTS.md


def test_agents_md_root_then_subdirectory_within_budget(codex_env: CodexEnv) -> None:
    (codex_env.home / "AGENTS.md").write_text("  GLOBAL RULE  \n\n")
    (codex_env.workdir / "AGENTS.md").write_text("ROOT RULE: tabs.\n")
    sub = codex_env.workdir / "pkg" / "deep"
    sub.mkdir(parents=True)
    (codex_env.workdir / "pkg" / "AGENTS.md").write_text("PKG RULE: " + "p" * 40 + "\n")
    (sub / "AGENTS.md").write_text("DEEP RULE: never reached\n")
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        full = _run(codex_env, "exec", "-C", str(sub), "--json", "hi")
        budget = _run(codex_env, "exec", "-C", str(sub), "-c", "project_doc_max_bytes=30", "hi")
        requests = server.response_requests
    assert full.returncode == 0 and budget.returncode == 0
    assert _texts(requests[0])[2] == (
        f"# AGENTS.md instructions for {sub}\n\n<INSTRUCTIONS>\nGLOBAL RULE\n\n--- project-doc ---\n\n"
        f"ROOT RULE: tabs.\n\n\nPKG RULE: {'p' * 40}\n\n\nDEEP RULE: never reached\n\n</INSTRUCTIONS>"
    )
    assert _texts(requests[0])[3].startswith("<environment_context>")
    # 30 bytes: the root file (17) whole, the pkg file cut to 13 bytes, the deepest skipped.
    assert _texts(requests[1])[2] == (
        f"# AGENTS.md instructions for {sub}\n\n<INSTRUCTIONS>\nGLOBAL RULE\n\n--- project-doc ---\n\n"
        "ROOT RULE: tabs.\n\n\nPKG RULE: ppp\n</INSTRUCTIONS>"
    )
    assert "Loaded only 13 of 51 bytes" in budget.stderr and "Skipped project instructions" in budget.stderr


def test_changed_agents_md_is_sent_again_on_resume(codex_env: CodexEnv) -> None:
    (codex_env.workdir / "AGENTS.md").write_text("V1 RULE\n")
    with FakeResponsesServer([{"output": [message("one")]}, {"output": [message("two")]}]) as server:
        codex_env.write_config(server.base_url)
        _run(codex_env, "exec", "first")
        (codex_env.workdir / "AGENTS.md").write_text("V2 RULE\n")
        second = _run(codex_env, "exec", "resume", "--last", "second")
        requests = server.response_requests
    assert second.returncode == 0, second.stderr
    update = _texts(requests[1])[-2]
    assert update.startswith(f"# AGENTS.md instructions for {codex_env.workdir}\n\n<INSTRUCTIONS>\n")
    assert "replace all AGENTS.md instructions" in update and update.endswith("\n\nV2 RULE\n\n</INSTRUCTIONS>")
    [path] = _rollouts(codex_env)
    states = [line["payload"] for line in _lines(path) if line["type"] == "world_state"]
    # A merge patch over the first turn's state, as codex-rs writes it (sessions.md §2.5).
    assert states[-1] == {"full": False, "state": {"agents_md": {"text": "V2 RULE\n"}}}


# ------------------------------------------------------------------------------------------ compaction


def test_long_conversation_compacts_and_goes_on(codex_env: CodexEnv) -> None:
    big = {"input_tokens": 5000, "output_tokens": 10, "total_tokens": 5010}
    script = [
        {"output": [function_call("update_plan", PLAN, "call_1")], "usage": big},
        {"output": [message("SUMMARY-ONE: looked around")]},  # the compaction request
        {"output": [function_call("update_plan", PLAN, "call_2")]},
        {"output": [message("finished the task")]},
        {"output": [message("SUMMARY-TWO")]},  # pre-turn compaction of the resumed thread
        {"output": [message("after resume")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra="model_auto_compact_token_limit = 3000")
        first = _run(codex_env, "exec", "--json", "do the long task")
        [path] = _rollouts(codex_env)
        with open(path, "a") as f:  # pretend the last response filled the window
            info = {"last_token_usage": {"total_tokens": 9000}}
            line = {"timestamp": "2026-11-25T00:00:00.000Z", "ordinal": 999, "type": "event_msg",
                    "payload": {"type": "token_count", "info": info}}
            f.write(json.dumps(line) + "\n")
        second = _run(codex_env, "exec", "resume", "--last", "one more thing")
        requests = server.response_requests
    assert first.returncode == 0, first.stderr
    assert first.events()[-1]["type"] == "turn.completed"
    assert [e["item"]["text"] for e in first.events() if e.get("item", {}).get("type") == "agent_message"] == [
        "finished the task"
    ]  # the summary is not shown as an answer
    compaction = requests[1].body
    assert compaction["tools"] == [] and requests[0].body["tools"]
    first_input = requests[0].body["input"]
    assert compaction["input"][: len(first_input)] == first_input  # the full history, then the prompt
    assert [i["type"] for i in compaction["input"][len(first_input) :]] == [
        "function_call", "function_call_output", "message"
    ]
    assert "hand-off summary" in compaction["input"][-1]["content"][0]["text"]
    assert "id" not in compaction["input"][-1]
    after = requests[2].body["input"]
    assert not any(i["type"] in ("function_call", "function_call_output") for i in after)
    texts = _texts(requests[2])
    assert texts[-2] == "do the long task" and texts[-1].endswith("\nSUMMARY-ONE: looked around")
    assert texts[1].startswith("<permissions instructions>") and texts[2].startswith("<environment_context>")
    assert requests[2].headers["x-codex-window-id"].endswith(":1")
    assert "update_plan" in [t.get("name") for t in requests[2].body["tools"]]

    assert second.returncode == 0, second.stderr
    assert "context compacted\n" in second.stderr  # the human transcript says so
    pre_turn = requests[4].body
    assert pre_turn["tools"] == [] and "one more thing" not in _texts(requests[4])
    final = _texts(requests[5])
    assert final[-1] == "one more thing" and final[-2].endswith("\nSUMMARY-TWO")
    assert not any("SUMMARY-ONE" in text for text in final)
    assert requests[5].headers["x-codex-window-id"].endswith(":2")
    kinds = [line["type"] for line in _lines(path)]
    assert kinds.count("compacted") == 2


# ------------------------------------------------------------------------------------------ history.jsonl


def test_two_concurrent_exec_runs_append_whole_lines(codex_env: CodexEnv) -> None:
    prompts = ["A" * 300_000, "B" * 300_000]  # far above PIPE_BUF, so unlocked appends could interleave
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        procs = [
            subprocess.Popen([*CODEX, "exec", "--json", "-"], cwd=codex_env.workdir, env=codex_env.env,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in prompts
        ]
        for proc, prompt in zip(procs, prompts):
            proc.stdin.write(prompt.encode())
            proc.stdin.close()
        codes = [proc.wait(60) for proc in procs]
    assert codes == [0, 0]
    entries = [json.loads(line) for line in (codex_env.home / "history.jsonl").read_text().splitlines()]
    assert sorted(e["text"] for e in entries) == prompts
    assert len({e["session_id"] for e in entries}) == 2
