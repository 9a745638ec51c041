"""The Responses API's history items as the model sees them (`ResponseItem`: messages, calls, their outputs), and
the few helpers every module that builds or reads them shares. Not to be confused with `protocol.Item`, what a
person is shown."""

from __future__ import annotations

from collections.abc import Iterable

from codex_cli.protocol import uuid7

__all__ = ["OUTPUT_TYPES", "ResponseItem", "content_texts", "text_message"]

ResponseItem = dict[str, object]  # one item of a request's `input` / a response's `output`, as JSON
OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output", "tool_search_output")  # a call's answer


def text_message(role: str, *texts: str) -> ResponseItem:
    """A history message item with one `input_text` part per text, and a client-made `msg_` id."""
    return {
        "type": "message",
        "id": f"msg_{uuid7()}",
        "role": role,
        "content": [{"type": "input_text", "text": t} for t in texts],
    }


def content_texts(item: ResponseItem, kinds: Iterable[str]) -> list[str]:
    """The texts of a message's content parts whose type is one of `kinds` (`input_text`, `output_text`, `text`)."""
    content = item.get("content")
    if not isinstance(content, list):
        return []
    wanted = tuple(kinds)
    return [str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") in wanted]
