"""The one JSON codec: compact UTF-8 encoding and decoding, with msgspec when importable.

`encode_json` gives the same bytes with or without msgspec for plain JSON data (dict, list,
str, int, float, bool, None): compact separators, non-ASCII kept as UTF-8, floats written the
way msgspec writes them, NaN and infinities as `null`, lone surrogates (which UTF-8 cannot
hold) as `\\udXXX` escapes. `decode_json` raises `ValueError` on invalid input (nesting too deep
included) whichever backend is active, and reads lone-surrogate escapes as the stdlib does.

The model and the servers are untrusted: `argument_error` words a lone surrogate or too deep
nesting in a tool call's payload as serde_json would, `replace_lone_surrogates` makes text safe
to print.

msgspec is imported by the first `decode_json` (or `json_backend`), not by encoding: until then
the stdlib encoder writes the same bytes, so a new thread's first request does not wait for
msgspec's import (~7 ms). A resumed thread decodes its rollout first, so its large request body
is encoded by msgspec.
"""

from __future__ import annotations

import functools
import json
import re
from types import ModuleType
from typing import Any

__all__ = [
    "argument_error",
    "decode_json",
    "encode_json",
    "join_surrogate_pairs",
    "json_backend",
    "replace_lone_surrogates",
    "utf8_json",
]

_msgspec: ModuleType | None = None  # msgspec.json, once `_msgspec_json()` has imported it


@functools.cache
def _msgspec_json() -> ModuleType | None:
    global _msgspec
    try:
        import msgspec.json
    except ImportError:
        return None
    _msgspec = msgspec.json
    return _msgspec


def json_backend() -> str:
    """Name the active backend (`msgspec` or `json`), for `codex doctor` and tests."""
    return "json" if _msgspec_json() is None else "msgspec"


def encode_json(obj: object) -> bytes:
    """Serialise `obj` as compact UTF-8 JSON (with msgspec once a decode has imported it)."""
    backend = _msgspec
    if backend is not None:
        try:
            data: bytes = backend.encode(obj)
        except UnicodeEncodeError:
            pass  # a lone surrogate: the stdlib path writes it as an escape
        else:
            return data
    return _encode_stdlib(obj)


def decode_json(data: bytes | str) -> object:
    """Parse one JSON document; raise `ValueError` when it is not valid JSON."""
    backend = _msgspec_json()
    if backend is None:
        return _decode_stdlib(data)
    try:
        return backend.decode(data)
    except Exception as exc:  # msgspec.DecodeError is not a ValueError
        failure = exc
    # msgspec refuses lone-surrogate escapes (`"\ud800"`) that the stdlib reads: both backends must agree.
    try:
        return _decode_stdlib(data)
    except ValueError:
        raise ValueError(str(failure)) from failure


def _decode_stdlib(data: bytes | str) -> object:
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nesting too deep") from None  # untrusted input must not escape as a RecursionError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_dump_str = functools.partial(json.dumps, ensure_ascii=False)


def _encode_stdlib(obj: object) -> bytes:
    # The C encoder writes floats with repr(), which differs from msgspec (`1e+16` vs `1e16`),
    # so documents holding floats take the small pure-Python path below.
    if _has_float(obj):
        text = _encode_value(obj)
    else:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return utf8_json(text)


def utf8_json(text: str) -> bytes:
    """JSON text as UTF-8, with any lone surrogate (which UTF-8 cannot hold) written as its `\\udXXX` escape."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # In JSON text a raw surrogate can only stand inside a string literal, where its escape means the same.
        return _SURROGATE.sub(_surrogate_escape, text).encode("utf-8")


def _has_float(obj: object) -> bool:
    if isinstance(obj, float):
        return True
    if isinstance(obj, dict):
        return any(_has_float(value) for value in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_float(value) for value in obj)
    return False


def _encode_value(obj: object) -> str:
    if isinstance(obj, str):
        return _dump_str(obj)
    if obj is None or obj is True or obj is False:
        return "null" if obj is None else ("true" if obj else "false")
    if isinstance(obj, float):
        return _float_text(obj)
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{_key_text(key)}:{_encode_value(value)}" for key, value in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_encode_value(value) for value in obj) + "]"
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _key_text(key: object) -> str:
    if isinstance(key, str):
        return _dump_str(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return f'"{int.__repr__(key)}"'
    raise TypeError(f"keys must be str or int, not {type(key).__name__}")


def _float_text(value: float) -> str:
    """Format a float as msgspec does: shortest round-trip digits, `1e16`, `0.00001`, `1e-6`."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"
    text = float.__repr__(value)
    if "e" not in text:
        return text
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text)
    if exponent != -5:
        return f"{mantissa}e{exponent}"
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    return f"{sign}0.0000{digits}"


# -- lone surrogates ------------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
# A surrogate's escape, or any other escape (consumed whole, so that `\\ud800` is not read as one).
_ESCAPE = re.compile(r"\\(?:u([dD][89a-fA-F][0-9a-fA-F]{2})|u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _surrogate_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def join_surrogate_pairs(text: str) -> str:
    """Two surrogate code points that form a pair (halves of a split escape) become their character; lone ones stay."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def replace_lone_surrogates(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates replaced by U+FFFD, so that UTF-8 can hold it."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", join_surrogate_pairs(text))


def argument_error(payload: str, *, json_text: bool = True) -> str | None:
    """Why a tool call's payload cannot be used, if it holds a lone surrogate or nests too deep; None otherwise.

    In JSON arguments (`json_text`), escapes count as serde_json reads them: a leading surrogate not followed by
    `\\u` is `unexpected end of hex escape`, a trailing one or a leading one followed by no trailing one is
    `lone leading surrogate in hex escape` (sic); a surrogate character itself (only freeform input, or JSON
    that held an escape, can carry one) is `invalid unicode code point`; arrays and objects nested deeper than
    serde_json's limit (128) are `recursion limit exceeded` (the stdlib parser would raise RecursionError far
    later, and no tool needs such depth). Positions as serde_json gives them: `at line L column C`, C counting
    the bytes of the line consumed when the problem was found; the first problem in the text is the one named.
    """
    problems = [_first_surrogate_problem(payload, json_text), _too_deep(payload) if json_text else None]
    found = min((problem for problem in problems if problem is not None), key=lambda problem: problem[1], default=None)
    if found is None:
        return None
    reason, end = found
    line_start = payload.rfind("\n", 0, end) + 1
    column = len(payload[line_start:end].encode("utf-8", "surrogatepass"))
    return f"{reason} at line {payload.count(chr(10), 0, line_start) + 1} column {column}"


_RECURSION_LIMIT = 128  # serde_json's
_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]', re.DOTALL)  # strings are skipped whole, in C


def _too_deep(payload: str) -> tuple[str, int] | None:
    if payload.count("[") + payload.count("{") < _RECURSION_LIMIT:
        return None
    depth = 0
    for token in _NESTING.finditer(payload):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth == _RECURSION_LIMIT:
                return "recursion limit exceeded", token.end()
        elif first in "]}":
            depth -= 1
    return None


def _first_surrogate_problem(payload: str, json_text: bool) -> tuple[str, int] | None:
    """The first problem, and the index just after what serde_json has consumed when it reports it."""
    raw = _SURROGATE.search(payload)
    limit = raw.start() if raw is not None else len(payload)
    position = 0
    escapes = json_text and _SURROGATE_ESCAPE.search(payload, 0, limit) is not None
    while escapes and (match := _ESCAPE.search(payload, position, limit)) is not None:
        position = match.end()
        digits = match.group(1)
        if digits is None:
            continue
        if int(digits, 16) >= 0xDC00:
            return "lone leading surrogate in hex escape", position
        # serde_json wants `\\u` and four hex digits next, and consumes a character before each complaint.
        for offset, expected in ((0, "\\"), (1, "u")):
            if position + offset >= len(payload):
                return "EOF while parsing a string", len(payload)
            if payload[position + offset] != expected:
                return "unexpected end of hex escape", position + offset + 1
        trailing = payload[position + 2 : position + 6]
        if len(trailing) < 4:
            return "EOF while parsing a string", len(payload)
        position += 6
        if not all(c in _HEX_DIGITS for c in trailing):
            return "invalid escape", position
        if not 0xDC00 <= int(trailing, 16) <= 0xDFFF:
            return "lone leading surrogate in hex escape", position
    if raw is not None:
        return "invalid unicode code point", raw.end()
    return None


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
