"""Who runs a sandboxed command in the tests: this process's user, or `nobody` (uid 65534) through setpriv."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from codex_cli.sandbox import probe_capabilities

NOBODY = 65534


@dataclass(frozen=True)
class Runner:
    """Who runs codex (or a driver of the sandbox): the prefix that switches user, the Python it runs, its uid,
    and the PYTHONPATH it needs (our site-packages may sit where `nobody` cannot read)."""

    name: str
    prefix: tuple[str, ...]
    python: str
    uid: int
    pythonpath: str = ""


def setpriv_nobody() -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def caps_or_skip() -> None:
    """Skip unless this machine has a layer that confines file writes (Landlock or namespaces)."""
    if sys.platform != "linux":
        pytest.skip("Linux confinement needs Linux")
    caps = probe_capabilities()
    if caps.landlock_abi == 0 and caps.namespaces == "none":
        pytest.skip(f"no filesystem sandbox layer on this machine: {caps}")
