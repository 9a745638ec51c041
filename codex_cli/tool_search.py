"""Ranking for the `tool_search` tool (mcp.md §5.4): Okapi BM25 over short tool documents, no dependencies."""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["rank", "tokens"]

_WORD = re.compile(r"[a-z0-9]+")
_K1, _B = 1.2, 0.75


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers; `snake_case` and `camelCase` names count as their parts too."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return _WORD.findall(spaced.lower())


def rank(query: str, documents: list[str]) -> list[int]:
    """Indices of the documents that share a word with `query`, best BM25 score first (ties keep their order)."""
    terms = set(tokens(query))
    if not terms or not documents:
        return []
    docs = [Counter(tokens(doc)) for doc in documents]
    lengths = [sum(counts.values()) for counts in docs]
    average = sum(lengths) / len(lengths) or 1.0
    frequency = {term: sum(1 for counts in docs if term in counts) for term in terms}
    scores: list[tuple[float, int]] = []
    for index, (counts, length) in enumerate(zip(docs, lengths, strict=True)):
        score = 0.0
        for term in terms:
            seen = counts.get(term, 0)
            if not seen:
                continue
            idf = math.log((len(docs) - frequency[term] + 0.5) / (frequency[term] + 0.5) + 1.0)
            score += idf * seen * (_K1 + 1) / (seen + _K1 * (1 - _B + _B * length / average))
        if score > 0:
            scores.append((-score, index))
    return [index for _, index in sorted(scores)]
