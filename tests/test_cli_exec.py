"""`codex exec` end to end: the real CLI in a subprocess against the scripted fake model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, apply_patch_call, exec_call, message  # noqa: E402

PATCH = """*** Begin Patch
*** Update File: README.md
@@
-hello
+hello edited
*** Add File: notes/new.txt
+brand new
*** End Patch
"""


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _user_texts(request_body: dict) -> list[str]:
    texts = []
    for item in request_body["input"]:
        if item.get("type") == "message" and item.get("role") == "user":
            texts.extend(part["text"] for part in item["content"] if part.get("type") == "input_text")
    return texts


def _outputs(request_body: dict) -> dict[str, object]:
    return {
        item["call_id"]: item["output"]
        for item in request_body["input"]
        if item.get("type") in ("function_call_output", "custom_tool_call_output")
    }


def test_exec_json_full_turn_retries_runs_shell_and_patch(codex_env: CodexEnv) -> None:
    script = [
        {"status": 500, "body": "overloaded"},
        {"output": [exec_call("echo hi-from-shell; echo to-stderr >&2; pwd; exit 3", "call_sh")]},
        {"output": [apply_patch_call(PATCH, "call_patch")]},
        {"output": [message("All done: edited README.md.")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        out_file = codex_env.workdir.parent / "last.txt"
        run = codex_env.run("exec", "--json", "-s", "danger-full-access", "-o", str(out_file), "do it")
        requests = [r for r in server.requests if r.path.endswith("/responses")]

    assert run.returncode == 0, run.stderr
    assert len(requests) == 4  # the 500 was retried silently
    shell_output = _outputs(requests[2].body)["call_sh"]
    assert isinstance(shell_output, str)
    assert "Process exited with code 3" in shell_output
    assert "hi-from-shell" in shell_output and "to-stderr" in shell_output
    assert str(codex_env.workdir) in shell_output  # ran in cwd
    patch_output = _outputs(requests[3].body)["call_patch"]
    assert patch_output == (
        "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\n"
        "A notes/new.txt\nM README.md\n"
    )
    assert (codex_env.workdir / "README.md").read_text() == "hello edited\n"
    assert (codex_env.workdir / "notes/new.txt").read_text() == "brand new\n"
    assert out_file.read_text() == "All done: edited README.md."

    events = run.events()
    types = [e["type"] for e in events]
    assert types[0] == "thread.started" and types[1] == "turn.started"
    assert types[-1] == "turn.completed"
    items = [(e["type"], e["item"]["type"], e["item"].get("status")) for e in events if "item" in e]
    assert items == [
        ("item.started", "command_execution", "in_progress"),
        ("item.completed", "command_execution", "failed"),
        ("item.started", "file_change", "in_progress"),
        ("item.completed", "file_change", "completed"),
        ("item.completed", "agent_message", None),
    ]
    command_done = events[3]["item"]
    assert command_done["exit_code"] == 3
    assert command_done["command"].endswith("-lc 'echo hi-from-shell; echo to-stderr >&2; pwd; exit 3'")
    assert "hi-from-shell" in command_done["aggregated_output"]
    changes = [c for e in events if e["type"] == "item.completed" and e["item"]["type"] == "file_change"
               for c in e["item"]["changes"]]
    assert changes == [
        {"path": str(codex_env.workdir / "README.md"), "kind": "update"},
        {"path": str(codex_env.workdir / "notes/new.txt"), "kind": "add"},
    ]
    assert [e["item"]["id"] for e in events if "item" in e] == [
        "item_0", "item_0", "item_1", "item_1", "item_2"
    ]
    assert events[-1]["usage"]["input_tokens"] == 300


def test_exec_human_mode_prints_only_the_final_message_on_stdout(codex_env: CodexEnv) -> None:
    script = [{"output": [exec_call("echo hello", "c1")]}, {"output": [message("Finished.")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "-s", "danger-full-access", "--color", "never", "say hi")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "Finished.\n"
    assert "exec\n" in run.stderr and " succeeded in " in run.stderr
    assert "tokens used\n220\n" in run.stderr
    assert "\x1b[" not in run.stderr


@pytest.mark.parametrize("json_mode", [True, False], ids=["json", "human"])
def test_exec_warnings_keep_their_places_in_both_outputs(codex_env: CodexEnv, json_mode: bool) -> None:
    """The hooks' bypass warning comes first, an MCP server's failure goes to stderr as it happens, and the
    config's warning follows the thread's start (the header in human mode); hook runs show only on stderr."""
    extra = 'bogus_setting = 1\n[mcp_servers.broken]\ncommand = "/no/such/binary"\n'
    with FakeResponsesServer([{"output": [message("Finished.")]}]) as server:
        codex_env.write_config(server.base_url, extra=extra)
        flags = ["--json"] if json_mode else ["--color", "never"]
        run = codex_env.run("exec", *flags, "--dangerously-bypass-hook-trust", "say hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    mcp_warning = "MCP client for `broken` failed to start"
    if json_mode:
        events = run.events()
        assert [(e["type"], e.get("item", {}).get("id")) for e in events[:4]] == [
            ("item.completed", "hook_trust"), ("thread.started", None), ("item.completed", "warning_0"),
            ("turn.started", None)]  # fmt: skip
        assert events[0]["item"]["message"].startswith("`--dangerously-bypass-hook-trust` is enabled")
        assert events[2]["item"] == {"id": "warning_0", "type": "error",
                                     "message": events[2]["item"]["message"]}  # fmt: skip
        assert events[2]["item"]["message"].startswith("Codex is ignoring 1 unrecognized configuration setting")
        assert run.stderr.count(mcp_warning) == 1 and "hook:" not in run.stderr
        return
    lines = run.stderr.splitlines()
    bypass = next(i for i, line in enumerate(lines) if "`--dangerously-bypass-hook-trust` is enabled" in line)
    mcp = next(i for i, line in enumerate(lines) if mcp_warning in line)
    header = lines.index("--------")
    config = next(i for i, line in enumerate(lines) if line.startswith("warning: Codex is ignoring 1 unrecognized"))
    user = lines.index("user")
    assert bypass < mcp < header < user < config, run.stderr


def test_exec_piped_stdin_with_prompt_builds_stdin_block(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "arg prompt", input="line1\nline2\n")
        body = server.requests[-1].body
    assert run.returncode == 0, run.stderr
    assert _user_texts(body)[-1] == "arg prompt\n\n<stdin>\nline1\nline2\n</stdin>"
    assert "Reading additional input from stdin..." in run.stderr


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [("x", "arg\n\n<stdin>\nx\n</stdin>"), ("  x\n\n\n", "arg\n\n<stdin>\n  x\n\n\n</stdin>"), ("   \n", "arg")],
)
def test_exec_stdin_block_rules(codex_env: CodexEnv, stdin: str, expected: str) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "arg", input=stdin)
        body = server.requests[-1].body
    assert run.returncode == 0, run.stderr
    assert _user_texts(body)[-1] == expected


def test_exec_dash_reads_prompt_verbatim_from_stdin(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "-", input="  the task\n")
        body = server.requests[-1].body
    assert run.returncode == 0, run.stderr
    assert _user_texts(body)[-1] == "  the task\n"


def test_exec_silent_open_stdin_does_not_hang(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        started = time.monotonic()
        proc = subprocess.Popen(
            [*CODEX, "exec", "prompt"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=codex_env.workdir, env=codex_env.env,
        )
        try:
            server.wait_for_requests(1, timeout=10)
            first_request = time.monotonic() - started
            out, err = proc.communicate(timeout=20)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.kill()
            proc.wait()
    assert first_request < 2.0
    assert proc.returncode == 0, err
    assert b"going on without it" in err


def test_exec_no_prompt_with_terminal_like_stdin_fails(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", input="")
    assert run.returncode == 1
    assert "No prompt provided via stdin." in run.stderr


def test_exec_outside_git_repo_needs_skip_flag(codex_env: CodexEnv, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        refused = codex_env.run("exec", "hi", cwd=outside, stdin=subprocess.DEVNULL)
        allowed = codex_env.run("exec", "--skip-git-repo-check", "hi", cwd=outside, stdin=subprocess.DEVNULL)
        assert len(server.requests) == 1
    assert refused.returncode == 1
    assert "Not inside a trusted directory and --skip-git-repo-check was not specified." in refused.stderr
    assert allowed.returncode == 0 and allowed.stdout == "ok\n"


def test_exec_read_only_sandbox_refuses_writes_and_reports_to_model(codex_env: CodexEnv) -> None:
    script = [{"output": [apply_patch_call(PATCH, "p1")]}, {"output": [message("could not")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "edit", stdin=subprocess.DEVNULL)
        output = _outputs(server.requests[-1].body)["p1"]
    assert run.returncode == 0, run.stderr
    assert output == "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings"
    assert (codex_env.workdir / "README.md").read_text() == "hello\n"


def test_exec_first_request_carries_context_and_headers(codex_env: CodexEnv) -> None:
    (codex_env.workdir / "AGENTS.md").write_text("Use tabs.\n", encoding="utf-8")
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
        request = server.requests[-1]
    assert run.returncode == 0, run.stderr
    body = request.body
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.headers["originator"] == "codex_exec"
    assert request.headers["session-id"] == body["prompt_cache_key"]
    assert body["input"][0]["role"] == "developer"
    assert "<permissions instructions>" in body["input"][1]["content"][-1]["text"]
    texts = _user_texts(body)
    expected = f"# AGENTS.md instructions for {codex_env.workdir}\n\n<INSTRUCTIONS>\nUse tabs.\n\n</INSTRUCTIONS>"
    assert texts[0] == expected
    assert texts[1].startswith("<environment_context>\n  <cwd>")
    assert texts[-1] == "hi"
    assert [t.get("name") or t["type"] for t in body["tools"]] == [
        "exec_command", "write_stdin", "update_plan", "apply_patch", "view_image", "web_search"
    ]
    assert body["store"] is False and body["stream"] is True


def test_exec_output_schema_is_sent_as_text_format(codex_env: CodexEnv) -> None:
    schema_path = codex_env.workdir.parent / "schema.json"
    schema_path.write_text(json.dumps({"type": "object"}), encoding="utf-8")
    with FakeResponsesServer([{"output": [message('{"a":1}')]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--output-schema", str(schema_path), "hi", stdin=subprocess.DEVNULL)
        body = server.requests[-1].body
    assert run.returncode == 0, run.stderr
    assert body["text"]["format"] == {
        "type": "json_schema", "strict": True, "schema": {"type": "object"}, "name": "codex_output_schema"
    }
    assert run.stdout == '{"a":1}\n'


# ------------------------------------------------------------------------------ run options of codex-rs 0.169


def test_exec_version_names_the_subcommand(codex_env: CodexEnv) -> None:
    run = codex_env.run("exec", "--version")
    assert (run.returncode, run.stdout.split()[0]) == (0, "codex-cli-exec")


def test_exec_ignore_user_config_reads_no_config_toml(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        (codex_env.home / "config.toml").write_text('model = "user-model"\n', encoding="utf-8")
        provider = f'model_providers.mock={{name="mock", base_url="{server.base_url}", env_key="MOCK_API_KEY"}}'
        common = ("-c", 'model_provider="mock"', "-c", provider, "-c", "model_providers.mock.request_max_retries=0")
        plain = codex_env.run("exec", *common, "hi", stdin=subprocess.DEVNULL)
        ignored = codex_env.run("exec", *common, "--ignore-user-config", "hi", stdin=subprocess.DEVNULL)
        models = [r.body["model"] for r in server.response_requests]
    assert (plain.returncode, ignored.returncode) == (0, 0), plain.stderr + ignored.stderr
    assert models[0] == "user-model" and models[1] != "user-model"


def test_exec_ignore_rules_skips_execpolicy_files(codex_env: CodexEnv) -> None:
    rules = codex_env.home / "rules"
    rules.mkdir()
    (rules / "default.rules").write_text('prefix_rule(pattern=["echo"], decision="forbidden")\n', encoding="utf-8")
    script = [{"output": [exec_call("echo ran", "c1")]}, {"output": [message("done")]}]
    outputs = []
    for extra in ([], ["--ignore-rules"]):
        with FakeResponsesServer(script) as server:
            codex_env.write_config(server.base_url)
            run = codex_env.run("exec", *extra, "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL)
            assert run.returncode == 0, run.stderr
            body = server.response_requests[-1].body
            outputs.append(next(i["output"] for i in body["input"] if i.get("type") == "function_call_output"))
    assert "policy forbids commands starting with `echo`" in outputs[0]
    assert "forbids" not in outputs[1] and "ran\n" in outputs[1]


def test_exec_trust_records_the_git_root_and_applies_the_project_config(codex_env: CodexEnv) -> None:
    sub = codex_env.workdir / "sub"
    (codex_env.workdir / ".codex").mkdir()
    (codex_env.workdir / ".codex" / "config.toml").write_text('model = "project-model"\n', encoding="utf-8")
    sub.mkdir()
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        before = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL, cwd=sub)
        trusted = codex_env.run("exec", "--trust", "hi", stdin=subprocess.DEVNULL, cwd=sub)
        after = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL, cwd=sub)
        models = [r.body["model"] for r in server.response_requests]
    assert before.returncode == trusted.returncode == after.returncode == 0, trusted.stderr
    assert "codex exec --trust" in before.stderr
    assert models == ["gpt-5.5", "project-model", "project-model"]
    config = (codex_env.home / "config.toml").read_text(encoding="utf-8")
    assert f'[projects."{codex_env.workdir.resolve()}"]\ntrust_level = "trusted"\n' in config


def test_exec_trust_does_not_override_an_untrusted_project(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url,
                               extra=f'[projects."{codex_env.workdir.resolve()}"]\ntrust_level = "untrusted"\n')
        before = (codex_env.home / "config.toml").read_text(encoding="utf-8")
        run = codex_env.run("exec", "--trust", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert "--trust does not change that" in run.stderr
    assert (codex_env.home / "config.toml").read_text(encoding="utf-8") == before


@pytest.fixture
def outside_dir() -> Iterator[Path]:
    """A directory outside every writable root (pytest's tmp_path is under /tmp, which workspace-write may write)."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="codex-exec-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("outcome", ["allow", "deny"])
def test_exec_approve_for_me_asks_a_reviewer_model(codex_env: CodexEnv, outcome: str, outside_dir: Path) -> None:
    """exec.md §8.4: an escalation goes to a reviewer request (a JSON verdict); allow runs the command outside the
    sandbox, deny refuses it with the reviewer's rationale for the main model."""
    outside = outside_dir / "made.txt"
    verdict = {"outcome": outcome, "risk_level": "low", "user_authorization": "high", "rationale": "the user asked"}
    script = [
        {"output": [exec_call(f"touch {outside}", "c1", sandbox_permissions="require_escalated",
                              justification="the user wants the file there")]},
        {"output": [message(json.dumps(verdict))]},
        {"output": [message("done")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--approve-for-me", f"create {outside}", stdin=subprocess.DEVNULL)
        requests = server.response_requests
    assert run.returncode == 0, run.stderr
    assert "approval: on-request" in run.stderr and "sandbox: workspace-write" in run.stderr
    review_body = requests[1].body
    assert review_body["text"]["format"]["schema"]["required"] == ["outcome"]
    texts = [part["text"] for item in review_body["input"] for part in item["content"]]
    assert f"create {outside}" in texts[-1] and f"touch {outside}" in texts[-1]
    assert "the user wants the file there" in texts[-1]
    output = next(i["output"] for i in requests[2].body["input"] if i.get("type") == "function_call_output")
    if outcome == "allow":
        assert outside.exists() and "Process exited with code 0" in output
    else:
        assert not outside.exists()
        assert "This action was rejected due to unacceptable risk.\\\\nReason: the user asked" in output


def test_exec_thread_source_is_recorded_in_the_session_file(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        assert codex_env.run("exec", "plain", stdin=subprocess.DEVNULL).returncode == 0
        tagged = codex_env.run("exec", "--thread-source", "automation", "tagged", stdin=subprocess.DEVNULL)
        assert tagged.returncode == 0, tagged.stderr
    sources = {}
    for path in (codex_env.home / "sessions").rglob("rollout-*.jsonl"):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        prompt = next(item["payload"]["content"][0]["text"] for item in lines
                      if item["type"] == "response_item" and item["payload"].get("role") == "user"
                      and item["payload"]["content"][0]["text"] in ("plain", "tagged"))
        sources[prompt] = lines[0]["payload"]["thread_source"]
    assert sources == {"plain": "user", "tagged": "automation"}
