"""A probe MCP server written with the official `mcp` SDK (2.x `MCPServer`), for the client tests.

stdio by default; `--http` serves streamable HTTP on 127.0.0.1 (a free port, printed as `PORT <n>` once
the socket is bound), with TLS when `--certfile/--keyfile` are given and a required bearer token with
`--bearer TOKEN`. `--delay S` sleeps before serving; `--crash` exits 3 at once after a line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

app = MCPServer("probe", instructions=os.environ.get("PROBE_INSTRUCTIONS") or None)


class Sum(BaseModel):
    total: int
    note: str


class Answer(BaseModel):
    name: str


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo back the given text."""
    return f"echo: {text}"


@app.tool()
def add(a: int, b: int = 0) -> Sum:
    """Add two integers."""
    return Sum(total=a + b, note="sum")


@app.tool()
def fail() -> str:
    """Always fails."""
    raise ToolError("boom: nope")


@app.tool(structured_output=False)
def picture() -> list[object]:
    """Returns a caption and an image."""
    return ["here is an image", Image(data=PNG, format="png")]


@app.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
def show_env(names: list[str]) -> str:
    """Reports which of the named environment variables are set, and their values."""
    return json.dumps({name: os.environ.get(name) for name in names})


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
async def slow(seconds: float) -> str:
    """Sleeps, then answers."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
async def ask(ctx: Context) -> str:
    """Asks the client a question through elicitation."""
    result = await ctx.elicit("What is your name?", Answer)
    return result.action


@app.resource("memo://hello", name="hello", description="A greeting", mime_type="text/plain")
def hello() -> str:
    return "Hello from resource"


def _serve_http(args: argparse.Namespace) -> None:
    import uvicorn

    inner = app.streamable_http_app()

    async def guarded(scope, receive, send):  # type: ignore[no-untyped-def]
        if args.bearer and scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {args.bearer}".encode():
                await send(
                    {"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]}
                )
                await send({"type": "http.response.body", "body": b"missing or wrong bearer token"})
                return
        await inner(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts them: no refused-connection race
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        guarded, log_level="warning", ssl_certfile=args.certfile, ssl_keyfile=args.keyfile, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--bearer")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--crash", action="store_true")
    args = parser.parse_args()
    if args.crash:
        sys.stderr.write("probe: refusing to start (--crash)\n")
        sys.exit(3)
    time.sleep(args.delay)
    if args.http:
        _serve_http(args)
    else:
        app.run()


if __name__ == "__main__":
    main()
