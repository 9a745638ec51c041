"""A hand-written stdio MCP server (stdlib only) for edge cases, timing tests and the start-up benchmark.

Flags: `--delay S` waits S seconds before answering `initialize`; `--hang` never answers it; `--garbage`
prints a non-JSON line and exits; `--exit N` exits with code N after a line on stderr; `--log FILE`
appends every line received; `--pages` splits tools/list in two pages; `--version V` answers with that
protocolVersion. Tools: `echo` (read-only), `slow` {seconds} (answered from a thread, so calls overlap),
`odd.name with-spaces`, `custom` {result} (returns `result` verbatim as the CallToolResult).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

TOOLS = [
    {
        "name": "echo",
        "description": "Echo.",
        "annotations": {"readOnlyHint": True},
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string", "title": "Text"}}},
    },
    {
        "name": "slow",
        "description": "Sleeps.",
        "annotations": {"readOnlyHint": True},
        "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    },
    {"name": "odd.name with-spaces", "description": "Odd name.", "inputSchema": {"type": "object"}},
    {"name": "custom", "inputSchema": {"type": "object", "properties": {"result": {"type": "object"}}}},
]

_lock = threading.Lock()


def send(message: dict) -> None:
    with _lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def call(request_id: object, params: dict) -> None:
    name, args = params.get("name"), params.get("arguments") or {}
    if name == "slow":
        time.sleep(float(args.get("seconds", 1)))
        result = {"content": [{"type": "text", "text": "slept"}]}
    elif name == "custom":
        result = args.get("result", {})
    elif name == "echo":
        result = {"content": [{"type": "text", "text": f"echo: {args.get('text')}"}], "isError": False}
    else:
        result = {"content": [{"type": "text", "text": json.dumps(params, sort_keys=True)}]}
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--exit", type=int)
    parser.add_argument("--log")
    parser.add_argument("--pages", action="store_true")
    parser.add_argument("--version", default="2025-06-18")
    args = parser.parse_args()
    if args.exit is not None:
        sys.stderr.write("minimal: fatal start-up error\n")
        sys.exit(args.exit)
    if args.garbage:
        print("this is not json", flush=True)
        return
    log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    for line in sys.stdin:
        if log:
            log.write(line)
            log.flush()
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if method == "initialize":
            if args.hang:
                continue
            time.sleep(args.delay)
            send(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "result": {
                        "protocolVersion": args.version,
                        "capabilities": {"tools": {}},
                        "serverInfo": {"name": "minimal", "version": "1"},
                    },
                }
            )
        elif method == "tools/list":
            cursor = (message.get("params") or {}).get("cursor")
            if args.pages and cursor is None:
                result = {"tools": TOOLS[:2], "nextCursor": "p1"}
            else:
                result = {"tools": TOOLS[2:] if args.pages else TOOLS}
            send({"jsonrpc": "2.0", "id": request_id, "result": result})
        elif method == "tools/call":
            threading.Thread(target=call, args=(request_id, message.get("params") or {}), daemon=True).start()
        elif request_id is not None:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"no {method}"}})


if __name__ == "__main__":
    main()
