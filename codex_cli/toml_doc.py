"""Parsed TOML documents: parsing text into tables, naming key paths, merging layers, and reading typed
values at a path. Nothing here knows which keys exist (that is `config_keys`) or where they sit in the text
(`toml_positions`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeAlias

__all__ = [
    "KeyPath",
    "bool_at",
    "dotted",
    "get_in",
    "int_at",
    "int_or",
    "json_string",
    "merge",
    "parse_toml",
    "set_nested",
    "str_at",
    "str_map_at",
    "strs_at",
]

KeyPath: TypeAlias = tuple[str | int, ...]
"""A key's path from the document's root: table keys, and list indices as ints."""


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def parse_toml(text: str) -> dict[str, object]:
    """A TOML document as tables; `ValueError` (tomllib's `TOMLDecodeError`) when its syntax is wrong.

    tomllib is imported here, on first use: with its `datetime` and regular expressions it is a few ms of every
    start, and a start without config.toml or `-c` (`codex sandbox` in a fresh home) never parses TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]
    doc: dict[str, object] = tomllib.loads(text)
    return doc


def json_string(text: str) -> str:
    """`text` as a JSON string literal, as serde quotes keys and values in messages."""
    import json  # on use, like tomllib (see parse_toml); only messages quote keys and values

    return json.dumps(text, ensure_ascii=False)


def dotted(path: KeyPath) -> str:
    """`('projects', '/tmp/x', 'trust_level')` → `projects."/tmp/x".trust_level`; list indices as `[i]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else json_string(part)
        text += f".{name}" if text else name
    return text


def get_in(doc: object, *path: str) -> object | None:
    """The value at `path` inside nested tables, or None."""
    for part in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def merge(base: dict[str, object], over: dict[str, object]) -> dict[str, object]:
    """A new table: tables merge key by key; anything else in `over` replaces."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def set_nested(doc: dict[str, object], path: list[str], value: object) -> None:
    """Set `path` in `doc`, creating (or replacing non-table) intermediate tables; a table value merges."""
    for part in path[:-1]:
        child = doc.get(part)
        if not isinstance(child, dict):
            child = doc[part] = {}
        doc = child
    old = doc.get(path[-1])
    doc[path[-1]] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value


def str_at(doc: object, *path: str) -> str | None:
    """The string at `path`, or None (these typed readers assume a document that passed `check_types`)."""
    value = get_in(doc, *path)
    return value if isinstance(value, str) else None


def bool_at(doc: object, *path: str, default: bool) -> bool:
    value = get_in(doc, *path)
    return value if isinstance(value, bool) else default


def int_at(doc: object, *path: str) -> int | None:
    value = get_in(doc, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def int_or(doc: object, key: str, default: int) -> int:
    value = int_at(doc, key)
    return default if value is None else value


def strs_at(doc: object, *path: str) -> tuple[str, ...] | None:
    value = get_in(doc, *path)
    return tuple(str(item) for item in value) if isinstance(value, list) else None


def str_map_at(doc: object, *path: str) -> Mapping[str, str]:
    value = get_in(doc, *path)
    return MappingProxyType({str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {})

