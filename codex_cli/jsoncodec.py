"""The one JSON codec: compact UTF-8 encoding and decoding, with msgspec when importable.

`encode_json` gives the same bytes with or without msgspec for plain JSON data (dict, list,
str, int, float, bool, None): compact separators, non-ASCII kept as UTF-8, floats written the
way msgspec writes them, NaN and infinities as `null`. `decode_json` raises `ValueError` on
invalid input whichever backend is active.

msgspec is imported by the first `decode_json` (or `json_backend`), not by encoding: until then
the stdlib encoder writes the same bytes, so a new thread's first request does not wait for
msgspec's import (~7 ms). A resumed thread decodes its rollout first, so its large request body
is encoded by msgspec.
"""

from __future__ import annotations

import functools
import json
from types import ModuleType
from typing import Any

__all__ = ["decode_json", "encode_json", "json_backend"]

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
        data: bytes = backend.encode(obj)
        return data
    return _encode_stdlib(obj)


def decode_json(data: bytes | str) -> object:
    """Parse one JSON document; raise `ValueError` when it is not valid JSON."""
    backend = _msgspec_json()
    if backend is None:
        return json.loads(data, parse_constant=_reject_constant)
    try:
        return backend.decode(data)
    except Exception as exc:  # msgspec.DecodeError is not a ValueError
        raise ValueError(str(exc)) from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


_dump_str = functools.partial(json.dumps, ensure_ascii=False)


def _encode_stdlib(obj: object) -> bytes:
    # The C encoder writes floats with repr(), which differs from msgspec (`1e+16` vs `1e16`),
    # so documents holding floats take the small pure-Python path below.
    if _has_float(obj):
        return _encode_value(obj).encode("utf-8")
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


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
