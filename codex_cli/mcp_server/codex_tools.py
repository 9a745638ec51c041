"""The two tools of `codex mcp-server`, `codex` and `codex-reply`: schemas, arguments, results and approval shapes.

Schemas follow codex-rs 0.153.4 (mcp.md §10.2) plus the issue's `profile` and `include-plan-tool` inputs; the
`approval-policy` enum has all four policies this implementation supports. Argument errors read like serde's
(``missing field `prompt` ``, ``unknown variant `bogus`, expected one of ...``) and become `isError` results.
`session_config()` turns `codex` arguments into a `Config` (the `config` object acts like `-c` overrides;
`base-instructions` replaces the base-instructions developer message). Approvals: `exec_elicitation()` and
`patch_elicitation()` build the `elicitation/create` params (with the `codex_*` fields of §10.5), and
`review_decision()` reads the client's answer in any of its forms. Pure data; no I/O besides config loading.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli.mcp_server.events import parsed_command, proposed_changes
from codex_cli.protocol import APPROVAL_POLICIES, SANDBOX_MODES, AskForApproval, SandboxMode
from codex_cli.records import Record, field, replace

if TYPE_CHECKING:
    from codex_cli.config import CliOverrides, Config
    from codex_cli.safety import ApprovalRequest, ReviewDecision

from codex_cli.config_keys import describe_value

__all__ = [
    "CODEX_REPLY_TOOL",
    "CODEX_TOOL",
    "TOOLS",
    "CodexToolArgs",
    "ReplyArgs",
    "ToolArgumentError",
    "error_result",
    "exec_elicitation",
    "parse_codex_args",
    "parse_reply_args",
    "patch_elicitation",
    "review_decision",
    "session_config",
    "tool_result",
]

CODEX_TOOL = "codex"
CODEX_REPLY_TOOL = "codex-reply"

_OUTPUT_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"threadId": {"type": "string"}, "content": {"type": "string"}},
    "required": ["threadId", "content"],
}


def _string(description: str) -> dict[str, object]:
    return {"type": "string", "description": description}


_CODEX_PROPERTIES: dict[str, object] = {
    "prompt": _string("The initial user prompt to start the Codex conversation."),
    "approval-policy": {
        "type": "string", "enum": list(APPROVAL_POLICIES),
        "description": "When commands need the user's approval (asked through elicitation).",
    },
    "sandbox": {
        "type": "string", "enum": list(SANDBOX_MODES), "description": "Sandbox mode for the commands the model runs.",
    },
    "cwd": _string("Working directory of the session; a relative path resolves against the server's directory."),
    "model": _string("Optional override for the model name (e.g. 'gpt-5.5')."),
    "profile": _string("Configuration profile from config.toml to take defaults from."),
    "config": {
        "type": "object", "additionalProperties": True,
        "description": "Individual config settings that override config.toml, as with `-c key=value`.",
    },
    "base-instructions": _string("Instructions to use instead of the default base instructions."),
    "developer-instructions": _string("Developer instructions sent before the conversation."),
    "compact-prompt": _string("Prompt used when the conversation is compacted."),
    "include-plan-tool": {"type": "boolean", "description": "Whether to offer the model the `update_plan` tool."},
}  # fmt: skip

TOOLS: list[dict[str, object]] = [
    {
        "name": CODEX_TOOL,
        "title": "Codex",
        "description": "Run a Codex session. Accepts configuration parameters matching the Codex Config struct.",
        "inputSchema": {
            "type": "object", "additionalProperties": False, "required": ["prompt"], "properties": _CODEX_PROPERTIES,
        },
        "outputSchema": _OUTPUT_SCHEMA,
    },
    {
        "name": CODEX_REPLY_TOOL,
        "title": "Codex Reply",
        "description": "Continue a Codex conversation by providing the thread id and prompt.",
        "inputSchema": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": _string("The next user prompt to continue the Codex conversation."),
                "threadId": _string("The thread id of the Codex conversation to continue."),
                "conversationId": _string("DEPRECATED: use threadId instead."),
            },
        },
        "outputSchema": _OUTPUT_SCHEMA,
    },
]  # fmt: skip


class ToolArgumentError(Exception):
    """Arguments that do not fit the tool's input schema; the message is the whole result text."""


class CodexToolArgs(Record):
    """The arguments of one `codex` call."""

    prompt: str
    approval_policy: AskForApproval | None = None
    sandbox: SandboxMode | None = None
    cwd: str | None = None
    model: str | None = None
    profile: str | None = None
    config: Mapping[str, object] = field(default_factory=dict)
    base_instructions: str | None = None
    developer_instructions: str | None = None
    compact_prompt: str | None = None
    include_plan_tool: bool | None = None


class ReplyArgs(Record):
    """The arguments of one `codex-reply` call."""

    thread_id: str
    prompt: str


def _expect(value: object, kind: type, name: str) -> object:
    wanted = {str: "a string", bool: "a boolean", dict: "a map"}[kind]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ToolArgumentError(f"invalid type: {describe_value(value)}, expected {wanted} (field `{name}`)")
    return value


def _variant(value: object, choices: Sequence[str], name: str) -> str:
    text = str(_expect(value, str, name))
    if text not in choices:
        expected = ", ".join(f"`{c}`" for c in choices)
        raise ToolArgumentError(f"unknown variant `{text}`, expected one of {expected}")
    return text


_STRING_FIELDS = {
    "cwd": "cwd", "model": "model", "profile": "profile", "base-instructions": "base_instructions",
    "developer-instructions": "developer_instructions", "compact-prompt": "compact_prompt",
}  # fmt: skip


def _codex_fields(arguments: Mapping[str, object]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name, value in arguments.items():
        if name not in _CODEX_PROPERTIES:
            expected = ", ".join(f"`{key}`" for key in _CODEX_PROPERTIES)
            raise ToolArgumentError(f"unknown field `{name}`, expected one of {expected}")
        if value is None and name != "prompt":
            continue  # serde reads null as "not given" for optional fields
        if name == "prompt":
            fields["prompt"] = _expect(value, str, name)
        elif name == "approval-policy":
            fields["approval_policy"] = _variant(value, APPROVAL_POLICIES, name)
        elif name == "sandbox":
            fields["sandbox"] = _variant(value, SANDBOX_MODES, name)
        elif name == "config":
            fields["config"] = dict(_expect(value, dict, name))  # type: ignore[call-overload]
        elif name == "include-plan-tool":
            fields["include_plan_tool"] = _expect(value, bool, name)
        else:
            fields[_STRING_FIELDS[name]] = _expect(value, str, name)
    return fields


def parse_codex_args(arguments: object) -> CodexToolArgs:
    """The `codex` arguments; raises ToolArgumentError with the full result text."""
    try:
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError(f"invalid type: {describe_value(arguments)}, expected struct CodexToolCallParam")
        fields = _codex_fields(arguments)
        if "prompt" not in fields:
            raise ToolArgumentError("missing field `prompt`")
        return CodexToolArgs(**fields)  # type: ignore[arg-type]
    except ToolArgumentError as exc:
        raise ToolArgumentError(f"Failed to parse configuration for Codex tool: {exc}") from None


def parse_reply_args(arguments: object) -> ReplyArgs:
    """The `codex-reply` arguments (`threadId`, or the deprecated `conversationId`, and `prompt`)."""
    if not isinstance(arguments, Mapping):
        arguments = {}
    thread_id = arguments.get("threadId") or arguments.get("conversationId")
    if not isinstance(thread_id, str) or not thread_id:
        raise ToolArgumentError("Failed to parse thread_id: either threadId or conversationId must be provided")
    prompt = arguments.get("prompt")
    if not isinstance(prompt, str):
        problem = "missing field `prompt`"
        if prompt is not None:
            problem = f"invalid type: {describe_value(prompt)}, expected a string"
        raise ToolArgumentError(f"Failed to parse arguments for Codex reply tool: {problem}")
    return ReplyArgs(thread_id, prompt)


# ---------------------------------------------------------------------------------------------- configuration

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str | None:
    """A JSON value as a TOML value (None for null, which TOML cannot say)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        items = [text for text in map(_toml_value, value) if text is not None]
        return f"[{', '.join(items)}]"
    if isinstance(value, Mapping):
        pairs = []
        for key, item in value.items():
            text = _toml_value(item)
            if text is not None:
                name = key if _BARE_KEY.fullmatch(str(key)) else _toml_string(str(key))
                pairs.append(f"{name} = {text}")
        return "{" + ", ".join(pairs) + "}"
    return None


def _config_overrides(args: CodexToolArgs) -> tuple[str, ...]:
    """The `config` object and the `compact-prompt`/`include-plan-tool` inputs as `-c key=value` strings."""
    overrides = [f"{key}={text}" for key, value in args.config.items() if (text := _toml_value(value)) is not None]
    if args.compact_prompt is not None:
        overrides.append(f"compact_prompt={_toml_string(args.compact_prompt)}")
    if args.include_plan_tool is not None:
        overrides.append(f"tools.update_plan.enabled={_toml_value(args.include_plan_tool)}")
    return tuple(overrides)


def session_config(args: CodexToolArgs, base: CliOverrides, env: Mapping[str, str], server_cwd: Path) -> Config:
    """The configuration of a session started by a `codex` call; raises CodexError for bad settings."""
    from codex_cli.config import load_config
    from codex_cli.errors import ConfigError

    cwd = base.cwd
    if args.cwd is not None:
        cwd = (server_cwd / Path(args.cwd).expanduser()).resolve()
        if not cwd.is_dir():
            raise ConfigError(f"The cwd {args.cwd} is not a directory.", "Pass an existing directory as `cwd`.")
    overrides = replace(
        base,
        config_overrides=(*base.config_overrides, *_config_overrides(args)),
        profile=args.profile or base.profile,
        model=args.model or base.model,
        sandbox_mode=args.sandbox or base.sandbox_mode,
        approval_policy=args.approval_policy or base.approval_policy,
        cwd=cwd,
    )
    config = load_config(overrides, env)
    if args.base_instructions is not None:
        config = replace(config, base_instructions=args.base_instructions)
    if args.developer_instructions is not None:
        config = replace(config, developer_instructions=args.developer_instructions)
    return config


# ---------------------------------------------------------------------------------------------- results


def tool_result(thread_id: str, text: str, *, is_error: bool = False) -> dict[str, object]:
    """A `CallToolResult` with the text block and `structuredContent {threadId, content}`."""
    result: dict[str, object] = {
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"threadId": thread_id, "content": text},
    }
    if is_error:
        result["isError"] = True
    return result


def error_result(text: str) -> dict[str, object]:
    """A failed call that never reached a session: text only."""
    return {"content": [{"type": "text", "text": text}], "isError": True}


# ---------------------------------------------------------------------------------------------- approvals

_DECISIONS: dict[str, ReviewDecision] = {
    "approved": "approved",
    "approved_for_session": "approved_for_session",
    "denied": "denied",
    "abort": "abort",
    # the app-server spellings (sandbox.md §7.5)
    "accept": "approved",
    "acceptForSession": "approved_for_session",
    "decline": "denied",
    "cancel": "abort",
}
_ACTIONS: dict[str, ReviewDecision] = {"accept": "approved", "decline": "denied", "cancel": "abort"}


def review_decision(answer: object) -> ReviewDecision:
    """The client's answer to an approval elicitation.

    A `decision` field wins (top level, as codex-rs 0.153 read it, or inside `content`); otherwise the standard
    `action` decides: accept runs, decline refuses, cancel interrupts the turn. Anything else refuses.
    """
    if not isinstance(answer, Mapping):
        return "denied"
    decision = answer.get("decision")
    content = answer.get("content")
    if decision is None and isinstance(content, Mapping):
        decision = content.get("decision")
    if decision is not None:
        return _DECISIONS.get(decision, "denied") if isinstance(decision, str) else "denied"
    action = answer.get("action")
    return _ACTIONS.get(action, "denied") if isinstance(action, str) else "denied"


def _elicitation(message: str, kind: str, thread_id: str, tool_call_id: object, turn_id: str,
                 call_id: str) -> dict[str, object]:  # fmt: skip
    return {
        "message": message,
        "requestedSchema": {"type": "object", "properties": {}},
        "threadId": thread_id,
        "codex_elicitation": kind,
        "codex_mcp_tool_call_id": str(tool_call_id),
        "codex_event_id": turn_id,
        "codex_call_id": call_id,
    }


def exec_elicitation(req: ApprovalRequest, *, thread_id: str, tool_call_id: object, turn_id: str) -> dict[str, object]:
    """`elicitation/create` params asking to run a command (mcp.md §10.5)."""
    params = _elicitation(f"Allow Codex to run `{shlex.join(req.command)}` in `{req.cwd}`?", "exec-approval",
                          thread_id, tool_call_id, turn_id, req.call_id)  # fmt: skip
    params.update(codex_command=list(req.command), codex_cwd=str(req.cwd), codex_parsed_cmd=parsed_command(req.command))
    if req.reason:
        params["codex_reason"] = req.reason
    return params


def patch_elicitation(req: ApprovalRequest, *, thread_id: str, tool_call_id: object,
                      turn_id: str) -> dict[str, object]:  # fmt: skip
    """`elicitation/create` params asking to apply a patch (mcp.md §10.5)."""
    params = _elicitation("Allow Codex to apply proposed code changes?", "patch-approval", thread_id, tool_call_id,
                          turn_id, req.call_id)  # fmt: skip
    params["codex_changes"] = proposed_changes(req)
    if req.reason:
        params["codex_reason"] = req.reason
    return params

