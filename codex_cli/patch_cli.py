"""The standalone `apply_patch` command: argument and stdin handling around `patch.apply_patch_cli`.

Reached as `codex apply_patch PATCH`, through an argv[0] of `apply_patch`/`applypatch`, or as
`python -m codex_cli.patch_cli PATCH`. With no argument the patch is read from stdin.
Exit codes: 0 success, 1 patch or input failure, 2 usage error.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import BinaryIO, TextIO

from codex_cli.patch import apply_patch_cli

__all__ = ["USAGE", "main"]

USAGE = "Usage: apply_patch 'PATCH'\n       echo 'PATCH' | apply_patch\n"


def _utf8_stream(stream: TextIO) -> TextIO:
    """Paths and file text are UTF-8 whatever the locale says; write them that way."""
    if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
        stream.reconfigure(encoding="utf-8")
    return stream


def _read_patch(argv: list[str], stdin: BinaryIO, stderr: TextIO) -> str | int:
    """The patch text, or the exit code of an argument/stdin error (its message already written)."""
    if len(argv) > 1:
        stderr.write("Error: apply_patch accepts exactly one argument.\n")
        return 2
    if argv:
        try:
            argv[0].encode("utf-8")  # undecodable argv bytes arrive as lone surrogates
        except UnicodeEncodeError:
            stderr.write("Error: apply_patch requires a UTF-8 PATCH argument.\n")
            return 1
        return argv[0]
    data = stdin.read()
    if not data:
        stderr.write(USAGE)
        return 2
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        stderr.write("Error: Failed to read PATCH from stdin.\nstream did not contain valid UTF-8\n")
        return 1


def main(
    argv: list[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    cwd: Path | None = None,
) -> int:
    """Run apply_patch; `argv` are the arguments after the command name (default: sys.argv[1:])."""
    args = sys.argv[1:] if argv is None else argv
    out = stdout if stdout is not None else _utf8_stream(sys.stdout)
    err = stderr if stderr is not None else _utf8_stream(sys.stderr)
    patch = _read_patch(args, stdin if stdin is not None else sys.stdin.buffer, err)
    if isinstance(patch, int):
        return patch
    return apply_patch_cli(patch, cwd if cwd is not None else Path(os.getcwd()), out, err)


if __name__ == "__main__":
    sys.exit(main())
