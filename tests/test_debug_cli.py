"""`codex debug`: its own help, `models` (the family table as JSON), `prompt-input` (the first request's input,
checked against what `codex exec` really sends) and the sandbox checks it still routes to `codex sandbox`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def test_debug_has_its_own_help(codex_env: CodexEnv) -> None:
    for words in (["debug", "--help"], ["help", "debug"]):
        shown = codex_env.run(*words)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("usage: codex debug")
        for command in ("models", "prompt-input", "landlock", "seatbelt"):
            assert command in shown.stdout
        assert "PLATFORM [OPTIONS] -- COMMAND" not in shown.stdout  # not `codex sandbox`'s help
    missing = codex_env.run("debug")
    assert missing.returncode == 2 and "usage: codex debug" in missing.stderr


def test_debug_models_prints_the_family_table(codex_env: CodexEnv) -> None:
    for words in (["debug", "models"], ["debug", "models", "--bundled"]):
        run = codex_env.run(*words)
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        by_prefix = {entry["prefix"]: entry for entry in document["models"]}
        assert by_prefix["gpt-5.5"]["context_window"] == 272_000
        assert by_prefix["gpt-5.5"]["supports_search_tool"] is True
        assert document["fallback"]["context_window"] == 128_000
        prefixes = [entry["prefix"] for entry in document["models"]]
        assert prefixes.index("gpt-5.1-codex") < prefixes.index("gpt-5")  # the order they are matched in


def _without_ids(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{key: value for key, value in item.items() if key != "id"} for item in items]


def test_debug_prompt_input_is_what_the_first_request_sends(codex_env: CodexEnv) -> None:
    (codex_env.workdir / "AGENTS.md").write_text("ROOT RULE\n", encoding="utf-8")
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        # exec always runs with approval `never`; the interactive session reads it from the config.
        codex_env.write_config(server.base_url, extra='approval_policy = "never"')
        shown = codex_env.run("debug", "prompt-input", "hello there")
        sent = codex_env.run("exec", "--ephemeral", "hello there", stdin=subprocess.DEVNULL)
        assert sent.returncode == 0, sent.stderr
        [request] = server.response_requests
    assert shown.returncode == 0, shown.stderr
    items = json.loads(shown.stdout)
    assert _without_ids(items) == _without_ids(request.body["input"])
    assert items[-1]["content"] == [{"type": "input_text", "text": "hello there"}]
    assert any("ROOT RULE" in json.dumps(item) for item in items)
    context_only = json.loads(codex_env.run("debug", "prompt-input").stdout)
    assert _without_ids(context_only) == _without_ids(items[:-1])


def test_debug_prompt_input_needs_no_credentials(codex_env: CodexEnv) -> None:
    codex_env.write_config("http://127.0.0.1:9/v1")
    del codex_env.env["MOCK_API_KEY"]
    run = codex_env.run("debug", "prompt-input", "-c", 'sandbox_mode="workspace-write"', "hi")
    assert run.returncode == 0, run.stderr
    assert "workspace-write" in run.stdout


def test_debug_landlock_is_still_the_sandbox_check(codex_env: CodexEnv) -> None:
    shown = codex_env.run("debug", "landlock", "--help")
    assert shown.returncode == 0 and shown.stdout.startswith("usage: codex debug landlock")
