"""Context-window arithmetic and local compaction: when to compact, the summary request, and the new history.

Follows `sessions.md` §8: the limit is `model_auto_compact_token_limit`, else 90 % of the context window; the
context size is the last response's `total_tokens` plus about one token per four bytes of the items added since;
compaction asks the model for a hand-off summary and replaces the history with the retained user prompts, a fresh
initial context and the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from codex_cli.jsoncodec import encode_json
from codex_cli.response_items import ResponseItem, content_texts

__all__ = [
    "COMPACT_PROMPT",
    "DEFAULT_CONTEXT_WINDOW",
    "RETAINED_USER_TOKENS",
    "SUMMARY_PREFIX",
    "auto_compact_limit",
    "compaction_input",
    "estimate_tokens",
    "is_context_message",
    "replacement_history",
    "retained_user_messages",
    "summary_text",
]

DEFAULT_CONTEXT_WINDOW = 272_000  # what the bundled catalog gives the gpt-5 family
_AUTO_COMPACT_PERCENT = 90
RETAINED_USER_TOKENS = 20_000  # budget for the user prompts carried into the new window

# Our own wording; the model only needs to know what to write and that another model will read it.
COMPACT_PROMPT = (
    "You are handing this task over to another model that will continue it with no access to the "
    "conversation so far. Write a concise, structured hand-off summary covering:\n"
    "- what has been done so far and the decisions taken, with the reasons;\n"
    "- context, constraints and user preferences that must be kept;\n"
    "- the remaining steps, in order;\n"
    "- exact data the next model will need (paths, commands, identifiers, error messages).\n"
    "Leave out anything that does not help finish the task.\n"
)
SUMMARY_PREFIX = (
    "Another language model worked on this task before you and ran out of room in its context window. "
    "It left the hand-off summary below. Treat it as your own earlier work: rely on what it records, "
    "do not redo finished steps, and continue from the next remaining step. The user's most recent "
    "requests appear above; where the summary and those requests disagree, follow the requests."
)
_CONTEXT_PREFIXES = (
    "<environment_context>",
    "# AGENTS.md instructions",
    "<user_instructions>",
    "<turn_aborted>",
    SUMMARY_PREFIX,
)


def estimate_tokens(items: Sequence[ResponseItem]) -> int:
    """About one token per four bytes of the items' JSON, as codex-rs estimates items it has not sent yet."""
    if not items:
        return 0
    return (len(encode_json(list(items))) + 3) // 4


def auto_compact_limit(context_window: int | None, explicit_limit: int | None) -> int:
    """`model_auto_compact_token_limit` when set, else 90 % of the (configured or default) context window."""
    if explicit_limit is not None and explicit_limit > 0:
        return explicit_limit
    window = context_window if context_window and context_window > 0 else DEFAULT_CONTEXT_WINDOW
    return window * _AUTO_COMPACT_PERCENT // 100


def is_context_message(item: ResponseItem) -> bool:
    """A user message that carries injected context (environment, AGENTS.md, an abort notice or a summary)."""
    texts = content_texts(item, ("input_text", "text"))
    return bool(texts) and texts[0].startswith(_CONTEXT_PREFIXES)


def _is_user_prompt(item: ResponseItem) -> bool:
    return item.get("type") == "message" and item.get("role") == "user" and not is_context_message(item)


def compaction_input(history: Sequence[ResponseItem], prompt: str) -> list[ResponseItem]:
    """The input of the summary request: the whole history, then the compaction prompt as a user message."""
    return [*history, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]


def summary_text(output: Sequence[ResponseItem]) -> str:
    """The assistant text of the summary response."""
    parts: list[str] = []
    for item in output:
        if item.get("type") == "message" and item.get("role") == "assistant":
            content = item.get("content")
            if isinstance(content, list):
                parts.extend(
                    str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "output_text"
                )
    return "".join(parts)


def _truncated(item: ResponseItem, keep_tokens: int, tokens: int) -> ResponseItem:
    """Cut the middle out of a long prompt: head, a marker naming what was removed, tail."""
    text = "".join(content_texts(item, ("input_text", "text")))
    half = max(keep_tokens, 0) * 4 // 2  # characters kept at each end (about four per token)
    head = text[:half]
    tail = text[len(text) - half :] if half else ""
    marker = f"…{max(tokens - keep_tokens, 0)} tokens truncated…"
    parts = [{"type": "input_text", "text": t} for t in (head, marker, tail)]
    return {"type": "message", "role": "user", "content": parts}


def retained_user_messages(history: Sequence[ResponseItem], budget: int = RETAINED_USER_TOKENS) -> list[ResponseItem]:
    """The real user prompts to keep, oldest first: newest-first within `budget` tokens; the one that does not fit
    is middle-truncated, older ones are dropped."""
    kept: list[ResponseItem] = []
    remaining = budget
    for item in reversed(history):
        if not _is_user_prompt(item):
            continue
        if remaining <= 0:
            break
        tokens = (len("".join(content_texts(item, ("input_text", "text"))).encode("utf-8")) + 3) // 4
        if tokens <= remaining:
            kept.append({k: v for k, v in item.items() if k != "id"})
            remaining -= tokens
        else:
            kept.append(_truncated(item, remaining, tokens))
            remaining = 0
    kept.reverse()
    return kept


def replacement_history(
    history: Sequence[ResponseItem], summary: str, fresh_context: Callable[[], list[ResponseItem]]
) -> list[ResponseItem]:
    """The history of the new window (sessions.md §8.3): base instructions, older retained prompts, a fresh
    initial context, the newest retained prompt, then the summary message."""
    base = [history[0]] if history and history[0].get("role") == "developer" else []
    retained = retained_user_messages(history[len(base) :])
    older, newest = retained[:-1], retained[-1:]
    summary_item: ResponseItem = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": f"{SUMMARY_PREFIX}\n{summary}"}],
    }
    return [*base, *older, *fresh_context(), *newest, summary_item]
