"""Terminal styling: whether a stream gets colour, and ANSI SGR styles that vanish when it does not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

__all__ = ["Style", "stream_wants_color"]


def stream_wants_color(stream: TextIO, choice: str, env: Mapping[str, str]) -> bool:
    """The `--color` rule: always/never, else colour iff the stream is a terminal that allows it."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if env.get("FORCE_COLOR") or env.get("CLICOLOR_FORCE"):
        return True
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """SGR styling that is the identity when disabled, so plain output carries no escape codes at all."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def sgr(self, codes: str, text: str) -> str:
        return f"\x1b[{codes}m{text}\x1b[0m" if self.enabled and text else text

    def bold(self, text: str) -> str:
        return self.sgr("1", text)

    def dim(self, text: str) -> str:
        return self.sgr("2", text)

    def red(self, text: str) -> str:
        return self.sgr("31", text)

    def green(self, text: str) -> str:
        return self.sgr("32", text)

    def yellow(self, text: str) -> str:
        return self.sgr("33", text)

    def magenta(self, text: str) -> str:
        return self.sgr("35", text)

    def cyan(self, text: str) -> str:
        return self.sgr("36", text)

    def blue(self, text: str) -> str:
        return self.sgr("38;5;75", text)
