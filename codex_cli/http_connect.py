"""The network backend under every client: one time budget for making a connection, the proxy's part included.

httpcore bounds the TCP connect and the TLS handshake by the connect timeout, but reads a proxy's answer to
CONNECT (and a SOCKS proxy's handshake replies) with the read timeout, 300 s for the model's stream, or none at
all: a proxy that accepts the connection and never answers (a hung proxy, a silent firewall) stalled a turn for
minutes. `BoundedBackend` wraps httpcore's sync backend so that everything from the first TCP packet until the
request itself is written (TCP, the proxy's CONNECT or SOCKS exchange, the TLS handshakes) shares one deadline,
and running out of it raises `ConnectStalled` (an httpcore.ConnectTimeout, so httpx raises ConnectTimeout) that
says which step hung. It also moves this thread's `netwait` entry between "connecting" and "waiting".
Imported only when a client is built: it imports httpcore.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore

from codex_cli import netwait

__all__ = ["BoundedBackend", "ConnectStalled"]


class ConnectStalled(httpcore.ConnectTimeout):
    """The connect budget ran out; `step` is "tcp" (no answer to the TCP connection), "proxy" (the proxy accepted
    the connection but did not answer CONNECT or the SOCKS handshake) or "tls" (the handshake did not finish)."""

    def __init__(self, step: str, address: str, budget: float) -> None:
        super().__init__(f"no answer from {address} within {budget:g} s ({step})")
        self.step = step
        self.address = address
        self.budget = budget


def _is_request(buffer: bytes) -> bool:
    """Whether a write is the HTTP request itself, which ends the connect phase. A CONNECT line is the proxy's
    part of connecting; SOCKS handshake messages start with a version byte (5, or 1 for the password step); TLS
    records are written inside the ssl module, never through `write`."""
    return buffer[:1].isalpha() and not buffer.startswith(b"CONNECT ")


class _Stream(httpcore.NetworkStream):
    """A stream in its connect phase: every read, write and handshake ends by the shared deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float, budget: float, address: str,
                 tunnelled: bool, overrides: bool) -> None:
        self._inner = inner
        self._deadline: float | None = deadline
        self._budget = budget
        self._address = address
        self._tunnelled = tunnelled  # reads before the request are a proxy's (CONNECT or SOCKS) answers
        self._overrides = overrides

    def _bound(self, timeout: float | None) -> tuple[float | None, bool]:
        """The timeout to use and whether the deadline (not the caller's own timeout) set it."""
        if self._deadline is None:
            return timeout, False
        if self._overrides:
            timeout = None
        remaining = max(self._deadline - time.monotonic(), 0.001)
        if timeout is None or remaining < timeout:
            return remaining, True
        return timeout, False

    def _stalled(self, step: str) -> ConnectStalled:
        return ConnectStalled(step, self._address, self._budget)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bounded, by_deadline = self._bound(timeout)
        try:
            return self._inner.read(max_bytes, bounded)
        except httpcore.ReadTimeout as exc:
            if by_deadline:
                raise self._stalled("proxy" if self._tunnelled else "tls") from exc
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._deadline is not None and _is_request(buffer):
            self._deadline = None
            netwait.connected()
        bounded, by_deadline = self._bound(timeout)
        try:
            self._inner.write(buffer, bounded)
        except httpcore.WriteTimeout as exc:
            if by_deadline:
                raise self._stalled("proxy" if self._tunnelled else "tls") from exc
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded, by_deadline = self._bound(timeout)
        try:
            inner = self._inner.start_tls(ssl_context, server_hostname, bounded)
        except httpcore.ConnectTimeout as exc:
            if by_deadline:
                raise self._stalled("tls") from exc
            raise
        if self._deadline is None:
            return inner
        # Still connecting until the request is written (TLS to an https:// proxy comes before its CONNECT).
        return _Stream(inner, self._deadline, self._budget, self._address, self._tunnelled, self._overrides)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class BoundedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with one deadline of `budget` seconds per new connection; `tunnelled` when the
    connections go to a proxy that is asked to connect onwards (CONNECT or SOCKS); `overrides` when the budget
    replaces the requests' own connect timeouts (CODEX_CONNECT_TIMEOUT) instead of capping them."""

    def __init__(self, budget: float, *, tunnelled: bool, overrides: bool = False) -> None:
        self._inner = httpcore.SyncBackend()
        self._budget = budget
        self._tunnelled = tunnelled
        self._overrides = overrides

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        netwait.connecting()
        deadline = time.monotonic() + self._budget
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        limit = self._budget if timeout is None or self._overrides else min(timeout, self._budget)
        try:
            inner = self._inner.connect_tcp(host, port, limit, local_address, socket_options)
        except httpcore.ConnectTimeout as exc:
            raise ConnectStalled("tcp", address, limit) from exc
        return _Stream(inner, deadline, self._budget, address, self._tunnelled, self._overrides)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
