"""The MCP client against real peers: SDK servers over stdio and streamable HTTP (plain and TLS), plus a
hand-written stdio server for edge cases. Pure helpers (names, schemas, config) are checked against mcp.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_cli.errors import ConfigError, McpError
from codex_cli.mcp_client import (
    McpConnectionManager,
    format_status_lines,
    parse_mcp_servers,
    startup_grace_sec,
)
from codex_cli.mcp_tools import (
    SchemaError,
    format_duration,
    namespace_names,
    rewrite_input_schema,
    tool_model_names,
)
from codex_cli.protocol import McpToolCallItem, item_to_dict

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "mcp"
PROBE = [sys.executable, str(DATA / "probe_server.py")]
MINIMAL = [sys.executable, str(DATA / "minimal_server.py")]
SCHEMAS = [sys.executable, str(DATA / "schema_server.py")]
sys.path.insert(0, str(ROOT / "scripts"))

_PROXY_VARS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


def stdio(argv: list[str], **extra: object) -> dict[str, object]:
    return {"command": argv[0], "args": argv[1:], **extra}


def start(raw: dict[str, dict[str, object]], **kwargs: object) -> tuple[McpConnectionManager, list[str]]:
    warnings: list[str] = []
    servers = parse_mcp_servers(raw, config_path=Path("config.toml"))
    manager = McpConnectionManager.start(servers, on_warning=warnings.append, **kwargs)  # type: ignore[arg-type]
    return manager, warnings


def call(manager: McpConnectionManager, namespace: str | None, name: str, args: object = "", **kwargs: object):
    payload = args if isinstance(args, str) else json.dumps(args)
    kwargs.setdefault("sandbox_mode", "danger-full-access")
    return manager.call_tool(namespace, name, payload, **kwargs)  # type: ignore[arg-type]


def header_ok(text: str) -> bool:
    return text.startswith("Wall time: ") and text.split("\n")[0].endswith(" seconds") and "\nOutput:" in text


# ---------------------------------------------------------------------------------------------------------- stdio


@pytest.fixture(scope="module")
def stdio_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpConnectionManager]:
    log = tmp_path_factory.mktemp("mcp") / "mini.log"
    env = dict(os.environ, MCP_SECRET="s3cret", FROM_VARS="copied")
    raw = {
        "probe": stdio(PROBE, required=True, env_vars=["FROM_VARS"], env={"EXTRA": "x", "LANG": "C.override"}),
        "mini": stdio([*MINIMAL, "--pages", "--log", str(log)], required=True, tool_timeout_sec=0.5),
        "mini_prompt": stdio(
            MINIMAL, required=True, default_tools_approval_mode="prompt", tools={"custom": {"approval_mode": "approve"}}
        ),
        "mini_approve": stdio(MINIMAL, required=True, default_tools_approval_mode="approve"),
        "filtered": stdio(MINIMAL, required=True, enabled_tools=["echo", "slow", "custom"], disabled_tools=["slow"]),
        "off": stdio(["/no/such/binary"], enabled=False),
    }
    manager, warnings = start(raw, env=env)
    assert warnings == []
    manager.mini_log = log  # type: ignore[attr-defined]
    yield manager
    manager.close()


def test_tool_specs_offer_one_sorted_namespace_per_ready_server(stdio_manager: McpConnectionManager) -> None:
    specs = stdio_manager.tool_specs()
    assert [s["name"] for s in specs] == [
        "mcp__filtered",
        "mcp__mini",
        "mcp__mini_approve",
        "mcp__mini_prompt",
        "mcp__probe",
    ]
    probe = specs[-1]
    assert probe["type"] == "namespace" and probe["description"] == "Tools in the mcp__probe namespace."
    names = [t["name"] for t in probe["tools"]]
    assert names == sorted(names) and "echo" in names
    echo = next(t for t in probe["tools"] if t["name"] == "echo")
    assert echo == {
        "type": "function", "name": "echo", "description": "Echo back the given text.", "strict": False,
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    }  # fmt: skip


def test_paginated_tools_list_is_concatenated_and_odd_names_sanitised(stdio_manager: McpConnectionManager) -> None:
    mini = next(s for s in stdio_manager.tool_specs() if s["name"] == "mcp__mini")
    assert [t["name"] for t in mini["tools"]] == ["custom", "echo", "odd_name_with_spaces", "slow"]
    log = [json.loads(line) for line in stdio_manager.mini_log.read_text().splitlines()]  # type: ignore[attr-defined]
    init = log[0]
    assert init["method"] == "initialize" and init["id"] == 0
    assert init["params"]["protocolVersion"] == "2025-06-18"
    assert init["params"]["clientInfo"]["name"] == "codex-mcp-client"
    assert init["params"]["capabilities"]["elicitation"] == {"form": {}, "url": {}}
    assert [m.get("method") for m in log[1:4]] == ["notifications/initialized", "tools/list", "tools/list"]
    assert log[3]["params"]["cursor"] == "p1"


def test_enabled_then_disabled_tools_filter_raw_names(stdio_manager: McpConnectionManager) -> None:
    filtered = next(s for s in stdio_manager.tool_specs() if s["name"] == "mcp__filtered")
    assert [t["name"] for t in filtered["tools"]] == ["custom", "echo"]
    assert not stdio_manager.handles("mcp__filtered", "slow")


def test_structured_content_becomes_a_compact_json_string(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__probe", "add", {"a": 40, "b": 2}, call_id="call_1")
    assert isinstance(outcome.model_output, str) and header_ok(outcome.model_output)
    assert outcome.model_output.endswith('\nOutput:\n{"total":42,"note":"sum"}')
    assert outcome.result_for_event is not None
    assert outcome.result_for_event["structured_content"] == {"total": 42, "note": "sum"}
    assert (outcome.status, outcome.server, outcome.tool, outcome.arguments) == (
        "completed",
        "probe",
        "add",
        {"a": 40, "b": 2},
    )


def test_error_result_keeps_the_array_form_and_marks_the_item_failed(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__probe", "fail", "")
    assert isinstance(outcome.model_output, list)
    assert header_ok(outcome.model_output[0]["text"])
    assert outcome.model_output[1:] == [{"type": "input_text", "text": "Error executing tool fail: boom: nope"}]
    assert outcome.is_error and outcome.error is None and outcome.status == "failed"
    item = item_to_dict(outcome.item("item_3"))
    assert item == {
        "id": "item_3", "type": "mcp_tool_call", "server": "probe", "tool": "fail", "arguments": None,
        "result": {"content": [{"type": "text", "text": "Error executing tool fail: boom: nope"}],
                   "structured_content": None},
        "error": None, "status": "failed",
    }  # fmt: skip


def test_image_blocks_become_input_images(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__probe", "picture", "{}")
    assert isinstance(outcome.model_output, list)
    assert outcome.model_output[1] == {"type": "input_text", "text": "here is an image"}
    image = outcome.model_output[2]
    assert image["type"] == "input_image" and image["detail"] == "high"
    assert image["image_url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_custom_results_audio_resources_and_bad_images(stdio_manager: McpConnectionManager) -> None:
    result = {
        "content": [
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"},
            {"type": "image", "data": "not base64!", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///y.txt", "mimeType": "text/plain", "text": "t"}},
        ],
    }
    outcome = call(stdio_manager, "mcp__mini", "custom", {"result": result})
    assert [item["text"] for item in outcome.model_output[1:]] == [  # type: ignore[index]
        "<audio content omitted because you do not support audio input>",
        "image content omitted because it could not be processed",
        '{"type":"resource","resource":{"uri":"file:///y.txt","mimeType":"text/plain","text":"t"}}',
    ]
    assert outcome.result_for_event["content"][0] == {  # type: ignore[index]
        "type": "text",
        "text": "<audio content omitted because you do not support audio input>",
    }
    structured_error = {
        "content": [{"type": "text", "text": "x"}],
        "structuredContent": {"k": "v", "n": 3},
        "isError": True,
    }
    outcome = call(stdio_manager, "mcp__mini", "custom", {"result": structured_error})
    assert isinstance(outcome.model_output, str) and outcome.model_output.endswith('\n{"k":"v","n":3}')
    assert outcome.status == "failed"


def test_empty_arguments_are_omitted_and_raw_names_are_sent(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__mini", "odd_name_with_spaces", "", call_id="call_9")
    sent = json.loads(outcome.model_output[1]["text"])  # type: ignore[index]
    assert sent["name"] == "odd.name with-spaces" and "arguments" not in sent
    assert sent["_meta"]["callId"] == "call_9" and isinstance(sent["_meta"]["progressToken"], int)


def test_invalid_json_arguments_never_reach_the_server(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__probe", "echo", "{not json")
    assert outcome.model_output[1] == {  # type: ignore[index]
        "type": "input_text",
        "text": "err: Expecting property name enclosed in double quotes at line 1 column 2",
    }
    assert outcome.status == "failed" and outcome.arguments is None


def test_unknown_tools_and_flat_names_are_not_handled(stdio_manager: McpConnectionManager) -> None:
    assert stdio_manager.handles("mcp__probe", "echo")
    assert not stdio_manager.handles("mcp__probe", "nosuchtool")
    assert not stdio_manager.handles(None, "mcp__probe__echo")
    assert not stdio_manager.handles("mcp__off", "echo")
    assert stdio_manager.describe_call("mcp__probe", "nosuchtool", "{}") is None


def test_describe_call_gives_the_started_item(stdio_manager: McpConnectionManager) -> None:
    target = stdio_manager.describe_call("mcp__mini", "odd_name_with_spaces", '{"a":1}')
    assert target is not None
    assert target.item("item_0") == McpToolCallItem("item_0", "mini", "odd.name with-spaces", {"a": 1})
    assert item_to_dict(target.item("item_0")) == {
        "id": "item_0", "type": "mcp_tool_call", "server": "mini", "tool": "odd.name with-spaces",
        "arguments": {"a": 1}, "result": None, "error": None, "status": "in_progress",
    }  # fmt: skip


def test_stdio_servers_get_a_whitelisted_environment(stdio_manager: McpConnectionManager) -> None:
    names = ["PATH", "MCP_SECRET", "FROM_VARS", "EXTRA", "LANG"]
    outcome = call(stdio_manager, "mcp__probe", "show_env", {"names": names})
    seen = json.loads(outcome.model_output[1]["text"])  # type: ignore[index]
    assert seen["PATH"] == os.environ["PATH"]
    assert seen["MCP_SECRET"] is None  # not whitelisted, not in env_vars
    assert (seen["FROM_VARS"], seen["EXTRA"], seen["LANG"]) == ("copied", "x", "C.override")


def test_elicitation_requests_are_declined(stdio_manager: McpConnectionManager) -> None:
    outcome = call(stdio_manager, "mcp__probe", "ask")
    assert outcome.model_output.endswith('\n{"result":"decline"}')  # type: ignore[union-attr]


def test_resource_tools_list_and_read(stdio_manager: McpConnectionManager) -> None:
    assert [s["name"] for s in stdio_manager.resource_tool_specs()] == [
        "list_mcp_resources",
        "list_mcp_resource_templates",
        "read_mcp_resource",
    ]
    listed = call(stdio_manager, None, "list_mcp_resources", {})
    assert json.loads(listed.model_output) == {"resources": [{  # type: ignore[arg-type]
        "server": "probe", "description": "A greeting", "mimeType": "text/plain", "name": "hello", "uri": "memo://hello"
    }]}  # fmt: skip
    assert listed.server == "codex"
    read = call(stdio_manager, None, "read_mcp_resource", {"server": "probe", "uri": "memo://hello"})
    assert json.loads(read.model_output)["contents"][0]["text"] == "Hello from resource"  # type: ignore[arg-type]
    missing = call(stdio_manager, None, "read_mcp_resource", {"server": "nosuch", "uri": "x"})
    assert missing.model_output == "unknown MCP server 'nosuch'"


@pytest.mark.parametrize(
    ("namespace", "tool", "sandbox", "runs"),
    [
        ("mcp__probe", "echo", "read-only", True),  # readOnlyHint
        ("mcp__probe", "add", "read-only", False),  # not read-only: needs approval
        ("mcp__probe", "add", "workspace-write", False),
        ("mcp__probe", "add", "danger-full-access", True),
        ("mcp__mini_prompt", "echo", "read-only", False),  # prompt asks even for read-only tools
        ("mcp__mini_prompt", "custom", "read-only", True),  # per-tool approve overrides the server default
        ("mcp__mini_approve", "odd_name_with_spaces", "read-only", True),
    ],
)
def test_approval_follows_sandbox_annotations_and_modes(
    stdio_manager: McpConnectionManager, namespace: str, tool: str, sandbox: str, runs: bool
) -> None:
    outcome = call(
        stdio_manager, namespace, tool, {"a": 1, "text": "x"} if tool != "custom" else {}, sandbox_mode=sandbox
    )
    if runs:
        assert outcome.error is None
    else:
        assert outcome.error == "MCP tool call requires approval, but approval policy is never"
        assert outcome.model_output[1]["text"] == outcome.error  # type: ignore[index]
        assert item_to_dict(outcome.item("i"))["error"] == {"message": outcome.error}


def test_ask_approval_callback_decides(stdio_manager: McpConnectionManager) -> None:
    asked = []
    approved = call(stdio_manager, "mcp__probe", "add", {"a": 1}, sandbox_mode="read-only",
                    ask_approval=lambda target: asked.append(target.tool) or True)  # fmt: skip
    assert approved.error is None and asked == ["add"]
    rejected = call(
        stdio_manager, "mcp__probe", "add", {"a": 1}, sandbox_mode="read-only", ask_approval=lambda t: False
    )
    assert rejected.error == "MCP tool call was rejected by the user"
    assert stdio_manager.tool_approval_mode("mini_prompt", "custom") == "approve"
    assert stdio_manager.tool_approval_mode("probe", "add") == "auto"


def test_tool_timeout_sends_cancelled_and_the_next_call_goes_out_at_once(stdio_manager: McpConnectionManager) -> None:
    started = time.monotonic()
    outcome = call(stdio_manager, "mcp__mini", "slow", {"seconds": 3})
    assert time.monotonic() - started < 2
    assert outcome.error == (
        "tool call error: tool call failed for `mini/slow`\n\nCaused by:\n    timed out awaiting tools/call after 500ms"
    )
    assert outcome.model_output[1]["text"] == outcome.error and outcome.result_for_event is None  # type: ignore[index]
    assert call(stdio_manager, "mcp__mini", "echo", {"text": "next"}).error is None
    log = [json.loads(line) for line in stdio_manager.mini_log.read_text().splitlines()]  # type: ignore[attr-defined]
    slow_id = next(m["id"] for m in log if m.get("params", {}).get("name") == "slow")
    cancelled = [m for m in log if m.get("method") == "notifications/cancelled"]
    assert cancelled == [{"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": slow_id, "reason": "MCP request cancelled by caller"}}]  # fmt: skip


def test_cancel_event_interrupts_a_running_call(stdio_manager: McpConnectionManager) -> None:
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    outcome = call(stdio_manager, "mcp__probe", "slow", {"seconds": 10}, cancel=cancel)
    assert time.monotonic() - started < 2
    assert outcome.error is not None and "cancelled by the user" in outcome.error


def test_status_lists_every_server(stdio_manager: McpConnectionManager) -> None:
    statuses = {s.name: s for s in stdio_manager.list_status()}
    assert statuses["off"].state == "disabled" and statuses["probe"].state == "connected"
    assert statuses["filtered"].tools == ("custom", "echo")
    lines = format_status_lines(stdio_manager.list_status())
    assert "• filtered: connected (2 tools)" in lines and "• off: disabled (0 tools)" in lines


# ---------------------------------------------------------------------------------------------------------- failures


def test_crashing_optional_server_is_reported_once_and_the_rest_start() -> None:
    manager, warnings = start({"bad": stdio([*MINIMAL, "--exit", "3"]), "good": stdio(MINIMAL)}, grace_sec=5)
    try:
        assert warnings == [
            "MCP client for `bad` failed to start: MCP startup failed: handshaking with MCP server failed: "
            "connection closed: initialize response (the server exited with code 3; last stderr line: "
            "minimal: fatal start-up error)"
        ]
        assert [s["name"] for s in manager.tool_specs()] == ["mcp__good"]
        assert not manager.handles("mcp__bad", "echo")
    finally:
        manager.close()
    assert len(warnings) == 1


def test_sdk_server_crashing_at_start_is_a_clear_warning() -> None:
    manager, warnings = start({"probe": stdio([*PROBE, "--crash"])}, grace_sec=10)
    manager.close()
    assert len(warnings) == 1 and "exited with code 3" in warnings[0] and "refusing to start" in warnings[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/binary"], "failed to launch `/no/such/binary`: No such file or directory (os error 2)"),
        ([*MINIMAL, "--garbage"], "handshaking with MCP server failed: connection closed: initialize response"),
    ],
    ids=["missing-command", "garbage-reply"],
)
def test_required_server_failure_stops_the_session(argv: list[str], message: str) -> None:
    with pytest.raises(McpError) as info:
        start({"req": stdio(argv, required=True), "other": stdio(MINIMAL)})
    assert info.value.message.startswith(f"required MCP servers failed to initialize: req: {message}")
    assert info.value.hint is not None and "required = false" in info.value.hint


def test_hanging_optional_server_does_not_hold_up_the_session_and_is_killed() -> None:
    started = time.monotonic()
    manager, warnings = start({"hangs": stdio([*MINIMAL, "--hang"], startup_timeout_sec=1)}, grace_sec=0.2)
    try:
        assert time.monotonic() - started < 0.8
        assert warnings == [] and manager.list_status()[0].state == "starting"
        assert manager.wait_ready(5)
        deadline = time.monotonic() + 5
        while not warnings and time.monotonic() < deadline:
            time.sleep(0.05)
        assert warnings == [
            "MCP client for `hangs` timed out after 1 seconds. Add or adjust `startup_timeout_sec` in your "
            "config.toml:\n[mcp_servers.hangs]\nstartup_timeout_sec = XX"
        ]
        proc = manager._servers["hangs"]._transport.proc  # type: ignore[union-attr]
        proc.wait(timeout=5)  # the hung child was stopped
    finally:
        manager.close()


def test_hanging_required_server_fails_after_its_startup_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(McpError, match=r"hangs: timed out handshaking with MCP server after 1\.5s"):
        start({"hangs": stdio([*MINIMAL, "--hang"], startup_timeout_sec=1.5, required=True)})
    assert 1.4 < time.monotonic() - started < 4


def test_slow_optional_server_joins_later_requests() -> None:
    manager, _ = start({"slow": stdio([*MINIMAL, "--delay", "0.8"])}, grace_sec=0.1)
    try:
        assert manager.tool_specs() == []
        assert manager.wait_ready(5)
        assert [s["name"] for s in manager.tool_specs()] == ["mcp__slow"]
    finally:
        manager.close()


def test_invalid_server_name_fails_only_that_server() -> None:
    manager, warnings = start({"sp ace": stdio(MINIMAL), "ok": stdio(MINIMAL)}, grace_sec=5)
    manager.close()
    assert warnings == [
        "MCP client for `sp ace` failed to start: MCP startup failed: Invalid MCP server name 'sp ace': "
        "must match pattern ^[a-zA-Z0-9_:@/.-]+$"
    ]


def test_a_server_that_dies_after_start_reports_the_exit_on_the_next_call() -> None:
    manager, _ = start({"mini": stdio(MINIMAL, required=True)})
    try:
        manager._servers["mini"]._transport.proc.kill()  # type: ignore[union-attr]
        manager._servers["mini"]._transport.lines.join(5)  # type: ignore[union-attr]
        outcome = call(manager, "mcp__mini", "echo", {"text": "x"})
        assert outcome.error is not None and "connection closed" in outcome.error
        assert manager.list_status()[0].state == "failed"
    finally:
        manager.close()


def test_five_slow_servers_start_concurrently() -> None:
    from bench_mcp_start import measure

    assert measure(servers=5, delay=1.0) < 1.5


# ---------------------------------------------------------------------------------------------------------- HTTP


@pytest.fixture
def clean_tls_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This machine exports SSL_CERT_FILE/SSL_CERT_DIR; the TLS tests decide the trust roots themselves."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "CODEX_CA_CERTIFICATE", *_PROXY_VARS):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    files = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    return files


def _http_server(*flags: str) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen([*PROBE, "--http", *flags], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    assert line.startswith("PORT "), line
    return proc, int(line.split()[1])


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    proc, port = _http_server("--bearer", "t0ken")
    yield port
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def https_port(tls_files: dict[str, Path]) -> Iterator[int]:
    proc, port = _http_server("--certfile", str(tls_files["cert"]), "--keyfile", str(tls_files["key"]))
    yield port
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()  # type: ignore[union-attr]


def test_streamable_http_server_lists_and_calls_tools(clean_tls_env: pytest.MonkeyPatch, http_port: int) -> None:
    raw = {"web": {"url": f"http://127.0.0.1:{http_port}/mcp", "bearer_token_env_var": "WEB_TOKEN",
                   "required": True, "tool_timeout_sec": 1}}  # fmt: skip
    manager, _ = start(raw, env={"WEB_TOKEN": "t0ken"})
    try:
        assert "echo" in [t["name"] for t in manager.tool_specs()[0]["tools"]]  # type: ignore[index, union-attr]
        outcome = call(manager, "mcp__web", "echo", {"text": "hi"})
        assert outcome.model_output.endswith('\nOutput:\n{"result":"echo: hi"}')  # type: ignore[union-attr]
        assert call(manager, "mcp__web", "ask").model_output.endswith('{"result":"decline"}')  # type: ignore[union-attr]
        assert manager._servers["web"]._transport.session_id  # type: ignore[union-attr]
        timed_out = call(manager, "mcp__web", "slow", {"seconds": 5})
        assert timed_out.error is not None and timed_out.error.endswith("timed out awaiting tools/call after 1s")
        assert call(manager, "mcp__web", "echo", {"text": "again"}).error is None
    finally:
        started = time.monotonic()
        manager.close()
        assert time.monotonic() - started < 4


def test_missing_or_wrong_bearer_token_is_a_clear_failure(clean_tls_env: pytest.MonkeyPatch, http_port: int) -> None:
    url = f"http://127.0.0.1:{http_port}/mcp"
    manager, warnings = start({"web": {"url": url, "bearer_token_env_var": "NOPE"}}, env={}, grace_sec=5)
    manager.close()
    assert warnings == [
        "MCP client for `web` failed to start: MCP startup failed: "
        "Environment variable NOPE for MCP server 'web' is not set"
    ]
    manager, warnings = start({"web": {"url": url, "bearer_token_env_var": "T"}}, env={"T": "wrong"}, grace_sec=5)
    manager.close()
    assert len(warnings) == 1 and "HTTP 401" in warnings[0]


def test_https_server_with_runtime_ca_works_through_codex_ca_certificate(
    clean_tls_env: pytest.MonkeyPatch, tls_files: dict[str, Path], https_port: int
) -> None:
    clean_tls_env.setenv("CODEX_CA_CERTIFICATE", str(tls_files["ca"]))
    manager, _ = start({"tls": {"url": f"https://127.0.0.1:{https_port}/mcp", "required": True}})
    try:
        outcome = call(manager, "mcp__tls", "echo", {"text": "secure"})
        assert outcome.model_output.endswith('{"result":"echo: secure"}')  # type: ignore[union-attr]
    finally:
        manager.close()


def test_https_server_without_the_ca_fails_with_a_tls_message(
    clean_tls_env: pytest.MonkeyPatch, https_port: int
) -> None:
    manager, warnings = start({"tls": {"url": f"https://127.0.0.1:{https_port}/mcp"}}, grace_sec=10)
    manager.close()
    assert len(warnings) == 1
    assert "TLS certificate verification failed" in warnings[0] and "CODEX_CA_CERTIFICATE" in warnings[0]


def test_bad_ca_bundle_fails_only_the_http_server(
    clean_tls_env: pytest.MonkeyPatch, tmp_path: Path, https_port: int
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    clean_tls_env.setenv("CODEX_CA_CERTIFICATE", str(garbage))
    raw = {"tls": {"url": f"https://127.0.0.1:{https_port}/mcp"}, "local": stdio(MINIMAL)}
    manager, warnings = start(raw, grace_sec=10)
    manager.close()
    assert len(warnings) == 1 and warnings[0].startswith("MCP client for `tls` failed to start")
    assert "no certificates found in PEM file" in warnings[0] and "CODEX_CA_CERTIFICATE" in warnings[0]


def test_unreachable_http_server_is_a_clear_warning(clean_tls_env: pytest.MonkeyPatch) -> None:
    manager, warnings = start({"down": {"url": "http://127.0.0.1:9/mcp"}}, grace_sec=10)
    manager.close()
    assert len(warnings) == 1 and "127.0.0.1:9" in warnings[0]


# -------------------------------------------------------------------------------------------------- pure helpers


def test_namespace_and_tool_names_match_the_reference_vectors() -> None:
    assert namespace_names(["my.server", "my_server", "probe"]) == {
        "my.server": "mcp__my_server_84cd56981196", "my_server": "mcp__my_server_b7840dcbfd2d", "probe": "mcp__probe"
    }  # fmt: skip
    assert namespace_names(["Upper-Case_srv", "ünïcode"]) == {
        "Upper-Case_srv": "mcp__Upper_Case_srv", "ünïcode": "mcp___n_code"
    }  # fmt: skip
    names = tool_model_names(
        "probe", "mcp__probe", ["q" * 116, "q" * 117, "z" * 130, "a.b", "a_b", "a-b", "Tool Name!"]
    )
    assert names["q" * 116] == "q" * 116
    assert names["q" * 117] == "q" * 103 + "_927bf3005c99"
    assert names["z" * 130] == "z" * 103 + "_cb709ffc0c2b"
    assert (names["a.b"], names["a_b"], names["a-b"]) == ("a_b_63fea63ec0ce", "a_b_48a0348d7be9", "a_b_025ebcc3a9a2")
    assert names["Tool Name!"] == "Tool_Name_"
    long_server = "s" * 70
    assert tool_model_names(long_server, "mcp__" + long_server, ["w" * 60]) == {"w" * 60: "w" * 38 + "_94b93496f927"}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {
                "title": "T",
                "$schema": "x",
                "properties": {"a": {"type": "integer", "title": "A", "default": 1, "minimum": 0}},
            },
            {"type": "object", "properties": {"a": {"type": "integer"}}},
        ),
        (
            {"type": "object", "properties": {"d": {"description": "only a description"}}},
            {"type": "object", "properties": {"d": {}}},
        ),
        (
            {"properties": {"e": {"enum": [1, "two", None]}, "c": {"const": "fixed"}}},
            {
                "type": "object",
                "properties": {
                    "c": {"type": "string", "enum": ["fixed"]},
                    "e": {"type": "string", "enum": [1, "two", None]},
                },
            },
        ),
        (
            {
                "properties": {
                    "n": {"not": {"type": "string"}},
                    "arr": {"type": "array"},
                    "u": {"type": ["string", "null"]},
                }
            },
            {
                "type": "object",
                "properties": {
                    "arr": {"type": "array", "items": {"type": "string"}},
                    "n": {},
                    "u": {"type": ["string", "null"]},
                },
            },
        ),
        (
            {
                "properties": {
                    "o": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
                    "r": {"$ref": "#/$defs/Inner"},
                },
                "required": ["o"],
                "$defs": {"Inner": {"type": "object", "title": "Inner", "properties": {}}},
            },
            {
                "type": "object",
                "properties": {
                    "o": {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}},
                    "r": {"$ref": "#/$defs/Inner"},
                },
                "required": ["o"],
                "$defs": {"Inner": {"type": "object", "properties": {}}},
            },
        ),
        (
            {"properties": {"x": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "either"}}},
            {
                "type": "object",
                "properties": {"x": {"description": "either", "anyOf": [{"type": "string"}, {"type": "null"}]}},
            },
        ),
        (None, {"type": "object", "properties": {}}),
        (  # what codex-rs 0.169 keeps, in its key order (checked against the binary)
            {
                "minItems": 1, "description": "top", "anyOf": [{"required": ["t"]}],
                "properties": {
                    "t": {"type": "array", "minItems": 2, "maxItems": 4, "uniqueItems": True, "description": "tags",
                          "items": {"type": "string", "minLength": 1}},
                    "s": {"type": "string", "minItems": 0, "maxLength": 3},
                    "w": {"anyOf": [{"type": "string"}], "additionalProperties": False, "required": ["x"],
                          "properties": {"x": {"type": "string"}}, "minItems": 1, "items": {"type": "string"},
                          "enum": ["a"], "description": "D", "type": ["object", "array"]},
                    "m": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}},
                },
            },
            {
                "type": "object", "description": "top", "minItems": 1,
                "properties": {
                    "m": {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}},
                    "s": {"type": "string", "minItems": 0},
                    "t": {"type": "array", "description": "tags", "items": {"type": "string"}, "minItems": 2},
                    "w": {"type": ["object", "array"], "description": "D", "enum": ["a"], "items": {"type": "string"},
                          "minItems": 1, "properties": {"x": {"type": "string"}}, "required": ["x"],
                          "additionalProperties": False, "anyOf": [{"type": "string"}]},
                },
                "anyOf": [{"type": "object", "properties": {}, "required": ["t"]}],
            },
        ),  # fmt: skip
        (
            {
                "properties": {
                    "f": {"format": "email"}, "n": {"minimum": 1}, "r": {"required": ["x"]}, "b": True,
                    "p": {"prefixItems": [{"type": "string"}]}, "u": {"type": ["string", "bogus", "null"]},
                    "one": {"type": ["integer"]}, "x": {"type": "bogus"}, "e": {"enum": None}, "z": {"type": []},
                },
            },
            {
                "type": "object",
                "properties": {
                    "b": {"type": "string"}, "e": {"type": "string"}, "f": {"type": "string"}, "n": {"type": "number"},
                    "one": {"type": "integer"}, "p": {"type": "array", "items": {"type": "string"}},
                    "r": {"type": "object", "properties": {}, "required": ["x"]},
                    "u": {"type": ["string", "null"]}, "x": {}, "z": {},
                },
            },
        ),  # fmt: skip
        (
            {
                "properties": {"a": {"$ref": "#/$defs/A"}, "f": {"$ref": "#/definitions/F"}},
                "$defs": {"Z": {"type": "string"}, "A": {"type": "array", "items": {"$ref": "#/$defs/B"}},
                          "B": {"type": "integer"}},
                "definitions": {"F": {"type": "string"}, "G": {"type": "string"}},
            },
            {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/A"}, "f": {"$ref": "#/definitions/F"}},
                "$defs": {"A": {"type": "array", "items": {"$ref": "#/$defs/B"}}, "B": {"type": "integer"}},
                "definitions": {"F": {"type": "string"}},
            },
        ),  # fmt: skip
    ],
    ids=["drops-keywords", "description-only", "enum-const", "not-array-union", "object-ref-defs", "any-of", "missing",
         "min-items-and-order", "inferred-types", "referenced-defs-only"],
)
def test_input_schemas_are_rewritten_to_the_small_subset(schema: object, expected: dict) -> None:
    result = rewrite_input_schema(schema)
    assert result == expected
    assert json.dumps(result) == json.dumps(expected)  # key order too


@pytest.mark.parametrize(
    "prop",
    [
        {"type": "array", "minItems": "2"}, {"type": "array", "minItems": 2.0}, {"type": "array", "minItems": -1},
        {"type": "array", "minItems": True}, {"type": "array", "minItems": 1 << 64},
        {"type": "string", "description": 5},
        {"type": "object", "required": "x"}, {"type": "object", "required": ["x", 5]}, {"type": "string", "enum": "x"},
        {"type": "object", "properties": []}, {"type": "object", "properties": {"b": 5}}, {"type": "array", "items": 5},
        {"type": "object", "additionalProperties": 5}, {"anyOf": 5}, {"oneOf": {}},
    ],
)  # fmt: skip
def test_schemas_codex_rs_cannot_read_leave_the_tool_out(prop: dict[str, object]) -> None:
    with pytest.raises(SchemaError):
        rewrite_input_schema({"type": "object", "properties": {"a": prop}})
    fine = {**prop, "minItems": None} if "minItems" in prop else {k: v for k, v in prop.items() if k == "type"}
    rewrite_input_schema({"type": "object", "properties": {"a": fine}})  # null counts as absent


def test_sdk_server_schema_and_instructions_reach_the_model_as_codex_rs_sends_them() -> None:
    # The namespace codex-rs 0.169 sent for this SDK server (model gpt-5.4: tools listed, not searched), taken from
    # the binary: minItems kept, the other validation keywords dropped, the instructions trimmed at both ends only,
    # and `broken` (minItems "2") left out.
    instructions = "  Use these tools carefully.\n\n  Second line.  \n"
    manager, warnings = start({"schemas": stdio([*SCHEMAS, "--instructions", instructions], required=True)})
    try:
        specs = manager.tool_specs()
    finally:
        manager.close()
    assert warnings == []
    expected = {
        "type": "namespace", "name": "mcp__schemas", "description": "Use these tools carefully.\n\n  Second line.",
        "tools": [{"type": "function", "name": "pick", "description": "Pick things.", "strict": False, "parameters": {
            "type": "object", "properties": {
                "count": {"type": "integer"}, "level": {"type": "integer"},
                "mapping": {"type": "object", "properties": {}, "additionalProperties": {"type": "integer"}},
                "name": {"type": "string"}, "opt": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "ratio": {"type": "number"},
                "tags": {"type": "array", "description": "Some tags", "items": {"type": "string"}, "minItems": 1},
                "unique": {"type": "array", "items": {"type": "integer"}}, "url": {"type": "string"}},
            "required": ["tags", "unique", "name", "count", "ratio", "url", "mapping"]}}],
    }  # fmt: skip
    assert specs == [expected]
    assert json.dumps(specs[0]) == json.dumps(expected)  # key order too


@pytest.mark.parametrize(
    ("sent", "description"),
    [("\u3000\t Use me.\r\n\x85", "Use me."), ("a\r\nb\t", "a\r\nb"), ("\x1fkeep\x1f", "\x1fkeep\x1f"),
     (" \n ", "Tools in the mcp__schemas namespace."), ("", "Tools in the mcp__schemas namespace.")],
)  # fmt: skip
def test_server_instructions_are_kept_as_sent_but_for_surrounding_whitespace(sent: str, description: str) -> None:
    manager, _ = start({"schemas": stdio([*SCHEMAS, f"--instructions={sent}"], required=True)})
    try:
        [spec] = manager.tool_specs()
    finally:
        manager.close()
    assert spec["description"] == description


def test_large_schemas_lose_descriptions_then_nested_schemas() -> None:
    def schema(size: int) -> dict:
        return {"type": "object", "properties": {"p": {"type": "string", "description": "d" * size}}}

    base = len(json.dumps(rewrite_input_schema(schema(0)), separators=(",", ":")))
    at_limit = schema(5000 - base)
    assert rewrite_input_schema(at_limit)["properties"]["p"]["description"]  # type: ignore[index]
    over = rewrite_input_schema(schema(5001 - base))
    assert over == {"type": "object", "properties": {"p": {"type": "string"}}}
    nested = {
        "type": "object", "required": ["mode"],
        "properties": {"inner": {"type": "object", "properties": {"a": {"type": "string"}}},
                       "choice": {"anyOf": [{"type": "string"}]}, "mode": {"type": "string", "enum": ["fast", "slow"]}},
        "$defs": {"X": {"type": "string"}},
    }  # fmt: skip
    assert rewrite_input_schema(nested, max_bytes=60) == {
        "type": "object",
        "properties": {"choice": {}, "inner": {}, "mode": {"type": "string", "enum": ["fast", "slow"]}},
        "required": ["mode"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"command": "x", "url": "http://x"}, "url is not supported for stdio in `mcp_servers.s.url`"),
        ({}, "invalid transport"),
        ({"url": "http://x", "env": {"A": "b"}}, "env is not supported for streamable_http in `mcp_servers.s.env`"),
        ({"command": "x", "http_headers": {"A": "b"}}, "http_headers is not supported for stdio"),
        ({"url": "u", "bearer_token": "t"}, "bearer_token is not supported for streamable_http"),
        ({"command": "x", "startup_timeout_sec": -1}, "value is negative in `mcp_servers.s.startup_timeout_sec`"),
        ({"command": "x", "env_vars": [{"name": "A", "source": "bogus"}]}, "unsupported env_vars source `bogus`"),
        ({"command": "x", "default_tools_approval_mode": "maybe"}, "unknown variant `maybe`"),
        ({"command": "x", "tools": {"t": {"approval_mode": "nah"}}}, "`mcp_servers.s.tools.t.approval_mode`"),
        ({"command": ["x"]}, "invalid type: expected a string in `mcp_servers.s.command`"),
        ({"command": "x", "args": "a b"}, "expected an array of strings in `mcp_servers.s.args`"),
    ],
)
def test_invalid_server_tables_name_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_mcp_servers({"s": table}, config_path=Path("/home/me/.codex/config.toml"))
    assert message in info.value.message and "/home/me/.codex/config.toml" in info.value.message


def test_server_config_defaults_and_legacy_startup_ms() -> None:
    servers = parse_mcp_servers(
        {"a": {"command": "x"}, "b": {"url": "u", "startup_timeout_ms": 2500, "tool_timeout_sec": 30},
         "c": {"command": "x", "env_vars": ["A", {"name": "B", "source": "remote"}], "enabled": False}},
        config_path=Path("c.toml"),
    )  # fmt: skip
    assert (servers["a"].effective_startup_timeout, servers["a"].effective_tool_timeout) == (30.0, 300.0)
    assert (servers["b"].startup_timeout_sec, servers["b"].tool_timeout_sec) == (2.5, 30.0)
    assert [v.to_json() for v in servers["c"].env_vars] == ["A", {"name": "B", "source": "remote"}]
    assert not servers["c"].enabled and servers["b"].transport == "streamable_http"


def test_durations_and_grace_read_like_codex() -> None:
    assert [format_duration(s) for s in (2.0, 2.5, 300.0, 0.5)] == ["2s", "2.5s", "300s", "500ms"]
    assert startup_grace_sec({}) == 1.0
    assert startup_grace_sec({"mcp_optional_startup_grace_ms": 250}) == 0.25


def test_tool_search_ranks_by_shared_words() -> None:
    from codex_cli.tool_search import rank, tokens

    assert tokens("read_mcp_resource getFileText v2") == ["read", "mcp", "resource", "get", "file", "text", "v2"]
    documents = ["mcp__probe echo Echo back the given text text", "mcp__probe add Add two numbers a b",
                 "mcp__probe picture Return an image with a caption text", "mcp__web fetch Fetch a URL"]
    assert rank("echo text", documents) == [0, 2]  # both share "text"; echo also matches by name
    assert rank("add numbers", documents)[0] == 1
    assert rank("nothing alike", documents) == []
    assert rank("", documents) == [] and rank("echo", []) == []
