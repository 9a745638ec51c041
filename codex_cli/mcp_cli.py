"""`codex mcp add | list | get | remove`: manage `[mcp_servers]` in `$CODEX_HOME/config.toml` (mcp.md §2).

Output shapes and exit codes follow codex-rs 0.169 (§2.1–2.4, §2.6). Two deliberate differences: `add`
and `remove` edit config.toml in place through `toml_edit`, keeping comments and unrelated keys byte for
byte, and `add` over an existing name refuses unless `--force` is given. `list` does no OAuth discovery
(OAuth login is not supported): HTTP servers show `Bearer token` or `Unsupported` in the Auth column.
`register()` adds the subcommand tree to the `codex` parser; `main()` is its handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli.errors import ConfigError, McpError, UsageError

if TYPE_CHECKING:
    from codex_cli.mcp_config import McpServerConfig

__all__ = ["main", "register"]

_MASK = "*****"
_EMPTY_HINT = "No MCP servers configured yet. Try `codex mcp add my-tool -- my-command`."
_NAME_RULE = "(use letters, numbers, '-', '_', ':', '@', '/', '.')"


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid value '{text}': environment entries must be in KEY=VALUE form")
    return key, value


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", type=_env_pair, default=[], metavar="KEY=VALUE",
                        help="environment variable for a stdio server (repeatable)")  # fmt: skip
    parser.add_argument("--url", metavar="URL", help="URL of a streamable HTTP server")
    parser.add_argument("--bearer-token-env-var", metavar="ENV_VAR", help="variable holding a bearer token (HTTP only)")
    parser.add_argument("--force", action="store_true", help="replace a server of the same name")


def _parse_add(args: argparse.Namespace) -> argparse.Namespace:
    """NAME, options and `-- COMMAND [ARGS]...` in any order; options seen before NAME are kept."""
    parser = argparse.ArgumentParser(prog="codex mcp add")
    _add_options(parser)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("server_command", nargs="*", metavar="COMMAND")
    argv = [f"--env={k}={v}" for k, v in args.env]
    argv += [f"--url={args.url}"] if args.url is not None else []
    argv += [f"--bearer-token-env-var={args.bearer_token_env_var}"] if args.bearer_token_env_var is not None else []
    argv += ["--force"] if args.force else []
    return parser.parse_intermixed_args([*argv, *args.rest])


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `mcp` and its subcommands to the `codex` parser; the handler is `codex_cli.mcp_cli:main`."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "mcp",
        help="manage MCP servers (add, list, get, remove)",
        description="Manage the MCP servers in $CODEX_HOME/config.toml.\n\nexample: codex mcp list",
        formatter_class=raw,
    )
    parser.set_defaults(handler="codex_cli.mcp_cli:main")
    commands = parser.add_subparsers(dest="mcp_command", metavar="COMMAND", required=True)
    add = commands.add_parser(
        "add",
        help="add a server (stdio: -- COMMAND [ARGS]..., or --url URL)",
        description=(
            "Add an MCP server to config.toml (comments and other settings are kept).\n\n"
            "examples:\n  codex mcp add docs -- npx -y some-mcp-server\n"
            "  codex mcp add web --url https://example.com/mcp --bearer-token-env-var MY_TOKEN"
        ),
        formatter_class=raw,
    )
    _add_options(add)
    # argparse cannot take options between NAME and `-- COMMAND`, so everything from NAME on is collected
    # here and parsed again by `_parse_add()` (options may then appear before or after NAME, as with clap).
    add.add_argument("rest", nargs=argparse.REMAINDER, metavar="NAME [-- COMMAND [ARGS]...]", help="server name, "
                     "then `--` and the command of a stdio server")  # fmt: skip
    listing = commands.add_parser("list", help="list configured servers", description="List configured MCP servers.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    get = commands.add_parser("get", help="show one server", description="Show one MCP server's settings.")
    get.add_argument("name", metavar="NAME")
    get.add_argument("--json", action="store_true", help="print JSON")
    remove = commands.add_parser("remove", help="remove a server", description="Remove an MCP server from config.toml.")
    remove.add_argument("name", metavar="NAME")


def main(args: argparse.Namespace) -> int:
    """Run `codex mcp <command>`; errors are raised as CodexError for `cli.main()` to print."""
    command = args.mcp_command
    if command == "add":
        return _add(_parse_add(args))
    if command == "remove":
        return _remove(args.name)
    servers = _load_servers()
    if command == "list":
        return _list(servers, as_json=args.json)
    return _get(servers, args.name, as_json=args.json)


# ---------------------------------------------------------------------------------------------------------- files


def _config_file() -> Path:
    from codex_cli.config import find_codex_home

    home = find_codex_home()
    home.mkdir(parents=True, exist_ok=True)  # only ~/.codex can be missing here: a bad CODEX_HOME is an error
    return home / "config.toml"


def _read(path: Path) -> str:
    from codex_cli import toml_edit

    try:
        return toml_edit.read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Error reading {path}: {exc}") from None


def _load_servers() -> dict[str, McpServerConfig]:
    from codex_cli.config import CliOverrides, load_config
    from codex_cli.mcp_config import parse_mcp_servers

    config = load_config(CliOverrides(cwd=Path.cwd()))
    table = config.raw.get("mcp_servers")
    return parse_mcp_servers(table if isinstance(table, Mapping) else {}, config_path=config.config_path)


def _edit_error(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(f"Cannot edit {path}: {exc}", "Fix the file by hand, then run the command again.")


# ------------------------------------------------------------------------------------------------ add / remove


def _server_table(args: argparse.Namespace) -> dict[str, object]:
    command: list[str] = list(args.server_command)
    if args.url and command:
        raise UsageError("the argument '--url <URL>' cannot be used with '[COMMAND]...'")
    if not args.url and not command:
        raise UsageError("the following required arguments were not provided: <COMMAND|--url <URL>>")
    if args.bearer_token_env_var and not args.url:
        raise UsageError("--bearer-token-env-var requires --url <URL>")
    if args.url:
        if args.env:
            raise McpError("command is required: --env only applies to stdio servers (`-- COMMAND [ARGS]...`)")
        table: dict[str, object] = {"url": args.url}
        if args.bearer_token_env_var:
            table["bearer_token_env_var"] = args.bearer_token_env_var
        return table
    table = {"command": command[0]}
    if command[1:]:
        table["args"] = command[1:]
    if args.env:
        table["env"] = dict(sorted(dict(args.env).items()))
    return table


def _add(args: argparse.Namespace) -> int:
    from codex_cli import toml_edit
    from codex_cli.mcp_config import SERVER_NAME_PATTERN

    name: str = args.name
    if not SERVER_NAME_PATTERN.match(name):
        raise McpError(f"invalid server name '{name}' {_NAME_RULE}")
    table = _server_table(args)
    path = _config_file()
    text = _read(path)
    try:
        exists = _has_server(text, name)
        if exists and not args.force:
            raise McpError(
                f"MCP server '{name}' already exists in {path}",
                f"Use `codex mcp add --force {name} ...` to replace it, or `codex mcp remove {name}` first.",
            )
        new_text = toml_edit.set_table(
            text, ("mcp_servers", name), toml_edit.render_table(("mcp_servers", name), table)
        )
    except toml_edit.TomlEditError as exc:
        raise _edit_error(path, exc) from None
    toml_edit.write_text_atomic(path, new_text)
    sys.stdout.write(f"Added global MCP server '{name}'.\n")
    return 0


def _has_server(text: str, name: str) -> bool:
    from codex_cli import toml_edit
    from codex_cli.toml_doc import parse_toml

    try:
        servers = parse_toml(text).get("mcp_servers")
    except ValueError as exc:
        raise toml_edit.TomlEditError(f"config.toml is not valid TOML: {exc}") from None
    return isinstance(servers, dict) and name in servers


def _remove(name: str) -> int:
    from codex_cli import toml_edit

    if not name:
        raise McpError(f"invalid server name '{name}' {_NAME_RULE}")
    path = _config_file()
    text = _read(path)
    try:
        new_text, removed = toml_edit.remove_table(text, ("mcp_servers", name))
    except toml_edit.TomlEditError as exc:
        raise _edit_error(path, exc) from None
    if not removed:
        sys.stdout.write(f"No MCP server named '{name}' found.\n")
        return 0
    toml_edit.write_text_atomic(path, new_text)
    sys.stdout.write(f"Removed global MCP server '{name}'.\n")
    return 0


# -------------------------------------------------------------------------------------------------- list / get


def _seconds(value: float | None) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _env_summary(server: McpServerConfig) -> str:
    names = [f"{k}={_MASK}" for k in sorted(server.env or {})] + [f"{v.name}={_MASK}" for v in server.env_vars]
    return ", ".join(names) or "-"


def _auth(server: McpServerConfig) -> tuple[str, str]:
    if server.transport == "streamable_http" and server.bearer_token_env_var:
        return "Bearer token", "bearer_token"
    return "Unsupported", "unsupported"


def _transport_json(server: McpServerConfig, *, sort_env: bool) -> dict[str, object]:
    if server.transport == "stdio":
        env = None if server.env is None else dict(sorted(server.env.items()) if sort_env else server.env.items())
        return {
            "type": "stdio",
            "command": server.command,
            "args": list(server.args),
            "env": env,
            "env_vars": [spec.to_json() for spec in server.env_vars],
            "cwd": server.cwd,
        }
    return {
        "type": "streamable_http",
        "url": server.url,
        "bearer_token_env_var": server.bearer_token_env_var,
        "http_headers": None if server.http_headers is None else dict(server.http_headers),
        "env_http_headers": None if server.env_http_headers is None else dict(server.env_http_headers),
        "http_headers_helper": server.http_headers_helper,
    }


def _server_json(server: McpServerConfig, *, for_get: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "name": server.name,
        "enabled": server.enabled,
        "disabled_reason": None,
        "transport": _transport_json(server, sort_env=for_get),
    }
    if for_get:
        data["enabled_tools"] = None if server.enabled_tools is None else list(server.enabled_tools)
        data["disabled_tools"] = None if server.disabled_tools is None else list(server.disabled_tools)
    data["startup_timeout_sec"] = server.startup_timeout_sec
    data["tool_timeout_sec"] = server.tool_timeout_sec
    if not for_get:
        data["auth_status"] = _auth(server)[1]
    return data


def _print_json(value: object) -> None:
    import json

    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]


def _list(servers: Mapping[str, McpServerConfig], *, as_json: bool) -> int:
    ordered = [servers[name] for name in sorted(servers)]
    if as_json:
        _print_json([_server_json(s, for_get=False) for s in ordered])
        return 0
    if not ordered:
        sys.stdout.write(_EMPTY_HINT + "\n")
        return 0
    status = {True: "enabled", False: "disabled"}
    stdio = [
        [
            s.name,
            s.command or "",
            " ".join(s.args) or "-",
            _env_summary(s),
            s.cwd or "-",
            status[s.enabled],
            _auth(s)[0],
        ]
        for s in ordered
        if s.transport == "stdio"
    ]
    http = [
        [s.name, s.url or "", s.bearer_token_env_var or "-", status[s.enabled], _auth(s)[0]]
        for s in ordered
        if s.transport == "streamable_http"
    ]
    blocks: list[list[str]] = []
    if stdio:
        blocks.append(_table([["Name", "Command", "Args", "Env", "Cwd", "Status", "Auth"], *stdio]))
    if http:
        blocks.append(_table([["Name", "Url", "Bearer Token Env Var", "Status", "Auth"], *http]))
    sys.stdout.write("\n\n".join("\n".join(block) for block in blocks) + "\n")
    return 0


def _get(servers: Mapping[str, McpServerConfig], name: str, *, as_json: bool) -> int:
    server = servers.get(name)
    if server is None:
        raise McpError(f"No MCP server named '{name}' found.")
    if as_json:
        _print_json(_server_json(server, for_get=True))
        return 0
    if not server.enabled:
        sys.stdout.write(f"{name} (disabled)\n")
        return 0
    lines = [name, "  enabled: true"]
    if server.enabled_tools is not None:
        lines.append(f"  enabled_tools: {', '.join(server.enabled_tools)}")
    if server.disabled_tools is not None:
        lines.append(f"  disabled_tools: {', '.join(server.disabled_tools)}")
    lines.append(f"  transport: {server.transport}")
    if server.transport == "stdio":
        lines += [
            f"  command: {server.command}",
            f"  args: {' '.join(server.args) or '-'}",
            f"  cwd: {server.cwd or '-'}",
            f"  env: {_env_summary(server)}",
        ]
    else:
        headers = ", ".join(f"{k}={_MASK}" for k in sorted(server.http_headers or {})) or "-"
        env_headers = ", ".join(f"{k}={v}" for k, v in sorted((server.env_http_headers or {}).items())) or "-"
        lines += [
            f"  url: {server.url}",
            f"  bearer_token_env_var: {server.bearer_token_env_var or '-'}",
            f"  http_headers: {headers}",
            f"  env_http_headers: {env_headers}",
            f"  http_headers_helper: {server.http_headers_helper or '-'}",
        ]
    if server.startup_timeout_sec is not None:
        lines.append(f"  startup_timeout_sec: {_seconds(server.startup_timeout_sec)}")
    if server.tool_timeout_sec is not None:
        lines.append(f"  tool_timeout_sec: {_seconds(server.tool_timeout_sec)}")
    lines.append(f"  remove: codex mcp remove {name}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
