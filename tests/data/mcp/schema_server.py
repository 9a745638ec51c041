"""An MCP server written with the official `mcp` SDK (2.x `MCPServer`) whose tools carry JSON-Schema keywords, for
the client's schema tests. stdio only. `--instructions TEXT` is sent as the server's instructions, as given.

Tools: `pick` (pydantic-made schema: minItems/maxItems, uniqueItems, minLength/pattern, bounds, format,
min/maxProperties, an optional anyOf, a default) and `broken` (its schema replaced by one with `"minItems": "2"`,
which codex-rs 0.169 cannot read: it leaves the tool out).
"""

from __future__ import annotations

import argparse
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import AnyUrl, Field


def build(instructions: str | None) -> MCPServer:
    app = MCPServer("schemas", instructions=instructions)

    @app.tool()
    def pick(
        tags: Annotated[list[str], Field(min_length=1, max_length=3, description="Some tags")],
        unique: set[int],
        name: Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$", title="Nm", examples=["ab"])],
        count: Annotated[int, Field(ge=1, le=9, multiple_of=3)],
        ratio: Annotated[float, Field(gt=0, lt=1)],
        url: AnyUrl,
        mapping: Annotated[dict[str, int], Field(min_length=1, max_length=4)],
        opt: str | None = None,
        level: int = 5,
    ) -> str:
        """Pick things."""
        return "ok"

    @app.tool()
    def broken() -> str:
        """Has a schema codex-rs cannot read."""
        return "ok"

    app._tool_manager._tools["broken"].parameters = {  # the SDK offers no public way to set a raw schema
        "type": "object",
        "properties": {"q": {"type": "array", "items": {"type": "string"}, "minItems": "2"}},
    }
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instructions")
    args = parser.parse_args()
    build(args.instructions).run()


if __name__ == "__main__":
    main()
