"""The MCP client: live connections to the configured servers (stdio and streamable HTTP), tools and calls.

`McpConnectionManager.start()` launches every enabled server concurrently (one thread each), waits for
required ones and for a short grace period for the rest, and keeps starting the slow ones in the
background; a ready server's tools appear in `tool_specs()` from then on. Calls are routed back with
`call_tool()`; approvals follow mcp.md §7. Streamable HTTP goes through `http.create_client()`, so the
custom CA and proxies apply. MCP server processes are not sandboxed (as in codex-rs); their stderr goes
to this module's logger. Config parsing lives in `mcp_config`, names/schemas/results in `mcp_tools`;
the names the session needs are re-exported here.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codex_cli.errors import CodexError, McpError
from codex_cli.jsoncodec import decode_json, encode_json
from codex_cli.jsonrpc import (
    METHOD_NOT_FOUND,
    ConnectionClosed,
    IncomingRequest,
    JsonRpcPeer,
    LineTransport,
    Message,
    RequestCancelled,
    RequestTimeout,
    RpcError,
)
from codex_cli.mcp_config import (
    DEFAULT_STARTUP_GRACE_SEC,
    SERVER_NAME_PATTERN,
    ApprovalMode,
    McpServerConfig,
    parse_mcp_servers,
    startup_grace_sec,
)
from codex_cli.mcp_tools import (
    McpCallOutcome,
    McpCallTarget,
    SchemaError,
    convert_result,
    failed_outcome,
    format_duration,
    namespace_names,
    parse_arguments,
    rewrite_input_schema,
    sanitize_name,
    tool_model_names,
)
from codex_cli.records import Record
from codex_cli.version import VERSION

if TYPE_CHECKING:
    import httpx

    from codex_cli.protocol import SandboxMode
    from codex_cli.sse import SseEvent

__all__ = [
    "McpCallOutcome",
    "McpCallTarget",
    "McpConnectionManager",
    "McpServerConfig",
    "ServerStatus",
    "format_status_lines",
    "parse_mcp_servers",
    "startup_grace_sec",
]

log = logging.getLogger(__name__)

ServerState = Literal["starting", "connected", "failed", "disabled"]

PROTOCOL_VERSION = "2025-06-18"
_APPROVAL_NEVER = "MCP tool call requires approval, but approval policy is never"
_CANCEL_REASON = "MCP request cancelled by caller"
# Copied from our environment into a stdio server's (mcp.md §1.1); Windows needs a few more to run at all.
_ENV_WHITELIST = tuple(
    "HOME LANG LC_ALL LOGNAME PATH SHELL TERM TMPDIR TZ USER __CF_USER_TEXT_ENCODING CURL_CA_BUNDLE GIT_SSL_CAINFO "
    "NODE_EXTRA_CA_CERTS PIP_CERT REQUESTS_CA_BUNDLE SSL_CERT_FILE".split()
)
_WINDOWS_ENV = tuple(
    "SYSTEMROOT SystemRoot WINDIR COMSPEC PATHEXT USERNAME USERPROFILE APPDATA LOCALAPPDATA PROGRAMDATA "
    "PROGRAMFILES TEMP TMP HOMEDRIVE HOMEPATH".split()
)


# ---------------------------------------------------------------------------------------------------------- transports


def _stdio_env(config: McpServerConfig, env: Mapping[str, str]) -> dict[str, str]:
    names = _ENV_WHITELIST + (_WINDOWS_ENV if sys.platform == "win32" else ())
    child = {name: env[name] for name in names if name in env}
    child.update({spec.name: env[spec.name] for spec in config.env_vars if spec.name in env})
    child.update(config.env or {})
    return child


def _os_error_text(exc: OSError) -> str:
    return f"{exc.strerror} (os error {exc.errno})" if exc.errno and exc.strerror else str(exc)


class _StdioProcess:
    """A child process speaking newline-delimited JSON-RPC on stdin/stdout; stderr goes to the log."""

    def __init__(self, config: McpServerConfig, cwd: Path, env: Mapping[str, str]) -> None:
        self.config = config
        argv = [str(config.command), *config.args]
        workdir = cwd / config.cwd if config.cwd else cwd
        if not workdir.is_dir():
            raise _StartupError(f"the working directory {workdir} does not exist (set `cwd` for this server)")
        kwargs: dict[str, object] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # Ctrl-C in the terminal must not kill the servers
        elif sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=_stdio_env(config, env),
                **kwargs,  # type: ignore[call-overload]
            )
        except OSError as exc:
            raise _StartupError(f"failed to launch `{config.command}`: {_os_error_text(exc)}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.lines = LineTransport(self.proc.stdout, self.proc.stdin, name=f"mcp-{config.name}")
        self._stderr_tail: deque[str] = deque(maxlen=5)
        self._stderr_thread = threading.Thread(target=self._read_stderr, name=f"mcp-{config.name}-stderr", daemon=True)
        self._stderr_thread.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.strip():
                self._stderr_tail.append(line)
            log.info("MCP server stderr (%s): %s", self.config.command, line)

    def send(self, message: Message) -> None:
        self.lines.send(message)

    def attach(self, peer: JsonRpcPeer) -> None:
        self.lines.start(peer, on_eof=self.exit_reason)

    def exit_reason(self) -> str:
        """Why the connection closed, with the exit code and last stderr line when the server died."""
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "connection closed"
        self._stderr_thread.join(timeout=1.0)
        detail = f"the server exited with code {code}"
        if self._stderr_tail:
            detail += f"; last stderr line: {self._stderr_tail[-1].strip()}"
        return f"connection closed ({detail})"

    def begin_close(self) -> None:
        self.lines.close_writer()  # a well-behaved server exits on EOF (mcp.md §4.4)

    def finish_close(self, deadline: float) -> None:
        try:
            self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.lines.join(timeout=1.0)
        self._stderr_thread.join(timeout=1.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class _HttpTransport:
    """MCP streamable HTTP: each message is a POST; answers come back as JSON or as an SSE stream."""

    def __init__(self, config: McpServerConfig, env: Mapping[str, str], read_timeout: float) -> None:
        from codex_cli import http

        self.url = str(config.url)
        headers = {"user-agent": f"codex-mcp-client/{VERSION}", "accept": "text/event-stream, application/json"}
        headers.update(config.http_headers or {})
        for header, variable in (config.env_http_headers or {}).items():
            if env.get(variable):
                headers[header] = env[variable]
        if config.bearer_token_env_var:
            token = env.get(config.bearer_token_env_var)
            if not token:
                raise _StartupError(
                    f"Environment variable {config.bearer_token_env_var} for MCP server '{config.name}' is not set"
                )
            headers["authorization"] = f"Bearer {token}"
        try:
            self.client: httpx.Client = http.create_client(read_timeout=read_timeout, headers=headers)
        except CodexError as exc:  # TLSError for a bad CA bundle, NetworkError for bad proxy settings
            raise _StartupError(exc.message) from None
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._peer: JsonRpcPeer | None = None
        self._threads: list[threading.Thread] = []

    def attach(self, peer: JsonRpcPeer) -> None:
        self._peer = peer

    def send(self, message: Message) -> None:
        if "method" in message and "id" in message:
            thread = threading.Thread(target=self._post_request, args=(message,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        else:
            self._post(message, None)

    def _post_request(self, message: Message) -> None:
        request_id = message["id"]
        try:
            answered = self._post(message, request_id)
        except ConnectionClosed as exc:
            if self._peer is not None:
                self._peer.fail_request(request_id, exc)  # type: ignore[arg-type]
            return
        if not answered and self._peer is not None:
            self._peer.fail_request(request_id, ConnectionClosed("connection closed"))  # type: ignore[arg-type]

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        if self.protocol_version:
            headers["mcp-protocol-version"] = self.protocol_version
        return headers

    def _post(self, message: Message, request_id: object) -> bool:
        """POST one message and deliver what comes back; True once the response to `request_id` arrived."""
        from codex_cli import http

        try:
            with self.client.stream("POST", self.url, content=encode_json(message), headers=self._headers()) as resp:
                self.session_id = resp.headers.get("mcp-session-id") or self.session_id
                if resp.status_code >= 400:
                    body = resp.read().decode("utf-8", "replace").strip()[:300]
                    raise ConnectionClosed(f"HTTP {resp.status_code} from {self.url}" + (f": {body}" if body else ""))
                return self._deliver_body(resp, request_id)
        except ConnectionClosed:
            raise
        except Exception as exc:  # httpx and ssl failures, translated by http.py
            raise ConnectionClosed(http.map_transport_error(exc, self.url).message) from None

    def _deliver_body(self, resp: httpx.Response, request_id: object) -> bool:
        from codex_cli.sse import SseDecoder

        kind = resp.headers.get("content-type", "")
        if "text/event-stream" in kind:
            decoder = SseDecoder()
            for chunk in resp.iter_bytes():
                if self._deliver_events(decoder.feed(chunk), request_id):
                    return True  # stop reading: this stream has nothing more for us
            return self._deliver_events(decoder.close(), request_id)
        data = resp.read()
        return bool(data.strip()) and "json" in kind and self._deliver(data, request_id)

    def _deliver_events(self, events: list[SseEvent], request_id: object) -> bool:
        answered = False
        for event in events:
            if event.data and self._deliver(event.data, request_id):
                answered = True
        return answered

    def _deliver(self, data: str | bytes, request_id: object) -> bool:
        try:
            message = decode_json(data)
        except ValueError:
            log.info("MCP server %s sent invalid JSON: %r", self.url, data[:200])
            return False
        messages = message if isinstance(message, list) else [message]
        answered = False
        for item in messages:
            if (
                isinstance(item, dict)
                and request_id is not None
                and item.get("id") == request_id
                and "method" not in item
            ):
                answered = True
            if self._peer is not None:
                self._peer.dispatch(item)
        return answered

    def begin_close(self) -> None:
        if self.session_id:
            try:
                self.client.delete(self.url, headers={"mcp-session-id": self.session_id}, timeout=2.0)
            except Exception:  # best effort: the server may already be gone
                log.debug("DELETE %s failed", self.url, exc_info=True)

    def finish_close(self, deadline: float) -> None:
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.client.close()


# ---------------------------------------------------------------------------------------------------------- servers


class _StartupError(Exception):
    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out


class _Tool(Record):
    raw_name: str
    model_name: str
    description: str
    parameters: dict[str, object]
    read_only: bool


class ServerStatus(Record):
    """One configured server as `/mcp` shows it."""

    name: str
    state: ServerState
    transport: Literal["stdio", "streamable_http"]
    tools: tuple[str, ...] = ()
    error: str | None = None
    required: bool = False

    def summary(self) -> str:
        count = len(self.tools)
        return f"• {self.name}: {self.state} ({count} tool{'' if count == 1 else 's'})"


class _Server:
    """One configured server: its transport, handshake, tool list and calls."""

    def __init__(self, config: McpServerConfig, namespace: str, cwd: Path, env: Mapping[str, str]) -> None:
        self.config = config
        self.namespace = namespace
        self.state: ServerState = "starting" if config.enabled else "disabled"
        self.error: str | None = None
        self.instructions: str | None = None
        self.has_resources = False
        self.tools: dict[str, _Tool] = {}  # by model name
        self.done = threading.Event()
        self._cwd = cwd
        self._env = env
        self._transport: _StdioProcess | _HttpTransport | None = None
        self.peer: JsonRpcPeer | None = None
        self._progress = 0
        self._lock = threading.Lock()
        self._closing = False

    def next_progress_token(self) -> int:
        with self._lock:
            token, self._progress = self._progress, self._progress + 1
            return token

    def connect(self) -> None:
        """Spawn or connect, then initialize and list tools, all within `startup_timeout_sec`."""
        timeout = self.config.effective_startup_timeout
        deadline = time.monotonic() + timeout
        if not SERVER_NAME_PATTERN.match(self.config.name):
            raise _StartupError(
                f"Invalid MCP server name '{self.config.name}': must match pattern ^[a-zA-Z0-9_:@/.-]+$"
            )
        transport = self._open_transport()
        peer = JsonRpcPeer(transport.send, on_request=_answer_server_request, name=f"mcp:{self.config.name}")
        with self._lock:
            closing = self._closing
            if not closing:
                self._transport, self.peer = transport, peer
        if closing:
            transport.begin_close()
            transport.finish_close(time.monotonic() + 1.0)
            raise _StartupError("the session closed before the server was ready")
        transport.attach(peer)
        result = self._handshake(peer, deadline, timeout)
        if isinstance(transport, _HttpTransport) and isinstance(result.get("protocolVersion"), str):
            transport.protocol_version = str(result["protocolVersion"])
        capabilities = result.get("capabilities")
        self.has_resources = isinstance(capabilities, Mapping) and "resources" in capabilities
        self.instructions = _instructions(result.get("instructions"))
        try:
            peer.notify("notifications/initialized")
            raw_tools = self._list_tools(peer, deadline)
        except RequestTimeout:
            raise _StartupError(f"timed out listing tools after {format_duration(timeout)}", timed_out=True) from None
        except (ConnectionClosed, RpcError) as exc:
            raise _StartupError(f"listing tools failed: {_reason(exc)}") from None
        self._set_tools(raw_tools)

    def _open_transport(self) -> _StdioProcess | _HttpTransport:
        if self.config.transport == "stdio":
            return _StdioProcess(self.config, self._cwd, self._env)
        read_timeout = max(self.config.effective_tool_timeout, self.config.effective_startup_timeout) + 30
        return _HttpTransport(self.config, self._env, read_timeout)

    def _handshake(self, peer: JsonRpcPeer, deadline: float, timeout: float) -> Mapping[str, object]:
        capabilities: dict[str, object] = {"elicitation": {"form": {}, "url": {}}}
        if self.config.transport == "stdio":
            capabilities = {"experimental": {"codex/auth-change": {}}, **capabilities}
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": capabilities,
            "clientInfo": {"name": "codex-mcp-client", "title": "Codex", "version": VERSION},
        }
        try:
            result = peer.request("initialize", params, timeout=max(0.0, deadline - time.monotonic()))
        except RequestTimeout:
            raise _StartupError(
                f"timed out handshaking with MCP server after {format_duration(timeout)}", timed_out=True
            ) from None
        except ConnectionClosed as exc:
            reason = exc.reason.replace("connection closed", "connection closed: initialize response", 1)
            raise _StartupError(f"handshaking with MCP server failed: {reason}") from None
        except RpcError as exc:
            raise _StartupError(f"handshaking with MCP server failed: {exc}") from None
        if not isinstance(result, Mapping):
            raise _StartupError("handshaking with MCP server failed: the initialize result is not an object")
        return result

    def _list_tools(self, peer: JsonRpcPeer, deadline: float) -> list[Mapping[str, object]]:
        tools: list[Mapping[str, object]] = []
        cursor: object = None
        while True:
            params: dict[str, object] = {"_meta": {"progressToken": self.next_progress_token()}}
            if cursor is not None:
                params["cursor"] = cursor
            page = peer.request("tools/list", params, timeout=max(0.0, deadline - time.monotonic()))
            page = page if isinstance(page, Mapping) else {}
            listed = page.get("tools")
            tools += (
                [t for t in listed if isinstance(t, Mapping) and isinstance(t.get("name"), str)]
                if isinstance(listed, list)
                else []
            )
            cursor = page.get("nextCursor")
            if not cursor:
                return tools

    def _set_tools(self, raw_tools: list[Mapping[str, object]]) -> None:
        allowed = [t for t in raw_tools if self.config.allows_tool(str(t["name"]))]
        names = tool_model_names(self.config.name, self.namespace, (str(t["name"]) for t in allowed))
        tools: dict[str, _Tool] = {}
        for raw in allowed:
            name = str(raw["name"])
            annotations = raw.get("annotations")
            read_only = isinstance(annotations, Mapping) and annotations.get("readOnlyHint") is True
            description = raw.get("description")
            try:
                parameters = rewrite_input_schema(raw.get("inputSchema"), self.config.tool_input_schema_max_bytes)
            except SchemaError:
                continue  # codex-rs 0.169 leaves a tool with an unreadable schema out, without a word
            tools[names[name]] = _Tool(
                name, names[name], description if isinstance(description, str) else "", parameters, read_only
            )
        self.tools = tools
        self.state = "connected"

    def tool_by_raw_name(self, raw_name: str) -> _Tool | None:
        return next((t for t in self.tools.values() if t.raw_name == raw_name), None)

    def spec(self) -> dict[str, object]:
        children = [
            {
                "type": "function",
                "name": t.model_name,
                "description": t.description,
                "strict": False,
                "parameters": t.parameters,
            }
            for t in sorted(self.tools.values(), key=lambda t: t.model_name.encode())
        ]
        description = self.instructions or f"Tools in the {self.namespace} namespace."
        return {"type": "namespace", "name": self.namespace, "description": description, "tools": children}

    def request(
        self, method: str, params: dict[str, object], *, timeout: float, cancel: threading.Event | None
    ) -> object:
        """One request; a timeout or cancel sends `notifications/cancelled` and raises `_CallFailed`."""
        peer = self.peer
        if peer is None or self.state != "connected":
            raise _CallFailed(f"MCP server '{self.config.name}' is not running: {self.error or self.state}")
        try:
            pending = peer.start_request(method, params)
        except ConnectionClosed as exc:
            raise _CallFailed(exc.reason) from None
        try:
            return pending.wait(timeout, cancel)
        except (RequestTimeout, RequestCancelled) as exc:
            peer.forget(pending.id)
            try:
                peer.notify("notifications/cancelled", {"requestId": pending.id, "reason": _CANCEL_REASON})
            except ConnectionClosed:
                pass
            if isinstance(exc, RequestCancelled):
                raise _CallFailed("cancelled by the user") from None
            raise _CallFailed(f"timed out awaiting {method} after {format_duration(timeout)}") from None
        except (ConnectionClosed, RpcError) as exc:
            raise _CallFailed(_reason(exc)) from None

    def begin_close(self) -> None:
        with self._lock:
            self._closing = True
            transport = self._transport
        if transport is not None:
            transport.begin_close()

    def finish_close(self, deadline: float) -> None:
        if self._transport is not None:
            self._transport.finish_close(deadline)
        if self.peer is not None:
            self.peer.close("the session closed")


class _CallFailed(Exception):
    pass


# What Rust's `str::trim` strips (Unicode White_Space); Python's own strip() also takes \x1c-\x1f.
_RUST_WHITESPACE = "".join(map(chr, (*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
                                      0x2029, 0x202F, 0x205F, 0x3000)))  # fmt: skip


def _instructions(value: object) -> str | None:
    """The server's `instructions` as the namespace description: its text as sent, only without the surrounding
    whitespace that codex-rs 0.169 trims; blank or absent gives None (the default description)."""
    if not isinstance(value, str):
        return None
    return value.strip(_RUST_WHITESPACE) or None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return exc.reason
    if isinstance(exc, RpcError):
        return f"Mcp error: {exc.code}: {exc.message}"
    return str(exc)


def _answer_server_request(request: IncomingRequest) -> object:
    """Server → client requests (mcp.md §3.4): exec cannot ask the person, so elicitations are declined."""
    if request.method == "elicitation/create":
        return {"action": "decline"}
    if request.method == "roots/list":
        return {"roots": []}
    if request.method == "ping":
        return {}
    raise RpcError(METHOD_NOT_FOUND, request.method)


# ---------------------------------------------------------------------------------------------------------- manager

_RESOURCE_TOOLS = ("list_mcp_resources", "list_mcp_resource_templates", "read_mcp_resource")
_STRING = {"type": "string"}


def _resource_spec(
    name: str, description: str, properties: dict[str, object], required: list[str]
) -> dict[str, object]:
    parameters: dict[str, object] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    parameters["additionalProperties"] = False
    return {"type": "function", "name": name, "description": description, "strict": False, "parameters": parameters}


_RESOURCE_SPECS = [
    _resource_spec(
        "list_mcp_resources",
        "Lists resources provided by MCP servers. Give `server` to list one server's resources.",
        {
            "cursor": {**_STRING, "description": "Cursor from a previous page."},
            "server": {**_STRING, "description": "MCP server name; all servers when omitted."},
        },
        [],
    ),
    _resource_spec(
        "list_mcp_resource_templates",
        "Lists resource templates provided by MCP servers. Give `server` to list one server's templates.",
        {
            "cursor": {**_STRING, "description": "Cursor from a previous page."},
            "server": {**_STRING, "description": "MCP server name; all servers when omitted."},
        },
        [],
    ),
    _resource_spec(
        "read_mcp_resource",
        "Reads one resource from an MCP server, by server name and resource URI.",
        {"server": {**_STRING, "description": "MCP server name."}, "uri": {**_STRING, "description": "Resource URI."}},
        ["server", "uri"],
    ),
]


class McpConnectionManager:
    """Every configured MCP server of one session. Thread-safe; `on_warning` may be called from worker threads."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        on_warning: Callable[[str], None],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        enabled = [name for name, cfg in servers.items() if cfg.enabled]
        names = namespace_names(enabled)
        cwd = Path.cwd() if cwd is None else cwd
        env = dict(os.environ) if env is None else env
        self._servers = {
            name: _Server(cfg, names.get(name, "mcp__" + sanitize_name(name)), cwd, env)
            for name, cfg in servers.items()
        }
        self._on_warning = on_warning
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._queued: list[str] | None = []  # warnings held back while start() runs, then sent in order
        self._closed = False

    @classmethod
    def start(
        cls,
        servers: Mapping[str, McpServerConfig],
        *,
        on_warning: Callable[[str], None],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        grace_sec: float = DEFAULT_STARTUP_GRACE_SEC,
    ) -> McpConnectionManager:
        """Start every enabled server concurrently; wait for the required ones and up to `grace_sec` for the rest.

        Raises McpError (after closing everything) when a required server cannot start.
        """
        manager = cls(servers, on_warning=on_warning, cwd=cwd, env=env)
        for server in manager._servers.values():
            if server.state == "starting":
                thread = threading.Thread(
                    target=manager._start_one, args=(server,), name=f"mcp-start-{server.config.name}", daemon=True
                )
                manager._threads.append(thread)
                thread.start()
        grace_deadline = time.monotonic() + grace_sec
        for server in manager._servers.values():
            if server.config.required and server.config.enabled:
                server.done.wait()
            elif server.state != "disabled":
                server.done.wait(max(0.0, grace_deadline - time.monotonic()))
        failed = [s for s in manager._servers.values() if s.config.required and s.state == "failed"]
        if failed:
            manager.close()
            details = "; ".join(f"{s.config.name}: {s.error}" for s in failed)
            raise McpError(
                f"required MCP servers failed to initialize: {details}",
                "Fix its [mcp_servers.NAME] table in config.toml, or set `required = false` to start without it.",
            )
        manager._flush_warnings()
        return manager

    def _start_one(self, server: _Server) -> None:
        try:
            server.connect()
        except _StartupError as exc:
            server.error = exc.message
            server.state = "failed"
            if not server.config.required:
                self._warn(_startup_warning(server.config, exc))
        except Exception as exc:  # a bug must not leave start() waiting forever
            log.exception("MCP server %s failed to start", server.config.name)
            server.error, server.state = str(exc) or type(exc).__name__, "failed"
        else:
            server.done.set()
            return
        server.done.set()
        server.begin_close()  # a server that hung or failed must not outlive its failure
        server.finish_close(time.monotonic() + 1.0)

    def _warn(self, message: str) -> None:
        with self._lock:
            if self._closed:
                return
            if self._queued is not None:
                self._queued.append(message)
                return
        self._on_warning(message)

    def _flush_warnings(self) -> None:
        with self._lock:
            queued, self._queued = self._queued or [], None
        for message in queued:
            self._on_warning(message)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until every enabled server is connected or failed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for server in self._servers.values():
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if server.state != "disabled" and not server.done.wait(remaining):
                return False
        return True

    # ------------------------------------------------------------------ tools

    def _ready(self) -> list[_Server]:
        return [s for s in self._servers.values() if s.state == "connected"]

    def tool_specs(self, *, deferring: bool = False) -> list[dict[str, object]]:
        """One `namespace` tool per ready server with tools, sorted by namespace (mcp.md §5.1). When `deferring`
        (a model that searches its tools, §5.4), only the servers that opt out of deferral are listed."""
        if deferring:
            servers = [s for s in self._ready() if s.tools and "deferred" in s.config.omit_tools_from]
        else:
            servers = [s for s in self._ready() if s.tools and "direct" not in s.config.omit_tools_from]
        return [s.spec() for s in sorted(servers, key=lambda s: s.namespace.encode())]

    def _deferred(self) -> list[_Server]:
        """The ready servers whose tools `tool_search` finds (all but those with `omit_tools_from` "deferred")."""
        return [s for s in self._ready() if s.tools and "deferred" not in s.config.omit_tools_from]

    def has_deferred_tools(self) -> bool:
        """True when some ready server's tools are found through `tool_search` rather than listed."""
        return bool(self._deferred())

    def search_tools(self, query: str, limit: int = 8) -> list[dict[str, object]]:
        """The deferred tools that best match `query` (BM25 over names, descriptions and parameter names), as the
        namespaces of a `tool_search_output` with `defer_loading` tools; at most `limit` tools, best first."""
        from codex_cli.tool_search import rank

        entries = [(server, tool) for server in self._deferred() for tool in server.tools.values()]
        documents = [" ".join((server.namespace, server.config.name, tool.model_name, tool.raw_name,
                               tool.description, *_parameter_names(tool.parameters))) for server, tool in entries]
        found: dict[str, dict[str, object]] = {}
        for index in rank(query, documents)[: max(limit, 1)]:
            server, tool = entries[index]
            spec = found.setdefault(server.namespace, {**server.spec(), "tools": []})
            children = spec["tools"]
            assert isinstance(children, list)
            children.append({"type": "function", "name": tool.model_name, "description": tool.description,
                             "strict": False, "defer_loading": True, "parameters": tool.parameters})
        return list(found.values())

    def resource_tool_specs(self) -> list[dict[str, object]]:
        """`list_mcp_resources`, `list_mcp_resource_templates`, `read_mcp_resource` when any server is configured."""
        return [dict(spec) for spec in _RESOURCE_SPECS] if any(s.config.enabled for s in self._servers.values()) else []

    def _lookup(self, namespace: str | None, name: str) -> tuple[_Server, _Tool] | None:
        for server in self._ready():
            if server.namespace == namespace and name in server.tools:
                return server, server.tools[name]
        return None

    def handles(self, namespace: str | None, name: str) -> bool:
        """True for a tool of a ready server, or a resource tool (no namespace) when servers are configured."""
        if namespace is None:
            return name in _RESOURCE_TOOLS and bool(self.resource_tool_specs())
        return self._lookup(namespace, name) is not None

    def describe_call(self, namespace: str | None, name: str, arguments_json: str) -> McpCallTarget | None:
        """The server, raw tool name and parsed arguments of a call, for `item.started`; None if not ours."""
        if not self.handles(namespace, name):
            return None
        arguments, _ = parse_arguments(arguments_json)
        if namespace is None:
            server = arguments.get("server") if isinstance(arguments, dict) else None
            return McpCallTarget(server if isinstance(server, str) else "codex", name, arguments)
        found = self._lookup(namespace, name)
        assert found is not None
        return McpCallTarget(found[0].config.name, found[1].raw_name, arguments)

    def tool_approval_mode(self, server: str, tool: str) -> ApprovalMode:
        """Per-tool `approval_mode`, else the server's `default_tools_approval_mode`, else `auto`."""
        config = self._servers[server].config
        return config.tool_approval_modes.get(tool) or config.default_tools_approval_mode or "auto"

    def requires_approval(self, server: str, tool: str, *, sandbox_mode: SandboxMode) -> bool:
        """mcp.md §7: `approve` and danger-full-access run; `prompt` always asks; else only read-only tools run."""
        mode = self.tool_approval_mode(server, tool)
        if mode == "approve" or sandbox_mode == "danger-full-access":
            return False
        if mode == "prompt":
            return True
        found = self._servers[server].tool_by_raw_name(tool)
        return not (found is not None and found.read_only)

    def call_tool(
        self,
        namespace: str | None,
        name: str,
        arguments_json: str,
        *,
        sandbox_mode: SandboxMode,
        call_id: str | None = None,
        cancel: threading.Event | None = None,
        ask_approval: Callable[[McpCallTarget], bool] | None = None,
    ) -> McpCallOutcome:
        """Run one model call of an MCP tool (or a resource tool) and convert its result (mcp.md §6).

        `ask_approval` is asked when the tool needs approval; without it (exec, policy `never`) the call
        fails without contacting the server.
        """
        started = time.monotonic()
        target = self.describe_call(namespace, name, arguments_json)
        if target is None:
            return McpCallOutcome(
                "", name, None, f"unsupported call: {namespace or ''}{name}", error="unsupported call"
            )
        arguments, problem = parse_arguments(arguments_json)
        if problem is not None:
            return failed_outcome(McpCallTarget(target.server, target.tool, None), problem, time.monotonic() - started)
        if namespace is None:
            return self._call_resource_tool(target, arguments)
        found = self._lookup(namespace, name)
        assert found is not None
        server, tool = found
        if self.requires_approval(server.config.name, tool.raw_name, sandbox_mode=sandbox_mode) and not (
            ask_approval is not None and ask_approval(target)
        ):
            message = _APPROVAL_NEVER if ask_approval is None else "MCP tool call was rejected by the user"
            return failed_outcome(target, message, time.monotonic() - started)
        meta: dict[str, object] = {"progressToken": server.next_progress_token()}
        if call_id is not None:
            meta = {"callId": call_id, **meta}
        params: dict[str, object] = {"_meta": meta, "name": tool.raw_name}
        if arguments is not None:
            params["arguments"] = arguments
        try:
            result = server.request("tools/call", params, timeout=server.config.effective_tool_timeout, cancel=cancel)
        except _CallFailed as exc:
            message = (
                f"tool call error: tool call failed for `{server.config.name}/{tool.raw_name}`\n\nCaused by:\n    {exc}"
            )
            return failed_outcome(target, message, time.monotonic() - started)
        return convert_result(target, result, time.monotonic() - started)

    def _call_resource_tool(self, target: McpCallTarget, arguments: object) -> McpCallOutcome:
        args = arguments if isinstance(arguments, dict) else {}
        server_name = args.get("server")

        def done(output: str, error: str | None = None) -> McpCallOutcome:
            event: dict[str, object] | None = None
            if error is None:
                event = {"content": [{"type": "text", "text": output}], "structured_content": None}
            return McpCallOutcome(target.server, target.tool, arguments, output, event, error)

        if server_name is not None and (
            server_name not in self._servers or self._servers[server_name].state == "disabled"
        ):
            return done(f"unknown MCP server '{server_name}'", f"unknown MCP server '{server_name}'")
        try:
            if target.tool == "read_mcp_resource":
                if not isinstance(server_name, str) or not isinstance(args.get("uri"), str):
                    return done("err: `server` and `uri` are required", "missing arguments")
                server = self._servers[server_name]
                result = server.request(
                    "resources/read", {"uri": args["uri"]}, timeout=server.config.effective_tool_timeout, cancel=None
                )
                body = result if isinstance(result, Mapping) else {}
                return done(encode_json({"server": server_name, "uri": args["uri"], **body}).decode())
            return done(encode_json(self._list_resources(target.tool, server_name, args.get("cursor"))).decode())
        except _CallFailed as exc:
            return done(f"{target.tool} failed: {exc}", f"{target.tool} failed: {exc}")

    def _list_resources(self, tool: str, server_name: object, cursor: object) -> dict[str, object]:
        method, key = (
            ("resources/list", "resources")
            if tool == "list_mcp_resources"
            else ("resources/templates/list", "resourceTemplates")
        )
        if isinstance(server_name, str):
            servers = [self._servers[server_name]]
        else:  # all servers: skip those without resources rather than fail the whole listing
            servers = [s for s in self._ready() if s.has_resources]
        entries: list[object] = []
        next_cursor: object = None
        for server in servers:
            params: dict[str, object] = {} if cursor is None else {"cursor": cursor}
            result = server.request(method, params, timeout=server.config.effective_tool_timeout, cancel=None)
            body = result if isinstance(result, Mapping) else {}
            listed = body.get(key)
            entries += (
                [{"server": server.config.name, **e} for e in listed if isinstance(e, Mapping)]
                if isinstance(listed, list)
                else []
            )
            next_cursor = body.get("nextCursor") if isinstance(server_name, str) else None
        out: dict[str, object] = {"server": server_name} if isinstance(server_name, str) else {}
        out[key] = entries
        if next_cursor:
            out["nextCursor"] = next_cursor
        return out

    # ------------------------------------------------------------------ status and shutdown

    def list_status(self) -> list[ServerStatus]:
        """Every configured server, sorted by name, for `/mcp`."""
        statuses: list[ServerStatus] = []
        for name, s in sorted(self._servers.items()):
            state, error = s.state, s.error
            if state == "connected" and s.peer is not None and s.peer.closed is not None:
                state, error = "failed", s.peer.closed.reason  # it stopped after starting
            tools = tuple(sorted(t.raw_name for t in s.tools.values()))
            statuses.append(ServerStatus(name, state, s.config.transport, tools, error, s.config.required))
        return statuses

    def close(self) -> None:
        """Close stdin of every stdio server (DELETE the HTTP sessions) at once, then wait up to 2 s for them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        servers = list(self._servers.values())
        for server in servers:
            server.begin_close()
        deadline = time.monotonic() + 2.0
        for server in servers:
            server.finish_close(deadline)
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))


def _startup_warning(config: McpServerConfig, exc: _StartupError) -> str:
    """The TUI's texts (mcp.md §4.2), printed once per failed optional server."""
    if exc.timed_out:
        seconds = f"{config.effective_startup_timeout:g}"
        return (
            f"MCP client for `{config.name}` timed out after {seconds} seconds. Add or adjust `startup_timeout_sec` "
            f"in your config.toml:\n[mcp_servers.{config.name}]\nstartup_timeout_sec = XX"
        )
    return f"MCP client for `{config.name}` failed to start: MCP startup failed: {exc.message}"


def format_status_lines(statuses: Iterable[ServerStatus], *, verbose: bool = False) -> list[str]:
    """The `/mcp` listing: one summary line per server; `verbose` adds tools and the error."""
    lines: list[str] = []
    for status in statuses:
        lines.append(status.summary())
        if verbose:
            lines.append(f"    Tools: {', '.join(status.tools) if status.tools else '-'}")
            if status.error:
                lines.append(f"    Error: {status.error}")
    return lines or ["No MCP servers configured."]


def _parameter_names(schema: dict[str, object]) -> list[str]:
    properties = schema.get("properties")
    return [str(name) for name in properties] if isinstance(properties, dict) else []
