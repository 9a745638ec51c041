"""`codex exec` tool behaviour seen from the model's side: plans, sessions, interception, interrupts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv, make_codex_env  # noqa: E402
from fake_responses import (  # noqa: E402
    FakeResponsesServer,
    apply_patch_call,
    exec_call,
    function_call,
    message,
)


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _outputs(body: dict) -> dict[str, object]:
    return {
        item["call_id"]: item["output"]
        for item in body["input"]
        if item.get("type") in ("function_call_output", "custom_tool_call_output")
    }


def _run_script(codex_env: CodexEnv, script: list, *args: str) -> tuple[list, object]:
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--json", *args, "go", stdin=subprocess.DEVNULL)
        return list(server.requests), run


def test_update_plan_emits_todo_list_started_updated_completed(codex_env: CodexEnv) -> None:
    plan1 = {"plan": [{"step": "Look", "status": "in_progress"}, {"step": "Fix", "status": "pending"}]}
    plan2 = {"plan": [{"step": "Look", "status": "completed"}, {"step": "Fix", "status": "in_progress"}]}
    script = [
        {"output": [function_call("update_plan", plan1, "p1")]},
        {"output": [function_call("update_plan", plan2, "p2")]},
        {"output": [message("done")]},
    ]
    requests, run = _run_script(codex_env, script)
    assert run.returncode == 0, run.stderr
    assert _outputs(requests[-1].body) == {"p1": "Plan updated", "p2": "Plan updated"}
    todo = [(e["type"], e["item"]["items"]) for e in run.events() if e.get("item", {}).get("type") == "todo_list"]
    assert [t for t, _ in todo] == ["item.started", "item.updated", "item.completed"]
    assert todo[-1][1] == [{"text": "Look", "completed": True}, {"text": "Fix", "completed": False}]
    types = [e["type"] for e in run.events()]
    assert types[-2:] == ["item.completed", "turn.completed"]


def test_long_command_becomes_session_then_write_stdin_polls_it(codex_env: CodexEnv) -> None:
    script = [
        {"output": [exec_call("echo start; sleep 1; echo end", "c1", yield_time_ms=250)]},
        lambda request: {"output": [function_call(
            "write_stdin", {"session_id": _session_id(request.body), "yield_time_ms": 5000}, "c2"
        )]},
        {"output": [message("done")]},
    ]
    requests, run = _run_script(codex_env, script, "-s", "danger-full-access")
    assert run.returncode == 0, run.stderr
    outputs = _outputs(requests[-1].body)
    assert "Process running with session ID" in str(outputs["c1"]) and "start" in str(outputs["c1"])
    assert "Process exited with code 0" in str(outputs["c2"]) and "end" in str(outputs["c2"])


def _session_id(body: dict) -> int:
    text = str(_outputs(body)["c1"])
    return int(text.split("Process running with session ID ", 1)[1].split()[0])


def test_heredoc_apply_patch_in_shell_is_intercepted(codex_env: CodexEnv) -> None:
    cmd = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: made.txt\n+made\n*** End Patch\nEOF\n"
    requests, run = _run_script(codex_env, [{"output": [exec_call(cmd, "c1")]}, {"output": [message("ok")]}],
                                "-s", "workspace-write")
    assert run.returncode == 0, run.stderr
    assert (codex_env.workdir / "made.txt").read_text() == "made\n"
    assert "Success. Updated the following files:\nA made.txt" in str(_outputs(requests[-1].body)["c1"])
    kinds = [e["item"]["type"] for e in run.events() if e["type"] == "item.completed"]
    assert "file_change" in kinds and "command_execution" not in kinds


def test_patch_failing_on_third_file_changes_nothing(codex_env: CodexEnv) -> None:
    (codex_env.workdir / "a.txt").write_text("a\n")
    (codex_env.workdir / "b.txt").write_text("b\n")
    patch = (
        "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: b.txt\n@@\n-b\n+B\n"
        "*** Update File: c.txt\n@@\n-c\n+C\n*** End Patch\n"
    )
    requests, run = _run_script(codex_env, [{"output": [apply_patch_call(patch, "p")]}, {"output": [message("x")]}],
                                "-s", "workspace-write")
    assert run.returncode == 0, run.stderr
    assert (codex_env.workdir / "a.txt").read_text() == "a\n"
    assert (codex_env.workdir / "b.txt").read_text() == "b\n"
    output = str(_outputs(requests[-1].body)["p"])
    assert output.startswith("apply_patch verification failed:") and "c.txt" in output
    assert not [e for e in run.events() if e.get("item", {}).get("type") == "file_change"]


def test_legacy_shell_tool_with_argv_runs(codex_env: CodexEnv) -> None:
    call = function_call("shell", {"command": ["bash", "-c", "echo legacy; exit 2"]}, "s1")
    requests, run = _run_script(codex_env, [{"output": [call]}, {"output": [message("ok")]}],
                                "-s", "danger-full-access")
    assert run.returncode == 0, run.stderr
    output = json.loads(str(_outputs(requests[-1].body)["s1"]))
    assert output["output"] == "legacy\n" and output["metadata"]["exit_code"] == 2


def test_unknown_tool_gets_unsupported_call(codex_env: CodexEnv) -> None:
    requests, run = _run_script(codex_env, [{"output": [function_call("teleport", {}, "t1")]},
                                            {"output": [message("ok")]}])
    assert run.returncode == 0, run.stderr
    assert _outputs(requests[-1].body) == {"t1": "unsupported call: teleport"}


def test_bad_tool_arguments_are_reported_to_the_model(codex_env: CodexEnv) -> None:
    call = {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\": ", "call_id": "b1"}
    requests, run = _run_script(codex_env, [{"output": [call]}, {"output": [message("ok")]}])
    assert run.returncode == 0, run.stderr
    assert str(_outputs(requests[-1].body)["b1"]).startswith("failed to parse function arguments:")


def test_workspace_write_runs_commands_in_cwd(codex_env: CodexEnv) -> None:
    requests, run = _run_script(codex_env, [{"output": [exec_call("echo inside > inside.txt", "w1")]},
                                            {"output": [message("ok")]}], "-s", "workspace-write")
    assert run.returncode == 0, run.stderr
    assert (codex_env.workdir / "inside.txt").read_text() == "inside\n"
    assert "Process exited with code 0" in str(_outputs(requests[-1].body)["w1"])


def test_ctrl_c_interrupts_running_command_and_exits_1(codex_env: CodexEnv) -> None:
    script = [{"output": [exec_call("echo started; sleep 30", "c1", yield_time_ms=30000)]}, {"output": [message("x")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        proc = subprocess.Popen(
            [*CODEX, "exec", "--json", "-s", "danger-full-access", "go"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=codex_env.workdir, env=codex_env.env,
        )
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + 20
            line = b""
            while b"item.started" not in line and time.monotonic() < deadline:
                line = proc.stdout.readline()
            time.sleep(0.3)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            elapsed = time.monotonic() - started
        finally:
            proc.kill()
            proc.wait()
        assert len(server.requests) == 1
    assert proc.returncode == 1
    assert elapsed < 3
    assert b"turn.completed" not in out and b"turn.failed" not in out
