"""Tests for codex_cli.shell: real subprocesses, exact model-facing texts from reference/sandbox.md §8."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from codex_cli.shell import (
    EnvPolicy,
    ExecFailure,
    ExecRequest,
    ExecResult,
    ProcessManager,
    build_command_env,
    default_shell_name,
    default_shell_path,
    format_command_for_display,
    run_legacy_shell,
    shell_argv,
    spawn_argv,
    truncate_for_model,
)
from codex_cli.version import VERSION

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells and process groups")

BASH = shutil.which("bash") or "/bin/sh"


@pytest.fixture
def manager():
    pm = ProcessManager()
    yield pm
    pm.close()


def run(pm, command, tmp_path, *, on_output=None, cancel=None, **kwargs):
    request = ExecRequest(argv=[BASH, "-c", command], cwd=tmp_path, env=dict(os.environ), **kwargs)
    return pm.exec_command(request, on_output=on_output, cancel=cancel)


def seq_output(first, last):
    return "".join(f"{n}\n" for n in range(first, last + 1))


# ---------------------------------------------------------------- exit codes and output


@pytest.mark.parametrize(
    ("command", "code"),
    [("true", 0), ("exit 3", 3), ("nonexistent_cmd_qq", 127), ("kill -9 $$", 137), ("kill -TERM $$", 143)],
    ids=["ok", "exit3", "not-found", "sigkill", "sigterm"],
)
def test_exec_command_exit_status_reported_as_code(manager, tmp_path, command, code):
    result = run(manager, command, tmp_path)
    assert result.exit_code == code
    assert result.session_id is None
    assert f"\nProcess exited with code {code}\n" in result.to_model_text()


def test_exec_command_stdout_and_stderr_merged_in_order(manager, tmp_path):
    result = run(manager, "printf 'a\\nb\\n'; echo err >&2; echo out", tmp_path)
    assert result.output == "a\nb\nerr\nout\n"


def test_exec_command_header_has_reference_shape(manager, tmp_path):
    text = run(manager, "echo hello-from-tool; echo to-stderr >&2; exit 3", tmp_path).to_model_text()
    pattern = (
        r"Chunk ID: [0-9a-f]{6}\nWall time: \d+\.\d{4} seconds\nProcess exited with code 3\n"
        r"Original token count: 7\nOutput:\nhello-from-tool\nto-stderr\n"
    )
    assert re.fullmatch(pattern, text)


@pytest.mark.parametrize(
    ("command", "tokens"),
    [("seq 1 300", 273), ("printf 'hello world'", 3), ("printf 'abcdef'", 2), ("true", 0)],
    ids=["1092-bytes", "11-bytes", "6-bytes", "empty"],
)
def test_exec_command_token_count_is_bytes_over_four_rounded_up(manager, tmp_path, command, tokens):
    result = run(manager, command, tmp_path)
    assert result.original_token_count == tokens
    assert f"Original token count: {tokens}\n" in result.to_model_text()


def test_exec_command_invalid_utf8_replaced_and_counted_raw(manager, tmp_path):
    result = run(manager, "printf 'a\\377\\n'", tmp_path)
    assert result.output == "a\ufffd\n"
    assert result.original_token_count == 1


def test_exec_command_cwd_is_honoured(manager, tmp_path):
    assert run(manager, "pwd", tmp_path).output == f"{tmp_path.resolve()}\n"


def test_exec_command_missing_workdir_gives_reference_error(manager, tmp_path):
    request = ExecRequest(argv=[BASH, "-c", "true"], cwd=tmp_path / "nope", env=dict(os.environ))
    with pytest.raises(ExecFailure) as info:
        manager.exec_command(request)
    assert str(info.value) == (
        'exec_command failed: CreateProcess { message: "Rejected(\\"Failed to create unified exec process: '
        'No such file or directory (os error 2)\\")" }'
    )


def test_exec_command_launcher_wraps_argv(tmp_path):
    pm = ProcessManager(launcher=lambda argv: ["env", "WRAPPED=yes", *argv])
    try:
        assert run(pm, "echo $WRAPPED", tmp_path).output == "yes\n"
    finally:
        pm.close()


def test_exec_command_on_output_streams_before_exit(manager, tmp_path):
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    run(manager, "echo first; sleep 0.6; echo second", tmp_path, on_output=lambda s: seen.append((time.monotonic(), s)))
    assert "".join(chunk for _, chunk in seen) == "first\nsecond\n"
    assert seen[0][1] == "first\n" and seen[0][0] - start < 0.5


def test_exec_command_background_child_does_not_block_exit(manager, tmp_path):
    start = time.monotonic()
    result = run(manager, "sleep 30 & echo started", tmp_path)
    assert result.exit_code == 0 and result.output == "started\n"
    assert time.monotonic() - start < 3


# ---------------------------------------------------------------- truncation


def test_exec_command_seq_300_budget_50_matches_reference(manager, tmp_path):
    text = run(manager, "seq 1 300", tmp_path, max_output_tokens=50).to_model_text()
    body = text.split("Output:\n", 1)[1]
    expected = (
        "Warning: truncated output (original token count: 273)\nTotal output lines: 300\n\n"
        + seq_output(1, 36)
        + "3…223 tokens truncated…"
        + seq_output(276, 300)
    )
    assert body == expected


def test_exec_command_seq_30000_default_budget_cut_mid_line(manager, tmp_path):
    text = run(manager, "seq 1 30000", tmp_path).to_model_text()
    assert "Original token count: 42224\n" in text
    assert "Warning: truncated output (original token count: 42224)\nTotal output lines: 30000\n\n1\n" in text
    assert "\n42…32224 tokens truncated…7\n" in text
    assert text.endswith("\n30000\n")


def test_exec_command_budget_above_cap_is_capped(manager, tmp_path):
    text = run(manager, "seq 1 30000", tmp_path, max_output_tokens=100_000).to_model_text()
    assert "…32224 tokens truncated…" in text


def test_exec_command_over_capture_buffer_reports_omitted_bytes(manager, tmp_path):
    result = run(manager, "seq 1 400000", tmp_path)
    assert result.original_token_count == 672224
    assert result.omitted_bytes == 1640319
    text = result.to_model_text()
    assert "(original token count: 672224)\n... 1640319 bytes omitted ...\n\n1\n" in text
    assert "…252152 tokens truncated…" in text
    assert text.endswith("\n400000\n")


def test_truncate_for_model_under_budget_unchanged():
    assert truncate_for_model("abc\n", 1) == "abc\n"


def test_truncate_for_model_cuts_on_utf8_boundaries():
    text = "a" + "é" * 40 + "b"  # 82 bytes, 21 tokens; 6-byte head and tail would split an "é"
    assert truncate_for_model(text, 3) == (
        "Warning: truncated output (original token count: 21)\nTotal output lines: 1\n\naéé…18 tokens truncated…ééb"
    )


def test_truncate_for_model_line_count_ignores_trailing_newline():
    assert "Total output lines: 2\n" in truncate_for_model("x" * 50 + "\n" + "y" * 50 + "\n", 2)


# ---------------------------------------------------------------- sessions


def test_exec_command_long_running_becomes_session_polled_to_end(manager, tmp_path):
    loop = "for i in 1 2 3 4; do echo tick$i; sleep 1; done"
    first = run(manager, loop, tmp_path, yield_time_ms=500)
    assert first.exit_code is None and first.output == "tick1\n"
    assert isinstance(first.session_id, int)
    assert f"\nProcess running with session ID {first.session_id}\n" in first.to_model_text()
    rest = manager.write_stdin(first.session_id, "", yield_time_ms=None, max_output_tokens=None)
    assert rest.exit_code == 0 and rest.output == "tick2\ntick3\ntick4\n"
    with pytest.raises(ExecFailure, match=f"^write_stdin failed: Unknown process id {first.session_id}$"):
        manager.write_stdin(first.session_id, "", yield_time_ms=None, max_output_tokens=None)


def test_exec_command_short_yield_clamped_to_250ms(manager, tmp_path):
    result = run(manager, "sleep 5", tmp_path, yield_time_ms=50)
    assert result.exit_code is None
    assert 0.25 <= result.wall_time < 1.5


def test_write_stdin_unknown_session_gives_reference_error(manager):
    with pytest.raises(ExecFailure) as info:
        manager.write_stdin(99999, "", yield_time_ms=None, max_output_tokens=None)
    assert str(info.value) == "write_stdin failed: Unknown process id 99999"


def test_write_stdin_text_without_tty_is_refused(manager, tmp_path):
    first = run(manager, "sleep 5", tmp_path, yield_time_ms=250)
    with pytest.raises(ExecFailure) as info:
        manager.write_stdin(first.session_id, "hi\n", yield_time_ms=None, max_output_tokens=None)
    assert str(info.value) == (
        "write_stdin failed: stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
    )


def test_write_stdin_ctrl_c_without_tty_interrupts(manager, tmp_path):
    first = run(manager, "sleep 30", tmp_path, yield_time_ms=250)
    result = manager.write_stdin(first.session_id, "\u0003", yield_time_ms=2000, max_output_tokens=None)
    assert result.exit_code == 130


def test_exec_command_tty_uses_crlf(manager, tmp_path):
    result = run(manager, "printf 'a\\nb\\n'; echo err >&2", tmp_path, tty=True)
    assert result.output == "a\r\nb\r\nerr\r\n"
    assert result.original_token_count == 3


def test_write_stdin_tty_input_is_echoed(manager, tmp_path):
    first = run(manager, "read x; echo got $x", tmp_path, tty=True, yield_time_ms=300)
    assert first.exit_code is None
    result = manager.write_stdin(first.session_id, "hello\n", yield_time_ms=2000, max_output_tokens=None)
    assert result.output == "hello\r\ngot hello\r\n"
    assert result.exit_code == 0


def test_exec_command_tty_has_24x80_terminal(manager, tmp_path):
    assert run(manager, "stty size", tmp_path, tty=True).output == "24 80\r\n"


def test_exec_command_cancel_kills_promptly(manager, tmp_path):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    result = run(manager, "echo started; sleep 30", tmp_path, cancel=cancel)
    assert time.monotonic() - start < 1.0
    assert result.output == "started\n"
    assert result.exit_code == 137


def test_process_manager_close_kills_live_sessions(tmp_path):
    pm = ProcessManager()
    first = run(pm, "echo $$; sleep 30", tmp_path, yield_time_ms=300)
    pid = int(first.output.strip())
    pm.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_exec_result_running_state_text():
    result = ExecResult(output="x\n", exit_code=None, session_id=71606, wall_time=0.5011, original_token_count=1)
    text = result.to_model_text()
    assert text.endswith(
        "\nWall time: 0.5011 seconds\nProcess running with session ID 71606\nOriginal token count: 1\nOutput:\nx\n"
    )


# ---------------------------------------------------------------- environment


BASE_ENV = {
    "PATH": "/usr/bin",
    "HOME": "/home/u",
    "FOO_API_KEY": "k",
    "MY_SECRET_X": "s",
    "GH_TOKEN": "t",
    "PASSWORD_Z": "p",
    "PLAIN_VAR": "1",
    "QQA": "1",
    "ZQQ": "1",
    "XAY": "1",
    "XY": "1",
}


def env_for(policy, **kwargs):
    options = {"thread_id": "thr", "call_id": "call_1", "network_disabled": False, **kwargs}
    return build_command_env(policy, BASE_ENV, **options)


def test_env_policy_default_inherits_all_including_secrets():
    env = env_for(EnvPolicy())
    for name in BASE_ENV:
        assert name in env


def test_env_policy_default_excludes_when_enabled_drop_key_secret_token():
    env = env_for(EnvPolicy(ignore_default_excludes=False))
    assert not {"FOO_API_KEY", "MY_SECRET_X", "GH_TOKEN"} & env.keys()
    assert env["PASSWORD_Z"] == "p"


def test_env_policy_inherit_core_keeps_only_core_vars():
    env = env_for(EnvPolicy(inherit="core"))
    assert env["HOME"] == "/home/u" and env["PATH"] == "/usr/bin"
    assert "PLAIN_VAR" not in env and "FOO_API_KEY" not in env


def test_env_policy_inherit_none_starts_empty():
    env = env_for(EnvPolicy(inherit="none"))
    assert "PATH" not in env and "HOME" not in env
    assert env["TERM"] == "dumb"


def test_env_policy_unknown_inherit_rejected():
    with pytest.raises(ValueError, match="expected one of `core`, `all`, `none`"):
        EnvPolicy(inherit="some")


def test_env_policy_exclude_globs_match_whole_name_case_insensitive():
    env = env_for(EnvPolicy(exclude=("plain*", "QQ*", "X?Y")))
    assert not {"PLAIN_VAR", "QQA", "XAY"} & env.keys()
    assert {"ZQQ", "XY"} <= env.keys()


def test_env_policy_include_only_applies_after_set():
    env = env_for(EnvPolicy(set={"A_SET": "1", "B_SET": "2"}, include_only=("PATH", "A_*")))
    assert env["A_SET"] == "1" and env["PATH"] == "/usr/bin"
    assert "B_SET" not in env and "HOME" not in env


def test_env_forced_vars_override_set():
    env = env_for(EnvPolicy(set={"TERM": "xterm", "PAGER": "less", "MINE": "v"}))
    assert env["TERM"] == "dumb" and env["PAGER"] == "cat" and env["MINE"] == "v"
    expected = {
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
        "LC_CTYPE": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "COLORTERM": "",
        "GIT_PAGER": "cat",
        "GH_PAGER": "cat",
        "CODEX_CI": "1",
        "CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS": "1",
        "CODEX_VERSION": VERSION,
        "CODEX_THREAD_ID": "thr",
        "CODEX_SESSION_ID": "thr",
        "CODEX_TOOL_CALL_ID": "call_1",
    }
    assert {k: env[k] for k in expected} == expected
    assert "CODEX_SANDBOX_NETWORK_DISABLED" not in env


def test_env_network_disabled_and_extra_path_dirs_added():
    env = env_for(EnvPolicy(), network_disabled=True, extra_path_dirs=["/opt/a", "/opt/b"])
    assert env["CODEX_SANDBOX_NETWORK_DISABLED"] == "1"
    assert env["PATH"] == os.pathsep.join(["/opt/a", "/opt/b", "/usr/bin"])


def test_env_policy_reaches_the_command(manager, tmp_path):
    env = build_command_env(
        EnvPolicy(set={"MY_VAR": "from-set"}), os.environ, thread_id="t", call_id="c", network_disabled=False
    )
    result = manager.exec_command(ExecRequest(argv=[BASH, "-c", "echo $MY_VAR $TERM"], cwd=tmp_path, env=env))
    assert result.output == "from-set dumb\n"


# ---------------------------------------------------------------- shell argv and display


def test_shell_argv_uses_shell_env_var_with_login_flag(monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/sh")
    assert shell_argv("echo hi") == ["/bin/sh", "-lc", "echo hi"]
    assert shell_argv("echo hi", login=False) == ["/bin/sh", "-c", "echo hi"]
    assert default_shell_name() == "sh"


def test_shell_argv_missing_shell_env_falls_back_to_bash(monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/nonexistent_shell")
    assert default_shell_path() == (shutil.which("bash") or "/bin/sh")
    monkeypatch.delenv("SHELL")
    assert default_shell_path() == (shutil.which("bash") or "/bin/sh")


def test_shell_argv_explicit_shell_resolved_via_path(monkeypatch):
    monkeypatch.setenv("SHELL", "/bin/sh")
    assert shell_argv("true", shell="sh") == [shutil.which("sh"), "-lc", "true"]
    assert shell_argv("true", shell="zsh_not_installed_qq") == ["/bin/sh", "-lc", "true"]


def test_format_command_for_display_quotes_like_reference():
    assert format_command_for_display(["/bin/bash", "-lc", "echo hi from shell && ls"]) == (
        "/bin/bash -lc 'echo hi from shell && ls'"
    )
    assert format_command_for_display(["/bin/bash", "-lc", "false"]) == "/bin/bash -lc false"


# ---------------------------------------------------------------- legacy shell tool


def test_legacy_shell_returns_json_with_metadata(tmp_path):
    text, code = run_legacy_shell([BASH, "-c", "pwd; echo err >&2; exit 4"], tmp_path, dict(os.environ), None)
    assert code == 4
    payload = json.loads(text)
    assert payload["output"] == f"{tmp_path.resolve()}\nerr\n"
    assert payload["metadata"]["exit_code"] == 4
    assert isinstance(payload["metadata"]["duration_seconds"], float)
    assert list(payload) == ["output", "metadata"]


def test_legacy_shell_timeout_kills_group(tmp_path):
    start = time.monotonic()
    text, code = run_legacy_shell([BASH, "-c", "echo before; sleep 30"], tmp_path, dict(os.environ), 300)
    assert time.monotonic() - start < 2
    assert code == 124
    assert json.loads(text)["output"] == "command timed out after 300 milliseconds\nbefore\n"


def test_legacy_shell_output_truncated_like_exec_command(tmp_path):
    text, code = run_legacy_shell(["seq", "1", "30000"], tmp_path, dict(os.environ), None)
    assert code == 0
    assert "\n42…32224 tokens truncated…7\n" in json.loads(text)["output"]


def test_legacy_shell_missing_program_raises(tmp_path):
    with pytest.raises(ExecFailure, match="^execution error: No such file or directory"):
        run_legacy_shell(["no_such_program_qq"], tmp_path, dict(os.environ), None)


def _executables(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return directory


def test_windows_default_shell_is_powershell_never_path_bash(monkeypatch, tmp_path):
    # Windows is simulated: the selection logic is platform-independent apart from sys.platform.
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("SHELL", raising=False)
    monkeypatch.setenv("SystemRoot", str(tmp_path / "nowindows"))
    monkeypatch.setenv("COMSPEC", "C:/Windows/System32/cmd.exe")
    monkeypatch.setenv("PATHEXT", ".exe")  # shutil.which looks names up the Windows way under win32
    monkeypatch.chdir(tmp_path)
    bin_dir = _executables(tmp_path / "bin", "bash.exe", "pwsh.exe", "powershell.exe")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert default_shell_path() == str(bin_dir / "pwsh.exe")  # PowerShell 7 first
    (bin_dir / "pwsh.exe").unlink()
    assert default_shell_path() == str(bin_dir / "powershell.exe")  # then Windows PowerShell on PATH
    (bin_dir / "powershell.exe").unlink()
    system_ps = _executables(tmp_path / "nowindows" / "System32" / "WindowsPowerShell" / "v1.0", "powershell.exe")
    assert default_shell_path() == str(system_ps / "powershell.exe")  # then its fixed place
    (system_ps / "powershell.exe").unlink()
    assert default_shell_path() == "C:/Windows/System32/cmd.exe"  # WSL's bash.exe on PATH is never picked
    monkeypatch.setenv("SHELL", str(bin_dir / "bash.exe"))  # Git Bash (or cmd) when SHELL names it
    assert default_shell_path() == str(bin_dir / "bash.exe")


def test_windows_shell_argv_forms_and_utf8_output(monkeypatch, tmp_path):
    bin_dir = _executables(tmp_path / "bin", "pwsh.exe", "cmd.exe")
    monkeypatch.setenv("PATH", str(bin_dir))
    pwsh, cmd = str(bin_dir / "pwsh.exe"), str(bin_dir / "cmd.exe")
    assert shell_argv("dir", shell="cmd.exe") == [cmd, "/c", "dir"]
    assert shell_argv("Get-ChildItem", shell="pwsh.exe") == [pwsh, "-Command", "Get-ChildItem"]
    assert shell_argv("ls", shell="pwsh.exe", login=False) == [pwsh, "-NoProfile", "-Command", "ls"]
    # What is started switches PowerShell's pipe output to UTF-8 on Windows only; approvals and the
    # displayed command keep the model's text.
    started = spawn_argv([pwsh, "-Command", "Get-ChildItem"], platform="win32")
    assert started == [pwsh, "-Command", "[Console]::OutputEncoding=[System.Text.Encoding]::UTF8; Get-ChildItem"]
    assert spawn_argv(["C:\\Tools\\PowerShell.EXE", "-NoProfile", "-command", "ls"], platform="win32")[-1].startswith(
        "[Console]::OutputEncoding"
    )
    assert spawn_argv([pwsh, "-Command", "ls"], platform="linux") == [pwsh, "-Command", "ls"]
    assert spawn_argv([cmd, "/c", "dir"], platform="win32") == [cmd, "/c", "dir"]
    assert spawn_argv(["/bin/bash", "-lc", "-Command"], platform="win32") == ["/bin/bash", "-lc", "-Command"]


# -- the history's budget for any tool output (shell.cap_tool_output) ------------------------------------


def test_cap_tool_output_keeps_what_fits_and_cuts_text_in_the_middle():
    from codex_cli.shell import cap_tool_output

    assert cap_tool_output("x" * 40, 10) == "x" * 40
    cut = cap_tool_output("a" * 30 + "b" * 30, 10)  # 60 bytes = 15 tokens; 40 bytes kept around the marker
    assert cut == "a" * 20 + "…5 tokens truncated…" + "b" * 20
    assert cap_tool_output("é" * 30, 5).startswith("é" * 5 + "…")  # never half a character


def test_cap_tool_output_shares_the_budget_between_items_in_order():
    from codex_cli.shell import cap_tool_output

    image = {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}
    items = [{"type": "input_text", "text": "h" * 8}, image, {"type": "input_text", "text": "t" * 100},
             {"type": "input_text", "text": "later"}, {"type": "input_text", "text": "later too"}]
    capped = cap_tool_output(items, 12)
    assert capped[:2] == items[:2]
    assert capped[2] == {"type": "input_text", "text": "t" * 20 + "…15 tokens truncated…" + "t" * 20}
    assert capped[3:] == [{"type": "input_text", "text": "[omitted 2 text items ...]"}]
    assert cap_tool_output(items[:2], 12) == items[:2]


def test_tool_output_budget_follows_the_model_and_the_config():
    from codex_cli.model_family import tool_output_budget

    assert tool_output_budget("gpt-5.5") == 12_000  # 48 000 bytes, as codex-rs lets reach gpt-5.5
    assert tool_output_budget("my-local-model") == 3_000  # 12 000 bytes for an unknown model
    assert tool_output_budget("gpt-5.5", 1000) == 1_200
    assert tool_output_budget("my-local-model", 1000) == 1_200
