"""Shared pytest setup: `scripts/` on sys.path, and the scripted fake Responses server as a fixture."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from fake_responses import FakeResponsesServer  # noqa: E402


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeResponsesServer]]:
    """Start fake servers with `fake_server(script, **kwargs)`; all are closed after the test."""
    started: list[FakeResponsesServer] = []

    def start(script: list[Any], **kwargs: Any) -> FakeResponsesServer:
        server = FakeResponsesServer(script, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
