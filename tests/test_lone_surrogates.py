"""Lone surrogates from an untrusted model: the call is answered `failed to parse function arguments: ...`, the turn
goes on, and no writer (request body, rollout, --json events, hooks, the line UI) breaks on one. Arguments nested
too deep are answered the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import (  # noqa: E402
    FakeResponsesServer,
    custom_tool_call,
    function_call,
    message,
    reasoning,
)

from codex_cli.chat_wire import ChatStreamParser, ToolNames  # noqa: E402
from codex_cli.jsoncodec import (  # noqa: E402
    _encode_stdlib,
    argument_error,
    decode_json,
    encode_json,
    replace_lone_surrogates,
)
from codex_cli.model import OutputItemDone, TextDelta, without_lone_surrogates  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PARSE_FAILED = "failed to parse function arguments: "
ESCAPED_ARGS = '{"cmd": "echo \\ud800"}'  # the JSON text of the arguments holds the escape
RAW_ARGS = '{"cmd": "echo \ud800"}'  # the SSE event holds the escape: the arguments hold the surrogate itself
DEEP_ARGS = '{"cmd": ' + "[" * 100_000 + "]" * 100_000 + "}"  # the stdlib parser would raise RecursionError


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _outputs(body: dict[str, Any]) -> dict[str, object]:
    return {
        item["call_id"]: item["output"]
        for item in body["input"]
        if item.get("type") in ("function_call_output", "custom_tool_call_output")
    }


# -- serde_json's words for the argument errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (ESCAPED_ARGS, "unexpected end of hex escape at line 1 column 21"),
        ('{"cmd": "echo \\udc00"}', "lone leading surrogate in hex escape at line 1 column 20"),
        ('{"cmd": "\\ud800\\u0041"}', "lone leading surrogate in hex escape at line 1 column 21"),
        ('{"cmd": "\\ud800\\n"}', "unexpected end of hex escape at line 1 column 17"),
        ('{"cmd": "\\ud800\\uzzzz"}', "invalid escape at line 1 column 21"),
        ('{"a":\n "é\\ud800', "EOF while parsing a string at line 2 column 10"),
        (RAW_ARGS, "invalid unicode code point at line 1 column 17"),
        ("[" * 128 + "]" * 128, "recursion limit exceeded at line 1 column 128"),
        pytest.param(DEEP_ARGS, "recursion limit exceeded at line 1 column 135", id="deep"),
        ('{"s": "\\\\"' + "[" * 500, "recursion limit exceeded at line 1 column 137"),  # after an escaped backslash
        ('{"a": "\\ud800", "b": ' + "[" * 200, "unexpected end of hex escape at line 1 column 14"),  # the first
    ],
)
def test_argument_error_words_and_places_the_problem_as_serde_json_does(payload: str, expected: str) -> None:
    assert argument_error(payload) == expected


@pytest.mark.parametrize(
    "payload",
    ['{"cmd": "echo \\ud83d\\ude00"}', '{"cmd": "\\\\ud800"}', '{"cmd": "é😀"}', '{"cmd": "\\u00e9"}', "",
     "[" * 127 + "]" * 127, '{"s": "' + "[" * 500 + '"}', '{"s": "\\"' + "[" * 500 + '"}'],
)
def test_argument_error_accepts_pairs_escaped_backslashes_and_plain_text(payload: str) -> None:
    assert argument_error(payload) is None


def test_argument_error_in_freeform_input_counts_only_surrogate_characters() -> None:
    assert argument_error("*** Begin Patch\n+x\\ud800", json_text=False) is None
    assert argument_error("[" * 500, json_text=False) is None
    expected = "invalid unicode code point at line 2 column 5"
    assert argument_error("*** Begin Patch\n+x\ud800y", json_text=False) == expected


# -- the codec: both backends write and read lone surrogates alike --------------------------------------------

SURROGATE_VALUES = [
    {"a\ud800": ["x\udcff", "é", None]},
    {"text": "lone \ud800 and paired 😀", "n": 1.5},
    ["\udfff"],
]


@pytest.mark.parametrize("value", SURROGATE_VALUES, ids=["key", "with-float", "list"])
def test_encode_json_escapes_lone_surrogates_the_same_with_and_without_msgspec(value: object) -> None:
    decode_json(b"{}")  # imports msgspec, so that encode_json uses it
    with pytest.raises(UnicodeEncodeError):
        msgspec.json.encode(value)
    encoded = encode_json(value)
    assert encoded == _encode_stdlib(value)
    assert encoded.decode("ascii" if "é" not in str(value) and "😀" not in str(value) else "utf-8")
    assert decode_json(encoded) == value == json.loads(encoded)


def test_decode_json_reads_lone_surrogate_escapes_and_deep_nesting_fails_alike_without_msgspec() -> None:
    code = (
        "import sys\n"
        "if sys.argv[1] == 'json': sys.modules['msgspec'] = None\n"
        "from codex_cli.jsoncodec import decode_json, encode_json, json_backend\n"
        "assert json_backend() == sys.argv[1], json_backend()\n"
        "value = decode_json(b'{\"a\\\\ud800\": \"x\\\\udc00y\", \"b\": \"\\\\ud83d\\\\ude00\"}')\n"
        "try:\n    decode_json(b'[' * 100000)\nexcept ValueError:\n    deep = 'ValueError'\n"
        "sys.stdout.buffer.write(encode_json([ascii(value), deep, encode_json(value).decode()]))\n"
    )
    outputs = [
        subprocess.run([sys.executable, "-c", code, backend], capture_output=True, cwd=ROOT, check=True).stdout
        for backend in ("json", "msgspec")
    ]
    assert outputs[0] == outputs[1]
    shown, deep, encoded = json.loads(outputs[0])
    assert shown == ascii({"a\ud800": "x\udc00y", "b": "😀"}) and deep == "ValueError"
    assert encoded == '{"a\\ud800":"x\\udc00y","b":"😀"}'


def test_replace_lone_surrogates_joins_pairs_and_replaces_the_rest() -> None:
    assert replace_lone_surrogates("a\ud83d\ude00b\ud800") == "a😀b\ufffd"
    assert replace_lone_surrogates("plain") == "plain"


def test_server_payloads_lose_lone_surrogates_except_in_tool_call_payloads() -> None:
    event = {
        "type": "response.output_item.done",
        "item": {"type": "function_call", "name": "x\ud800", "arguments": RAW_ARGS, "call_id": "c\udc00"},
    }
    cleaned = without_lone_surrogates(event)
    assert cleaned == {
        "type": "response.output_item.done",
        "item": {"type": "function_call", "name": "x\ufffd", "arguments": RAW_ARGS, "call_id": "c\ufffd"},
    }
    custom = {"type": "custom_tool_call", "input": "+\ud800", "name": "apply_patch"}
    assert without_lone_surrogates([custom, {"text": "\udfff"}]) == [custom, {"text": "\ufffd"}]


def test_chat_parser_joins_a_pair_split_across_chunks_and_keeps_argument_surrogates() -> None:
    parser = ChatStreamParser(ToolNames(freeform=frozenset({"apply_patch"})))
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "smile \ud83d"}}]},
        {"choices": [{"index": 0, "delta": {"content": "\ude00 lone \udc00"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": "c1", "type": "function", "function": {"name": "exec_command", "arguments": RAW_ARGS}},
            {"index": 1, "id": "a1", "type": "function",
             "function": {"name": "apply_patch", "arguments": '{"input": "+x\\ud800"}'}},
        ]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    events = [event for chunk in chunks for event in parser.feed(json.dumps(chunk))]
    deltas = [event.delta for event in events if isinstance(event, TextDelta)]
    assert deltas == ["smile \ufffd", "\ufffd lone \ufffd"]  # shown at once: a half pair cannot be printed
    items = [event.item for event in events if isinstance(event, OutputItemDone)]
    assert items[0]["content"][0]["text"] == "smile 😀 lone \ufffd"  # type: ignore[index]
    assert items[1]["arguments"] == RAW_ARGS
    assert items[2]["input"] == "+x\ud800"


# -- end to end -----------------------------------------------------------------------------------------------


def _first_step() -> dict[str, Any]:
    return {"output": [
        reasoning("thinking \ud800"),
        message("say \ud800 hi", phase="commentary"),
        function_call("exec_command", ESCAPED_ARGS, "c1"),
        function_call("exec_command", RAW_ARGS, "c2"),
        function_call("exec_command", DEEP_ARGS, "d1"),
        function_call("update_plan", '{"plan": [{"step": "x\\udc00", "status": "pending"}]}', "p1"),
        custom_tool_call("apply_patch", "*** Begin Patch\n*** Add File: a.txt\n+x\ud800\n*** End Patch\n", "a1"),
    ]}


EXPECTED_OUTPUTS = {
    "c1": PARSE_FAILED + "unexpected end of hex escape at line 1 column 21",
    "c2": PARSE_FAILED + "invalid unicode code point at line 1 column 17",
    "d1": PARSE_FAILED + "recursion limit exceeded at line 1 column 135",
    "p1": PARSE_FAILED + "lone leading surrogate in hex escape at line 1 column 27",
    "a1": PARSE_FAILED + "invalid unicode code point at line 3 column 5",
}


@pytest.mark.parametrize("wire", ["responses", "chat"])
def test_exec_answers_calls_with_lone_surrogates_and_the_turn_goes_on(codex_env: CodexEnv, wire: str) -> None:
    script = [_first_step(), {"output": [message("all done")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, provider_extra='wire_api = "chat"' if wire == "chat" else "")
        run = codex_env.run("exec", "--json", "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert len(requests) == 2
    second = requests[1].body
    if wire == "chat":
        outputs = {m["tool_call_id"]: m["content"] for m in second["messages"] if m["role"] == "tool"}
    else:
        outputs = _outputs(second)
        calls = {item["call_id"]: item["arguments"] for item in second["input"] if item["type"] == "function_call"}
        assert calls["c1"] == ESCAPED_ARGS and calls["c2"] == RAW_ARGS  # the history is sent back as it came
    assert outputs == EXPECTED_OUTPUTS
    assert not (codex_env.workdir / "a.txt").exists()
    events = run.events()
    texts = [e["item"].get("text") for e in events if e["type"] == "item.completed"]
    assert "say \ufffd hi" in texts and texts[-1] == "all done"
    assert events[-1]["type"] == "turn.completed"
    assert not [e for e in events if e["type"] == "item.completed" and e["item"]["type"] == "command_execution"]


def test_rollout_keeps_the_call_and_resume_sends_it_back(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([_first_step(), {"output": [message("all done")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "all done\n"
    rollout = next((codex_env.home / "sessions").rglob("rollout-*.jsonl"))
    assert "\\ud800" in rollout.read_text(encoding="utf-8")  # written as an escape: UTF-8 cannot hold it
    with FakeResponsesServer([{"output": [message("resumed")]}]) as server:
        codex_env.write_config(server.base_url)
        resumed = codex_env.run("exec", "resume", "--last", "again", stdin=subprocess.DEVNULL)
        body = server.requests[0].body
    assert resumed.returncode == 0, resumed.stderr
    calls = {item["call_id"]: item["arguments"] for item in body["input"] if item["type"] == "function_call"}
    assert calls["c1"] == ESCAPED_ARGS and calls["c2"] == RAW_ARGS
    assert _outputs(body) == EXPECTED_OUTPUTS


def test_invalid_utf8_bytes_in_the_stream_are_replaced_and_the_call_runs(codex_env: CodexEnv) -> None:
    # "\udcff" is the fake server's spelling of the raw byte 0xff, which the stream's decoder replaces.
    done = {"type": "response.output_item.done", "output_index": 0,
            "item": {"type": "function_call", "name": "exec_command", "call_id": "c1", "id": "fc_1",
                     "arguments": json.dumps({"cmd": "printf 'X%sY' A"})}}
    raw = "data: " + json.dumps(done).replace("A", "\udcff") + "\n\n"
    with FakeResponsesServer([{"events": [raw]}, {"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert "X\ufffdY" in str(_outputs(requests[1].body)["c1"])


def _line_ui_turn(codex_env: CodexEnv, script: list[Any], extra: str, *shown: str) -> list[Any]:
    """One prompt in the line UI on a terminal: every pattern of `shown` appears, and /quit ends it with 0."""
    pexpect = pytest.importorskip("pexpect")
    codex_env.env["TERM"] = "xterm-256color"
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra=extra)
        with (codex_env.home / "config.toml").open("a", encoding="utf-8") as config:  # no folder-trust question
            config.write(f'[projects."{codex_env.workdir.resolve()}"]\ntrust_level = "trusted"\n')
        child = pexpect.spawn(sys.executable, [str(ROOT / "codex.py")], cwd=str(codex_env.workdir),
                              env=codex_env.env, encoding="utf-8", dimensions=(50, 160), timeout=60)
        try:
            child.expect("› ")
            child.send("go\r")
            for pattern in shown:
                child.expect(pattern)
            child.expect("› ")
            child.send("/quit\r")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        requests = list(server.requests)
    assert child.exitstatus == 0
    return requests


def test_line_ui_shows_the_turn_and_answers_the_call(codex_env: CodexEnv) -> None:
    script = [_first_step(), {"output": [message("all done")]}]
    extra = 'approval_policy = "never"\nsandbox_mode = "danger-full-access"'
    requests = _line_ui_turn(codex_env, script, extra, "all done")
    assert _outputs(requests[1].body) == EXPECTED_OUTPUTS


# An MCP server is a boundary of its own: a lone surrogate in its answer reaches the model escaped and is shown as "?".
_LONE_MCP_SERVER = '''
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("id") is None:
        continue
    method = msg.get("method")
    if method == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "lone", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": [{"name": "lone", "description": "Lone.", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "bad \\ud800 text"}], "structuredContent": {"k": "v\\udc00"}}
    else:
        result = {}
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
'''


def test_an_mcp_answer_with_a_lone_surrogate_reaches_the_model_and_every_front_end(
    codex_env: CodexEnv, tmp_path: Path
) -> None:
    server_script = tmp_path / "lone_mcp.py"
    server_script.write_text(_LONE_MCP_SERVER, encoding="utf-8")
    mcp = f'[mcp_servers.lone]\ncommand = "{Path(sys.executable).as_posix()}"\nargs = ["{server_script.as_posix()}"]\n'
    extra = f'approval_policy = "never"\nsandbox_mode = "danger-full-access"\n{mcp}'
    script = [{"output": [function_call("lone", {}, "m1", namespace="mcp__lone")]}, {"output": [message("all done")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra=extra)
        run = codex_env.run("exec", "--json", "go", stdin=subprocess.DEVNULL, timeout=120)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    assert str(_outputs(requests[1].body)["m1"]).endswith('Output:\n{"k":"v\\udc00"}')
    completed = [e["item"] for e in run.events() if e["type"] == "item.completed"]
    (call,) = [item for item in completed if item["type"] == "mcp_tool_call"]
    assert call["result"]["content"][0]["text"] == "bad \ud800 text"
    _line_ui_turn(codex_env, script, extra, "bad \\? text", "all done")  # the surrogate shows as "?"
