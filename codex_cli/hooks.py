"""Lifecycle hooks: running the configured handlers at each hook point and reading their answers.

A handler is a shell command run with one JSON object on stdin (ux.md §7.3–7.4). Exit 0 with a JSON object on
stdout is an event-specific answer (§7.5); plain stdout is extra model context for `SessionStart` and
`UserPromptSubmit`; exit 2 blocks with stderr as the reason; anything else fails open. Handlers of one event run
concurrently and their answers are merged into one `HookOutcome`.

Only trusted handlers run (§7.8; discovery and trust live in `hook_config.py`); `--dangerously-bypass-hook-trust`
runs every enabled handler for one invocation. `HookEngine` is what the session calls at each hook point; it never
prints — its reports (`HookStarted` / `HookFinished`) go to `on_report`, which the session it serves points at its
event stream (`report_to`: `protocol.HookRun` events), so every front end hears about runs the same way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codex_cli.hook_config import EVENTS, DiscoveredHooks, HookHandler, discover_hooks, event_label, trust_handlers
from codex_cli.jsoncodec import utf8_json
from codex_cli.protocol import HookRun
from codex_cli.records import Record, field, replace
from codex_cli.response_items import ResponseItem
from codex_cli.shell_parse import shell_wrapper_script

if TYPE_CHECKING:
    from codex_cli.config import Config
    from codex_cli.protocol import Event
    from codex_cli.safety import ApprovalRequest, Approver, Refusal, ReviewDecision
    from codex_cli.tools import ToolCall

__all__ = [
    "BYPASS_TRUST_WARNING",
    "EVENTS",
    "DiscoveredHooks",
    "HookEngine",
    "HookFinished",
    "HookHandler",
    "HookOutcome",
    "HookReport",
    "HookStarted",
    "HookedApprover",
    "discover_hooks",
    "trust_handlers",
]

BYPASS_TRUST_WARNING = (
    "`--dangerously-bypass-hook-trust` is enabled. Enabled hooks may run without review for this invocation."
)
_PLAIN_CONTEXT = ("SessionStart", "UserPromptSubmit")
_BLOCKING = ("PreToolUse", "UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop", "PermissionRequest")
_CONTEXT_LIMIT_TOKENS = 2500

# ---------------------------------------------------------------------------------------------------- running


class HookStarted(Record):
    event: str
    handler: HookHandler


class HookFinished(Record):
    """One handler's end: `completed`, `blocked` (with the reason) or `failed` (with what went wrong)."""

    event: str
    handler: HookHandler
    status: Literal["completed", "blocked", "failed"]
    detail: str | None = None
    system_message: str | None = None


HookReport = HookStarted | HookFinished


class HookOutcome(Record, frozen=False):
    """The merged answer of every handler of one event."""

    blocked: bool = False
    reason: str = ""
    context: list[str] = field(default_factory=list)
    stop: bool = False  # `continue: false`
    updated_input: dict[str, object] | None = None
    permission: Literal["allow", "deny"] | None = None
    permission_message: str = ""
    continuations: list[tuple[HookHandler, str]] = field(default_factory=list)  # Stop blocks

    def context_items(self) -> list[ResponseItem]:
        from codex_cli.response_items import text_message

        return [text_message("developer", text) for text in self.context]


class _Invalid(Exception):
    pass


def _hook_run(report: HookReport) -> HookRun:
    if isinstance(report, HookStarted):
        return HookRun(report.event, "running", report.handler.status_message)
    return HookRun(report.event, report.status, report.handler.status_message, report.detail, report.system_message)


def _merge(event: str, handler: HookHandler, code: int | None, out: str, err: str, outcome: HookOutcome) \
        -> HookFinished:
    """Fold one handler's result into `outcome`; return how the run ended."""
    if code is None:
        return HookFinished(event, handler, "failed", f"hook timed out after {handler.timeout}s")
    if code == 2 and event in _BLOCKING:
        reason = err.strip()
        if not reason:
            return HookFinished(event, handler, "failed",
                                "hook exited with code 2 but did not write a blocking reason to stderr")
        _block(event, handler, reason, outcome)
        return HookFinished(event, handler, "blocked", reason)
    if code != 0:
        return HookFinished(event, handler, "failed", f"hook exited with code {code}")
    text = out.strip()
    if not text:
        return HookFinished(event, handler, "completed")
    if not text.startswith(("{", "[")):
        if event in _PLAIN_CONTEXT:
            outcome.context.append(text)
        return HookFinished(event, handler, "completed")
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise _Invalid
        return _apply_json(event, handler, doc, outcome)
    except (ValueError, _Invalid):
        return HookFinished(event, handler, "failed", f"hook returned invalid {event_label(event).replace('_', '-')} "
                                                      "JSON output")


def _block(event: str, handler: HookHandler, reason: str, outcome: HookOutcome) -> None:
    if event == "PermissionRequest":
        outcome.permission, outcome.permission_message = "deny", reason
    elif event in ("Stop", "SubagentStop"):
        outcome.continuations.append((handler, reason))
    else:
        outcome.blocked = True
        outcome.reason = f"{outcome.reason}\n{reason}" if outcome.reason else reason


def _apply_json(event: str, handler: HookHandler, doc: dict[str, object], outcome: HookOutcome) -> HookFinished:
    specific = doc.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    message = doc.get("systemMessage")
    system = message if isinstance(message, str) else None
    decision, reason = doc.get("decision"), doc.get("reason")
    context = specific.get("additionalContext")
    if isinstance(context, str) and context.strip():
        outcome.context.append(context)
    blocked_with: str | None = None
    if event == "PreToolUse":
        if doc.get("continue") is False or "stopReason" in doc or "suppressOutput" in doc or decision == "approve":
            raise _Invalid
        permission = specific.get("permissionDecision")
        updated = specific.get("updatedInput")
        why = specific.get("permissionDecisionReason")
        if permission == "deny":
            if not isinstance(why, str) or not why:
                raise _Invalid
            blocked_with = why
        elif permission == "allow":
            if not isinstance(updated, dict):
                raise _Invalid
            outcome.updated_input = updated
        elif permission is not None or updated is not None:
            raise _Invalid
    elif event == "PermissionRequest":
        verdict = specific.get("decision")
        if isinstance(verdict, dict) and verdict.get("behavior") in ("allow", "deny"):
            if verdict["behavior"] == "allow":
                outcome.permission = outcome.permission or "allow"
            else:
                text = verdict.get("message")
                blocked_with = text if isinstance(text, str) and text else "PermissionRequest hook denied approval"
    if decision == "block" and event in _BLOCKING and event != "PermissionRequest":
        if not isinstance(reason, str) or not reason:
            raise _Invalid
        blocked_with = reason
    elif reason is not None and decision is None and event in ("PostToolUse", "PreToolUse"):
        raise _Invalid
    if doc.get("continue") is False:
        outcome.stop = True
        if event == "UserPromptSubmit" and blocked_with is None:
            stop_reason = doc.get("stopReason")
            blocked_with = stop_reason if isinstance(stop_reason, str) and stop_reason else "stopped by hook"
    if blocked_with is not None:
        _block(event, handler, blocked_with, outcome)
        return HookFinished(event, handler, "blocked", blocked_with, system)
    return HookFinished(event, handler, "completed", None, system)


def _run_command(handler: HookHandler, payload: bytes, cwd: Path, env: Mapping[str, str]) \
        -> tuple[int | None, str, str]:
    from codex_cli.shell import shell_argv, spawn_argv

    argv = spawn_argv(shell_argv(handler.command))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd, env=dict(env), start_new_session=sys.platform != "win32")
    except OSError as exc:
        return 127, "", str(exc)
    try:
        out, err = proc.communicate(payload, timeout=handler.timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None, "", ""
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if sys.platform != "win32":
            import signal

            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    proc.communicate()


def _matches(matcher: str | None, names: Sequence[str]) -> bool:
    if matcher in (None, "", "*"):
        return True
    return any(re.search(matcher or "", name) for name in names)


def _tool_view(call: ToolCall) -> tuple[str, list[str], dict[str, object]]:
    """(tool name for hooks, names a matcher may match, tool_input)."""
    if call.kind == "custom" and call.name == "apply_patch":
        return "apply_patch", ["apply_patch", "Edit", "Write"], {"command": call.payload}
    args: object
    try:
        args = json.loads(call.payload or "{}")
    except (ValueError, RecursionError):  # the model's arguments may nest without end
        args = {}
    args = args if isinstance(args, dict) else {}
    if call.name in ("exec_command", "shell", "local_shell") and call.namespace is None:
        command = args.get("cmd") if call.name == "exec_command" else args.get("command")
        if isinstance(command, list):
            words = [str(w) for w in command]
            script = shell_wrapper_script(words)
            command = " ".join(words) if script is None else script
        return "Bash", ["Bash", call.name], {"command": command if isinstance(command, str) else ""}
    name = f"{call.namespace}{call.name}" if call.namespace else call.name
    return name, [name], args


class PreToolResult(Record):
    call: ToolCall
    blocked_output: str | None = None


class HookEngine:
    """The hook points of one session. Methods block until the event's handlers finish (or time out)."""

    def __init__(self, discovered: DiscoveredHooks, *, cwd: Path, model: str, permission_mode: str,
                 bypass_trust: bool = False, env: Mapping[str, str] | None = None,
                 on_report: Callable[[HookReport], None] | None = None) -> None:
        self.discovered = discovered
        self.cwd, self.model, self.permission_mode = cwd, model, permission_mode
        self.bypass_trust = bypass_trust
        self.env = dict(os.environ if env is None else env)
        self.on_report = on_report or (lambda report: None)
        self.session_id = ""
        self.transcript_path: str | None = None
        self.turn_id: str | None = None
        self._start_source: str | None = None
        self._stop_active = False

    @classmethod
    def from_config(cls, config: Config, *, bypass_trust: bool = False,
                    on_report: Callable[[HookReport], None] | None = None) -> HookEngine:
        mode = "bypassPermissions" if config.approval_policy == "never" or \
            config.sandbox_mode == "danger-full-access" else "default"
        return cls(discover_hooks(config), cwd=config.cwd, model=config.model, permission_mode=mode,
                   bypass_trust=bypass_trust, on_report=on_report)

    def report_to(self, emit: Callable[[Event], None]) -> None:
        """Send every report from now on to `emit` (a session's event stream) as a `HookRun` event."""
        self.on_report = lambda report: emit(_hook_run(report))

    def bind(self, session_id: str, transcript_path: Path | None, source: str | None = "startup") -> None:
        """Attach to a (new) thread; its first turn fires `SessionStart` with `source` (None: it does not)."""
        self.session_id = session_id
        self.transcript_path = str(transcript_path) if transcript_path is not None else None
        self._start_source = source

    def runnable(self, event: str) -> list[HookHandler]:
        allowed = ("trusted", "untrusted", "modified") if self.bypass_trust else ("trusted",)
        return [h for h in self.discovered.handlers if h.event == event and self.discovered.status(h) in allowed]

    def has(self, event: str) -> bool:
        return bool(self.runnable(event))

    # ------------------------------------------------------------------ the generic run

    def run(self, event: str, fields: Mapping[str, object] | None = None, *, match: Sequence[str] = (),
            turn: bool = True) -> HookOutcome:
        outcome = HookOutcome()
        handlers = [h for h in self.runnable(event) if not match or _matches(h.matcher, match)]
        if not handlers:
            return outcome
        payload: dict[str, object] = {"session_id": self.session_id}
        if turn and self.turn_id is not None:
            payload["turn_id"] = self.turn_id
        payload.update({"transcript_path": self.transcript_path, "cwd": str(self.cwd), "hook_event_name": event,
                        "model": self.model, "permission_mode": self.permission_mode})
        payload.update(fields or {})
        data = utf8_json(json.dumps(payload, ensure_ascii=False))
        results: dict[int, tuple[int | None, str, str]] = {}

        def work(index: int, handler: HookHandler) -> None:
            results[index] = _run_command(handler, data, self.cwd, self.env)

        threads: list[threading.Thread] = []
        for index, handler in enumerate(handlers):
            self.on_report(HookStarted(event, handler))
            thread = threading.Thread(target=work, args=(index, handler), daemon=True)
            thread.start()
            if not handler.is_async:
                threads.append(thread)
        for thread in threads:
            thread.join()
        for index, handler in enumerate(handlers):
            if handler.is_async:
                continue
            code, out, err = results.get(index, (None, "", ""))
            self.on_report(_merge(event, handler, code, out, err, outcome))
        outcome.context = [self._limit(text) for text in outcome.context]
        return outcome

    def _limit(self, text: str) -> str:
        """Context over ~2,500 tokens: head and tail in the message, the whole text in a file (ux.md §7.6)."""
        tokens = (len(text.encode("utf-8")) + 3) // 4
        if tokens <= _CONTEXT_LIMIT_TOKENS:
            return text
        import tempfile
        import uuid

        folder = Path(tempfile.gettempdir()) / "hook_outputs" / (self.session_id or "session")
        target = folder / f"{uuid.uuid4()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError:
            pass
        keep = _CONTEXT_LIMIT_TOKENS * 2
        lines = text.count("\n") + 1
        return (f"Warning: truncated output (original token count: {tokens})\nTotal output lines: {lines}\n\n"
                f"{text[:keep]}…{text[-keep:]}\n\nFull hook output saved to: {target}")

    # ------------------------------------------------------------------ hook points

    def session_start_items(self) -> list[ResponseItem]:
        """`SessionStart` once per bound thread (and after a compaction): its context as developer messages."""
        source, self._start_source = self._start_source, None
        if source is None:
            return []
        return self.run("SessionStart", {"source": source}, match=[source], turn=False).context_items()

    def user_prompt_submit(self, prompt: str, turn_id: str) -> HookOutcome:
        self.turn_id, self._stop_active = turn_id, False
        return self.run("UserPromptSubmit", {"prompt": prompt})

    def pre_model_request(self) -> None:
        self.run("PreModelRequest")

    def pre_tool_use(self, call: ToolCall) -> PreToolResult:
        name, names, tool_input = _tool_view(call)
        outcome = self.run("PreToolUse", {"tool_name": name, "tool_input": tool_input, "tool_use_id": call.call_id},
                           match=names)
        if outcome.blocked:
            command = tool_input.get("command") if isinstance(tool_input.get("command"), str) else json.dumps(
                tool_input)
            return PreToolResult(call, f"Command blocked by PreToolUse hook: {outcome.reason}. Command: {command}")
        if outcome.updated_input is not None:
            return PreToolResult(_rewrite(call, outcome.updated_input))
        return PreToolResult(call)

    def post_tool_use(self, call: ToolCall, output: ResponseItem) -> tuple[ResponseItem, list[ResponseItem]]:
        """The output item (replaced when a hook blocks) and developer context to put before it."""
        name, names, tool_input = _tool_view(call)
        response = output.get("output")
        fields = {"tool_name": name, "tool_input": tool_input,
                  "tool_response": response if isinstance(response, str) else json.dumps(response),
                  "tool_use_id": call.call_id}
        outcome = self.run("PostToolUse", fields, match=names)
        if outcome.blocked:
            output = {**output, "output": outcome.reason}
        return output, outcome.context_items()

    def permission_request(self, request: ApprovalRequest) -> HookOutcome:
        if request.kind == "patch":
            fields: dict[str, object] = {"tool_name": "apply_patch", "tool_input": {"command": ""}}
            names = ["apply_patch", "Edit", "Write"]
        else:
            script = shell_wrapper_script(request.command)
            command = request.display if script is None else script
            tool_input: dict[str, object] = {"command": command}
            if request.reason:
                tool_input["description"] = request.reason
            fields, names = {"tool_name": "Bash", "tool_input": tool_input}, ["Bash"]
        return self.run("PermissionRequest", fields, match=names)

    def stop(self, last_message: str | None) -> list[ResponseItem]:
        """`Stop`: user messages that continue the turn when a hook blocks (empty: the turn ends)."""
        outcome = self.run("Stop", {"stop_hook_active": self._stop_active, "last_assistant_message": last_message})
        if outcome.stop or not outcome.continuations:
            return []
        from codex_cli.response_items import text_message

        self._stop_active = True
        return [
            text_message("user", f'<hook_prompt hook_run_id="stop:{h.display_order}:{h.source}">{reason}'
                                 "</hook_prompt>")
            for h, reason in outcome.continuations
        ]

    def interrupt(self) -> None:
        self.run("Interrupt")

    def pre_compact(self, trigger: str) -> None:
        self.run("PreCompact", {"trigger": trigger}, match=[trigger])

    def post_compact(self, trigger: str) -> None:
        self.run("PostCompact", {"trigger": trigger}, match=[trigger])
        self._start_source = "compact"

    def session_end(self) -> None:
        self.run("SessionEnd", {"reason": "other"}, turn=False)


def _rewrite(call: ToolCall, updated: dict[str, object]) -> ToolCall:
    """The call with a hook's `updatedInput` applied (`command` is the shell text or the patch)."""
    command = updated.get("command")
    if call.kind == "custom":
        return replace(call, payload=command) if isinstance(command, str) else call
    try:
        args = json.loads(call.payload or "{}")
    except (ValueError, RecursionError):  # the model's arguments may nest without end
        args = {}
    args = args if isinstance(args, dict) else {}
    if call.name == "exec_command" and isinstance(command, str):
        args["cmd"] = command
    elif call.name == "shell" and isinstance(command, str):
        from codex_cli.shell import shell_argv

        args["command"] = shell_argv(command)
    else:
        args.update(updated)
    return replace(call, payload=json.dumps(args))


class HookedApprover:
    """An `Approver` that asks `PermissionRequest` hooks first: allow approves, deny refuses, else the person."""

    def __init__(self, inner: Approver, engine: HookEngine) -> None:
        self.inner, self.engine = inner, engine

    def request(self, req: ApprovalRequest) -> ReviewDecision | Refusal:
        if self.engine.has("PermissionRequest"):
            outcome = self.engine.permission_request(req)
            if outcome.permission == "deny":
                from codex_cli.safety import Refusal

                return Refusal(outcome.permission_message or "PermissionRequest hook denied approval")
            if outcome.permission == "allow":
                return "approved"
        return self.inner.request(req)
