"""`codex mcp-server` in subprocesses: the official `mcp` SDK client, raw JSON-RPC lines, and the MCP Inspector."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.extension import NotificationBinding
from mcp.client.stdio import stdio_client
from pydantic import BaseModel, ConfigDict, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, ROOT, CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, apply_patch_call, exec_call, message  # noqa: E402

from codex_cli.mcp_server.codex_tools import (  # noqa: E402
    ToolArgumentError,
    parse_codex_args,
    patch_elicitation,
    review_decision,
)
from codex_cli.mcp_server.events import CodexEventStream, SessionInfo  # noqa: E402
from codex_cli.mcp_server.protocol import negotiate_protocol_version  # noqa: E402
from codex_cli.patch import plan_patch  # noqa: E402
from codex_cli.safety import ApprovalRequest, exec_rejection_output  # noqa: E402

PATCH = "*** Begin Patch\n*** Add File: patched.txt\n+hello patch\n*** End Patch\n"


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def start_model(codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], script: list[Any]) -> (
    FakeResponsesServer
):
    server = fake_server(script)
    codex_env.write_config(server.base_url)
    return server


def inputs(request_body: dict[str, Any]) -> str:
    """A request's whole `input` as JSON text, to look for earlier turns in it."""
    return json.dumps(request_body["input"])


def function_output(request_body: dict[str, Any], call_id: str) -> Any:
    outputs = [i for i in request_body["input"] if i.get("call_id") == call_id and i["type"].endswith("_output")]
    assert outputs, f"no output for {call_id}"
    return outputs[-1]["output"]


def rollout_lines(codex_env: CodexEnv, thread_id: str) -> list[dict[str, Any]]:
    paths = list((codex_env.home / "sessions").rglob(f"rollout-*-{thread_id}.jsonl"))
    assert len(paths) == 1
    return [json.loads(line) for line in paths[0].read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------------------------------------- the SDK client


class CodexEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    meta: dict[str, Any] = Field(alias="_meta")
    id: str
    msg: dict[str, Any]


class SdkClient:
    """An official-SDK session with `codex mcp-server`, recording `codex/event`s, progress and elicitations."""

    def __init__(self, session: ClientSession, events: list[CodexEvent], elicitations: list[dict[str, Any]]) -> None:
        self.session, self.events, self.elicitations = session, events, elicitations
        self.progress: list[tuple[float, str | None]] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        async def on_progress(progress: float, total: float | None, text: str | None) -> None:
            self.progress.append((progress, text))

        return await self.session.call_tool(name, arguments, progress_callback=on_progress)

    def msgs(self, kind: str) -> list[dict[str, Any]]:
        return [event.msg for event in self.events if event.msg["type"] == kind]


@asynccontextmanager
async def sdk_client(codex_env: CodexEnv, answer: str = "accept") -> AsyncIterator[SdkClient]:
    events: list[CodexEvent] = []
    elicitations: list[dict[str, Any]] = []

    async def on_event(params: CodexEvent) -> None:
        events.append(params)

    async def on_elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        elicitations.append(params.model_dump(by_alias=True))
        return types.ElicitResult(action=answer, content={} if answer == "accept" else None)  # type: ignore[arg-type]

    params = StdioServerParameters(command=sys.executable, args=[str(ROOT / "codex.py"), "mcp-server"],
                                   env=codex_env.env, cwd=codex_env.workdir)  # fmt: skip
    with open(codex_env.home / "server-stderr.txt", "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            binding = NotificationBinding(method="codex/event", params_type=CodexEvent, handler=on_event)
            async with ClientSession(read, write, elicitation_callback=on_elicit,
                                     notification_bindings=[binding]) as session:  # fmt: skip
                await session.initialize()
                yield SdkClient(session, events, elicitations)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


def test_sdk_client_runs_a_session_then_replies_and_the_cli_resumes_it(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer]
) -> None:
    model = start_model(codex_env, fake_server, [
        {"output": [exec_call("echo from-shell > shell.txt", "call_sh")]},
        {"output": [apply_patch_call(PATCH, "call_patch")]},
        {"output": [message("Done: turn 1")]},
        {"output": [message("Done: turn 2")]},
        {"output": [message("Done: turn 3")]},
    ])  # fmt: skip

    async def scenario() -> str:
        async with sdk_client(codex_env) as client:
            init = client.session.initialize_result
            assert init is not None and init.protocol_version == "2025-06-18"  # the SDK offered 2025-11-25
            assert init.server_info.name == "codex-mcp-server"
            listed = await client.session.list_tools()
            tools = {tool.name: tool for tool in listed.tools}
            assert set(tools) == {"codex", "codex-reply"}
            codex_props = tools["codex"].input_schema["properties"]
            for key in ("prompt", "model", "profile", "cwd", "approval-policy", "sandbox", "config",
                        "base-instructions", "include-plan-tool"):  # fmt: skip
                assert key in codex_props
            assert tools["codex"].input_schema["required"] == ["prompt"]
            assert tools["codex-reply"].output_schema == tools["codex"].output_schema
            assert tools["codex"].output_schema["required"] == ["threadId", "content"]  # type: ignore[index]

            result = await client.call("codex", {"prompt": "make two files", "sandbox": "workspace-write"})
            assert not result.is_error
            structured = result.structured_content or {}
            thread_id = structured["threadId"]
            assert structured["content"] == "Done: turn 1"
            assert [c.text for c in result.content if isinstance(c, types.TextContent)] == ["Done: turn 1"]
            await wait_for(lambda: bool(client.msgs("task_complete")))
            kinds = [event.msg["type"] for event in client.events]
            for kind in ("session_configured", "task_started", "user_message", "exec_command_begin",
                         "exec_command_end", "patch_apply_begin", "patch_apply_end", "agent_message",
                         "token_count", "task_complete"):  # fmt: skip
                assert kind in kinds, kind
            assert kinds.index("session_configured") < kinds.index("task_started") < kinds.index("task_complete")
            assert all(e.meta["threadId"] == thread_id and e.meta["requestId"] is not None for e in client.events)
            end = client.msgs("exec_command_end")[0]
            assert (end["call_id"], end["exit_code"]) == ("call_sh", 0)
            assert client.progress and client.progress[-1][1] == "task_complete"

            client.events.clear()
            reply = await client.call("codex-reply", {"threadId": thread_id, "prompt": "and again"})
            assert reply.structured_content == {"threadId": thread_id, "content": "Done: turn 2"}
            await wait_for(lambda: bool(client.msgs("task_complete")))
            assert not client.msgs("session_configured")  # only the first call configures the session
            return str(thread_id)

    thread_id = anyio.run(scenario)
    assert (codex_env.workdir / "shell.txt").read_text() == "from-shell\n"
    assert (codex_env.workdir / "patched.txt").read_text() == "hello patch\n"
    bodies = [r.body for r in model.response_requests]
    assert len(bodies) == 4
    earlier = inputs(bodies[3])  # the reply's request carries the first turn
    assert "make two files" in earlier and "Done: turn 1" in earlier
    assert "Process exited with code 0" in function_output(bodies[3], "call_sh")
    assert "A patched.txt" in function_output(bodies[3], "call_patch")
    assert bodies[3]["prompt_cache_key"] == thread_id

    resumed = codex_env.run("exec", "resume", thread_id, "third time", stdin=subprocess.DEVNULL)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "Done: turn 3\n"
    assert "Done: turn 2" in inputs(model.response_requests[4].body)


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_sdk_elicitation_answer_decides_the_escalated_command(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], answer: str
) -> None:
    model = start_model(codex_env, fake_server, [
        {"output": [exec_call("touch approved.txt", "call_esc", sandbox_permissions="require_escalated",
                              justification="write the file")]},
        {"output": [message("finished")]},
    ])  # fmt: skip

    async def scenario() -> SdkClient:
        async with sdk_client(codex_env, answer=answer) as client:
            args = {"prompt": "touch it", "approval-policy": "on-request", "sandbox": "read-only"}
            result = await client.call("codex", args)
            assert result.structured_content is not None
            assert result.structured_content["content"] == "finished"
            return client

    client = anyio.run(scenario)
    assert len(client.elicitations) == 1
    asked = client.elicitations[0]
    assert asked["message"].startswith("Allow Codex to run `") and "touch approved.txt" in asked["message"]
    assert asked["requestedSchema"] == {"type": "object", "properties": {}}
    assert client.msgs("exec_approval_request")[0]["call_id"] == "call_esc"
    output = function_output(model.response_requests[1].body, "call_esc")
    if answer == "accept":
        assert (codex_env.workdir / "approved.txt").exists()
        assert "Rejected" not in output
    else:
        assert not (codex_env.workdir / "approved.txt").exists()
        assert output == exec_rejection_output("rejected by user")


def test_sdk_client_cancelling_a_call_interrupts_its_turn(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer]
) -> None:
    model = start_model(codex_env, fake_server, [
        {"output": [exec_call("sleep 30", "call_sleep", yield_time_ms=60000)]},
        {"output": [message("after the interruption")]},
    ])  # fmt: skip

    async def scenario() -> None:
        async with sdk_client(codex_env) as client:
            with anyio.move_on_after(30) as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(client.call, "codex", {"prompt": "sleep", "sandbox": "workspace-write"})
                    await wait_for(lambda: bool(client.msgs("exec_command_begin")))
                    group.cancel_scope.cancel()  # the SDK sends notifications/cancelled
            assert not scope.cancelled_caught
            await wait_for(lambda: bool(client.msgs("turn_aborted")))
            thread_id = client.events[0].meta["threadId"]
            reply = await client.call("codex-reply", {"threadId": thread_id, "prompt": "go on"})
            assert reply.structured_content == {"threadId": thread_id, "content": "after the interruption"}

    anyio.run(scenario)
    assert "<turn_aborted>" in inputs(model.response_requests[1].body)


def test_ten_concurrent_codex_calls_run_at_once_in_their_own_sessions(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer]
) -> None:
    delay = 1.0
    start_model(codex_env, fake_server, [{"output": [message("hi")], "delay": delay}])
    results: list[types.CallToolResult] = []

    async def scenario() -> tuple[float, float]:
        async with sdk_client(codex_env) as client:
            started = time.monotonic()
            await client.call("codex", {"prompt": "warm-up"})
            single = time.monotonic() - started

            async def one(n: int) -> None:
                results.append(await client.call("codex", {"prompt": f"task {n}"}))

            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for n in range(10):
                    group.start_soon(one, n)
            return single, time.monotonic() - started

    single, elapsed = anyio.run(scenario)
    assert len(results) == 10 and not any(r.is_error for r in results)
    thread_ids = {(r.structured_content or {})["threadId"] for r in results}
    assert len(thread_ids) == 10
    assert len(list((codex_env.home / "sessions").rglob("rollout-*.jsonl"))) == 11
    # One after another they would take ten times one call (scripts/bench_mcp_server.py measures ~1.05x).
    assert elapsed < 2.5 * single, f"ten calls at once took {elapsed:.2f}s, one call {single:.2f}s"


# ---------------------------------------------------------------------------------------------- raw JSON-RPC lines


class RawClient:
    """`codex mcp-server` driven line by line, for shapes the SDK hides and for misbehaving clients."""

    def __init__(self, codex_env: CodexEnv) -> None:
        self.stderr = open(codex_env.home / "server-stderr.txt", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([*CODEX, "mcp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, cwd=codex_env.workdir, env=codex_env.env)  # fmt: skip
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, message: dict[str, Any] | bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, request_id: int, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def next(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line is not None, "the server closed stdout"
            self.seen.append(line)
            if predicate(line):
                return line

    def response(self, request_id: int, timeout: float = 20.0) -> dict[str, Any]:
        return self.next(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def event(self, kind: str, timeout: float = 20.0) -> dict[str, Any]:
        return self.next(lambda m: m.get("method") == "codex/event" and m["params"]["msg"]["type"] == kind, timeout)

    def initialize(self, version: str = "2025-06-18") -> dict[str, Any]:
        self.request(0, "initialize", {"protocolVersion": version, "capabilities": {"elicitation": {}},
                                       "clientInfo": {"name": "raw", "version": "9"}})  # fmt: skip
        result = self.response(0)["result"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return dict(result)

    def close(self, timeout: float = 20.0) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        finally:
            self.stderr.close()


@pytest.fixture
def raw_client(codex_env: CodexEnv) -> Any:
    clients: list[RawClient] = []

    def start() -> RawClient:
        clients.append(RawClient(codex_env))
        return clients[-1]

    yield start
    for client in clients:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
        client.reader.join(10)
        for stream in (client.proc.stdin, client.proc.stdout, client.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize(
    ("answer", "applied", "model_sees"),
    [
        ({"action": "accept", "decision": "approved"}, True, "Exit code: 0"),
        ({"action": "accept", "content": {"decision": "approved"}}, True, "Exit code: 0"),
        ({"action": "accept"}, True, "Exit code: 0"),
        ({"action": "decline"}, False, "patch rejected by user"),
        ({"action": "accept", "decision": "denied"}, False, "patch rejected by user"),
    ],
    ids=["legacy-decision", "content-decision", "standard-accept", "standard-decline", "decision-wins"],
)
def test_patch_approval_elicitation_has_codex_fields_and_accepts_every_answer_form(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient],
    answer: dict[str, Any], applied: bool, model_sees: str,
) -> None:  # fmt: skip
    model = start_model(codex_env, fake_server,
                        [{"output": [apply_patch_call(PATCH, "call_p1")]}, {"output": [message("patched")]}])
    client = raw_client()
    assert client.initialize()["protocolVersion"] == "2025-06-18"
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "patch", "sandbox": "read-only"}})
    thread_id = client.event("session_configured")["params"]["_meta"]["threadId"]
    turn_id = client.event("task_started")["params"]["id"]
    announced = client.event("apply_patch_approval_request")["params"]["msg"]
    asked = client.next(lambda m: m.get("method") == "elicitation/create")
    target = str(codex_env.workdir / "patched.txt")
    assert asked["params"] == {
        "message": "Allow Codex to apply proposed code changes?",
        "requestedSchema": {"type": "object", "properties": {}},
        "threadId": thread_id,
        "codex_elicitation": "patch-approval",
        "codex_mcp_tool_call_id": "2",
        "codex_event_id": turn_id,
        "codex_call_id": "call_p1",
        "codex_changes": {target: {"type": "add", "content": "hello patch\n"}},
    }
    assert announced["changes"] == asked["params"]["codex_changes"]
    client.send({"jsonrpc": "2.0", "id": asked["id"], "result": answer})
    result = client.response(2)["result"]
    assert result == {"content": [{"type": "text", "text": "patched"}],
                      "structuredContent": {"threadId": thread_id, "content": "patched"}}  # fmt: skip
    assert (codex_env.workdir / "patched.txt").exists() == applied
    assert model_sees in function_output(model.response_requests[1].body, "call_p1")
    assert client.close() == 0


def test_item_events_carry_the_call_id_of_their_own_call_when_one_sample_makes_several(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    start_model(codex_env, fake_server, [
        {"output": [exec_call("echo one", "call_a"), apply_patch_call(PATCH, "call_b"),
                    exec_call("echo two", "call_c")]},
        {"output": [message("done")]},
    ])  # fmt: skip
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "go", "sandbox": "workspace-write"}})
    assert client.response(2)["result"]["structuredContent"]["content"] == "done"
    msgs = [m["params"]["msg"] for m in client.seen if m.get("method") == "codex/event"]
    calls = [(m["type"], m["call_id"]) for m in msgs if m["type"].endswith(("_begin", "_end"))]
    assert calls == [("exec_command_begin", "call_a"), ("exec_command_end", "call_a"),
                     ("patch_apply_begin", "call_b"), ("patch_apply_end", "call_b"),
                     ("exec_command_begin", "call_c"), ("exec_command_end", "call_c")]  # fmt: skip
    assert client.close() == 0


def test_patch_approval_shows_the_requests_changes_with_no_session_history_at_all(tmp_path: Path) -> None:
    """The elicitation and its announcement come from the request alone (the tool runner planned the patch)."""
    (tmp_path / "old.txt").write_text("one\ntwo\n", encoding="utf-8")
    (tmp_path / "gone.txt").write_text("bye\n", encoding="utf-8")
    planned = plan_patch("*** Begin Patch\n*** Delete File: gone.txt\n*** Update File: old.txt\n*** Move to: new.txt\n"
                         "@@\n one\n-two\n+three\n*** End Patch\n", tmp_path)  # fmt: skip
    req = ApprovalRequest("patch", "call_p9", tmp_path, paths=(tmp_path / "new.txt",), changes=tuple(planned.changes),
                          diff=planned.diff, reason="needs it")  # fmt: skip
    expected = {
        str(tmp_path / "gone.txt"): {"type": "delete", "content": "bye\n"},
        str(tmp_path / "old.txt"): {"type": "update", "move_path": str(tmp_path / "new.txt"),
                                    "unified_diff": "@@ -1,2 +1,2 @@\n one\n-two\n+three\n"},
    }  # fmt: skip
    params = patch_elicitation(req, thread_id="t", tool_call_id=7, turn_id="turn")
    assert (params["codex_changes"], params["codex_call_id"], params["codex_reason"]) == (expected, "call_p9",
                                                                                         "needs it")  # fmt: skip
    info = SessionInfo("t", "gpt", "openai", "on-request", "read-only", str(tmp_path), None)
    event_id, announced = CodexEventStream(info).approval_request(req)
    assert announced == {"type": "apply_patch_approval_request", "call_id": "call_p9", "turn_id": "",
                         "changes": expected, "reason": "needs it", "grant_root": None}  # fmt: skip


def test_start_up_warnings_arrive_as_warning_events_in_the_stream(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    """A server that fails to start is told while the session is built; the config's warning follows
    `session_configured`, as `codex exec` shows it after its header."""
    server = fake_server([{"output": [message("ok")]}])
    codex_env.write_config(server.base_url,
                           extra='bogus_setting = 1\n[mcp_servers.broken]\ncommand = "/no/such/binary"\n')
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "hi"}})
    assert client.response(2)["result"]["structuredContent"]["content"] == "ok"
    events = [m["params"] for m in client.seen if m.get("method") == "codex/event"]
    kinds = [params["msg"]["type"] for params in events]
    warnings = [params for params in events if params["msg"]["type"] == "warning"]
    assert [params["msg"]["message"][:40] for params in warnings] == [
        "MCP client for `broken` failed to start:", "Codex is ignoring 1 unrecognized configu"]
    assert all(params["id"] == "" for params in warnings)
    assert kinds.index("warning") < kinds.index("session_configured")  # the server failed during the build
    assert kinds.index("mcp_startup_complete") < len(kinds) - 1 - kinds[::-1].index("warning") < kinds.index(
        "task_started")  # fmt: skip
    assert client.close() == 0


def test_exec_approval_cancel_interrupts_the_turn_and_still_answers_the_call(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    start_model(codex_env, fake_server, [
        {"output": [exec_call("touch nope.txt", "call_1", sandbox_permissions="require_escalated")]},
        {"output": [message("unreachable")]},
    ])  # fmt: skip
    client = raw_client()
    client.initialize()
    client.request(3, "tools/call", {"name": "codex", "arguments": {"prompt": "go", "approval-policy": "on-request"}})
    asked = client.next(lambda m: m.get("method") == "elicitation/create")
    params = asked["params"]
    assert params["codex_elicitation"] == "exec-approval"
    assert params["codex_command"][1:] == ["-lc", "touch nope.txt"]
    assert params["codex_cwd"] == str(codex_env.workdir)
    assert params["codex_parsed_cmd"] == [{"type": "unknown", "cmd": "touch nope.txt"}]
    assert (params["codex_call_id"], params["codex_mcp_tool_call_id"]) == ("call_1", "3")
    client.send({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "cancel"}})
    client.event("turn_aborted")
    result = client.response(3)["result"]
    assert result["isError"] is True
    assert not (codex_env.workdir / "nope.txt").exists()
    assert client.close() == 0


def test_malformed_lines_unknown_methods_and_bad_arguments_get_errors_and_the_server_lives_on(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    start_model(codex_env, fake_server, [{"output": [message("fine")]}])
    client = raw_client()
    client.send(b"{not json\n")
    assert client.next(lambda m: True) == {"jsonrpc": "2.0", "id": None,
                                           "error": {"code": -32700, "message": "Parse error"}}  # fmt: skip
    assert client.initialize("2024-11-05")["protocolVersion"] == "2024-11-05"
    client.request(4, "resources/list")
    assert client.response(4)["error"]["code"] == -32601
    client.send({"id": 5, "method": "tools/list"})  # no "jsonrpc"
    assert client.response(5)["error"]["code"] == -32600
    client.send(b"[]\n")
    assert client.next(lambda m: "error" in m)["error"]["code"] == -32600
    client.request(6, "tools/call", {"arguments": {}})
    assert client.response(6)["error"]["code"] == -32602

    def text_of(request_id: int, name: str, arguments: Any) -> tuple[str, bool]:
        client.request(request_id, "tools/call", {"name": name, "arguments": arguments})
        result = client.response(request_id)["result"]
        return result["content"][0]["text"], result.get("isError", False)

    assert text_of(7, "nosuch", {}) == ("Unknown tool 'nosuch'", True)
    assert text_of(8, "codex", {}) == ("Failed to parse configuration for Codex tool: missing field `prompt`", True)
    assert text_of(9, "codex", {"prompt": "x", "sandbox": "bogus"}) == (
        "Failed to parse configuration for Codex tool: unknown variant `bogus`, expected one of `read-only`, "
        "`workspace-write`, `danger-full-access`", True)  # fmt: skip
    missing = "00000000-0000-7000-8000-000000000000"
    assert text_of(10, "codex-reply", {"threadId": missing, "prompt": "x"}) == (
        f"Session not found for thread_id: {missing}", True)  # fmt: skip
    assert text_of(11, "codex-reply", {"prompt": "x"}) == (
        "Failed to parse thread_id: either threadId or conversationId must be provided", True)  # fmt: skip
    client.request(12, "ping")
    assert client.response(12)["result"] == {}
    assert text_of(13, "codex", {"prompt": "still alive?"}) == ("fine", False)
    assert client.close() == 0


def test_codex_arguments_shape_the_session(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    model = start_model(codex_env, fake_server, [{"output": [message("ok")]}])
    (codex_env.home / "work.config.toml").write_text('model = "profile-model"\n', encoding="utf-8")
    (codex_env.workdir / "sub").mkdir()
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {
        "prompt": "p1", "model": "arg-model", "cwd": "sub", "config": {"model_reasoning_effort": "high"},
        "base-instructions": "BASE TEXT", "developer-instructions": "DEV TEXT", "include-plan-tool": False,
        "approval-policy": "never", "sandbox": "workspace-write",
    }})  # fmt: skip
    configured = client.event("session_configured")["params"]["msg"]
    assert client.response(2)["result"]["structuredContent"]["content"] == "ok"
    assert (configured["model"], configured["approval_policy"], configured["sandbox_policy"]) == (
        "arg-model", "never", {"type": "workspace-write"})  # fmt: skip
    assert configured["cwd"] == str(codex_env.workdir / "sub")
    body = model.response_requests[0].body
    assert (body["model"], body["reasoning"]["effort"]) == ("arg-model", "high")
    assert body["input"][0]["role"] == "developer" and body["input"][0]["content"][0]["text"] == "BASE TEXT"
    assert body["input"][1]["content"][0]["text"] == "DEV TEXT"
    assert "update_plan" not in [tool.get("name") for tool in body["tools"]]
    assert f"<cwd>{codex_env.workdir / 'sub'}</cwd>" in inputs(body)
    client.request(3, "tools/call", {"name": "codex", "arguments": {"prompt": "p2", "profile": "work"}})
    assert client.response(3)["result"]["structuredContent"]["content"] == "ok"
    body = model.response_requests[1].body
    assert body["model"] == "profile-model"
    assert "update_plan" in [tool.get("name") for tool in body["tools"]]
    assert client.close() == 0


def test_trusted_hooks_run_in_server_sessions(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    from codex_cli.hooks import HookHandler

    marker = codex_env.workdir / "ran.txt"
    command = f"{sys.executable} -c \"import sys; sys.stderr.write('not from a server'); sys.exit(2)\""
    hooks_file = codex_env.home / "hooks.json"
    group = {"matcher": "^Bash$", "hooks": [{"type": "command", "command": command, "timeout": 30}]}
    hooks_file.write_text(json.dumps({"hooks": {"PreToolUse": [group]}}), encoding="utf-8")
    handler = HookHandler("PreToolUse", command, hooks_file, 0, 0, 0, "^Bash$", 30,
                          normalized={"type": "command", "command": command, "timeout": 30, "async": False})
    model = fake_server([{"output": [exec_call(f"touch {marker}", "c1")]}, {"output": [message("blocked")]}])
    trust = f'[hooks.state."{handler.key}"]\ntrusted_hash = "{handler.trust_hash()}"'
    codex_env.write_config(model.base_url, extra=trust)
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "go", "sandbox": "danger-full-access",
                                                                    "approval-policy": "never"}})
    assert client.response(2)["result"]["structuredContent"]["content"] == "blocked"
    assert not marker.exists()
    assert function_output(model.response_requests[1].body, "c1") == (
        f"Command blocked by PreToolUse hook: not from a server. Command: touch {marker}")
    assert client.close() == 0


def test_reply_to_a_thread_of_an_earlier_server_resumes_its_rollout(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    model = start_model(codex_env, fake_server, [{"output": [message("first")]}, {"output": [message("second")]}])
    first = raw_client()
    first.initialize()
    first.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "remember 42"}})
    thread_id = first.response(2)["result"]["structuredContent"]["threadId"]
    assert first.close() == 0
    second = raw_client()
    second.initialize()
    second.request(2, "tools/call", {"name": "codex-reply", "arguments": {"conversationId": thread_id, "prompt": "?"}})
    assert second.response(2)["result"]["structuredContent"] == {"threadId": thread_id, "content": "second"}
    assert "remember 42" in inputs(model.response_requests[1].body)
    assert second.close() == 0
    assert len(list((codex_env.home / "sessions").rglob("rollout-*.jsonl"))) == 1


def test_failed_turn_is_an_error_result_with_the_message(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    error = {"error": {"message": "The model `nope` does not exist.", "type": "invalid_request_error"}}
    start_model(codex_env, fake_server, [{"status": 400, "body": error}])
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "go"}})
    event = client.event("error")["params"]["msg"]
    client.event("task_complete")
    result = client.response(2)["result"]
    assert result["isError"] is True
    assert "does not exist" in result["content"][0]["text"] == event["message"]
    assert result["structuredContent"]["content"] == result["content"][0]["text"]
    assert client.close() == 0


def test_model_requests_name_the_mcp_client_in_their_user_agent(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    # codex-rs 0.153 ends the agent of a server session's requests with the client's `(name; version)` (mcp.md
    # §10.1), as in serverInfo.user_agent; the originator stays codex_cli_rs.
    model = start_model(codex_env, fake_server, [{"output": [message("one")]}, {"output": [message("two")]}])
    client = raw_client()
    agent = client.initialize()["serverInfo"]["user_agent"]
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "go"}})
    thread_id = client.response(2)["result"]["structuredContent"]["threadId"]
    client.request(3, "tools/call", {"name": "codex-reply", "arguments": {"prompt": "more", "threadId": thread_id}})
    assert client.response(3)["result"]["structuredContent"]["content"] == "two"
    agents = [request.headers["user-agent"] for request in model.response_requests]
    assert agents == [agent, agent]
    assert agent.startswith("codex_cli_rs/") and agent.endswith(" (raw; 9)")
    assert {request.headers["originator"] for request in model.response_requests} == {"codex_cli_rs"}
    assert client.close() == 0


def _running_sleep(codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer],
                   raw_client: Callable[[], RawClient]) -> tuple[RawClient, str, FakeResponsesServer]:  # fmt: skip
    model = start_model(codex_env, fake_server, [
        {"output": [exec_call("sleep 30", "call_sleep", yield_time_ms=60000)]},
        {"output": [message("after the interruption")]},
    ])  # fmt: skip
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "sleep", "sandbox": "workspace-write"}})
    thread_id = client.event("exec_command_begin")["params"]["_meta"]["threadId"]
    return client, thread_id, model


@pytest.mark.parametrize("how", ["stdin-closed", "sigterm"])
def test_client_disconnecting_mid_turn_interrupts_it_and_the_rollout_is_complete(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient], how: str
) -> None:
    client, thread_id, _ = _running_sleep(codex_env, fake_server, raw_client)
    started = time.monotonic()
    if how == "sigterm":
        client.proc.terminate()
        assert client.proc.wait(10) == 143
    else:
        assert client.close() == 0
    assert time.monotonic() - started < 5
    lines = rollout_lines(codex_env, thread_id)
    events = [line["payload"]["type"] for line in lines if line["type"] == "event_msg"]
    assert events[-1] in ("turn_aborted", "item_completed") and "turn_aborted" in events
    outputs = [line["payload"] for line in lines if line["payload"].get("type") == "function_call_output"]
    assert outputs and "aborted by user" in outputs[-1]["output"]
    assert "<turn_aborted>" in json.dumps(lines[-4:])


def test_client_disconnecting_during_an_approval_question_aborts_the_turn(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    start_model(codex_env, fake_server, [
        {"output": [exec_call("touch x.txt", "call_1", sandbox_permissions="require_escalated")]},
    ])  # fmt: skip
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "go"}})
    thread_id = client.event("session_configured")["params"]["_meta"]["threadId"]
    client.next(lambda m: m.get("method") == "elicitation/create")
    assert client.close() == 0
    events = [line["payload"]["type"] for line in rollout_lines(codex_env, thread_id) if line["type"] == "event_msg"]
    assert "turn_aborted" in events
    assert not (codex_env.workdir / "x.txt").exists()


def test_cancelled_call_interrupts_its_turn_gets_no_response_and_the_thread_continues(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    client, thread_id, model = _running_sleep(codex_env, fake_server, raw_client)
    client.request(5, "tools/call", {"name": "codex-reply", "arguments": {"threadId": thread_id, "prompt": "too soon"}})
    busy = client.response(5)["result"]
    assert busy["isError"] is True and "still running a turn" in busy["content"][0]["text"]
    client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2, "reason": "stop"}})
    aborted = client.event("turn_aborted", timeout=10)
    assert aborted["params"]["_meta"] == {"requestId": 2, "threadId": thread_id}
    client.request(3, "codex-reply", {})  # an unknown method: its error comes after anything the call might send
    client.request(4, "tools/call", {"name": "codex-reply", "arguments": {"threadId": thread_id, "prompt": "go on"}})
    result = client.response(4)["result"]
    assert result["structuredContent"] == {"threadId": thread_id, "content": "after the interruption"}
    assert not [m for m in client.seen if m.get("id") == 2 and "method" not in m]
    assert "<turn_aborted>" in inputs(model.response_requests[1].body)
    assert client.close() == 0


# ---------------------------------------------------------------------------------------------- the Inspector


def test_mcp_inspector_cli_lists_both_tools(codex_env: CodexEnv) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed: the MCP Inspector check needs Node.js")
    argv = [npx, "-y", "@modelcontextprotocol/inspector", "--cli", sys.executable, str(ROOT / "codex.py"),
            "mcp-server", "--method", "tools/list"]  # fmt: skip
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=codex_env.workdir,
                              env=codex_env.env, stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("the MCP Inspector could not be installed or started within 300 s")
    if proc.returncode != 0 and ("npm error" in proc.stderr or "npm ERR!" in proc.stderr):
        pytest.skip(f"installing the MCP Inspector failed: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [tool["name"] for tool in listed["tools"]] == ["codex", "codex-reply"]


# ---------------------------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("requested", "answered"),
    [("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"), ("2025-06-18", "2025-06-18"),
     ("2025-11-25", "2025-06-18"), ("latest", "2025-06-18"), (None, "2025-06-18")],
)  # fmt: skip
def test_protocol_version_is_the_clients_up_to_2025_06_18(requested: object, answered: str) -> None:
    assert negotiate_protocol_version(requested) == answered


@pytest.mark.parametrize(
    ("answer", "decision"),
    [
        ({"action": "accept", "decision": "approved"}, "approved"),
        ({"action": "accept", "decision": "approved_for_session"}, "approved_for_session"),
        ({"action": "accept", "decision": "abort"}, "abort"),
        ({"action": "accept", "decision": "denied"}, "denied"),
        ({"action": "accept", "decision": "bogus"}, "denied"),
        ({"action": "accept", "content": {"decision": "approved_for_session"}}, "approved_for_session"),
        ({"decision": "acceptForSession"}, "approved_for_session"),
        ({"action": "accept"}, "approved"),
        ({"action": "accept", "content": {}}, "approved"),
        ({"action": "decline"}, "denied"),
        ({"action": "cancel"}, "abort"),
        ({}, "denied"),
        (None, "denied"),
    ],
    ids=lambda value: json.dumps(value),
)
def test_review_decision_reads_every_answer_form(answer: object, decision: str) -> None:
    assert review_decision(answer) == decision


def test_codex_arguments_are_checked_like_codex_rs() -> None:
    args = parse_codex_args({"prompt": "p", "config": {"model_reasoning_effort": "high"}, "include-plan-tool": False,
                             "approval-policy": "never", "cwd": None})  # fmt: skip
    assert (args.prompt, args.approval_policy, args.include_plan_tool, args.cwd) == ("p", "never", False, None)
    for arguments, error in [
        ({"prompt": 3}, "invalid type: integer `3`, expected a string (field `prompt`)"),
        ({"prompt": "p", "bogus": 1}, "unknown field `bogus`, expected one of `prompt`, "),
        ({"prompt": "p", "include-plan-tool": "yes"}, 'invalid type: string "yes", expected a boolean'),
    ]:
        with pytest.raises(ToolArgumentError, match="^Failed to parse configuration for Codex tool: ") as info:
            parse_codex_args(arguments)
        assert error in str(info.value)


def test_notify_runs_after_each_completed_turn(
    codex_env: CodexEnv, fake_server: Callable[..., FakeResponsesServer], raw_client: Callable[[], RawClient]
) -> None:
    """The reference: every completed turn runs `notify` (exec and the line UI did; the server did not)."""
    out = codex_env.home.parent / "notified.jsonl"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.argv[-1] + '\\n')"
    model = fake_server([{"output": [message("done here")]}])
    codex_env.write_config(model.base_url, extra=f"notify = [{json.dumps(sys.executable)}, '-c', {json.dumps(script)}]")
    client = raw_client()
    client.initialize()
    client.request(2, "tools/call", {"name": "codex", "arguments": {"prompt": "say done"}})
    thread_id = client.response(2)["result"]["structuredContent"]["threadId"]
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.close() == 0
    payload = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert payload["type"] == "agent-turn-complete" and payload["thread-id"] == thread_id
    assert payload["input-messages"] == ["say done"] and payload["last-assistant-message"] == "done here"
    assert payload["client"] == "raw"  # the MCP client's own name
