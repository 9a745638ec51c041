"""`codex mcp-server`: run Codex as an MCP server on stdin/stdout, for other agents and MCP clients.

This module owns the command's arguments (`register()`) and its stdio front end (`main()`): it checks the
configuration once, keeps stdout for protocol lines only (stray writes go to stderr), and serves one client
until it disconnects. The protocol and the sessions live in `mcp_server_protocol`; the tools' schemas and
argument handling in `mcp_server_tools`; the `codex/event` shapes in `mcp_server_events` (mcp.md Part B).
Its top level imports only the stdlib, because `cli_parser.build_parser()` imports it for every command.
"""

from __future__ import annotations

import argparse

__all__ = ["main", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `mcp-server` to the `codex` parser; the handler is `codex_cli.mcp_server.main:main`."""
    parser = subparsers.add_parser(
        "mcp-server",
        help="run Codex as an MCP server over stdio (tools: codex, codex-reply)",
        description=(
            "Serve the Model Context Protocol on stdin/stdout (JSON-RPC, one message per line). Tools: `codex` "
            "starts a session, `codex-reply` continues one by its threadId; events stream as `codex/event` "
            "notifications and approvals are asked through elicitation.\n\n"
            "example: npx @modelcontextprotocol/inspector --cli codex mcp-server --method tools/list"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-c", "--config", action="append", default=[], metavar="key=value",
        help="override a config.toml value for every session; the value is parsed as TOML, else taken as a string",
    )  # fmt: skip
    parser.add_argument("--enable", action="append", default=[], metavar="FEATURE", help="turn a feature flag on")
    parser.add_argument("--disable", action="append", default=[], metavar="FEATURE", help="turn a feature flag off")
    parser.add_argument("--strict-config", action="store_true", help="treat unknown config keys as errors")
    parser.set_defaults(handler="codex_cli.mcp_server.main:main")


def main(args: argparse.Namespace) -> int:
    """Serve MCP on stdio until the client closes stdin; configuration errors are raised before serving."""
    import os
    import signal
    import sys
    from pathlib import Path

    from codex_cli.cli_parser import cli_overrides
    from codex_cli.config import load_config
    from codex_cli.jsonrpc import LineTransport
    from codex_cli.mcp_server.protocol import McpServer

    overrides = cli_overrides(args)
    env = dict(os.environ)
    load_config(overrides, env)  # a broken config.toml or -c fails now, not at the first tool call
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries protocol lines only
    server = McpServer(LineTransport(reader, writer, name="mcp-server"), overrides=overrides, env=env, cwd=Path.cwd())

    exit_code = 130  # Ctrl-C

    def on_terminate(signum: int, frame: object) -> None:
        nonlocal exit_code
        if not server.closing:  # once shutting down, let it finish: the turns are being interrupted
            exit_code = 128 + signum
            raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, on_terminate)
    try:
        server.serve()  # shuts down on the way out, whatever ended it
    except KeyboardInterrupt:
        # The stdin reader thread is still blocked in read() holding stdin's lock, which would make the
        # interpreter's own shutdown abort; the sessions are closed and every line is written, so leave now.
        sys.stderr.flush()
        os._exit(exit_code)
    return 0
