"""How MCP tools look to the model and how their results come back (mcp.md §5, §6).

Names: `mcp__<server>` namespaces and tool names sanitised to `[A-Za-z0-9_]`, with 12-hex SHA-1
suffixes on collisions and a 128-character budget. Schemas: `inputSchema` rewritten to the small
JSON-Schema subset codex-rs 0.169 sends (its key order; `minItems` the one validation keyword kept; only the
`$defs` a `$ref` reaches), reduced when its compact JSON exceeds `tool_input_schema_max_bytes`; a tool whose
schema codex-rs cannot read (`"minItems": "2"`, `"items": 5`) is left out. Results:
`CallToolResult` → `function_call_output` (a string when `structuredContent` is present, else a list
of `input_text` / `input_image` items after the `Wall time` header) and the exec `mcp_tool_call` item.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from codex_cli.jsoncodec import encode_json
from codex_cli.mcp_config import DEFAULT_SCHEMA_MAX_BYTES
from codex_cli.protocol import McpToolCallItem
from codex_cli.records import Record

__all__ = [
    "CallStatus",
    "McpCallOutcome",
    "McpCallTarget",
    "SchemaError",
    "convert_result",
    "failed_outcome",
    "format_duration",
    "namespace_names",
    "parse_arguments",
    "rewrite_input_schema",
    "sanitize_name",
    "tool_model_names",
]

CallStatus = Literal["in_progress", "completed", "failed"]

_NAME_LIMIT = 128
_AUDIO_OMITTED = "<audio content omitted because you do not support audio input>"
_IMAGE_OMITTED = "image content omitted because it could not be processed"


def sanitize_name(text: str) -> str:
    """Every character outside ASCII `[A-Za-z0-9_]` becomes `_` (no collapsing)."""
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in text)


def _hash_suffix(identity: str) -> str:
    return "_" + hashlib.sha1(identity.encode()).hexdigest()[:12]


def namespace_names(servers: Iterable[str]) -> dict[str, str]:
    """`mcp__` + sanitised server name; every namespace that collides gets a hash suffix (mcp.md §5.2)."""
    plain = {server: "mcp__" + sanitize_name(server) for server in servers}
    counts = Counter(plain.values())
    return {s: ns + _hash_suffix(f"{s}\0{s}\0") if counts[ns] > 1 else ns for s, ns in plain.items()}


def tool_model_names(server: str, namespace: str, raw_names: Iterable[str]) -> dict[str, str]:
    """The name the model sees for each raw tool name: sanitised, hashed on collision, fitted to 128 chars."""
    raw = list(dict.fromkeys(raw_names))
    clean = {name: sanitize_name(name) for name in raw}
    counts = Counter(clean.values())
    result: dict[str, str] = {}
    for name in raw:
        identity = f"{server}\0{server}\0\0{name}\0{name}"
        model = clean[name] + _hash_suffix(identity) if counts[clean[name]] > 1 else clean[name]
        if len(namespace) + 2 + len(model) > _NAME_LIMIT:
            model = clean[name][: _NAME_LIMIT - len(namespace) - 2 - 13] + _hash_suffix(identity)
        attempt = 1
        while model in result.values():  # rare secondary clash
            keep = min(len(clean[name]), max(0, _NAME_LIMIT - len(namespace) - 2 - 13))
            model = clean[name][:keep] + _hash_suffix(f"{identity}\0{attempt}")
            attempt += 1
        result[name] = model
    return result


# ---------------------------------------------------------------------------------------------------------- schemas

_COMBINATORS = ("anyOf", "oneOf", "allOf")
_SIMPLE_TYPES = frozenset({"string", "number", "integer", "boolean", "null"})
_TYPES = ("string", "number", "boolean", "integer", "object", "array", "null")
_DEFS = ("$defs", "definitions")
_U64_MAX = (1 << 64) - 1
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


class SchemaError(ValueError):
    """An input schema codex-rs 0.169 cannot read (a kept keyword of the wrong JSON type, such as
    `"minItems": "2"` or `"items": 5`): it leaves that tool out, and so do we."""


def rewrite_input_schema(schema: object, max_bytes: int = DEFAULT_SCHEMA_MAX_BYTES) -> dict[str, object]:
    """An MCP `inputSchema` as the small JSON-Schema subset sent to the model, reduced over `max_bytes`. Raises
    SchemaError for a schema whose tool codex-rs would not offer."""
    src = schema if isinstance(schema, Mapping) else {}
    top: dict[str, object] = {"type": "object"}
    _check(src)
    if isinstance(src.get("description"), str):
        top["description"] = src["description"]
    _min_items(src, top)
    top["properties"] = _properties(src.get("properties"))
    _object_tail(src, top)
    top.update(_combinators(src))
    top.update(_referenced_defs(src, top))
    if len(encode_json(top)) <= max_bytes:
        return top
    top = _strip_descriptions(top)
    if len(encode_json(top)) <= max_bytes:
        return top
    return _collapse(top)


def _check(schema: Mapping[str, object]) -> None:
    """Raise SchemaError when a keyword we keep has a JSON type codex-rs cannot read (null counts as absent)."""
    for key in ("description", "enum", "required", "properties", "items", "additionalProperties", "minItems",
                *_COMBINATORS):  # fmt: skip
        value = schema.get(key)
        if value is not None and not _readable(key, value):
            raise SchemaError(f"`{key}` has an unsupported value")


def _readable(key: str, value: object) -> bool:
    if key == "description":
        return isinstance(value, str)
    if key == "required":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    if key == "properties":
        return isinstance(value, Mapping)
    if key in ("items", "additionalProperties"):
        return isinstance(value, (Mapping, bool))
    if key == "minItems":  # an unsigned 64-bit integer; 2.0 is not one
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _U64_MAX
    return isinstance(value, list)  # enum and the combinators


def _min_items(src: Mapping[str, object], out: dict[str, object]) -> None:
    # The one validation keyword codex-rs 0.169 passes on (on any typed schema); maxItems, minLength, pattern and
    # the rest are dropped.
    if src.get("minItems") is not None:
        out["minItems"] = src["minItems"]


def _properties(value: object) -> dict[str, object]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _rewrite(value[k]) for k in sorted(value, key=lambda k: str(k).encode())}


def _object_tail(src: Mapping[str, object], out: dict[str, object]) -> None:
    if isinstance(src.get("required"), list):
        out["required"] = src["required"]
    extra = src.get("additionalProperties")
    if isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif isinstance(extra, Mapping):
        out["additionalProperties"] = _rewrite(extra)


def _combinators(src: Mapping[str, object]) -> dict[str, object]:
    return {k: [_rewrite(s) for s in src[k]] for k in _COMBINATORS if isinstance(src.get(k), list)}  # type: ignore[attr-defined]


def _schema_type(schema: Mapping[str, object]) -> object:
    """The `type` codex-rs keeps: known names only, a one-name list as a string; "" when nothing usable is left."""
    kind = schema.get("type")
    if kind is None:
        return None
    names = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    known = [name for name in names if name in _TYPES]
    if not known:
        return ""
    return known[0] if len(known) == 1 else known


def _inferred_type(schema: Mapping[str, object]) -> str | None:
    """The type codex-rs gives an untyped schema from the keywords it has (none for a bare description)."""
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("enum", "const", "format")):
        return "string"
    if any(k in schema for k in _NUMBER_KEYS):
        return "number"
    return None


def _rewrite(schema: object) -> dict[str, object]:
    if isinstance(schema, bool):  # `true`/`false` as a schema: codex-rs offers a string
        return {"type": "string"}
    if not isinstance(schema, Mapping):
        raise SchemaError("a schema is neither an object nor a boolean")
    if "not" in schema:
        return {}
    if isinstance(schema.get("$ref"), str):
        return {"$ref": schema["$ref"]}
    _check(schema)
    kind = _schema_type(schema)
    enum: list[object] | None = None
    if "const" in schema:
        enum = [schema["const"]]
    elif isinstance(schema.get("enum"), list):
        enum = list(schema["enum"])
    combos = _combinators(schema)
    if kind == "":
        return {}
    if kind is None and not combos:
        kind = _inferred_type(schema)
        if kind is None:
            return {}
    out: dict[str, object] = {}
    if kind is not None:
        out["type"] = kind
    if isinstance(schema.get("description"), str):
        out["description"] = schema["description"]
    if enum is not None:
        out["enum"] = enum
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "array" in kinds:
        items = schema.get("items")
        out["items"] = _rewrite(items) if isinstance(items, Mapping) else {"type": "string"}
    _min_items(schema, out)
    if "object" in kinds:
        out["properties"] = _properties(schema.get("properties"))
        _object_tail(schema, out)
    out.update(combos)
    return out


def _referenced_defs(src: Mapping[str, object], top: Mapping[str, object]) -> dict[str, object]:
    """`$defs` / `definitions` entries that a `$ref` reaches from the schema, directly or through other kept
    entries; codex-rs 0.169 drops the rest."""
    tables = {key: src[key] for key in _DEFS if isinstance(src.get(key), Mapping)}
    wanted = set(_refs(top))
    kept: dict[tuple[str, str], dict[str, object]] = {}
    while wanted:
        key, name = wanted.pop()
        table = tables.get(key)
        if (key, name) in kept or not isinstance(table, Mapping) or name not in table:
            continue
        kept[(key, name)] = _rewrite(table[name])
        wanted.update(_refs(kept[(key, name)]))
    out: dict[str, object] = {}
    for key in tables:
        names = sorted((name for table, name in kept if table == key), key=str.encode)  # sorted, as codex-rs sends
        if names:
            out[key] = {name: kept[(key, name)] for name in names}
    return out


def _refs(value: object) -> Iterator[tuple[str, str]]:
    """(table, name) of every `#/$defs/<name>` and `#/definitions/<name>` reference inside `value`."""
    if isinstance(value, Mapping):
        ref = value.get("$ref")
        if isinstance(ref, str):
            for key in _DEFS:
                prefix = f"#/{key}/"
                if ref.startswith(prefix):
                    name = ref[len(prefix):].split("/", 1)[0].replace("~1", "/").replace("~0", "~")
                    yield key, name
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _strip_descriptions(schema: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: _strip_descriptions(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _strip_descriptions(value)
        elif key in _COMBINATORS and isinstance(value, list):
            out[key] = [_strip_descriptions(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _collapse(top: dict[str, object]) -> dict[str, object]:
    """Keep top-level property names with simple `type`/`enum`; every nested schema becomes `{}`."""
    props: dict[str, object] = {}
    for name, schema in dict(top.get("properties") or {}).items():  # type: ignore[call-overload]
        kind = schema.get("type") if isinstance(schema, dict) else None
        kinds = set(kind) if isinstance(kind, list) else {kind}
        simple = isinstance(schema, dict) and kinds <= _SIMPLE_TYPES and set(schema) <= {"type", "enum"}
        props[name] = {k: v for k, v in schema.items() if k in ("type", "enum")} if simple else {}
    out: dict[str, object] = {"type": "object", "properties": props}
    if "required" in top:
        out["required"] = top["required"]
    if isinstance(top.get("additionalProperties"), bool):
        out["additionalProperties"] = top["additionalProperties"]
    return out


# ---------------------------------------------------------------------------------------------------------- results


class McpCallTarget(Record):
    """Which server and raw tool a model call goes to, with its parsed arguments (None: absent or invalid)."""

    server: str
    tool: str
    arguments: object

    def item(self, item_id: str, call_id: str = "") -> McpToolCallItem:
        """The `item.started` form."""
        return McpToolCallItem(item_id, self.server, self.tool, self.arguments, call_id=call_id)


class McpCallOutcome(Record):
    """A finished call: what goes back to the model and what the event item shows."""

    server: str
    tool: str
    arguments: object
    model_output: str | list[dict[str, object]]
    result_for_event: dict[str, object] | None = None
    error: str | None = None
    is_error: bool = False
    wall_time: float = 0.0

    @property
    def status(self) -> CallStatus:
        return "failed" if self.error is not None or self.is_error else "completed"

    def item(self, item_id: str, call_id: str = "") -> McpToolCallItem:
        """The `item.completed` form."""
        return McpToolCallItem(
            item_id, self.server, self.tool, self.arguments, self.result_for_event, self.error, self.status,
            call_id=call_id,
        )


def _header(elapsed: float) -> str:
    return f"Wall time: {elapsed:.4f} seconds\nOutput:"


def _typed_first(block: Mapping[str, object]) -> dict[str, object]:
    if "type" not in block:
        return dict(block)
    out: dict[str, object] = {"type": block["type"]}
    out.update((k, v) for k, v in block.items() if k != "type")
    return out


def _event_block(block: object) -> object:
    if not isinstance(block, Mapping):
        return block
    if block.get("type") == "audio":
        return {"type": "text", "text": _AUDIO_OMITTED}
    return _typed_first(block)


def _model_block(block: object) -> dict[str, object]:
    import base64
    import binascii

    if not isinstance(block, Mapping):
        return {"type": "input_text", "text": encode_json(block).decode()}
    kind = block.get("type")
    if kind == "text":
        return {"type": "input_text", "text": str(block.get("text", ""))}
    if kind == "image":
        data, mime = block.get("data"), block.get("mimeType")
        try:
            base64.b64decode(str(data), validate=True)
            ok = isinstance(data, str) and isinstance(mime, str) and bool(data)
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            return {"type": "input_text", "text": _IMAGE_OMITTED}
        return {"type": "input_image", "image_url": f"data:{mime};base64,{data}", "detail": "high"}
    if kind == "audio":
        return {"type": "input_text", "text": _AUDIO_OMITTED}
    return {"type": "input_text", "text": encode_json(_typed_first(block)).decode()}


def convert_result(target: McpCallTarget, result: object, elapsed: float) -> McpCallOutcome:
    """mcp.md §6.1: structuredContent wins and becomes a string; else one input item per content block."""
    body = result if isinstance(result, Mapping) else {}
    content = body.get("content")
    blocks = content if isinstance(content, list) else []
    structured = body.get("structuredContent")
    header = _header(elapsed)
    output: str | list[dict[str, object]]
    if structured is not None:
        output = header + "\n" + encode_json(structured).decode()
    else:
        output = [{"type": "input_text", "text": header}, *(_model_block(b) for b in blocks)]
    event = {"content": [_event_block(b) for b in blocks], "structured_content": structured}
    return McpCallOutcome(
        target.server, target.tool, target.arguments, output, event, None, body.get("isError") is True, elapsed
    )


def failed_outcome(target: McpCallTarget, message: str, elapsed: float) -> McpCallOutcome:
    output: list[dict[str, object]] = [
        {"type": "input_text", "text": _header(elapsed)},
        {"type": "input_text", "text": message},
    ]
    return McpCallOutcome(target.server, target.tool, target.arguments, output, None, message, False, elapsed)


def format_duration(seconds: float) -> str:
    """Like Rust's `Duration` Debug form: `2s`, `2.5s`, `300s`, `500ms`."""
    if 0 < seconds < 1:
        return f"{seconds * 1000:.6f}".rstrip("0").rstrip(".") + "ms"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


def parse_arguments(payload: str) -> tuple[object, str | None]:
    """(arguments, error): `""` means no arguments; invalid JSON never reaches the server (mcp.md §6.2)."""
    import json

    if payload.strip() == "":
        return None, None
    try:
        value = json.loads(payload)
    except json.JSONDecodeError as exc:
        return None, f"err: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(value, dict):
        return value, "err: invalid type: expected the arguments to be a JSON object"
    return value, None
