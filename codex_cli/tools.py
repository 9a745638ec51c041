"""The tools offered to the model, and running one tool call into its output item and events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli import safety, shell
from codex_cli.execpolicy import PrefixRules
from codex_cli.jsoncodec import argument_error
from codex_cli.patch_grammar import APPLY_PATCH_LARK_GRAMMAR, APPLY_PATCH_TOOL_DESCRIPTION
from codex_cli.protocol import (
    AskForApproval,
    CommandExecutionItem,
    CommandOutputDelta,
    CommandStatus,
    ErrorItem,
    Event,
    FileChange,
    FileChangeItem,
    ItemCompleted,
    ItemStarted,
    ItemUpdated,
    SandboxMode,
    TodoEntry,
    TodoListItem,
    uuid7,
)
from codex_cli.records import Record, field, replace

if TYPE_CHECKING:
    from codex_cli import patch
    from codex_cli.mcp_client import McpConnectionManager
    from codex_cli.sandbox import PreparedSandbox
    from codex_cli.shell_snapshot import ShellSnapshot

__all__ = ["ToolCall", "ToolContext", "ToolRunner", "ToolSettings", "tool_call_from_item", "web_search_spec"]


class ToolCall(Record):
    """One call the model made: a function call (JSON arguments) or a custom (freeform) call."""

    kind: str  # "function" | "custom" | "search" (a `tool_search_call`)
    name: str
    call_id: str
    payload: str  # JSON arguments for functions, raw input for custom tools
    namespace: str | None = None

    def output_item(self, output: str | list[dict[str, object]]) -> dict[str, object]:
        """The history item that answers this call (for a search: the tools found, none when `output` is text)."""
        if self.kind == "search":
            return {"type": "tool_search_output", "id": f"tso_{uuid7()}", "call_id": self.call_id,
                    "status": "completed", "execution": "client", "tools": output if isinstance(output, list) else []}
        if self.kind == "custom":
            return {"type": "custom_tool_call_output", "id": f"ctco_{uuid7()}", "call_id": self.call_id,
                    "output": output}
        return {"type": "function_call_output", "id": f"fco_{uuid7()}", "call_id": self.call_id,
                "output": output}


def tool_call_from_item(item: Mapping[str, object]) -> ToolCall | None:
    """The tool call an output item asks for, or None for messages and reasoning."""
    kind = item.get("type")
    call_id = str(item.get("call_id") or item.get("id") or "")
    if kind == "function_call":
        namespace = item.get("namespace")
        return ToolCall(
            "function",
            str(item.get("name", "")),
            call_id,
            str(item.get("arguments", "")),
            namespace if isinstance(namespace, str) else None,
        )
    if kind == "custom_tool_call":
        return ToolCall("custom", str(item.get("name", "")), call_id, str(item.get("input", "")))
    if kind == "tool_search_call":  # its arguments are a JSON object, not a string
        arguments = item.get("arguments")
        return ToolCall("search", "tool_search", call_id, json.dumps(arguments if isinstance(arguments, dict) else {}))
    return None


# Answered item types, one per call kind.


class ToolSettings(Record):
    """What the tools need to know about the session: policy, environment and switches."""

    sandbox_mode: SandboxMode
    writable_roots: tuple[Path, ...]  # cwd first; where patches may write under workspace-write
    env_policy: shell.EnvPolicy
    base_env: Mapping[str, str]
    network_access: bool = False
    update_plan_enabled: bool = True
    sandbox: PreparedSandbox | None = None
    approval_policy: AskForApproval = "never"
    bypass: bool = False  # --dangerously-bypass-approvals-and-sandbox
    approver: safety.Approver = field(default_factory=safety.PolicyOnlyApprover)
    rules: PrefixRules | None = None
    mcp: McpConnectionManager | None = None
    shell_tool_enabled: bool = True  # [features] shell_tool: exec_command and write_stdin
    view_image_enabled: bool = True  # [features] view_image
    web_search: Mapping[str, object] | None = None  # the hosted `web_search` tool entry (`web_search_spec`)
    search_tool: bool = False  # the model finds MCP tools through `tool_search` (mcp.md §5.4) instead of a list
    output_budget_tokens: int = 12_000  # what one output may take in the history (`model_family.tool_output_budget`)
    shell_snapshot: bool = False  # [features] shell_snapshot: login-shell commands source a per-session snapshot
    codex_home: Path | None = None  # where the snapshots go (shell_snapshots/)


class ToolContext(Record, frozen=False):
    """Per-turn state the tools share with the session."""

    cwd: Path
    thread_id: str
    emit: Callable[[Event], None]
    new_item_id: Callable[[], str]
    cancel: threading.Event
    plan_item: TodoListItem | None = None
    open_items: list[str] = field(default_factory=list)


_EXEC_COMMAND_SPEC: dict[str, object] = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a shell command and returns its output, or a session id if it is still running.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "cmd": {"type": "string", "description": "Shell command to execute."},
            "workdir": {"type": "string", "description": "Working directory; defaults to the turn's cwd."},
            "shell": {"type": "string", "description": "Shell binary to launch; defaults to the user's shell."},
            "login": {"type": "boolean", "description": "Run the shell as a login shell (-l). Default true."},
            "tty": {"type": "boolean", "description": "Allocate a terminal so the process can read stdin."},
            "yield_time_ms": {"type": "number", "description": "How long to wait for output before returning."},
            "max_output_tokens": {"type": "number", "description": "Token budget for the returned output."},
            "sandbox_permissions": {
                "type": "string",
                "enum": ["use_default", "require_escalated"],
                "description": "Ask to run outside the sandbox (needs approval).",
            },
            "justification": {"type": "string", "description": "Why escalation is needed, in one sentence."},
            "prefix_rule": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["cmd"],
        "additionalProperties": False,
    },
}

_WRITE_STDIN_SPEC: dict[str, object] = {
    "type": "function",
    "name": "write_stdin",
    "description": "Writes characters to a running exec_command session and returns new output.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "session_id": {"type": "number", "description": "Session id returned by exec_command."},
            "chars": {"type": "string", "description": "Characters to write; empty to just poll."},
            "yield_time_ms": {"type": "number"},
            "max_output_tokens": {"type": "number"},
        },
        "required": ["session_id"],
        "additionalProperties": False,
    },
}

_UPDATE_PLAN_SPEC: dict[str, object] = {
    "type": "function",
    "name": "update_plan",
    "description": (
        "Records the task plan shown to the user. Give every step with its status; "
        "keep at most one step in_progress."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "explanation": {"type": "string"},
            "plan": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                    },
                    "required": ["step", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["plan"],
        "additionalProperties": False,
    },
}


_VIEW_IMAGE_SPEC: dict[str, object] = {
    "type": "function",
    "name": "view_image",
    "description": "Attach a local image (by filesystem path) to the conversation so you can look at it.",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Local filesystem path to an image file."}},
        "required": ["path"],
        "additionalProperties": False,
    },
}


_TOOL_SEARCH_SPEC: dict[str, object] = {
    "type": "tool_search",
    "execution": "client",
    "description": (
        "Find tools from the connected MCP servers that are not listed with the others. Describe what you want "
        "to do in a few words; the matching tools are added to the conversation, and you can then call them by "
        "their namespace and name."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Words describing the tool you need."},
            "limit": {"type": "number", "description": "How many tools to return at most. Defaults to 8."},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
}


def web_search_spec(
    mode: str, *, full_access: bool = False, options: Mapping[str, object] | None = None
) -> dict[str, object] | None:
    """The hosted `web_search` tool for a `web_search` mode (config.md §6.9), or None when disabled.

    `cached` searches without live access unless the sandbox is danger-full-access; `options` is the
    `[tools.web_search]` table (`context_size`, `allowed_domains`)."""
    if mode == "disabled":
        return None
    spec: dict[str, object] = {"type": "web_search", "external_web_access": mode != "cached" or full_access}
    if mode == "indexed":
        spec["indexed_web_access"] = True
    options = options or {}
    if isinstance(options.get("context_size"), str):
        spec["search_context_size"] = options["context_size"]
    domains = options.get("allowed_domains")
    if isinstance(domains, list) and all(isinstance(d, str) for d in domains):
        spec["filters"] = {"allowed_domains": list(domains)}
    return spec


def _apply_patch_spec() -> dict[str, object]:
    return {
        "type": "custom",
        "name": "apply_patch",
        "description": APPLY_PATCH_TOOL_DESCRIPTION,
        "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_LARK_GRAMMAR},
    }


class _ToolError(Exception):
    """A failure reported to the model as the tool's output; the turn goes on."""


def _parse_arguments(payload: str) -> dict[str, object]:
    try:
        value = json.loads(payload or "{}")
    except json.JSONDecodeError as exc:
        raise _ToolError(
            f"failed to parse function arguments: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise _ToolError("failed to parse function arguments: expected a JSON object")
    return value


def _optional_int(args: Mapping[str, object], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _ToolError(f"failed to parse function arguments: `{key}` must be a number")
    return int(value)


class ToolRunner:
    """Runs the model's tool calls for one conversation; owns its live command sessions."""

    def __init__(self, settings: ToolSettings) -> None:
        self.settings = settings
        sandbox = settings.sandbox
        self.processes = shell.ProcessManager(
            launcher=sandbox.command if sandbox is not None else None,
            preexec=sandbox.preexec if sandbox is not None else None,
        )
        # Approved escalations and the danger-full-access mode run here, outside any sandbox.
        self.plain_processes = shell.ProcessManager()
        self._approved_commands: set[tuple[str, ...]] = set()
        self._patches_approved = False
        self._snapshot: ShellSnapshot | None = None
        self._snapshot_told = False  # the person has been told why there is no snapshot

    def prepare_shell_snapshot(self, thread_id: str, cwd: Path) -> None:
        """Snapshot the user's login shell in the background, under the session's sandbox (shell_snapshot.py), when
        `[features] shell_snapshot` is on and the shell is one that can be: bash, zsh or a POSIX sh. The login shell
        starts with the first request (`specs()`): a profile such as pyenv's init, run beside codex's own start,
        delays that request on a busy machine, and the model takes longer to answer than the profile to run."""
        from codex_cli import shell_snapshot

        settings = self.settings
        shell_path = shell.default_shell_path()
        # Not where nothing confines commands (Windows): there each one waits for approval, the profile would not.
        sandbox = settings.sandbox
        confinable = sandbox.confined if sandbox is not None else settings.sandbox_mode == "danger-full-access"
        if (not settings.shell_snapshot or not settings.shell_tool_enabled or settings.codex_home is None
                or not confinable or shell_snapshot.snapshot_kind(shell_path) is None):
            return
        policy = settings.env_policy
        self._snapshot = shell_snapshot.ShellSnapshot(
            shell_path,
            directory=settings.codex_home / shell_snapshot.DIRECTORY,
            thread_id=thread_id,
            cwd=cwd,
            env=self._command_env(thread_id, "shell_snapshot", sandboxed=True),
            keeps=lambda name: shell.profile_var_kept(policy, name),
            launcher=self.processes.launcher,
            preexec=self.processes.preexec,
            timeout=shell_snapshot.TIMEOUT_S,
        )

    def specs(self) -> list[dict[str, object]]:
        """The `tools` array of a request (the first one also starts the shell snapshot)."""
        if self._snapshot is not None:
            self._snapshot.start()
        specs = [_EXEC_COMMAND_SPEC, _WRITE_STDIN_SPEC] if self.settings.shell_tool_enabled else []
        mcp = self.settings.mcp
        if mcp is not None:
            specs += mcp.resource_tool_specs()
        if self.settings.update_plan_enabled:
            specs.append(_UPDATE_PLAN_SPEC)
        specs.append(_apply_patch_spec())
        if self.settings.view_image_enabled:
            specs.append(_VIEW_IMAGE_SPEC)
        deferring = self.settings.search_tool and mcp is not None
        if mcp is not None:
            specs += mcp.tool_specs(deferring=deferring)  # servers that became ready since the last request appear
        if deferring and mcp is not None and mcp.has_deferred_tools():
            specs.append(_TOOL_SEARCH_SPEC)
        if self.settings.web_search is not None:
            specs.append(dict(self.settings.web_search))
        return specs

    def close(self) -> None:
        if self.settings.mcp is not None:
            self.settings.mcp.close()
        self.processes.close()
        self.plain_processes.close()
        if self._snapshot is not None:
            self._snapshot.close()
        if self.settings.sandbox is not None:
            self.settings.sandbox.close()

    def run(self, call: ToolCall, ctx: ToolContext) -> dict[str, object]:
        """Run one call and return the output item to append to the history, its output within the budget."""
        item = self._run(call, ctx)
        output = item.get("output")
        if isinstance(output, (str, list)):
            item["output"] = shell.cap_tool_output(output, self.settings.output_budget_tokens)
        return item

    def _run(self, call: ToolCall, ctx: ToolContext) -> dict[str, object]:
        problem = argument_error(call.payload, json_text=call.kind != "custom")
        if problem is not None:  # a lone surrogate or nesting past serde_json's limit: answered, never run
            return call.output_item(f"failed to parse function arguments: {problem}")
        if call.kind == "search":
            return call.output_item(self._tool_search(call))
        try:
            if call.kind == "custom" and call.name == "apply_patch":
                return call.output_item(self._apply_patch(call.payload, ctx.cwd, call, ctx))
            mcp = self.settings.mcp
            if call.kind == "function" and mcp is not None and mcp.handles(call.namespace, call.name):
                return call.output_item(self._mcp_call(mcp, call, ctx))
            if call.kind == "function" and call.namespace is None and call.name == "view_image":
                if self.settings.view_image_enabled:
                    return call.output_item(_view_image(_parse_arguments(call.payload), ctx))
            elif call.kind == "function" and call.namespace is None:
                handler = self._function_handlers().get(call.name)
                if handler is not None:
                    return call.output_item(handler(call, _parse_arguments(call.payload), ctx))
            if call.kind == "function" and call.name == "apply_patch":
                return call.output_item("aborted")
            label = f"{call.namespace}{call.name}" if call.namespace else call.name  # mcp.md §6.2
            return call.output_item(f"unsupported call: {label}")
        except _ToolError as exc:
            return call.output_item(str(exc))
        except shell.ExecFailure as exc:
            return call.output_item(str(exc))

    def _mcp_call(self, mcp: McpConnectionManager, call: ToolCall, ctx: ToolContext) -> str | list[dict[str, object]]:
        item_id = ctx.new_item_id()
        target = mcp.describe_call(call.namespace, call.name, call.payload)
        if target is not None:
            ctx.emit(ItemStarted(target.item(item_id, call.call_id)))
        outcome = mcp.call_tool(call.namespace, call.name, call.payload, sandbox_mode=self.settings.sandbox_mode,
                                call_id=call.call_id, cancel=ctx.cancel)
        ctx.emit(ItemCompleted(outcome.item(item_id, call.call_id)))
        return outcome.model_output

    def _function_handlers(
        self,
    ) -> dict[str, Callable[[ToolCall, dict[str, object], ToolContext], str]]:
        handlers: dict[str, Callable[[ToolCall, dict[str, object], ToolContext], str]] = {
            "exec_command": self._exec_command,
            "write_stdin": self._write_stdin,
            "shell": self._legacy_shell,
        }
        if self.settings.update_plan_enabled:
            handlers["update_plan"] = self._update_plan
        return handlers

    def _tool_search(self, call: ToolCall) -> list[dict[str, object]]:
        """The deferred MCP tools matching the query (`limit` of them, 8 by default); none for a bad call."""
        mcp = self.settings.mcp
        try:
            args = _parse_arguments(call.payload)
        except _ToolError:
            return []
        query = args.get("query")
        limit = args.get("limit")
        if mcp is None or not isinstance(query, str):
            return []
        count = int(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit >= 1 else 8
        return mcp.search_tools(query, count)

    # ------------------------------------------------------------------ approvals

    def _approve(self, request: safety.ApprovalRequest, *, sandboxed: bool, ctx: ToolContext) -> bool:
        """Ask the front end; True runs the call sandboxed as given, False unsandboxed; a refusal raises."""
        decision = self.settings.approver.request(request)
        result = safety.decision_result(decision, kind=request.kind, sandboxed=sandboxed)
        if result.action == "abort":
            ctx.cancel.set()
            raise _ToolError("aborted by user")
        if result.action == "reject":
            raise _ToolError(result.output or "rejected by user")
        if result.remember_for_session:
            if request.kind == "exec":
                self._approved_commands.add(request.command)
            else:
                self._patches_approved = True
        return result.sandboxed

    def _decide_command(self, argv: list[str], args: Mapping[str, object], call: ToolCall, cwd: Path,
                        ctx: ToolContext) -> safety.CommandAssessment:
        """Apply the approval policy; returns the assessment with `sandboxed` as finally decided."""
        justification = args.get("justification")
        assessment = safety.assess_command(
            argv,
            policy=self.settings.approval_policy,
            sandbox_mode=self.settings.sandbox_mode,
            escalation_requested=args.get("sandbox_permissions") == "require_escalated",
            justification=justification if isinstance(justification, str) else None,
            session_approved=frozenset(self._approved_commands),
            bypass=self.settings.bypass,
            rules=self.settings.rules,
            # [sandbox item 4: Windows] no OS confinement: approvals are the control (safety._assess_unconfined)
            confinable=self.settings.sandbox is None or self.settings.sandbox.confined,
        )
        if assessment.action == "reject":
            raise _ToolError(assessment.reason or "rejected")
        if assessment.action == "ask":
            request = safety.ApprovalRequest("exec", call.call_id, cwd, tuple(argv), assessment.reason,
                                             prefix=safety.approval_prefix(argv, args.get("prefix_rule")))
            sandboxed = self._approve(request, sandboxed=assessment.sandboxed, ctx=ctx)
            return safety.CommandAssessment("run", sandboxed, None, assessment.retry_unsandboxed_on_failure)
        return assessment

    # ------------------------------------------------------------------ shell

    def _processes_for(self, sandboxed: bool) -> shell.ProcessManager:
        if not sandboxed or self.settings.sandbox is None:
            if sandboxed and self.settings.sandbox_mode != "danger-full-access":
                raise _ToolError(
                    f"exec_command failed: commands cannot be confined to the `{self.settings.sandbox_mode}` "
                    "sandbox on this machine, so they are not run; the user can rerun codex with "
                    "`-s danger-full-access` to allow unsandboxed commands."
                )
            return self.plain_processes
        return self.processes

    def _command_env(self, thread_id: str, call_id: str, sandboxed: bool) -> dict[str, str]:
        confined = sandboxed and self.settings.sandbox_mode != "danger-full-access"
        env = shell.build_command_env(
            self.settings.env_policy,
            self.settings.base_env,
            thread_id=thread_id,
            call_id=call_id,
            network_disabled=confined and not self.settings.network_access,
        )
        if confined and self.settings.sandbox is not None:
            env.update(self.settings.sandbox.env_updates)
        return env

    def _resolve_workdir(self, args: Mapping[str, object], ctx: ToolContext) -> Path:
        workdir = args.get("workdir")
        if isinstance(workdir, str) and workdir:
            return (ctx.cwd / workdir).resolve()
        return ctx.cwd

    def _exec_command(self, call: ToolCall, args: dict[str, object], ctx: ToolContext) -> str:
        cmd = args.get("cmd")
        if not isinstance(cmd, str):
            raise _ToolError("failed to parse function arguments: missing field `cmd`")
        cwd = self._resolve_workdir(args, ctx)
        from codex_cli import patch  # the engine, on the first command (not to offer the tool)

        intercepted = patch.extract_apply_patch_from_shell(cmd)
        if intercepted is not None:
            patch_cwd = (cwd / intercepted.workdir).resolve() if intercepted.workdir else cwd
            return self._apply_patch(intercepted.patch, patch_cwd, call, ctx)
        shell_name = args.get("shell")
        argv = shell.shell_argv(
            cmd, login=args.get("login", True) is not False, shell=shell_name if isinstance(shell_name, str) else None
        )
        decision = self._decide_command(argv, args, call, cwd, ctx)
        spawned = self._through_snapshot(argv, ctx)

        def run(sandboxed: bool) -> tuple[str, int | None]:
            request = shell.ExecRequest(
                argv=spawned,
                cwd=cwd,
                env=self._command_env(ctx.thread_id, call.call_id, sandboxed),
                yield_time_ms=_optional_int(args, "yield_time_ms"),
                max_output_tokens=_optional_int(args, "max_output_tokens"),
                tty=args.get("tty") is True,
            )
            return self._run_command_item(request, call.call_id, ctx, self._processes_for(sandboxed), shown=argv)

        text, exit_code = run(decision.sandboxed)
        if decision.retry_unsandboxed_on_failure and exit_code not in (0, None) and not ctx.cancel.is_set():
            retry = safety.ApprovalRequest(
                "exec", call.call_id, cwd, tuple(argv),
                f"The command failed in the sandbox (exit code {exit_code}); run it again without the sandbox?",
                offer_session=False,
            )
            self._approve(retry, sandboxed=False, ctx=ctx)
            text, exit_code = run(False)
        return text

    def _through_snapshot(self, argv: list[str], ctx: ToolContext) -> list[str]:
        """The argv that runs `[shell, "-lc", cmd]` through the session's shell snapshot (without running the login
        profile again); `argv` itself when there is none, and then the person is told once why."""
        snapshot = self._snapshot
        if snapshot is None or not snapshot.applies_to(argv):
            return argv
        wrapped = snapshot.command(argv, ctx.cancel)
        if wrapped is not None:
            return wrapped
        if snapshot.failure is not None and not self._snapshot_told:
            self._snapshot_told = True
            ctx.emit(ItemCompleted(ErrorItem(ctx.new_item_id(), snapshot.failure)))
        return argv

    def _run_command_item(
        self, request: shell.ExecRequest, call_id: str, ctx: ToolContext, processes: shell.ProcessManager,
        shown: Sequence[str] | None = None,
    ) -> tuple[str, int | None]:
        # Shown as the model asked for it (`bash -lc ...`), also when it runs through the shell snapshot.
        command = shell.format_command_for_display(request.argv if shown is None else shown)
        item = CommandExecutionItem(ctx.new_item_id(), command, cwd=str(request.cwd), call_id=call_id)
        ctx.emit(ItemStarted(item))

        def on_output(chunk: str) -> None:
            ctx.emit(CommandOutputDelta(item.id, chunk))  # shown as it comes, kept only by the process's capture

        try:
            result = processes.exec_command(request, on_output=on_output, cancel=ctx.cancel)
        except shell.ExecFailure:  # raised before the process produced anything
            ctx.emit(ItemCompleted(_finish_command(item, "", None)))
            raise
        if result.exit_code is None:
            ctx.open_items.append(item.id)
        else:
            ctx.emit(ItemCompleted(_finish_command(item, result.output, result.exit_code)))
        if ctx.cancel.is_set():
            return f"Wall time: {result.wall_time:.1f} seconds\naborted by user", result.exit_code
        return result.to_model_text(), result.exit_code

    def _write_stdin(self, call: ToolCall, args: dict[str, object], ctx: ToolContext) -> str:
        session_id = _optional_int(args, "session_id")
        if session_id is None:
            raise _ToolError("failed to parse function arguments: missing field `session_id`")
        chars = args.get("chars", "")
        processes = self.plain_processes if self.plain_processes.has_session(session_id) else self.processes
        result = processes.write_stdin(
            session_id,
            chars if isinstance(chars, str) else "",
            yield_time_ms=_optional_int(args, "yield_time_ms"),
            max_output_tokens=_optional_int(args, "max_output_tokens"),
            cancel=ctx.cancel,
        )
        return result.to_model_text()

    def _legacy_shell(self, call: ToolCall, args: dict[str, object], ctx: ToolContext) -> str:
        command = args.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise _ToolError("failed to parse function arguments: `command` must be a non-empty array of strings")
        argv = [str(a) for a in command]
        cwd = self._resolve_workdir(args, ctx)
        from codex_cli import patch

        intercepted = patch.extract_apply_patch_from_shell(argv)
        if intercepted is not None:
            patch_cwd = (cwd / intercepted.workdir).resolve() if intercepted.workdir else cwd
            return self._apply_patch(intercepted.patch, patch_cwd, call, ctx)
        sandboxed = self._decide_command(argv, args, call, cwd, ctx).sandboxed
        processes = self._processes_for(sandboxed)
        spawned = self._through_snapshot(argv, ctx)
        item = CommandExecutionItem(ctx.new_item_id(), shell.format_command_for_display(argv), cwd=str(cwd),
                                    call_id=call.call_id)
        ctx.emit(ItemStarted(item))
        output, exit_code = shell.run_legacy_shell(
            spawned,
            cwd,
            self._command_env(ctx.thread_id, call.call_id, sandboxed),
            _optional_int(args, "timeout_ms"),
            cancel=ctx.cancel,
            launcher=processes.launcher,
            preexec=processes.preexec,
        )
        ctx.emit(ItemCompleted(_finish_command(item, _legacy_output_text(output), exit_code)))
        return output

    # ------------------------------------------------------------------ patch

    def _apply_patch(self, patch_text: str, cwd: Path, call: ToolCall, ctx: ToolContext) -> str:
        from codex_cli import patch

        started = time.monotonic()
        try:
            planned = patch.plan_patch(patch_text, cwd)
        except patch.PatchError as exc:
            return str(exc)
        paths = [p for change in planned.changes for p in change.touched_paths()]
        assessment = safety.assess_patch(
            paths,
            policy=self.settings.approval_policy,
            sandbox_mode="danger-full-access" if self.settings.bypass else self.settings.sandbox_mode,
            writable_roots=self.settings.writable_roots,
            session_approved_patches=self._patches_approved,
            cwd=cwd,
        )
        if assessment.action == "reject":
            return assessment.reason or "patch rejected"
        if assessment.action == "ask":
            request = safety.ApprovalRequest("patch", call.call_id, cwd, paths=tuple(assessment.blocked_paths),
                                             changes=tuple(planned.changes), diff=planned.diff)
            try:
                self._approve(request, sandboxed=False, ctx=ctx)
            except _ToolError as exc:
                return str(exc)
        item = FileChangeItem(ctx.new_item_id(), tuple(_file_changes(planned)), diff=planned.diff,
                              call_id=call.call_id)
        ctx.emit(ItemStarted(item))
        try:
            self._write_patch(planned, cwd, assessment.blocked_paths)
        except patch.PatchError as exc:
            ctx.emit(ItemCompleted(replace(item, status="failed")))
            return str(exc)
        ctx.emit(ItemCompleted(replace(item, status="completed")))
        elapsed = int(time.monotonic() - started)
        return f"Exit code: 0\nWall time: {elapsed} seconds\nOutput:\n{planned.summary}"

    def _write_patch(self, planned: patch.PlannedPatch, cwd: Path, approved: Sequence[Path]) -> None:
        """Write a verified patch as the session's commands would: in a child under the same sandbox (as
        codex-rs's sandboxed file helper does), with the files the person approved writable in it too. Checks
        made before, in this process, cannot hold: a process the model left running may swap a folder for a
        symlink between the check and the write. Unconfined only where commands are (danger-full-access, an
        approved escalation's bypass, Windows)."""
        from codex_cli import patch
        from codex_cli.errors import SandboxError

        sandbox = self.settings.sandbox
        if sandbox is None or self.settings.bypass or not sandbox.confined:
            patch.commit_patch(planned)
            return
        confined = sandbox
        try:
            confined = sandbox.allowing(approved)
            failure = confined.run_confined("write-files", patch.files_payload(planned.final), cwd)
        except SandboxError as exc:
            raise patch.PatchError(f"Failed to write the patch in the sandbox: {exc.message}", phase="write") from exc
        finally:
            if confined is not sandbox:
                confined.close()
        if failure:
            raise patch.PatchError(failure.decode("utf-8", "replace"), phase="write")

    # ------------------------------------------------------------------ plan

    def _update_plan(self, call: ToolCall, args: dict[str, object], ctx: ToolContext) -> str:
        plan = args.get("plan")
        if not isinstance(plan, list):
            raise _ToolError("failed to parse function arguments: missing field `plan`")
        entries: list[TodoEntry] = []
        for step in plan:
            if not isinstance(step, dict) or not isinstance(step.get("step"), str):
                raise _ToolError("failed to parse function arguments: each plan entry needs `step` and `status`")
            status = step.get("status")
            entries.append(TodoEntry(str(step["step"]), status == "completed", status == "in_progress"))
        explanation = args.get("explanation")
        if ctx.plan_item is None:
            ctx.plan_item = TodoListItem(ctx.new_item_id(), tuple(entries))
            item = TodoListItem(
                ctx.plan_item.id, tuple(entries), explanation=explanation if isinstance(explanation, str) else None
            )
            ctx.plan_item = item
            ctx.emit(ItemStarted(item))
        else:
            item = TodoListItem(
                ctx.plan_item.id, tuple(entries), explanation=explanation if isinstance(explanation, str) else None
            )
            ctx.plan_item = item
            ctx.emit(ItemUpdated(item))
        return "Plan updated"


def _view_image(args: Mapping[str, object], ctx: ToolContext) -> str | list[dict[str, object]]:
    """`view_image {path}`: the image as an `input_image` content item (wire.md §5.4), or why it cannot be."""
    from codex_cli import images

    path = args.get("path")
    if not isinstance(path, str) or not path:
        raise _ToolError("failed to parse function arguments: missing field `path`")
    target = (ctx.cwd / Path(path).expanduser()).resolve()
    if not target.exists():
        return f"unable to locate image at `{target}`: No such file or directory (os error 2)"
    try:
        return [images.image_content_item(images.load_image(target))]
    except images.ImageError as exc:
        return exc.message


def _finish_command(item: CommandExecutionItem, output: str, exit_code: int | None) -> CommandExecutionItem:
    status: CommandStatus = "completed" if exit_code == 0 else "failed"
    return replace(item, aggregated_output=output, exit_code=exit_code, status=status)


def _legacy_output_text(model_output: str) -> str:
    try:
        value = json.loads(model_output)
    except json.JSONDecodeError:
        return model_output
    return str(value.get("output", "")) if isinstance(value, dict) else model_output


def _file_changes(planned: patch.PlannedPatch) -> list[FileChange]:
    changes = [FileChange(str(change.path), change.kind) for change in planned.changes]
    return sorted(changes, key=lambda change: change.path)
