"""codex_cli: a terminal coding agent compatible with OpenAI's Codex CLI."""

from __future__ import annotations

from codex_cli.version import VERSION as __version__

__all__ = ["__version__"]
