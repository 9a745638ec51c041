"""`codex exec --approve-for-me`: an automatic reviewer that answers the approval questions nobody is there to answer.

Each question (a command to run outside the sandbox, a patch outside the writable roots) becomes a request of its
own to the session's model: the reviewer's instructions, a transcript of the conversation so far and the planned
action; the model answers with a JSON verdict (`outcome` allow or deny, `risk_level`, `user_authorization`,
`rationale`). `allow` approves the action; `deny`, or anything that is not a clear verdict, refuses it, and the
main model is told why (exec.md §8.4). The reviewer never runs tools itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from codex_cli.errors import CodexError
from codex_cli.safety import ApprovalRequest, Refusal, ReviewDecision

if TYPE_CHECKING:
    from codex_cli.session import Session

__all__ = ["REVIEWER_INSTRUCTIONS", "AutoApprover"]

REVIEWER_INSTRUCTIONS = """\
You decide, on behalf of a user who is not present, whether a coding agent may take one action that its sandbox \
would otherwise block: running a command outside the sandbox, or writing files outside the workspace.

Judge the action against what the user asked for in the transcript:
- Allow it when the user's request needs it, or plainly implies it, and its effects are limited and expected \
(installing a project's dependencies, running its tests or build, writing files the task is about).
- Deny it when it goes beyond the request, when its effects are broad or hard to undo (deleting or overwriting \
data outside the project, changing system or account settings, pushing, publishing or deploying, spending money), \
when it sends data or credentials elsewhere, or when you cannot tell what it does.
- The agent's justification is a claim, not evidence; the user's own words are.

Answer with one JSON object: `outcome` ("allow" or "deny"), `risk_level` ("low", "medium", "high" or \
"critical"), `user_authorization` ("unknown", "low", "medium" or "high": how clearly the user asked for this), \
and `rationale` (one or two sentences the agent will read if you deny).
"""

_SCHEMA = {
    "type": "object",
    "properties": {
        "risk_level": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
        "user_authorization": {"type": "string", "enum": ["unknown", "low", "medium", "high"]},
        "outcome": {"type": "string", "enum": ["allow", "deny"]},
        "rationale": {"type": "string"},
    },
    "required": ["outcome"],
}
_ITEM_CHARS = 2_000  # each transcript entry is cut to this, and only the latest entries are sent
_ITEMS = 40
_DENIED = "This action was rejected due to unacceptable risk.\nReason: {reason}\nDo not try to reach the same " \
    "result another way; finish what you can within the sandbox, or stop and explain what is needed."


class AutoApprover:
    """An `Approver` that asks the model for a verdict; `session` is set once the session it serves exists."""

    def __init__(self, *, on_verdict: Callable[[str], None] | None = None) -> None:
        self.session: Session | None = None
        self.on_verdict = on_verdict or (lambda line: None)

    def request(self, req: ApprovalRequest) -> ReviewDecision | Refusal:
        session = self.session
        if session is None:
            return Refusal(_DENIED.format(reason="the automatic reviewer is not ready"))
        verdict = self._verdict(session, req)
        outcome = verdict.get("outcome") if verdict is not None else None
        rationale = str(verdict.get("rationale") or "").strip() if verdict is not None else ""
        if outcome == "allow":
            self.on_verdict(f"automatic reviewer allowed {_action(req)}")
            return "approved"
        reason = rationale or ("no verdict from the automatic reviewer" if outcome is None else "denied")
        self.on_verdict(f"automatic reviewer denied {_action(req)}: {reason}")
        return Refusal(_DENIED.format(reason=reason))

    def _verdict(self, session: Session, req: ApprovalRequest) -> dict[str, object] | None:
        from codex_cli.jsoncodec import decode_json
        from codex_cli.response_items import text_message

        body: dict[str, object] = {
            "model": session.request.model,
            "stream": True,
            "input": [text_message("developer", REVIEWER_INSTRUCTIONS),
                      text_message("user", _transcript(session.history) + "\n\n" + _planned(req))],
            "store": False,
            "text": {"format": {"type": "json_schema", "name": "codex_output_schema", "strict": False,
                                "schema": _SCHEMA}},
        }
        try:
            answer = session.side_answer(body, {"request_kind": "approval_review"})
            doc = decode_json(answer) if answer else None
        except (CodexError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None


def _action(req: ApprovalRequest) -> str:
    if req.kind == "exec":
        return f"`{req.display}`"
    return "a patch to " + ", ".join(map(str, req.paths)) if req.paths else "a patch"


def _planned(req: ApprovalRequest) -> str:
    lines = ["The agent now wants to:"]
    if req.kind == "exec":
        lines.append(f"run `{req.display}` outside the sandbox, in {req.cwd}")
    else:
        lines.append("apply a patch that writes " + (", ".join(map(str, req.paths)) or "files") + " outside the "
                     "writable roots")
    if req.reason:
        lines.append(f"Its justification: {req.reason}")
    return "\n".join(lines)


def _transcript(history: list[dict[str, object]]) -> str:
    """The conversation as plain text: who said or did what, newest last, long entries cut in the middle."""
    from codex_cli.compaction import is_context_message

    entries: list[str] = []
    for item in history:
        kind = item.get("type")
        if kind == "message" and not is_context_message(item) and item.get("role") in ("user", "assistant"):
            content = item.get("content")
            text = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict)) \
                if isinstance(content, list) else ""
            entries.append(f"[{item['role']}] {text}")
        elif kind in ("function_call", "custom_tool_call"):
            entries.append(f"[agent calls {item.get('name')}] {item.get('arguments') or item.get('input') or ''}")
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            entries.append(f"[result] {output if isinstance(output, str) else ''}")
    cut = [entry if len(entry) <= _ITEM_CHARS else
           entry[: _ITEM_CHARS // 2] + " … " + entry[-_ITEM_CHARS // 2 :] for entry in entries[-_ITEMS:]]
    return "Transcript of the conversation so far:\n\n" + "\n\n".join(cut)
