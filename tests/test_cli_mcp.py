"""`codex mcp add/list/get/remove` in subprocesses, and `codex exec` calling tools of real MCP servers."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, ROOT, CodexEnv, CodexRun, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, function_call, message  # noqa: E402

DATA = ROOT / "tests" / "data" / "mcp"

ORIGINAL = """\
# Personal settings: keep this comment.
model = "gpt-5.5"  # the default model

[projects."/tmp/x"]
trust_level = "trusted"

# Unrelated table that must survive byte for byte.
[tui]
notifications = ["agent-turn-complete"]
"""






@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def mcp(env: CodexEnv, *args: str) -> CodexRun:
    argv = [*CODEX, "mcp", *args]
    proc = subprocess.run(argv, capture_output=True, cwd=env.workdir, env=env.env, timeout=60)
    return CodexRun(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def config_text(env: CodexEnv) -> str:
    return (env.home / "config.toml").read_text(encoding="utf-8")


def test_add_list_get_remove_round_trip_keeps_the_file_byte_for_byte(codex_env: CodexEnv) -> None:
    (codex_env.home / "config.toml").write_text(ORIGINAL, encoding="utf-8")
    run = mcp(
        codex_env, "add", "--env", "FOO=bar", "--env", "BAZ=qux", "envsrv", "--", "/usr/bin/python3", "-m", "server"
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "Added global MCP server 'envsrv'.\n", "")
    run = mcp(codex_env, "add", "web2", "--url", "https://example.com/mcp2", "--bearer-token-env-var", "MY_TOKEN")
    assert (run.returncode, run.stdout) == (0, "Added global MCP server 'web2'.\n")
    assert config_text(codex_env) == ORIGINAL + (
        '\n[mcp_servers.envsrv]\ncommand = "/usr/bin/python3"\nargs = ["-m", "server"]\n\n'
        '[mcp_servers.envsrv.env]\nBAZ = "qux"\nFOO = "bar"\n\n'
        '[mcp_servers.web2]\nurl = "https://example.com/mcp2"\nbearer_token_env_var = "MY_TOKEN"\n'
    )
    assert mcp(codex_env, "list").stdout == (
        "Name    Command           Args       Env                   Cwd  Status   Auth       \n"
        "envsrv  /usr/bin/python3  -m server  BAZ=*****, FOO=*****  -    enabled  Unsupported\n"
        "\n"
        "Name  Url                       Bearer Token Env Var  Status   Auth        \n"
        "web2  https://example.com/mcp2  MY_TOKEN              enabled  Bearer token\n"
    )
    listed = json.loads(mcp(codex_env, "list", "--json").stdout)
    assert [entry["name"] for entry in listed] == ["envsrv", "web2"]
    assert listed[0] == {
        "name": "envsrv", "enabled": True, "disabled_reason": None,
        "transport": {"type": "stdio", "command": "/usr/bin/python3", "args": ["-m", "server"],
                      "env": {"BAZ": "qux", "FOO": "bar"}, "env_vars": [], "cwd": None},
        "startup_timeout_sec": None, "tool_timeout_sec": None, "auth_status": "unsupported",
    }  # fmt: skip
    assert listed[1]["transport"] == {
        "type": "streamable_http", "url": "https://example.com/mcp2", "bearer_token_env_var": "MY_TOKEN",
        "http_headers": None, "env_http_headers": None, "http_headers_helper": None,
    }  # fmt: skip
    assert listed[1]["auth_status"] == "bearer_token"
    got = mcp(codex_env, "get", "envsrv")
    assert got.stdout == (
        "envsrv\n  enabled: true\n  transport: stdio\n  command: /usr/bin/python3\n  args: -m server\n"
        "  cwd: -\n  env: BAZ=*****, FOO=*****\n  remove: codex mcp remove envsrv\n"
    )
    got_json = json.loads(mcp(codex_env, "get", "web2", "--json").stdout)
    assert list(got_json) == [
        "name", "enabled", "disabled_reason", "transport", "enabled_tools", "disabled_tools",
        "startup_timeout_sec", "tool_timeout_sec",
    ]  # fmt: skip
    assert mcp(codex_env, "remove", "envsrv").stdout == "Removed global MCP server 'envsrv'.\n"
    assert mcp(codex_env, "remove", "web2").stdout == "Removed global MCP server 'web2'.\n"
    assert config_text(codex_env) == ORIGINAL


def test_add_over_an_existing_name_needs_force(codex_env: CodexEnv) -> None:
    assert mcp(codex_env, "add", "docs", "--", "npx", "-y", "some-mcp-server", "--flag", "value").returncode == 0
    before = config_text(codex_env)
    run = mcp(codex_env, "add", "docs", "--", "other")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("Error: MCP server 'docs' already exists in ")
    assert "--force" in run.stderr
    assert config_text(codex_env) == before
    run = mcp(codex_env, "add", "--force", "docs", "--url", "https://example.com/mcp")
    assert (run.returncode, run.stdout) == (0, "Added global MCP server 'docs'.\n")
    assert config_text(codex_env) == '[mcp_servers.docs]\nurl = "https://example.com/mcp"\n'


def test_options_may_follow_the_name(codex_env: CodexEnv) -> None:
    run = mcp(codex_env, "add", "envsrv", "--env", "A=b", "--", "python3", "-m", "srv", "--env", "C=d")
    assert run.returncode == 0, run.stderr
    assert config_text(codex_env) == (
        '[mcp_servers.envsrv]\ncommand = "python3"\nargs = ["-m", "srv", "--env", "C=d"]\n\n'
        '[mcp_servers.envsrv.env]\nA = "b"\n'
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_config_file_is_private(codex_env: CodexEnv) -> None:
    assert mcp(codex_env, "add", "docs", "--", "npx").returncode == 0
    assert config_text(codex_env) == '[mcp_servers.docs]\ncommand = "npx"\n'
    assert stat.S_IMODE((codex_env.home / "config.toml").stat().st_mode) == 0o600


def test_names_with_dots_and_slashes_are_quoted(codex_env: CodexEnv) -> None:
    assert mcp(codex_env, "add", "bad.name", "--", "x").returncode == 0
    assert mcp(codex_env, "add", "a/b", "--", "y").returncode == 0
    assert config_text(codex_env) == '[mcp_servers."bad.name"]\ncommand = "x"\n\n[mcp_servers."a/b"]\ncommand = "y"\n'
    assert [e["name"] for e in json.loads(mcp(codex_env, "list", "--json").stdout)] == ["a/b", "bad.name"]
    assert mcp(codex_env, "remove", "bad.name").returncode == 0
    assert config_text(codex_env) == '[mcp_servers."a/b"]\ncommand = "y"\n'


def test_empty_list_and_missing_names(codex_env: CodexEnv) -> None:
    run = mcp(codex_env, "list")
    assert (run.returncode, run.stdout) == (
        0,
        "No MCP servers configured yet. Try `codex mcp add my-tool -- my-command`.\n",
    )
    assert mcp(codex_env, "list", "--json").stdout == "[]\n"
    for args in (("get", "nosuch"), ("get", "--json", "nosuch")):
        run = mcp(codex_env, *args)
        assert (run.returncode, run.stdout, run.stderr) == (1, "", "Error: No MCP server named 'nosuch' found.\n")
    run = mcp(codex_env, "remove", "nosuch")
    assert (run.returncode, run.stdout) == (0, "No MCP server named 'nosuch' found.\n")


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (
            ("add", "bad name", "--", "x"),
            1,
            "Error: invalid server name 'bad name' (use letters, numbers, '-', '_', ':', '@', '/', '.')\n",
        ),
        (("add", "", "--", "x"), 1, "Error: invalid server name '' "),
        (("add", "noc"), 2, "the following required arguments were not provided: <COMMAND|--url <URL>>"),
        (("add", "both", "--url", "http://x", "--", "cmd"), 2, "'--url <URL>' cannot be used with '[COMMAND]...'"),
        (("add", "e1", "--env", "NOEQUALS", "--", "x"), 2, "environment entries must be in KEY=VALUE form"),
        (("add", "e2", "--url", "http://x", "--env", "A=b"), 1, "Error: command is required"),
        (("add", "e3", "--bearer-token-env-var", "T", "--", "x"), 2, "--bearer-token-env-var requires --url"),
    ],
    ids=["bad-name", "empty-name", "nothing", "url-and-command", "bad-env", "env-with-url", "bearer-without-url"],
)
def test_add_errors_and_exit_codes(codex_env: CodexEnv, args: tuple[str, ...], code: int, stderr: str) -> None:
    run = mcp(codex_env, *args)
    assert run.returncode == code and stderr in run.stderr and run.stdout == ""
    assert not (codex_env.home / "config.toml").exists()


def test_list_and_get_show_every_field_like_codex(codex_env: CodexEnv) -> None:
    (codex_env.home / "config.toml").write_text(
        '[mcp_servers.full]\ncommand = "python3"\nargs = ["server.py", "--x"]\ncwd = "/srv/mcp"\n'
        'env_vars = ["HOME_TOKEN", { name = "REMOTE_TOKEN", source = "remote" }]\n'
        'startup_timeout_sec = 20\ntool_timeout_sec = 45.5\nenabled_tools = ["a", "b"]\ndisabled_tools = ["b"]\n'
        'env = { SECRET = "s3cr3t" }\n\n'
        '[mcp_servers.off]\ncommand = "foo"\nenabled = false\n\n'
        '[mcp_servers.http]\nurl = "http://127.0.0.1:9/mcp"\nhttp_headers = { X-Static = "v" }\n'
        'env_http_headers = { X-From-Env = "MY_HDR_ENV" }\nstartup_timeout_ms = 2500\n',
        encoding="utf-8",
    )
    assert mcp(codex_env, "list").stdout.splitlines() == [
        "Name  Command  Args           Env                                                 "
        "Cwd       Status    Auth       ",
        "full  python3  server.py --x  SECRET=*****, HOME_TOKEN=*****, REMOTE_TOKEN=*****  "
        "/srv/mcp  enabled   Unsupported",
        "off   foo      -              -                                                   "
        "-         disabled  Unsupported",
        "",
        "Name  Url                     Bearer Token Env Var  Status   Auth       ",
        "http  http://127.0.0.1:9/mcp  -                     enabled  Unsupported",
    ]
    assert mcp(codex_env, "get", "full").stdout == (
        "full\n  enabled: true\n  enabled_tools: a, b\n  disabled_tools: b\n  transport: stdio\n  command: python3\n"
        "  args: server.py --x\n  cwd: /srv/mcp\n  env: SECRET=*****, HOME_TOKEN=*****, REMOTE_TOKEN=*****\n"
        "  startup_timeout_sec: 20\n  tool_timeout_sec: 45.5\n  remove: codex mcp remove full\n"
    )
    assert mcp(codex_env, "get", "http").stdout == (
        "http\n  enabled: true\n  transport: streamable_http\n  url: http://127.0.0.1:9/mcp\n"
        "  bearer_token_env_var: -\n  http_headers: X-Static=*****\n  env_http_headers: X-From-Env=MY_HDR_ENV\n"
        "  http_headers_helper: -\n  startup_timeout_sec: 2.5\n  remove: codex mcp remove http\n"
    )
    assert mcp(codex_env, "get", "off").stdout == "off (disabled)\n"
    full = json.loads(mcp(codex_env, "get", "--json", "full").stdout)
    assert full["transport"]["env_vars"] == ["HOME_TOKEN", {"name": "REMOTE_TOKEN", "source": "remote"}]
    assert (full["enabled_tools"], full["startup_timeout_sec"], full["tool_timeout_sec"]) == (["a", "b"], 20.0, 45.5)


def test_invalid_server_table_fails_list_with_the_key(codex_env: CodexEnv) -> None:
    (codex_env.home / "config.toml").write_text('[mcp_servers.x]\ncommand = "a"\nurl = "http://b"\n', encoding="utf-8")
    run = mcp(codex_env, "list")
    assert run.returncode == 1 and "url is not supported for stdio" in run.stderr and "mcp_servers.x.url" in run.stderr


def test_codex_py_dispatches_mcp(codex_env: CodexEnv) -> None:
    run = codex_env.run("mcp", "list", "--json")
    assert (run.returncode, run.stdout) == (0, "[]\n")


# ---------------------------------------------------------------------------------------------------------- exec



def _probe(required: bool = True, **extra: str) -> str:
    lines = [f'command = "{Path(sys.executable).as_posix()}"', f'args = ["{(DATA / "probe_server.py").as_posix()}"]']
    lines.append(f"required = {'true' if required else 'false'}")
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _outputs(body: dict) -> dict[str, object]:
    return {i["call_id"]: i["output"] for i in body["input"] if i.get("type") == "function_call_output"}


def test_exec_calls_stdio_and_http_mcp_tools(codex_env: CodexEnv, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(DATA / "probe_server.py"), "--http"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        port = int(proc.stdout.readline().split()[1])  # type: ignore[union-attr]
        script = [
            {"output": [function_call("echo", {"text": "hi"}, "c_stdio", namespace="mcp__probe")]},
            {"output": [function_call("echo", {"text": "web"}, "c_http", namespace="mcp__web")]},
            {"output": [message("done")]},
        ]
        with FakeResponsesServer(script) as server:
            codex_env.write_config(
                server.base_url,
                extra=f"[mcp_servers.probe]\n{_probe()}\n"
                f'[mcp_servers.web]\nurl = "http://127.0.0.1:{port}/mcp"\nrequired = true\n',
            )
            # A model without tool_search gets the namespaces listed (mcp.md §5.1; gpt-5.5 would search them).
            run = codex_env.run("exec", "--json", "-m", "gpt-5.4", "go", stdin=subprocess.DEVNULL, timeout=120)
            requests = list(server.requests)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    assert run.returncode == 0, run.stderr
    namespaces = [t["name"] for t in requests[0].body["tools"] if t.get("type") == "namespace"]
    assert namespaces == ["mcp__probe", "mcp__web"]
    assert "tool_search" not in [t["type"] for t in requests[0].body["tools"]]
    second = requests[1].body["input"]
    assert second[-2]["namespace"] == "mcp__probe" and second[-1]["type"] == "function_call_output"
    outputs = _outputs(requests[-1].body)
    assert str(outputs["c_stdio"]).startswith("Wall time: ")
    assert str(outputs["c_stdio"]).endswith('\nOutput:\n{"result":"echo: hi"}')
    assert str(outputs["c_http"]).endswith('\nOutput:\n{"result":"echo: web"}')
    items = [e for e in run.events() if e.get("item", {}).get("type") == "mcp_tool_call"]
    assert [(e["type"], e["item"]["server"], e["item"]["status"]) for e in items] == [
        ("item.started", "probe", "in_progress"), ("item.completed", "probe", "completed"),
        ("item.started", "web", "in_progress"), ("item.completed", "web", "completed"),
    ]  # fmt: skip
    assert items[1]["item"] == {
        "id": items[0]["item"]["id"], "type": "mcp_tool_call", "server": "probe", "tool": "echo",
        "arguments": {"text": "hi"},
        "result": {"content": [{"type": "text", "text": "echo: hi"}], "structured_content": {"result": "echo: hi"}},
        "error": None, "status": "completed",
    }  # fmt: skip


def test_exec_refuses_unapproved_write_tools_and_reports_failed_servers_once(codex_env: CodexEnv) -> None:
    script = [
        {"output": [function_call("add", {"a": 1, "b": 2}, "c_add", namespace="mcp__probe")]},
        {"output": [message("done")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(
            server.base_url,
            extra=f'[mcp_servers.probe]\n{_probe()}\n[mcp_servers.broken]\ncommand = "/no/such/binary"\n',
        )
        run = codex_env.run("exec", "--json", "-s", "read-only", "go", stdin=subprocess.DEVNULL, timeout=120)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    output = _outputs(requests[-1].body)["c_add"]
    assert isinstance(output, list)
    assert output[1] == {"type": "input_text", "text": "MCP tool call requires approval, but approval policy is never"}
    completed = [
        e["item"] for e in run.events() if e["type"] == "item.completed" and e["item"]["type"] == "mcp_tool_call"
    ]
    assert completed[0]["status"] == "failed"
    assert completed[0]["error"] == {"message": "MCP tool call requires approval, but approval policy is never"}
    assert run.stderr.count("MCP client for `broken` failed to start") == 1


def test_exec_stops_when_a_required_server_cannot_start(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("never")]}]) as server:
        codex_env.write_config(
            server.base_url, extra='[mcp_servers.req]\ncommand = "/no/such/binary"\nrequired = true\n'
        )
        run = codex_env.run("exec", "go", stdin=subprocess.DEVNULL, timeout=60)
        assert server.requests == []
    assert run.returncode == 1
    assert "required MCP servers failed to initialize: req: failed to launch `/no/such/binary`" in run.stderr


@pytest.mark.parametrize(("model", "extra", "half"), [
    ("gpt-5.5", "", 23_982), ("my-local-model", "", 5_982), ("gpt-5.5", "tool_output_token_limit = 1000", 2_382),
])  # fmt: skip
def test_exec_cuts_a_long_mcp_text_in_the_middle_like_codex(codex_env: CodexEnv, model: str, extra: str,
                                                            half: int) -> None:
    """The sizes codex-rs 0.169 keeps (observed): the budget less the `Wall time` header, split head and tail."""
    text = "".join(f"line {i:06d} " + "abcdefghij" * 3 + "\n" for i in range(1, 4700))
    result = {"content": [{"type": "text", "text": text}]}
    script = [{"output": [function_call("custom", {"result": result}, "c_big", namespace="mcp__mini")]},
              {"output": [message("done")]}]
    mini = f'command = "{Path(sys.executable).as_posix()}"\nargs = ["{(DATA / "minimal_server.py").as_posix()}"]\n'
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra=f'approval_policy = "never"\n{extra}\n[mcp_servers.mini]\n{mini}')
        run = codex_env.run("exec", "--json", "-m", model, "-s", "danger-full-access", "go", stdin=subprocess.DEVNULL,
                            timeout=120)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr
    output = _outputs(requests[-1].body)["c_big"]
    assert isinstance(output, list) and output[0]["text"].startswith("Wall time: ")
    body = output[1]["text"]
    head, _, tail = body.partition(" tokens truncated…")
    assert head.rsplit("…", 1)[0] == text[:half] and tail == text[-half:]
    item = next(e["item"] for e in run.events() if e["type"] == "item.completed"
                and e["item"]["type"] == "mcp_tool_call")
    assert item["result"]["content"][0]["text"] == text  # people see all of it; only the model's copy is cut


def test_gpt_5_5_finds_mcp_tools_through_tool_search(codex_env: CodexEnv) -> None:
    """mcp.md §5.4: no namespaces in `tools` but a client `tool_search`; a search call is answered with the matching
    tools (`defer_loading`), the deferred tool can then be called, and `omit_tools_from = ["deferred"]` keeps a
    server listed."""
    search = {"type": "tool_search_call", "id": "tsc_1", "call_id": "call_ts1", "status": "completed",
              "execution": "client", "arguments": {"query": "echo text back", "limit": 3}}
    script = [
        {"output": [search]},
        {"output": [function_call("echo", {"text": "found"}, "c_echo", namespace="mcp__probe")]},
        {"output": [message("done")]},
    ]
    mini = f'command = "{Path(sys.executable).as_posix()}"\nargs = ["{(DATA / "minimal_server.py").as_posix()}"]\n'
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra=f"[mcp_servers.probe]\n{_probe()}\n"
                               f'[mcp_servers.mini]\n{mini}omit_tools_from = ["deferred"]\n')
        run = codex_env.run("exec", "--json", "go", stdin=subprocess.DEVNULL, timeout=120)
        requests = list(server.response_requests)
    assert run.returncode == 0, run.stderr
    tools = requests[0].body["tools"]
    assert [t["name"] for t in tools if t.get("type") == "namespace"] == ["mcp__mini"]  # opted out of deferral
    (tool_search,) = [t for t in tools if t.get("type") == "tool_search"]
    assert tool_search["execution"] == "client" and tool_search["parameters"]["required"] == ["query"]
    answer = next(i for i in requests[1].body["input"] if i.get("type") == "tool_search_output")
    assert (answer["call_id"], answer["status"], answer["execution"]) == ("call_ts1", "completed", "client")
    assert answer["id"].startswith("tso_")
    assert [ns["name"] for ns in answer["tools"]] == ["mcp__probe"]
    found = answer["tools"][0]["tools"]
    assert found[0]["name"] == "echo" and all(t["defer_loading"] for t in found) and len(found) <= 3
    assert requests[1].body["tools"] == tools  # the tools array does not change
    assert str(_outputs(requests[2].body)["c_echo"]).endswith('{"result":"echo: found"}')
