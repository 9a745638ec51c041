"""The built-in model family table: what each model family supports and its defaults, and how that shapes a
request's `reasoning` and `text` fields.

A slug is matched against family prefixes, longest first (`gpt-5.1-codex-max` → `gpt-5.1-codex`). An unknown
slug (a local Ollama model, a gateway alias) gets `FALLBACK`: a 128k window and no reasoning or verbosity
fields unless the configuration asks for them. Unknown models are normal here, so there is no warning for
them (0.169 warns on every start). Config keys win over the table: `model_context_window`,
`model_reasoning_effort`, `model_reasoning_summary`, `model_verbosity` (config.md §6.1–6.2); 0.169 ignores
`model_supports_reasoning_summaries` (with a warning), and so does this implementation.
"""

from __future__ import annotations

from codex_cli.records import Record

__all__ = ["FALLBACK", "FAMILIES", "ModelFamily", "RequestShape", "find_family", "request_shape", "tool_output_budget"]


class ModelFamily(Record):
    """One family of models; `prefix` matches slugs that start with it."""

    prefix: str
    context_window: int
    supports_reasoning: bool = False  # accepts `reasoning.effort`
    default_reasoning_effort: str | None = None  # sent when the config names none
    supports_reasoning_summaries: bool = False  # accepts `reasoning.summary`
    default_reasoning_summary: str = "none"
    supports_verbosity: bool = False  # accepts `text.verbosity`
    default_verbosity: str | None = None
    known: bool = True
    supports_search_tool: bool = False  # finds MCP tools through `tool_search` instead of a list (mcp.md §5.4)


FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("gpt-6", 272_000, True, "low", True),
    ModelFamily("gpt-5.1-codex", 272_000, True, "medium", True),
    ModelFamily("gpt-5-codex", 272_000, True, "medium", True),
    ModelFamily("gpt-5.5", 272_000, True, "medium", True, supports_verbosity=True, default_verbosity="low",
                supports_search_tool=True),
    ModelFamily("gpt-5", 272_000, True, "medium", True, supports_verbosity=True, default_verbosity="low"),
    ModelFamily("codex-mini", 200_000, True, "medium", True),
    ModelFamily("o4-mini", 200_000, True, "medium", True),
    ModelFamily("o3", 200_000, True, "medium", True),
    ModelFamily("o1", 200_000, True, "medium"),
    ModelFamily("gpt-oss", 131_072, True),  # local servers pick their own effort unless configured
    ModelFamily("openai/gpt-oss", 131_072, True),  # LM Studio's slug
    ModelFamily("gpt-4.1", 1_047_576),
    ModelFamily("gpt-4o", 128_000),
    ModelFamily("gpt-4", 8_192),
    ModelFamily("gpt-3.5", 16_385),
)
"""The known families; `find_family` tries the longest matching prefix."""

FALLBACK = ModelFamily("", 128_000, known=False)
"""What an unknown slug gets: a common context size and no optional request fields."""

_BY_LENGTH = sorted(FAMILIES, key=lambda family: len(family.prefix), reverse=True)


def find_family(slug: str) -> ModelFamily:
    """The family of `slug` (case-insensitive prefix match), or `FALLBACK`."""
    lowered = slug.strip().lower()
    return next((family for family in _BY_LENGTH if lowered.startswith(family.prefix)), FALLBACK)


def tool_output_budget(slug: str, configured: int | None = None) -> int:
    """How many tokens (about 4 bytes each) one tool output may take in the history: `tool_output_token_limit`,
    else 10 000 for a known family and 10 000 bytes' worth for others, plus a fifth for the output's framing.
    Observed in codex-rs 0.169: 48 000 bytes of an MCP result reach gpt-5.5, 12 000 an unknown model."""
    limit = configured if configured is not None and configured > 0 else (10_000 if find_family(slug).known else 2_500)
    return -(-limit * 6 // 5)  # the ceiling of limit × 1.2


class RequestShape(Record):
    """The model-dependent request fields: `reasoning` (None: leave it out) and `text.verbosity`."""

    reasoning: dict[str, str] | None
    verbosity: str | None
    context_window: int


def request_shape(
    slug: str,
    *,
    effort: str | None = None,
    summary: str | None = None,
    verbosity: str | None = None,
    context_window: int | None = None,
) -> RequestShape:
    """Combine the configured values with the family table (wire.md §3.1, config.md §6.2).

    `effort`: the configured value, else the family default when the family reasons. `summary`: sent only when
    the model's family supports summaries and it is not `none`. `verbosity`:
    only for families that support it.
    """
    family = find_family(slug)
    reasoning: dict[str, str] = {}
    chosen_effort = effort or (family.default_reasoning_effort if family.supports_reasoning else None)
    if chosen_effort:
        reasoning["effort"] = chosen_effort
    chosen_summary = summary or family.default_reasoning_summary
    if family.supports_reasoning_summaries and chosen_summary != "none":
        reasoning["summary"] = chosen_summary
    chosen_verbosity = (verbosity or family.default_verbosity) if family.supports_verbosity else None
    window = context_window if context_window and context_window > 0 else family.context_window
    return RequestShape(reasoning or None, chosen_verbosity, window)
