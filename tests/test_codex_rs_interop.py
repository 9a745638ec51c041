"""Threads crossing between this CLI and the real codex-rs 0.169 binary, both ways: each resumes the other's rollout
the way it resumes its own (same prompts, same scripted model), compared on the input of the resume request.

Skipped unless the binary is there: CODEX_RS_BIN names it (default: codex-rs on PATH, or the npm package under
/tmp/oracle; cli_harness.codex_rs_binary)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CODEX, CodexEnv, codex_rs_binary, make_codex_env
from fake_responses import FakeResponsesServer, message

from codex_cli.rollout import world_state_fingerprint

CODEX_RS = codex_rs_binary()
pytestmark = pytest.mark.skipif(CODEX_RS is None, reason="codex-rs 0.169 not installed (set CODEX_RS_BIN)")

# Developer texts one CLI sends again on resuming the other's thread, because they are not shared: codex-rs words
# its permissions text its own way (world_state keeps a fingerprint of the wording) and lists deferred tool
# namespaces of its own (<tools>: multi_agent_v1); the skills lists differ because codex-rs bundles skills of its
# own tools (`$CODEX_HOME/skills/.system`), which this CLI leaves out (skills.py).
NOT_SHARED = ("<permissions instructions>", "<tools>", "<skills_instructions>")

Item = dict[str, Any]


def _thread_id(stderr: str) -> str:
    return next(line.split()[-1] for line in stderr.splitlines() if line.startswith("session id:"))


def _run(env: CodexEnv, cli: str, *args: str) -> str:
    """One `exec` run of `cli` ("ours" or "codex-rs"); returns the thread id."""
    argv = [*CODEX, *args] if cli == "ours" else [str(CODEX_RS), *args]
    proc = subprocess.run(argv, cwd=env.workdir, env=env.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert proc.returncode == 0, f"{cli} {args}: {proc.stderr}"
    return _thread_id(proc.stderr)


def _comparable(item: Item) -> Item:
    """An input item without what differs by process or by CLI: message ids (the base-instructions message of a
    resumed thread gets an id derived its own way by each CLI)."""
    return {k: v for k, v in item.items() if k != "id"}


def _texts(item: Item) -> list[str]:
    return [str(part.get("text", "")) for part in item.get("content", [])]


def _resume_pair(env: CodexEnv, server: FakeResponsesServer, first: str, second: str) -> list[Item]:
    """`first` records a thread, `second` resumes it: the items the resume request adds after the history, which it
    replays as recorded."""
    before = len(server.response_requests)
    thread = _run(env, first, "exec", "first prompt")
    assert _run(env, second, "exec", "resume", thread, "next") == thread
    first_request, resume_request = (r.body["input"] for r in server.response_requests[before:])
    answer = message("answer one")
    recorded = [*first_request, answer]
    replayed, added = resume_request[: len(recorded)], resume_request[len(recorded):]
    assert [_comparable(i) for i in replayed[1:]] == [_comparable(i) for i in [*first_request[1:], answer]]
    return added


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    (env.workdir / "AGENTS.md").write_text("Use tabs.\n", encoding="utf-8")
    return env


def _script() -> list[dict[str, object]]:
    return [{"output": [message("answer one")]}, {"output": [message("answer two")]}] * 2


def _split(added: list[Item]) -> tuple[list[Item], list[str]]:
    """(the items but the developer texts that are not shared, those texts)."""
    texts = [text for i in added if i["role"] == "developer" for text in _texts(i)]
    assert all(text.startswith(NOT_SHARED) for text in texts), texts
    return [_comparable(i) for i in added if i["role"] != "developer"], texts


def _own_and_crossed(env: CodexEnv, cli: str, other: str) -> tuple[list[Item], list[Item]]:
    """What `cli` adds on resuming a thread of its own, then one of `other`'s (same prompts, same answers)."""
    with FakeResponsesServer(_script()) as server:
        env.write_config(server.base_url)
        own = _resume_pair(env, server, cli, cli)  # codex-rs, when first, installs its bundled skills here
        crossed = _resume_pair(env, server, other, cli)
    assert [_texts(i) for i in own] == [["next"]]
    return own, crossed


def test_codex_rs_resumes_our_thread_as_its_own(codex_env: CodexEnv) -> None:
    own, ours = _own_and_crossed(codex_env, "codex-rs", "ours")
    # codex-rs reads in our rollout what the model was told, as in its own: only the prompt is sent again, no
    # <environment_context> and no AGENTS.md block (both came again when our world_state held less).
    assert _split(ours)[0] == _split(own)[0]


def test_we_resume_a_codex_rs_thread_as_our_own(codex_env: CodexEnv) -> None:
    own, theirs = _own_and_crossed(codex_env, "ours", "codex-rs")
    items, texts = _split(theirs)
    assert items == _split(own)[0]
    assert not any(text.startswith(("<permissions instructions>", "<tools>")) for text in texts)  # as in codex-rs's


def test_our_rollout_has_the_lines_codex_rs_reads(codex_env: CodexEnv) -> None:
    """The first turn's lines in codex-rs's order, with the world_state sections and turn_context fields that
    decide what codex-rs sends again on resume (compared with a rollout codex-rs wrote in the same place)."""
    with FakeResponsesServer(_script()) as server:
        codex_env.write_config(server.base_url)
        paths = {}
        for cli in ("codex-rs", "ours"):
            thread = _run(codex_env, cli, "exec", "-s", "workspace-write", "first prompt")
            [paths[cli]] = (codex_env.home / "sessions").rglob(f"rollout-*-{thread}.jsonl")
    lines = {cli: [json.loads(line) for line in path.read_text().splitlines()] for cli, path in paths.items()}

    def head(cli: str) -> list[tuple[str, str]]:
        kinds = [(line["type"], line["payload"].get("type") or line["payload"].get("role", "")) for line in lines[cli]]
        kinds = [k for k in kinds if k != ("event_msg", "thread_settings_applied")]  # not read on resume
        return kinds[: kinds.index(("response_item", "message")) + 4]

    assert head("ours") == head("codex-rs")

    def first(cli: str, kind: str) -> Item:
        return next(line["payload"] for line in lines[cli] if line["type"] == kind)

    theirs_state, ours_state = first("codex-rs", "world_state")["state"], first("ours", "world_state")["state"]
    for section in ("agents_md", "environments", "model", "realtime"):
        assert ours_state[section] == theirs_state[section], section
    assert set(ours_state["permissions"]) == set(theirs_state["permissions"])
    for cli, state in (("codex-rs", theirs_state), ("ours", ours_state)):  # the same fingerprint of each wording
        developer = first(cli, "response_item")
        [permissions] = [t for t in _texts(developer) if t.startswith("<permissions instructions>")]
        assert state["permissions"]["instructions"] == world_state_fingerprint("developer", permissions), cli
    theirs_turn, ours_turn = first("codex-rs", "turn_context"), first("ours", "turn_context")
    for key in ("cwd", "approval_policy", "approvals_reviewer", "permission_profile", "model", "sandbox_policy",
                "file_system_sandbox_policy", "summary", "realtime_active", "disabled_plugin_ids"):
        assert ours_turn[key] == theirs_turn[key], key
