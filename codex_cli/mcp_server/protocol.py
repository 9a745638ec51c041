"""The MCP server behind `codex mcp-server`: the JSON-RPC conversation with one client and the sessions it runs.

`McpServer` answers `initialize` (the client's protocol version when it is 2025-06-18 or older, else 2025-06-18),
`ping` and `tools/list` on the reader thread, and serves each `tools/call` on a worker thread of its own, so the
reader keeps taking elicitation answers and `notifications/cancelled` while turns run; many sessions run at once.
Every event of a session's stream goes to the client as a `codex/event` notification tagged with the serving
call's request id (plus `notifications/progress` when the call asked for progress). Approvals become
`elicitation/create` requests that block the session's thread until the client answers. A cancelled call
interrupts its turn and gets no response (as MCP asks). When the client goes away every turn is interrupted,
so each rollout ends with its `turn_aborted` lines, and the sessions are closed. Sessions are ordinary rollouts:
`codex-reply` resumes a thread from its rollout when this process has not seen it, and `codex exec resume`
can continue a thread started here. Malformed lines and unknown methods get JSON-RPC errors (`jsonrpc`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli.errors import CodexError
from codex_cli.jsonrpc import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    ConnectionClosed,
    IncomingRequest,
    JsonRpcPeer,
    LineTransport,
    Message,
    RequestCancelled,
    RpcError,
    error_response,
    notification,
    response,
)
from codex_cli.mcp_server.codex_tools import (
    CODEX_REPLY_TOOL,
    CODEX_TOOL,
    TOOLS,
    ToolArgumentError,
    error_result,
    exec_elicitation,
    parse_codex_args,
    parse_reply_args,
    patch_elicitation,
    review_decision,
    session_config,
    tool_result,
)
from codex_cli.mcp_server.events import CodexEventStream, EventMsg, SessionInfo, warning_msg
from codex_cli.protocol import Event, TurnAborted, TurnCompleted, TurnFailed, TurnStarted, WarningNotice
from codex_cli.records import Record, replace
from codex_cli.version import VERSION

if TYPE_CHECKING:
    from codex_cli.bootstrap import ThreadStart
    from codex_cli.config import CliOverrides, Config
    from codex_cli.safety import ApprovalRequest, ReviewDecision
    from codex_cli.session import Session
    from codex_cli.thread import Thread

__all__ = ["LATEST_PROTOCOL_VERSION", "McpServer", "negotiate_protocol_version"]

log = logging.getLogger(__name__)

LATEST_PROTOCOL_VERSION = "2025-06-18"
SERVER_NAME = "codex-mcp-server"
ORIGINATOR = "codex_cli_rs"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTERRUPTED = "The turn was interrupted before it finished."
_SHUTDOWN_JOIN_SEC = 10.0  # turns stop within ~0.1 s of an interrupt; this bounds a stuck one
_FINISHING_WAIT_SEC = 10.0  # a turn that has sent its end returns within milliseconds; this bounds a stuck one

RequestId = int | str


def negotiate_protocol_version(requested: object) -> str:
    """The client's version when it is 2025-06-18 or older, else 2025-06-18."""
    if isinstance(requested, str) and _DATE.fullmatch(requested) and requested <= LATEST_PROTOCOL_VERSION:
        return requested
    return LATEST_PROTOCOL_VERSION


def _request_id(value: object) -> RequestId | None:
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


class _Call(Record, frozen=False, eq=False):
    """One `tools/call` being served."""

    request_id: RequestId
    progress_token: object = None
    cancelled: bool = False
    progress: int = 0
    thread: _Thread | None = None


class _ServerPeer(JsonRpcPeer):
    """The JSON-RPC peer, except that `tools/call` requests are answered later, from their worker thread."""

    def __init__(self, server: McpServer, transport: LineTransport) -> None:
        super().__init__(transport.send, on_request=server.handle_request, on_notification=server.handle_notification,
                         name="mcp-server")  # fmt: skip
        self._server = server

    def dispatch(self, message: object) -> None:
        if isinstance(message, dict) and message.get("jsonrpc") == "2.0" and message.get("method") == "tools/call":
            request_id = _request_id(message.get("id"))
            if request_id is not None:
                self._server.start_tool_call(request_id, message.get("params"))
                return
        super().dispatch(message)


class _Thread:
    """A live session of this server: what serves it now, its event translation, and its approvals."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.core: Thread | None = None  # the open thread (codex_cli.thread)
        self.events: CodexEventStream | None = None
        self.call: _Call | None = None  # the call whose turn is running
        self.busy = True  # guarded by the server's lock; a new thread is busy until its first turn ends
        self.turn_over = False  # its turn has told the client it ended (it is finishing: notify, hooks)
        self.cancel = threading.Event()  # stops a pending approval question

    @property
    def session(self) -> Session | None:
        return self.core.session if self.core is not None else None

    @property
    def thread_id(self) -> str:
        return self.core.thread_id if self.core is not None else ""

    def attach(self, core: Thread) -> None:
        self.core, session, config = core, core.session, core.config
        info = SessionInfo(
            thread_id=session.thread_id, model=config.model, model_provider_id=config.model_provider_id,
            approval_policy=config.approval_policy, sandbox_mode=config.sandbox_mode, cwd=str(config.cwd),
            rollout_path=str(core.rollout_path) if core.rollout_path is not None else None,
            reasoning_effort=config.model_reasoning_effort, context_window=config.model_context_window,
        )  # fmt: skip
        self.events = CodexEventStream(info)

    def emit(self, event: Event) -> None:
        """The session's event stream (runs on the session's thread; an MCP server's start-up warning may come
        from another, also while the session is being built)."""
        call, events = self.call, self.events
        if call is None:
            return
        if events is None:
            if isinstance(event, WarningNotice):
                self.server.send_event(call, self.thread_id, ("", warning_msg(event)))
            return
        if isinstance(event, TurnStarted) and call.cancelled and self.session is not None:
            self.session.interrupt()  # the cancel arrived before run_turn() reset the flag
        if isinstance(event, (TurnStarted, TurnCompleted, TurnFailed, TurnAborted)):
            self.turn_over = not isinstance(event, TurnStarted)
        for event_msg in events.translate(event):
            self.server.send_event(call, self.thread_id, event_msg)

    def request(self, req: ApprovalRequest) -> ReviewDecision:
        """`safety.Approver`: ask the client through `elicitation/create` and wait for the answer."""
        call, events, session = self.call, self.events, self.session
        if call is None or events is None or session is None or call.cancelled:
            return "abort"
        thread_id, turn_id = session.thread_id, events.turn_id
        elicitation = exec_elicitation if req.kind == "exec" else patch_elicitation
        params = elicitation(req, thread_id=thread_id, tool_call_id=call.request_id, turn_id=turn_id)
        self.server.send_event(call, session.thread_id, events.approval_request(req))
        return self.server.elicit(params, self.cancel)

    def interrupt(self) -> None:
        self.cancel.set()
        if self.session is not None:
            self.session.interrupt()

    def close(self) -> None:
        if self.core is not None:
            try:
                self.core.close()
            except Exception:  # closing must go on for the other sessions
                log.exception("closing session %s failed", self.thread_id)


class McpServer:
    """One client's MCP conversation over a line transport, and the Codex sessions it started."""

    def __init__(
        self,
        transport: LineTransport,
        *,
        overrides: CliOverrides,
        env: Mapping[str, str],
        cwd: Path,
    ) -> None:
        self._transport = transport
        self._overrides = overrides
        self._env = dict(env)
        self._cwd = cwd
        self._peer = _ServerPeer(self, transport)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # a thread's turn has returned
        self._resume_lock = threading.Lock()
        self._threads: dict[str, _Thread] = {}
        self._calls: dict[RequestId, _Call] = {}
        self._workers: set[threading.Thread] = set()
        self._closing = False
        self._client_info: Mapping[str, object] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def closing(self) -> bool:
        """Whether shutdown has begun (the client disconnected, or `shutdown()` was called)."""
        return self._closing

    def serve(self) -> None:
        """Read requests until the client disconnects, then interrupt what still runs and close every session."""
        threading.Thread(target=_warm_up, name="mcp-server-warm-up", daemon=True).start()
        self._transport.start(self._peer)
        try:
            while self._peer.closed is None:  # the reader closes the peer at EOF
                self._transport.join(0.2)  # short waits: a signal may land on another thread and must not wait
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Interrupt every running turn, wait for the workers, and close the sessions (rollouts end complete)."""
        with self._lock:
            self._closing = True
            threads = list(self._threads.values())
            for call in self._calls.values():
                if call.thread is not None and call.thread not in threads:
                    threads.append(call.thread)
        self._peer.close("client disconnected")  # pending approval questions end as "abort"
        for thread in threads:
            thread.interrupt()
        deadline = time.monotonic() + _SHUTDOWN_JOIN_SEC
        for worker in list(self._workers):
            worker.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._threads.values())
            self._threads.clear()
        for thread in threads:
            thread.close()

    def _on_disconnect(self) -> None:
        """Writing failed: the client is gone even if stdin is still open; stop the turns now."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            threads = list(self._threads.values()) + [c.thread for c in self._calls.values() if c.thread]
        self._peer.close("client disconnected")
        for thread in threads:
            thread.interrupt()

    def _send(self, message: Message) -> None:
        try:
            self._transport.send(message)
        except ConnectionClosed:
            self._on_disconnect()

    def send_event(self, call: _Call, thread_id: str, event_msg: EventMsg) -> None:
        """One `codex/event` notification for the call being served, and its progress notification."""
        event_id, msg = event_msg
        params = {"_meta": {"requestId": call.request_id, "threadId": thread_id}, "id": event_id, "msg": msg}
        self._send(notification("codex/event", params))
        kind = str(msg.get("type", ""))
        if call.progress_token is not None and not call.cancelled and not kind.endswith("_delta"):
            call.progress += 1
            progress = {"progressToken": call.progress_token, "progress": call.progress, "message": kind}
            self._send(notification("notifications/progress", progress))

    # ------------------------------------------------------------------ requests on the reader thread

    def handle_request(self, request: IncomingRequest) -> object:
        if request.method == "initialize":
            return self._initialize(request.params)
        if request.method == "ping":
            return {}
        if request.method == "tools/list":
            return {"tools": TOOLS}
        raise RpcError(METHOD_NOT_FOUND, "Method not found", request.method)

    def _initialize(self, params: object) -> dict[str, object]:
        from codex_cli.model import user_agent

        params = params if isinstance(params, Mapping) else {}
        info = params.get("clientInfo")
        self._client_info = info if isinstance(info, Mapping) else {}
        name, version = self._client_pair()
        agent = user_agent(ORIGINATOR, client=name, client_version=version)
        return {
            "protocolVersion": negotiate_protocol_version(params.get("protocolVersion")),
            "capabilities": {"tools": {"listChanged": True}},
            "serverInfo": {"name": SERVER_NAME, "title": "Codex", "version": VERSION, "user_agent": agent},
        }

    def _client_pair(self) -> tuple[str, str]:
        """The MCP client's (name, version) from `initialize`, which the User-Agent names (mcp.md §10.1)."""
        info = self._client_info
        return str(info.get("name", "unknown")), str(info.get("version", "unknown"))

    def handle_notification(self, method: str, params: object) -> None:
        if method != "notifications/cancelled" or not isinstance(params, Mapping):
            return  # notifications/initialized and the rest need nothing
        with self._lock:
            call = self._calls.get(_request_id(params.get("requestId")))  # type: ignore[arg-type]
            if call is None:
                return
            call.cancelled = True
            thread = call.thread
        if thread is not None:
            thread.interrupt()

    def start_tool_call(self, request_id: RequestId, params: object) -> None:
        """Serve one `tools/call` on a worker thread of its own."""
        if not isinstance(params, Mapping) or not isinstance(params.get("name"), str):
            self._send(error_response(request_id, RpcError(INVALID_PARAMS, "Invalid params: expected a tool name")))
            return
        meta = params.get("_meta")
        call = _Call(request_id, meta.get("progressToken") if isinstance(meta, Mapping) else None)
        worker = threading.Thread(target=self._serve_call, args=(call, params["name"], params.get("arguments")),
                                  name=f"mcp-call-{request_id}", daemon=True)  # fmt: skip
        with self._lock:
            if self._closing:
                return
            self._calls[request_id] = call
            self._workers.add(worker)
        worker.start()

    # ------------------------------------------------------------------ tool calls on worker threads

    def _serve_call(self, call: _Call, name: str, arguments: object) -> None:
        try:
            if name == CODEX_TOOL:
                result = self._codex(call, arguments)
            elif name == CODEX_REPLY_TOOL:
                result = self._reply(call, arguments)
            else:
                result = error_result(f"Unknown tool '{name}'")
        except Exception as exc:  # a bug in one call must not take the server down
            log.exception("tools/call %s failed", name)
            result = error_result(f"Codex failed: {exc}")
        finally:
            with self._lock:
                self._calls.pop(call.request_id, None)
                self._workers.discard(threading.current_thread())
        if not call.cancelled:
            self._send(response(call.request_id, result))

    def _codex(self, call: _Call, arguments: object) -> dict[str, object]:
        try:
            args = parse_codex_args(arguments)
        except ToolArgumentError as exc:
            return error_result(str(exc))
        thread = _Thread(self)
        thread.call, call.thread = call, thread
        try:
            config = session_config(args, self._overrides, self._env, self._cwd)
            core = self._open(thread, config)
        except CodexError as exc:
            return error_result(_error_text(exc))
        with self._lock:
            if not self._closing:
                self._threads[thread.thread_id] = thread
        if self._closing:
            thread.close()
            return error_result("The server is shutting down.")
        core.session.start()  # then the warnings met while building it
        return self._run_turn(thread, call, args.prompt)

    def _open(self, thread: _Thread, config: Config, start: ThreadStart | None = None) -> Thread:
        from codex_cli.bootstrap import ThreadStart
        from codex_cli.thread import hook_engine, open_thread

        name = self._client_info.get("name")
        core = open_thread(config, start or ThreadStart(source="mcp"), originator=ORIGINATOR, emit=thread.emit,
                           client=name if isinstance(name, str) and name else "codex-mcp-server",
                           hooks=hook_engine(config),  # the lifecycle hooks run in server sessions too (trusted ones)
                           approver=thread, env=self._env,
                           model_client=self._client_pair())  # fmt: skip
        thread.attach(core)
        return core

    def _reply(self, call: _Call, arguments: object) -> dict[str, object]:
        try:
            args = parse_reply_args(arguments)
        except ToolArgumentError as exc:
            return error_result(str(exc))
        thread_id = args.thread_id.lower()
        try:
            with self._lock:
                thread = self._claim(thread_id)
            if thread is None:
                thread = self._resume(thread_id, call)
        except CodexError as exc:
            return tool_result(thread_id, _error_text(exc), is_error=True)
        if thread is None:
            return tool_result(thread_id, f"Session not found for thread_id: {thread_id}", is_error=True)
        thread.call, call.thread = call, thread
        return self._run_turn(thread, call, args.prompt)

    def _resume(self, thread_id: str, call: _Call) -> _Thread | None:
        """A thread this process has not seen, continued from its rollout (None when there is none)."""
        from codex_cli.config import find_codex_home, load_config
        from codex_cli.thread import ThreadNotFound, ThreadRef, thread_start

        with self._resume_lock:  # two replies to the same recorded thread must not open it twice
            with self._lock:
                claimed = self._claim(thread_id)
            if claimed is not None:
                return claimed
            try:
                start = thread_start(find_codex_home(self._env), ThreadRef(name=thread_id, by_name=False),
                                     source="mcp")
            except ThreadNotFound:
                return None
            assert start.resumed is not None
            recorded = Path(start.resumed.last_cwd or start.resumed.meta.cwd or self._cwd)
            overrides = replace(self._overrides, cwd=recorded if recorded.is_dir() else self._cwd)
            thread = _Thread(self)
            thread.call, call.thread = call, thread
            core = self._open(thread, load_config(overrides, self._env), start)
            with self._lock:
                self._threads[thread_id] = thread
        core.session.start()
        return thread

    def _claim(self, thread_id: str) -> _Thread | None:
        """The live thread, marked busy (call with the lock held); None when this process does not have it."""
        thread = self._threads.get(thread_id)
        if thread is None:
            return None
        if thread.busy and thread.turn_over:
            # The client heard the turn end (turn_aborted, task_complete) and may reply at once, while the turn
            # is still returning: wait for it rather than refuse the reply.
            self._idle.wait_for(lambda: not thread.busy, timeout=_FINISHING_WAIT_SEC)
        if thread.busy:
            raise CodexError(f"Session {thread_id} is still running a turn; wait for its result before replying.")
        thread.busy = True
        return thread

    def _run_turn(self, thread: _Thread, call: _Call, prompt: str) -> dict[str, object]:
        from codex_cli.response_items import text_message

        core, events = thread.core, thread.events
        assert core is not None and events is not None
        session = core.session
        thread.cancel.clear()
        try:
            if call.cancelled:
                return tool_result(session.thread_id, _INTERRUPTED, is_error=True)
            events.expect_prompt(prompt)
            result = core.run_turn([text_message("user", prompt)])  # notify runs when it completes
        finally:
            with self._lock:
                thread.busy, thread.call = False, None
                self._idle.notify_all()
        if result.status == "completed":
            return tool_result(session.thread_id, result.last_agent_message or "")
        if result.status == "failed":
            return tool_result(session.thread_id, result.error or "The turn failed.", is_error=True)
        return tool_result(session.thread_id, _INTERRUPTED, is_error=True)

    # ------------------------------------------------------------------ approvals

    def elicit(self, params: dict[str, object], cancel: threading.Event) -> ReviewDecision:
        """Send `elicitation/create` and wait for the answer; a cancel or a lost client aborts the turn."""
        try:
            pending = self._peer.start_request("elicitation/create", params)
        except ConnectionClosed:
            return "abort"
        try:
            answer = pending.wait(cancel=cancel)
        except RequestCancelled:
            self._send(notification("notifications/cancelled", {"requestId": pending.id, "reason": "turn interrupted"}))
            return "abort"
        except ConnectionClosed:
            return "abort"
        except RpcError as exc:  # e.g. a client that cannot elicit: nobody approved
            log.warning("elicitation failed: %s", exc)
            return "denied"
        finally:
            self._peer.forget(pending.id)
        return review_decision(answer)


def _warm_up() -> None:
    """Import what the first session needs while the client is still initializing (first calls come sooner)."""
    try:
        import codex_cli.bootstrap
        import codex_cli.http

        codex_cli.http.create_client(read_timeout=None).close()
        del codex_cli.bootstrap
    except Exception:  # the first call will meet (and report) the same problem
        log.debug("warm-up failed", exc_info=True)


def _error_text(exc: CodexError) -> str:
    return exc.message if exc.hint is None else f"{exc.message}\n{exc.hint}"
