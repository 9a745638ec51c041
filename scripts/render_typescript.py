#!/usr/bin/env python3
"""Render a terminal recording (a `script` log, or any captured output) to the plain text a person saw.

A small terminal: printable text with wide characters and auto-wrap at the right margin, CR, LF, BS, TAB,
cursor movement (CUU/CUD/CUF/CUB/CHA/CUP), erase in display and line, and everything else (colours, titles,
private modes) skipped. The scrollback is kept: the result is every row ever written, top to bottom.

    script -q -c "codex" session.log      # record (util-linux script)
    python scripts/render_typescript.py session.log [--cols 80] [--rows 24]

`Screen.wraps` counts characters that did not fit on their row (the terminal wrapped them): a UI that wraps
its own output leaves it at 0. Tests import `Screen` to look at what a pseudo-terminal showed.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

_SEQUENCE = re.compile(
    r"\x1b\[([0-?]*)([ -/]*)([@-~])"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1bP[^\x1b]*\x1b\\"  # DCS (tmux passthrough)
    r"|\x1b[()][0-9A-Za-z]|\x1b[^\[\]P()]"  # charset and two-byte escapes
)


def _width(ch: str) -> int:
    if ch < "\u0300":
        return 1
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


class Screen:
    """A terminal of `cols` x `rows` that keeps its scrollback."""

    def __init__(self, cols: int = 80, rows: int = 24) -> None:
        self.cols, self.rows = cols, rows
        self.lines: list[list[str]] = [[]]
        self.row = self.col = 0
        self.wraps = 0

    @property
    def top(self) -> int:
        return max(0, len(self.lines) - self.rows)

    def _line(self) -> list[str]:
        while self.row >= len(self.lines):
            self.lines.append([])
        return self.lines[self.row]

    def _put(self, ch: str) -> None:
        w = _width(ch)
        if w == 0:
            return
        if self.col + w > self.cols:
            self.wraps += 1
            self.row, self.col = self.row + 1, 0
        line = self._line()
        while len(line) < self.col + w:
            line.append(" ")
        line[self.col] = ch
        if w == 2:
            line[self.col + 1] = ""
        self.col += w

    def feed(self, data: str) -> None:
        i, n = 0, len(data)
        while i < n:
            ch = data[i]
            if ch == "\x1b":
                match = _SEQUENCE.match(data, i)
                if match is None:
                    i += 1
                    continue
                if match.group(3) is not None and not match.group(2):
                    self._csi(match.group(1), match.group(3))
                i = match.end()
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
                self._line()
            elif ch == "\b":
                self.col = max(0, min(self.col, self.cols - 1) - 1)
            elif ch == "\t":
                self.col = min(self.cols - 1, (self.col // 8 + 1) * 8)
            elif ch >= " " and ch != "\x7f":
                self._put(ch)
            i += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        first = numbers[0] if numbers else 0
        count = max(1, first)
        if final == "A":
            self.row = max(self.top, self.row - count)
        elif final == "B":
            self.row = min(self.top + self.rows - 1, self.row + count)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + count)
        elif final == "D":
            self.col = max(0, min(self.col, self.cols - 1) - count)
        elif final == "G":
            self.col = min(self.cols - 1, count - 1)
        elif final in "Hf":
            row = numbers[0] if numbers else 1
            col = numbers[1] if len(numbers) > 1 else 1
            self.row = self.top + max(1, row) - 1
            self.col = min(self.cols - 1, max(1, col) - 1)
        elif final == "K":
            line = self._line()
            if first == 0:
                del line[self.col :]
            elif first == 1:
                line[: self.col + 1] = [" "] * min(len(line), self.col + 1)
            else:
                line.clear()
        elif final == "J":
            if first == 0:
                del self._line()[self.col :]
                del self.lines[self.row + 1 :]
            elif first == 2:
                for index in range(self.top, len(self.lines)):
                    self.lines[index] = []
            elif first == 3:
                keep = self.lines[self.top :]
                self.row -= self.top
                self.lines = keep or [[]]

    def text(self) -> str:
        """Every row (scrollback first), trailing spaces and trailing empty rows removed."""
        rows = ["".join(line).rstrip() for line in self.lines]
        while rows and not rows[-1]:
            rows.pop()
        return "\n".join(rows) + "\n"


def render(data: str, cols: int = 80, rows: int = 24) -> Screen:
    screen = Screen(cols, rows)
    screen.feed(data)
    return screen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="the recording (`script` output)")
    parser.add_argument("--cols", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    args = parser.parse_args()
    data = args.log.read_bytes().decode("utf-8", "replace")
    if data.startswith("Script started"):  # util-linux `script` header and footer lines
        data = data.split("\n", 1)[1] if "\n" in data else ""
        footer = data.rfind("\nScript done")
        data = data[:footer] if footer >= 0 else data
    sys.stdout.write(render(data, args.cols, args.rows).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
