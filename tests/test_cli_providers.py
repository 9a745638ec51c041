"""Providers and model features end to end: the chat wire, --oss, images, web search, model families, features."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, CodexRun, make_codex_env  # noqa: E402
from fake_responses import (  # noqa: E402
    FakeResponsesServer,
    RecordedRequest,
    apply_patch_call,
    exec_call,
    function_call,
    message,
)
from test_images import png_bytes  # noqa: E402

PATCH = """*** Begin Patch
*** Update File: README.md
@@
-hello
+hello edited
*** Add File: notes/new.txt
+brand new
*** End Patch
"""
CHAT = 'wire_api = "chat"'


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_requests(server: FakeResponsesServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.method == "POST"]


def exec_json(env: CodexEnv, script: list[dict[str, Any]], *args: str, provider: str = "",
              extra: str = "") -> tuple[CodexRun, list[RecordedRequest]]:  # fmt: skip
    with FakeResponsesServer(script) as server:
        env.write_config(server.base_url, extra=extra, provider_extra=provider)
        run = env.run("exec", "--json", *args, stdin=subprocess.DEVNULL)
        return run, model_requests(server)


def normalized(run: CodexRun, workdir: Path) -> list[dict[str, Any]]:
    """The JSONL with what differs between two runs (thread id, work dir) replaced."""
    text = run.stdout.replace(str(workdir), "<work>")
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    for event in events:
        if event["type"] == "thread.started":
            event["thread_id"] = "<thread>"
    return events


# -- the chat wire -----------------------------------------------------------------------------


def test_chat_wire_exec_jsonl_matches_responses_wire(tmp_path: Path) -> None:
    script = [
        {"output": [exec_call("echo split-across-deltas; echo second-line", "call_split")], "fragment": 3},
        {"output": [exec_call("echo para-a", "call_a"), exec_call("echo para-b", "call_b")], "interleave": True},
        {"output": [apply_patch_call(PATCH, "call_patch")]},
        {"output": [message("All done: edited README.md.")]},
    ]
    runs = {}
    for wire in ("responses", "chat"):
        (tmp_path / wire).mkdir()
        env = make_codex_env(tmp_path / wire)
        run, requests = exec_json(env, script, "-s", "danger-full-access", "do it",
                                  provider=CHAT if wire == "chat" else "")  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert len(requests) == 4 and requests[0].path.endswith("/chat/completions" if wire == "chat" else "/responses")
        assert (env.workdir / "notes/new.txt").read_text() == "brand new\n"
        runs[wire] = (normalized(run, env.workdir), requests)
    assert runs["chat"][0] == runs["responses"][0]
    items = [(e["type"], e["item"]["type"]) for e in runs["chat"][0] if "item" in e]
    assert items.count(("item.completed", "command_execution")) == 3
    assert runs["chat"][0][-1]["usage"]["input_tokens"] == 400  # chat usage arrives in the last chunk

    chat = [r.body for r in runs["chat"][1]]
    assert chat[0]["stream_options"] == {"include_usage": True} and "input" not in chat[0]
    functions = {t["function"]["name"]: t["function"] for t in chat[0]["tools"]}
    assert functions["apply_patch"]["parameters"]["required"] == ["input"] and "view_image" in functions
    second = chat[2]["messages"]  # after the parallel calls
    assistant = [m for m in second if m["role"] == "assistant"][-1]
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_a", "call_b"]
    tools = [m for m in second if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["call_split", "call_a", "call_b"]
    assert "para-a" in tools[1]["content"] and "para-b" in tools[2]["content"]
    patch_call = [m for m in chat[3]["messages"] if m["role"] == "assistant"][-1]["tool_calls"][0]
    assert json.loads(patch_call["function"]["arguments"]) == {"input": PATCH}
    assert chat[3]["messages"][-1]["content"].startswith("Exit code: 0")


def test_chat_wire_azure_style_query_params_and_api_key_header(codex_env: CodexEnv) -> None:
    codex_env.env["AZURE_KEY"] = "az-secret"
    provider = (
        f'{CHAT}\nquery_params = {{ "api-version" = "2025-04-01-preview" }}\n'
        'env_http_headers = { "api-key" = "AZURE_KEY" }'
    )
    run, requests = exec_json(codex_env, [{"output": [message("hi")]}], "hello", provider=provider)
    assert run.returncode == 0, run.stderr
    assert requests[0].path == "/v1/chat/completions" and requests[0].query == {"api-version": "2025-04-01-preview"}
    assert requests[0].headers["api-key"] == "az-secret"
    assert not any(t.get("type") == "web_search" for t in requests[0].body["tools"])


def test_chat_wire_compaction_sends_turn_metadata_header(codex_env: CodexEnv) -> None:
    big = {"input_tokens": 5000, "output_tokens": 10, "total_tokens": 5010}
    script = [
        {"output": [exec_call("echo hi", "c1")], "usage": big},
        {"output": [message("SUMMARY")]},
        {"output": [message("done")]},
    ]
    run, requests = exec_json(codex_env, script, "-s", "danger-full-access", "go", provider=CHAT,
                              extra="model_auto_compact_token_limit = 3000")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "x-codex-turn-metadata" not in requests[0].headers
    metadata = json.loads(requests[1].headers["x-codex-turn-metadata"])
    assert metadata["request_kind"] == "compaction" and metadata["window_number"] == 0
    assert "tools" not in requests[1].body  # compaction offers no tools
    assert requests[2].headers["x-codex-window-id"].endswith(":1")
    assert requests[2].body["messages"][-1]["content"].endswith("SUMMARY")


# -- --oss and local providers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "url"),
    [
        (["--oss"], {"CODEX_OSS_PORT": "PORT"}, "http://localhost:PORT/v1"),
        (["--local-provider", "lmstudio"], {"CODEX_OSS_BASE_URL": "http://127.0.0.1:PORT/v1"}, "http://127.0.0.1:PORT/v1"),
    ],
    ids=["oss-ollama", "local-provider-lmstudio"],
)
def test_oss_without_local_server_names_the_url_within_two_seconds(
    codex_env: CodexEnv, args: list[str], env: dict[str, str], url: str
) -> None:
    port = str(closed_port())
    codex_env.env.update({key: value.replace("PORT", port) for key, value in env.items()})
    (codex_env.home / "config.toml").write_text("", encoding="utf-8")
    started = time.monotonic()
    run = codex_env.run("exec", *args, "hi", stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert f"No local model server is answering at {url.replace('PORT', port)}" in run.stderr
    assert ("`lmstudio`" if "lmstudio" in args else "`ollama`") in run.stderr
    assert elapsed < 2.0, elapsed


def test_oss_default_provider_names_ollama_url(codex_env: CodexEnv) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("localhost", 11434)) == 0:
            pytest.skip("something listens on localhost:11434")
    (codex_env.home / "config.toml").write_text("", encoding="utf-8")
    run = codex_env.run("exec", "--oss", "hi", stdin=subprocess.DEVNULL)
    assert run.returncode == 1 and "http://localhost:11434/v1" in run.stderr and "ollama serve" in run.stderr


def test_oss_with_server_uses_responses_wire_and_oss_model(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("local hi")]}]) as server:
        codex_env.env["CODEX_OSS_BASE_URL"] = server.base_url
        (codex_env.home / "config.toml").write_text('oss_provider = "lmstudio"\n', encoding="utf-8")
        run = codex_env.run("exec", "--json", "--oss", "hi", stdin=subprocess.DEVNULL)
        requests = model_requests(server)
    assert run.returncode == 0, run.stderr
    body = requests[0].body
    assert requests[0].path == "/v1/responses" and body["model"] == "openai/gpt-oss-20b"
    assert "authorization" not in requests[0].headers
    assert not any(t.get("type") == "web_search" for t in body["tools"])  # a local server cannot search


# -- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", ["responses", "chat"])
def test_image_flag_reaches_request_as_input_image(codex_env: CodexEnv, wire: str) -> None:
    (codex_env.workdir / "red.png").write_bytes(png_bytes())
    run, requests = exec_json(codex_env, [{"output": [message("a red pixel")]}], "-i", "red.png", "describe",
                              provider=CHAT if wire == "chat" else "")  # fmt: skip
    assert run.returncode == 0, run.stderr
    if wire == "responses":
        parts = requests[0].body["input"][-1]["content"]
        assert [p["type"] for p in parts] == ["input_text", "input_image", "input_text", "input_text"]
        assert parts[1]["image_url"].startswith("data:image/png;base64,") and parts[1]["detail"] == "original"
        assert parts[0]["text"] == f'<image name=[Image #1] path="{codex_env.workdir / "red.png"}">'
        assert parts[-1]["text"] == "describe"
    else:
        parts = requests[0].body["messages"][-1]["content"]  # the context and the prompt, merged into one message
        images = [p for p in parts if p["type"] == "image_url"]
        assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")
        assert parts[-1] == {"type": "text", "text": "describe"} and parts[-2] == {"type": "text", "text": "</image>"}


@pytest.mark.parametrize("case", ["too-large", "text-as-png"])
def test_image_flag_refuses_bad_files_before_any_request(codex_env: CodexEnv, case: str) -> None:
    path = codex_env.workdir / ("huge.png" if case == "too-large" else "notes.png")
    if case == "too-large":
        with open(path, "wb") as file:
            file.write(png_bytes())
            file.truncate(50 * 1024 * 1024)
    else:
        path.write_text("these are notes, not pixels\n", encoding="utf-8")
    run, requests = exec_json(codex_env, [{"output": [message("never")]}], "-i", path.name, "describe")
    assert run.returncode == 1 and requests == [] and run.stdout == ""
    expected = "is too large (50.0 MB)" if case == "too-large" else "is not a supported image"
    assert expected in run.stderr and str(path) in run.stderr
    assert "Traceback" not in run.stderr


def test_view_image_tool_returns_input_image_output(codex_env: CodexEnv) -> None:
    (codex_env.workdir / "shot.png").write_bytes(png_bytes())
    script = [
        {"output": [function_call("view_image", {"path": "shot.png"}, "v1"),
                    function_call("view_image", {"path": "README.md"}, "v2")]},
        {"output": [message("seen")]},
    ]  # fmt: skip
    run, requests = exec_json(codex_env, script, "look")
    assert run.returncode == 0, run.stderr
    assert "view_image" in [t.get("name") for t in requests[0].body["tools"]]
    outputs = {i["call_id"]: i["output"] for i in requests[1].body["input"] if i["type"] == "function_call_output"}
    assert outputs["v1"][0]["type"] == "input_image" and outputs["v1"][0]["detail"] == "original"
    assert outputs["v1"][0]["image_url"].startswith("data:image/png;base64,")
    assert "is not a supported image" in outputs["v2"]


def test_view_image_feature_disabled_removes_the_tool(codex_env: CodexEnv) -> None:
    run, requests = exec_json(codex_env, [{"output": [message("ok")]}], "--disable", "view_image", "hi")
    assert run.returncode == 0, run.stderr
    assert "view_image" not in [t.get("name") for t in requests[0].body["tools"]]


# -- web search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "extra", "tool"),
    [
        ([], "", {"type": "web_search", "external_web_access": False}),
        (["--search"], "", {"type": "web_search", "external_web_access": True}),
        (["-s", "danger-full-access"], 'web_search = "cached"', {"type": "web_search", "external_web_access": True}),
        ([], 'web_search = "indexed"', {"type": "web_search", "external_web_access": True, "indexed_web_access": True}),
        ([], "[tools]\nweb_search = false", None),
        ([], '[tools.web_search]\ncontext_size = "high"\nallowed_domains = ["example.com"]',
         {"type": "web_search", "external_web_access": False, "search_context_size": "high",
          "filters": {"allowed_domains": ["example.com"]}}),
    ],
    ids=["default-cached", "search-flag", "full-access", "indexed", "tools-false", "table"],
)
def test_web_search_tool_follows_mode(codex_env: CodexEnv, args: list[str], extra: str, tool: Any) -> None:
    run, requests = exec_json(codex_env, [{"output": [message("ok")]}], *args, "hi", extra=extra)
    assert run.returncode == 0, run.stderr
    found = [t for t in requests[0].body["tools"] if t.get("type") == "web_search"]
    assert found == ([] if tool is None else [tool])
    if found:
        assert requests[0].body["tools"][-1] == tool  # the hosted tool comes last


def test_web_search_call_item_in_exec_json_and_human_output(codex_env: CodexEnv) -> None:
    search = {"type": "web_search_call", "id": "ws_1", "status": "completed",
              "action": {"type": "search", "query": "rust serde flatten"}}  # fmt: skip
    script = [{"output": [search, message("Found it.")]}]
    run, requests = exec_json(codex_env, script, "--search", "look it up")
    assert run.returncode == 0, run.stderr
    events = run.events()
    web = [e for e in events if e.get("item", {}).get("type") == "web_search"]
    assert [e["type"] for e in web] == ["item.started", "item.completed"]
    assert web[0]["item"] == {"id": "item_0", "type": "web_search", "query": "rust serde flatten",
                              "action": {"type": "search", "query": "rust serde flatten"}}  # fmt: skip
    assert events[-2]["item"] == {"id": "item_1", "type": "agent_message", "text": "Found it."}
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        human = codex_env.run("exec", "--color", "never", "look it up", stdin=subprocess.DEVNULL)
    assert "web search rust serde flatten" in human.stderr


# -- model families ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "extra", "reasoning", "text"),
    [
        ("gpt-5.5", "", {"effort": "medium"}, {"verbosity": "low"}),
        ("gpt-5.5", 'model_reasoning_effort = "high"\nmodel_reasoning_summary = "detailed"\nmodel_verbosity = "high"',
         {"effort": "high", "summary": "detailed"}, {"verbosity": "high"}),
        ("gpt-5-codex", 'model_verbosity = "high"', {"effort": "medium"}, None),
        ("llama3.1:8b", 'model_reasoning_summary = "detailed"\nmodel_verbosity = "high"', None, None),
        ("my-gateway-model", 'model_reasoning_effort = "low"', {"effort": "low"}, None),
    ],
    ids=["gpt-5.5", "gpt-5.5-configured", "codex-no-verbosity", "unknown", "unknown-effort"],
)
def test_model_family_shapes_reasoning_and_text(
    codex_env: CodexEnv, model: str, extra: str, reasoning: Any, text: Any
) -> None:
    run, requests = exec_json(codex_env, [{"output": [message("ok")]}], "-m", model, "hi", extra=extra)
    assert run.returncode == 0, run.stderr
    body = requests[0].body
    assert body.get("reasoning") == reasoning and body.get("text") == text
    assert body["include"] == (["reasoning.encrypted_content"] if reasoning else [])
    assert "warning" not in run.stderr.lower() and "metadata" not in run.stdout  # no warning for unknown models


def test_keys_codex_rs_ignores_change_nothing_and_are_named(codex_env: CodexEnv) -> None:
    """`model_supports_reasoning_summaries` and `tools.view_image` are not read by codex-rs 0.169, which says so."""
    extra = 'model_reasoning_summary = "auto"\nmodel_supports_reasoning_summaries = true\n[tools]\nview_image = false'
    run, requests = exec_json(codex_env, [{"output": [message("ok")]}], "-m", "llama3.1:8b", "hi", extra=extra)
    assert run.returncode == 0, run.stderr
    assert requests[0].body.get("reasoning") is None  # no summary for a model the table does not know
    assert "view_image" in [tool.get("name") for tool in requests[0].body["tools"]]
    [warning] = [event["item"]["message"] for event in run.events() if event.get("item", {}).get("type") == "error"]
    assert warning.startswith("Codex is ignoring 2 unrecognized configuration settings.")
    assert "`model_supports_reasoning_summaries` is ignored." in warning and "`tools.view_image` is ignored." in warning


# -- features ----------------------------------------------------------------------------------


def test_features_list_shows_what_is_implemented_and_the_rest_apart(codex_env: CodexEnv) -> None:
    (codex_env.home / "config.toml").write_text("[features]\nmemories = true\ngoals = true\n", encoding="utf-8")
    run = codex_env.run("features", "list", "--disable", "view_image", "--enable", "apply_patch_freeform")
    assert run.returncode == 0, run.stderr
    table, _, rest = run.stdout.partition("\n\n")
    # codex-rs's columns, for the features that change what this CLI does, with their state in effect.
    assert table.splitlines() == [
        "hooks                                    stable             true",
        "shell_snapshot                           stable             true",
        "shell_tool                               stable             true",
        "view_image                               stable             false",
    ]
    assert rest.startswith("Not supported here (accepted in config.toml, --enable and --disable for compatibility "
                           "with codex-rs; no effect):\n")
    unsupported = rest.split(":\n", 1)[1].replace(",", " ").split()
    # Never shown as on: neither those codex-rs turns on by default nor those turned on here.
    for name in ("browser_use", "computer_use", "apps", "goals", "shell_snapshot_v2", "memories",
                 "apply_patch_freeform", "agent_message_board"):
        assert name in unsupported
    assert unsupported == sorted(unsupported)
    assert not {"hooks", "shell_snapshot", "shell_tool", "view_image"} & set(unsupported)
    assert "true" not in rest and run.stderr == ""


def test_features_enable_disable_edit_config_and_reject_unknown(codex_env: CodexEnv) -> None:
    config = codex_env.home / "config.toml"
    config.write_text('# my settings\nmodel = "gpt-5.5"\n', encoding="utf-8")
    enabled = codex_env.run("features", "enable", "memories")
    assert enabled.stdout == "Enabled feature `memories` in config.toml.\n"
    assert enabled.stderr == "Note: `memories` is not supported here: it has no effect in this implementation.\n"
    disabled = codex_env.run("features", "disable", "codex_hooks")
    assert (disabled.stdout, disabled.stderr) == ("Disabled feature `hooks` in config.toml.\n", "")
    text = config.read_text(encoding="utf-8")
    assert text.startswith('# my settings\nmodel = "gpt-5.5"\n')
    assert "memories = true" in text and "hooks = false" in text
    bad = codex_env.run("features", "enable", "bogus")
    assert bad.returncode == 1 and "Unknown feature flag: bogus" in bad.stderr
    listed = codex_env.run("features", "list").stdout
    assert re.search(r"^hooks +stable +false$", listed, flags=re.M)
