"""Lifecycle hooks (trust, exit codes, JSON answers), `notify`, and the desktop notification sequences."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

from codex_cli import hooks as hooks_mod  # noqa: E402
from codex_cli import notifications  # noqa: E402
from codex_cli.hooks import DiscoveredHooks, HookEngine, HookFinished, HookHandler  # noqa: E402
from codex_cli.tools import ToolCall  # noqa: E402

PY = sys.executable


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _trusted_hash(event_label: str, command: str, timeout: int = 600, matcher: str | None = None) -> str:
    """The trust hash as ux.md §7.8 describes it, computed independently of hooks.py."""
    doc: dict[str, object] = {
        "event_name": event_label,
        "hooks": [{"type": "command", "command": command, "timeout": timeout, "async": False}],
    }
    if matcher is not None:
        doc["matcher"] = matcher
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _write_hook_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "hook.py"
    script.write_text("import json, sys\npayload = json.load(sys.stdin)\n" + body, encoding="utf-8")
    return script


def _hooks_json(codex_env: CodexEnv, event: str, command: str, *, matcher: str | None = None,
                timeout: int = 30) -> None:
    group: dict[str, object] = {"hooks": [{"type": "command", "command": command, "timeout": timeout}]}
    if matcher is not None:
        group["matcher"] = matcher
    (codex_env.home / "hooks.json").write_text(json.dumps({"hooks": {event: [group]}}), encoding="utf-8")


def _trust_block(codex_env: CodexEnv, label: str, command: str, *, matcher: str | None = None,
                 timeout: int = 30) -> str:
    key = f"{codex_env.home / 'hooks.json'}:{label}:0:0"
    return f'[hooks.state."{key}"]\ntrusted_hash = "{_trusted_hash(label, command, timeout, matcher)}"\n'


def _outputs(body: dict) -> dict[str, object]:
    return {i["call_id"]: i["output"] for i in body["input"] if i.get("type") == "function_call_output"}


# ---------------------------------------------------------------------------------------------- exec


def test_pre_tool_use_exit_2_blocks_the_command_and_the_model_gets_the_reason(codex_env: CodexEnv,
                                                                               tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    seen = tmp_path / "seen.json"
    script = _write_hook_script(tmp_path, (
        f"open({str(seen)!r}, 'w').write(json.dumps(payload))\n"
        "sys.stderr.write('no touching allowed')\nsys.exit(2)\n"))
    command = f"{PY} {script}"
    _hooks_json(codex_env, "PreToolUse", command, matcher="^Bash$")
    steps = [{"output": [exec_call(f"touch {marker}", "c1")]}, {"output": [message("ok")]}]
    with FakeResponsesServer(steps) as server:
        codex_env.write_config(server.base_url, extra=_trust_block(codex_env, "pre_tool_use", command,
                                                                    matcher="^Bash$"))
        run = codex_env.run("exec", "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert not marker.exists()
    assert _outputs(requests[1].body)["c1"] == (
        f"Command blocked by PreToolUse hook: no touching allowed. Command: touch {marker}")
    payload = json.loads(seen.read_text())
    assert payload["hook_event_name"] == "PreToolUse" and payload["tool_name"] == "Bash"
    assert payload["tool_input"] == {"command": f"touch {marker}"} and payload["tool_use_id"] == "c1"
    assert payload["permission_mode"] == "bypassPermissions" and payload["cwd"] == str(codex_env.workdir)
    assert "hook: PreToolUse\n" in run.stderr and "hook: PreToolUse Blocked" in run.stderr


def test_untrusted_hooks_do_not_run_unless_trust_is_bypassed(codex_env: CodexEnv, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    command = f"{PY} -c \"open({str(marker)!r}, 'w').write('x')\""
    _hooks_json(codex_env, "UserPromptSubmit", command)
    with FakeResponsesServer([{"output": [message("fine")]}]) as server:
        codex_env.write_config(server.base_url)
        quiet = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
        assert quiet.returncode == 0 and not marker.exists()
        assert "hook:" not in quiet.stderr
        loud = codex_env.run("exec", "--dangerously-bypass-hook-trust", "hi", stdin=subprocess.DEVNULL)
    assert loud.returncode == 0, loud.stderr
    assert marker.exists()
    assert "`--dangerously-bypass-hook-trust` is enabled" in loud.stderr


def test_modified_hook_loses_its_trust(codex_env: CodexEnv, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    command = f"{PY} -c \"open({str(marker)!r}, 'w').write('x')\""
    _hooks_json(codex_env, "UserPromptSubmit", command + " ")  # not the command that was trusted
    with FakeResponsesServer([{"output": [message("fine")]}]) as server:
        codex_env.write_config(server.base_url, extra=_trust_block(codex_env, "user_prompt_submit", command))
        run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and not marker.exists()


def test_user_prompt_submit_context_and_stop_continuation_reach_the_model(codex_env: CodexEnv,
                                                                          tmp_path: Path) -> None:
    ups = f"{PY} -c \"print('remember the milk')\""
    stop_script = _write_hook_script(tmp_path, (
        "if not payload['stop_hook_active']:\n    sys.stderr.write('also run the tests')\n    sys.exit(2)\n"))
    stop = f"{PY} {stop_script}"
    config = {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": ups}]}],
                        "Stop": [{"hooks": [{"type": "command", "command": stop}]}]}}
    (codex_env.home / "hooks.json").write_text(json.dumps(config), encoding="utf-8")
    steps = [{"output": [message("first")]}, {"output": [message("second")]}]
    with FakeResponsesServer(steps) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--dangerously-bypass-hook-trust", "hi", stdin=subprocess.DEVNULL)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "second\n"
    first_input = requests[0].body["input"]
    assert first_input[-2]["content"][0]["text"] == "hi"
    assert first_input[-1]["role"] == "developer" and first_input[-1]["content"][0]["text"] == "remember the milk"
    last = requests[1].body["input"][-1]["content"][0]["text"]
    assert last.startswith('<hook_prompt hook_run_id="stop:1:') and last.endswith(">also run the tests</hook_prompt>")


def test_notify_gets_the_turn_payload_in_exec(codex_env: CodexEnv, tmp_path: Path) -> None:
    out = tmp_path / "notify.json"
    script = tmp_path / "notify.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write(sys.argv[-1] + '\\n' + sys.argv[1])\n")
    with FakeResponsesServer([{"output": [message("Final **answer** here.")]}]) as server:
        codex_env.write_config(server.base_url, extra=f'notify = ["{PY}", "{script}", "extra-arg"]')
        run = codex_env.run("exec", "first prompt line", stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    payload_text, extra = _wait_for(out).split("\n")
    payload = json.loads(payload_text)
    assert extra == "extra-arg"
    assert list(payload) == ["type", "thread-id", "turn-id", "cwd", "client", "input-messages",
                             "last-assistant-message"]
    assert payload["type"] == "agent-turn-complete" and payload["client"] == "codex_exec"
    assert payload["input-messages"] == ["first prompt line"]
    assert payload["last-assistant-message"] == "Final **answer** here."
    assert payload["cwd"] == str(codex_env.workdir)


def _wait_for(path: Path, timeout: float = 10) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            time.sleep(0.05)
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


# ---------------------------------------------------------------------------------------------- the engine


def _engine(tmp_path: Path, event: str, command: str, *, matcher: str | None = None,
            timeout: int = 10) -> tuple[HookEngine, list[object]]:
    handler = HookHandler(event, command, tmp_path / "hooks.json", 0, 0, 0, matcher, timeout,
                          normalized={"type": "command", "command": command, "timeout": timeout, "async": False})
    reports: list[object] = []
    engine = HookEngine(DiscoveredHooks((handler,), {}), cwd=tmp_path, model="m", permission_mode="default",
                        bypass_trust=True, on_report=reports.append)
    engine.bind("thread-1", None)
    return engine, reports


def _py(code: str) -> str:
    return f"{PY} -c {json.dumps(code)}"


def test_trust_hash_follows_the_documented_algorithm(tmp_path: Path) -> None:
    handler = HookHandler("PreToolUse", "echo hi", tmp_path / "hooks.json", 2, 1, 5, "^Bash$", 30,
                          normalized={"type": "command", "command": "echo hi", "timeout": 30, "async": False})
    assert handler.trust_hash() == _trusted_hash("pre_tool_use", "echo hi", 30, "^Bash$")
    assert handler.key == f"{tmp_path / 'hooks.json'}:pre_tool_use:2:1"


def test_pre_tool_use_json_deny_and_allow_with_updated_input(tmp_path: Path) -> None:
    call = ToolCall("function", "exec_command", "c1", json.dumps({"cmd": "rm -rf x", "yield_time_ms": 10}))
    deny = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": "nope"}}
    engine, reports = _engine(tmp_path, "PreToolUse", _py(f"print({json.dumps(json.dumps(deny))})"))
    result = engine.pre_tool_use(call)
    assert result.blocked_output == "Command blocked by PreToolUse hook: nope. Command: rm -rf x"
    assert isinstance(reports[-1], HookFinished) and reports[-1].status == "blocked"
    allow = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
                                    "updatedInput": {"command": "echo safe"}}}
    engine, _ = _engine(tmp_path, "PreToolUse", _py(f"print({json.dumps(json.dumps(allow))})"))
    rewritten = engine.pre_tool_use(call)
    assert rewritten.blocked_output is None
    assert json.loads(rewritten.call.payload) == {"cmd": "echo safe", "yield_time_ms": 10}


def test_permission_request_hook_answers_before_the_person_and_its_deny_message_reaches_the_model(
    tmp_path: Path,
) -> None:
    from codex_cli import safety

    class Person:
        def __init__(self) -> None:
            self.asked: list[safety.ApprovalRequest] = []

        def request(self, req: safety.ApprovalRequest) -> safety.ReviewDecision:
            self.asked.append(req)
            return "approved"

    request = safety.ApprovalRequest("exec", "c1", tmp_path, ("bash", "-lc", "touch /x"), reason="needs it")
    seen = tmp_path / "seen.json"
    for verdict, expected in (
        ({"behavior": "deny", "message": "not on Fridays"}, "Rejected(\\\"not on Fridays\\\")"),
        ({"behavior": "deny"}, "Rejected(\\\"PermissionRequest hook denied approval\\\")"),
        ({"behavior": "allow"}, None),
    ):
        answer = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": verdict}}
        code = (f"import json,sys; open({str(seen)!r},'w').write(sys.stdin.read()); "
                f"print({json.dumps(json.dumps(answer))})")
        engine, _ = _engine(tmp_path, "PermissionRequest", _py(code))
        person = Person()
        decision = hooks_mod.HookedApprover(person, engine).request(request)
        result = safety.decision_result(decision, kind="exec", sandboxed=True)
        if expected is None:
            assert result.action == "run"
        else:
            assert result.action == "reject" and result.output is not None and expected in result.output, result
        assert person.asked == []  # the hook answered
        sent = json.loads(seen.read_text(encoding="utf-8"))
        assert sent["tool_name"] == "Bash" and sent["tool_input"] == {"command": "touch /x", "description": "needs it"}
    patch = safety.decision_result(safety.Refusal("no patches"), kind="patch", sandboxed=True)
    assert patch.output == "patch rejected: no patches"


def test_matchers_invalid_output_timeouts_and_plain_failures_fail_open(tmp_path: Path) -> None:
    call = ToolCall("custom", "apply_patch", "p1", "*** Begin Patch\n*** End Patch\n")
    engine, reports = _engine(tmp_path, "PreToolUse", _py("import sys; sys.exit(2)"), matcher="^Bash$")
    assert engine.pre_tool_use(call).blocked_output is None and reports == []  # matcher does not apply
    engine, reports = _engine(tmp_path, "PreToolUse", _py("import sys; sys.stderr.write('x'); sys.exit(2)"),
                              matcher="Edit|Write")
    assert engine.pre_tool_use(call).blocked_output is not None  # apply_patch answers to Edit and Write
    engine, reports = _engine(tmp_path, "PreToolUse", _py("print('{not json')"))
    assert engine.pre_tool_use(call).blocked_output is None
    assert isinstance(reports[-1], HookFinished)
    assert reports[-1].detail == "hook returned invalid pre-tool-use JSON output"
    engine, reports = _engine(tmp_path, "PreToolUse", _py("import time; time.sleep(5)"), timeout=1)
    assert engine.pre_tool_use(call).blocked_output is None
    assert isinstance(reports[-1], HookFinished) and reports[-1].detail == "hook timed out after 1s"
    engine, reports = _engine(tmp_path, "PreToolUse", _py("import sys; sys.exit(2)"))
    assert engine.pre_tool_use(call).blocked_output is None
    assert "did not write a blocking reason" in str(getattr(reports[-1], "detail", ""))
    engine, reports = _engine(tmp_path, "PreToolUse", _py("import sys; sys.exit(3)"))
    assert engine.pre_tool_use(call).blocked_output is None
    assert isinstance(reports[-1], HookFinished) and reports[-1].detail == "hook exited with code 3"


def test_post_tool_use_block_replaces_the_output_and_adds_context(tmp_path: Path) -> None:
    answer = {"decision": "block", "reason": "output hidden",
              "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "be careful"}}
    engine, _ = _engine(tmp_path, "PostToolUse", _py(f"print({json.dumps(json.dumps(answer))})"))
    call = ToolCall("function", "exec_command", "c1", json.dumps({"cmd": "ls"}))
    output, context = engine.post_tool_use(call, call.output_item("secret"))
    assert output["output"] == "output hidden"
    assert [item["role"] for item in context] == ["developer"]


def test_session_start_runs_once_per_bound_thread(tmp_path: Path) -> None:
    engine, _ = _engine(tmp_path, "SessionStart", _py("print('ctx')"), matcher="startup")
    first = engine.session_start_items()
    assert [item["content"][0]["text"] for item in first] == ["ctx"]
    assert engine.session_start_items() == []


def test_discovery_reads_hooks_json_and_config_and_warns_on_bad_files(tmp_path: Path) -> None:
    from codex_cli.config import CliOverrides, load_config

    home = tmp_path / "home"
    home.mkdir()
    (home / "hooks.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [{"command": "a"}]}]}, "bogus": 1}))
    (home / "config.toml").write_text('[[hooks.SessionEnd]]\n[[hooks.SessionEnd.hooks]]\ncommand = "b"\n'
                                      "timeout = 10\n")
    config = load_config(CliOverrides(cwd=tmp_path), env={"CODEX_HOME": str(home), "HOME": str(tmp_path)})
    found = hooks_mod.discover_hooks(config)
    assert [h.command for h in found.handlers] == ["b"]
    assert found.handlers[0].timeout == 3
    assert any("unknown field `bogus`" in w for w in found.warnings)
    assert any("clamping SessionEnd hook timeout to 3s" in w for w in found.warnings)
    hooks_mod.trust_handlers(home / "config.toml", found.handlers, found.state)
    again = hooks_mod.discover_hooks(
        load_config(CliOverrides(cwd=tmp_path), env={"CODEX_HOME": str(home), "HOME": str(tmp_path)}))
    assert again.status(again.handlers[0]) == "trusted"


# ---------------------------------------------------------------------------------------------- notifications


def test_desktop_sequences_and_method_resolution() -> None:
    assert notifications.desktop_sequence("osc9", "Turn done", tmux=False) == "\x1b]9;Turn done\x07"
    assert notifications.desktop_sequence("osc777", "a;b", tmux=False) == "\x1b]777;notify;Codex;a,b\x1b\\"
    assert notifications.desktop_sequence("bel", "x", tmux=False) == "\x07"
    assert notifications.desktop_sequence("osc9", "hi", tmux=True) == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    assert notifications.resolve_method("auto", {"TERM_PROGRAM": "WezTerm"}) == "osc9"
    assert notifications.resolve_method("auto", {"KITTY_WINDOW_ID": "1"}) == "osc9"
    assert notifications.resolve_method("auto", {"TERM_PROGRAM": "vscode"}) == "bel"
    assert notifications.resolve_method("auto", {"WT_SESSION": "x", "WSL_DISTRO_NAME": "Ubuntu"}) == "toast"
    assert notifications.resolve_method("osc777", {"WT_SESSION": "x", "WSL_DISTRO_NAME": "Ubuntu"}) == "osc777"


def test_wsl_windows_terminal_raises_a_powershell_toast() -> None:
    launched: list[list[str]] = []
    written: list[str] = []
    notifier = notifications.DesktopNotifier.from_config(
        {"notification_condition": "always"}, {"WT_SESSION": "1", "WSL_DISTRO_NAME": "Ubuntu"}, written.append,
        can_write=True)
    notifier.launcher = launched.append
    assert notifier.notify("agent-turn-complete", "It's done & <ok>")
    assert written == [] and launched[0][0] == "powershell.exe"
    assert "It''s done &amp; &lt;ok&gt;" in launched[0][-1]


def test_notification_filters_and_focus() -> None:
    written: list[str] = []
    notifier = notifications.DesktopNotifier.from_config(
        {"notifications": ["approval-requested"], "notification_method": "osc9"}, {}, written.append, can_write=True)
    assert not notifier.notify("agent-turn-complete", "x")
    assert not notifier.notify("approval-requested", "x")  # focused: the default condition waits for unfocused
    notifier.focused = False
    assert notifier.notify("approval-requested", "Approval requested: ls")
    assert written == ["\x1b]9;Approval requested: ls\x07"]
    plain = notifications.DesktopNotifier.from_config({"notification_condition": "always"}, {}, written.append,
                                                      can_write=False)
    assert not plain.notify("agent-turn-complete", "x")  # no escape codes on a piped stdout
