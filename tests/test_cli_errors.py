"""Bad inputs tried as a new user would: each gives one clear message and the right exit code, quickly."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_malformed_config_names_file_line_and_column(codex_env: CodexEnv) -> None:
    config = codex_env.home / "config.toml"
    config.write_text('model = "gpt-5.5"\nsandbox_mode = \n', encoding="utf-8")
    run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1
    assert f"{config}:2:" in run.stderr


def test_unknown_sandbox_mode_flag_is_a_usage_error(codex_env: CodexEnv) -> None:
    run = codex_env.run("exec", "-s", "sometimes", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert "sometimes" in run.stderr


def test_unknown_sandbox_mode_in_config_names_key_and_choices(codex_env: CodexEnv) -> None:
    config = codex_env.home / "config.toml"
    config.write_text('sandbox_mode = "sometimes"\n', encoding="utf-8")
    run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1
    assert "sandbox_mode" in run.stderr and "workspace-write" in run.stderr and str(config) in run.stderr


def test_missing_api_key_says_how_to_set_it(codex_env: CodexEnv) -> None:
    codex_env.write_config("http://127.0.0.1:9/v1")
    del codex_env.env["MOCK_API_KEY"]
    run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1
    assert "Missing environment variable: `MOCK_API_KEY`." in run.stderr


def test_no_credentials_for_openai_says_how_to_log_in(codex_env: CodexEnv) -> None:
    run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1
    assert "codex login" in run.stderr and "OPENAI_API_KEY" in run.stderr


def test_unreachable_base_url_fails_fast_naming_the_url(codex_env: CodexEnv) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    codex_env.write_config(url)
    started = time.monotonic()
    run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL, timeout=30)
    assert time.monotonic() - started < 10
    assert run.returncode == 1
    assert "127.0.0.1" in run.stderr and "/v1/responses" in run.stderr


def test_stream_dropped_midway_is_retried_then_fails_clearly(codex_env: CodexEnv) -> None:
    drop = {"events": [{"type": "response.created", "response": {"id": "r"}},
                       {"type": "response.output_text.delta", "delta": "par"}], "drop_after": 2}
    with FakeResponsesServer([drop]) as server:
        codex_env.write_config(server.base_url)
        started = time.monotonic()
        run = codex_env.run("exec", "--json", "hi", stdin=subprocess.DEVNULL)
        attempts = len(server.requests)
    assert time.monotonic() - started < 15
    assert run.returncode == 1
    events = run.events()
    assert any(e["type"] == "error" and str(e["message"]).startswith("Reconnecting... 1/1") for e in events)
    assert events[-1]["type"] == "turn.failed"
    assert "stream disconnected before completion" in events[-1]["error"]["message"]
    assert attempts == 2


def test_dropped_stream_recovers_on_retry(codex_env: CodexEnv) -> None:
    drop = {"events": [{"type": "response.created", "response": {"id": "r"}}], "drop_after": 1}
    with FakeResponsesServer([drop, {"output": [message("recovered")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "recovered\n"
    assert "Reconnecting... 1/1" in run.stderr


def test_429_with_retry_after_is_retried_once(codex_env: CodexEnv) -> None:
    script = [{"status": 429, "body": "slow down", "headers": {"Retry-After": "1"}}, {"output": [message("ok")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        started = time.monotonic()
        run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert run.stdout == "ok\n"
    assert 1.0 <= elapsed < 10


def test_429_forever_fails_with_clear_message_not_endless(codex_env: CodexEnv) -> None:
    script = [{"status": 429, "body": "slow down", "headers": {"Retry-After": "1"}}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        started = time.monotonic()
        run = codex_env.run("exec", "hi", stdin=subprocess.DEVNULL)
    assert time.monotonic() - started < 10
    assert run.returncode == 1
    assert "429" in run.stderr


def test_bad_output_schema_file_fails_before_any_request(codex_env: CodexEnv) -> None:
    bad = codex_env.workdir.parent / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--output-schema", str(bad), "hi", stdin=subprocess.DEVNULL)
        assert server.requests == []
    assert run.returncode == 1
    assert f"Output schema file {bad} is not valid JSON" in run.stderr


def test_bad_last_message_path_fails_before_any_request(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "-o", "/nonexistent/dir/out.txt", "hi", stdin=subprocess.DEVNULL)
        assert server.requests == []
    assert run.returncode == 1
    # Printed like every other error: "Error: " first, then the hint.
    assert run.stderr.endswith('Error: Failed to open last message file "/nonexistent/dir/out.txt": No such file or '
                               "directory.\nCheck that the directory exists and is writable.\n"), run.stderr


def test_secret_key_never_appears_in_error_text(codex_env: CodexEnv) -> None:
    codex_env.env["MOCK_API_KEY"] = "sk-supersecret-value-1234567890"
    with FakeResponsesServer([{"status": 401, "body": '{"error":{"message":"bad key"}}'}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--json", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1
    assert "sk-supersecret" not in run.stderr + run.stdout
    assert "401" in run.stdout


# codex-rs 0.169's commands (`codex --help`, with `a` for apply, and two hidden internal ones) that this CLI lacks.
CODEX_RS_ONLY = ("agents", "app-server", "apply", "a", "cloud", "exec-server", "migrate-nfs-db", "migrate-rollouts",
                 "plugin", "queue", "remote-control", "responses-api-proxy", "stdio-to-uds")


@pytest.mark.parametrize("words", [["cloud"], ["agents"], ["apply"], ["a"], ["-m", "gpt-5.5", "plugin", "list"],
                                   ["migrate-rollouts", "--help"], ["help", "queue"]])
def test_a_codex_rs_command_this_cli_lacks_is_refused_at_once(codex_env: CodexEnv, words: list[str]) -> None:
    started = time.monotonic()
    run = codex_env.run(*words, stdin=subprocess.DEVNULL)
    name = next(w for w in words if not w.startswith("-") and w not in ("gpt-5.5", "help"))
    shown = "apply" if name == "a" else name
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"Error: `codex {shown}` is not available in this implementation"), run.stderr
    assert run.stdout == ""
    assert time.monotonic() - started < 10


def test_help_lists_the_codex_rs_commands_this_cli_lacks(codex_env: CodexEnv) -> None:
    shown = codex_env.run("--help")
    assert shown.returncode == 0
    epilog = shown.stdout.split("not available in this implementation", 1)[1]
    for name in CODEX_RS_ONLY:
        if name != "a":
            assert name in epilog


@pytest.mark.parametrize(("words", "prompt"), [(["cloud stuff"], "cloud stuff"), (["clouds"], "clouds"),
                                               (["--", "cloud"], "cloud"), (["exec", "cloud"], "cloud")])
def test_a_prompt_that_is_not_exactly_such_a_name_stays_a_prompt(words: list[str], prompt: str) -> None:
    from codex_cli import cli_parser

    parser = cli_parser.exec_parser() if words[0] == "exec" else cli_parser.build_parser()
    assert parser.parse_args(words).prompt == prompt


@pytest.mark.parametrize("words", [["exec", "-a", "never", "hi"], ["exec", "hi", "--ask-for-approval", "never"],
                                   ["exec", "--ask-for-approval=never", "hi"], ["exec", "-anever", "hi"],
                                   ["e", "-a", "never", "hi"], ["review", "-a", "never"]])
def test_an_option_of_codex_after_exec_names_the_real_cause(codex_env: CodexEnv, words: list[str]) -> None:
    run = codex_env.run(*words, stdin=subprocess.DEVNULL)
    command = "exec" if words[0] == "e" else words[0]
    assert run.returncode == 2
    given = next(word for word in words if word.startswith("-"))
    assert run.stderr.startswith(f"Error: unexpected argument '{given}' for `codex {command}`: "), run.stderr
    assert f"-a/--ask-for-approval is an option of `codex`, not of `codex {command}`: put it before `{words[0]}`" \
        in run.stderr, run.stderr
    assert f"`codex {command}` asks nobody for approval" in run.stderr
    assert "unrecognized arguments" not in run.stderr


def test_an_option_of_exec_after_resume_names_the_real_cause(codex_env: CodexEnv) -> None:
    run = codex_env.run("exec", "resume", "--last", "-s", "workspace-write", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert "-s/--sandbox is an option of `codex exec`, not of `codex exec resume`: put it before `resume`" \
        in run.stderr, run.stderr
