"""How this process was started: by the Linux binary's sh launcher (build/launcher.py), or directly.

The Linux binary is a small launcher that `exec`s the program it unpacked into the user's cache, with its own
path in CODEX_LAUNCHER. `adopt()` (codex.py, first thing) takes the variable out of the environment, so the
commands and sandbox helpers started from here never inherit it, and keeps the path: `path()` is the file a
person runs and replaces to update (`sys.executable` is the unpacked copy), and its name is the one it was
invoked by (`apply_patch` through a link chooses the patch tool).
"""

from __future__ import annotations

import os
import sys

__all__ = ["ENV", "adopt", "path"]

ENV = "CODEX_LAUNCHER"

_path: str | None = None


def adopt() -> str | None:
    """Take CODEX_LAUNCHER from the environment; keep it (as an absolute path) when this is the frozen program."""
    global _path
    value = os.environ.pop(ENV, "")
    if value and getattr(sys, "frozen", False):
        _path = os.path.abspath(value)
    return _path


def path() -> str | None:
    """The launcher this frozen program was started by, or None (a onefile binary, the zipapp, a checkout)."""
    return _path
