#!/usr/bin/env python3
"""A local HTTP CONNECT proxy that can intercept TLS, for tests and manual runs (stdlib + trustme).

It reproduces a corporate TLS-inspecting gateway (auth.md §6, §9.2): on `CONNECT host:port` it
answers `200 Connection Established`, completes TLS with the client using a leaf for `host`
signed by its own runtime-generated CA, opens TLS to the origin (verified with `upstream_ca`),
and relays the decrypted bytes both ways, keeping a copy of each exchange.

Modes: "intercept" (above), "tunnel" (a plain CONNECT tunnel, no TLS of its own), or
`reject_status=403` (answers every request with that status). `require_auth=("u", "p")` answers
407 unless `Proxy-Authorization: Basic` matches. Absolute-form `http://` requests are forwarded
with `Connection: close`. Only loopback origins are reached unless `origin=(host, port)`
redirects every tunnel (so `auth.openai.com:443` can be answered locally) or `allow_remote`.

`Socks5Proxy(require_auth=("u", "p"))` is a SOCKS5 proxy (RFC 1928, CONNECT only; user/password of RFC 1929
when asked): `requests` holds the (host, port) each client asked for, `users` the user names it sent.

`OkOrigin(tls_context)` is the origin of the reproduction: an HTTP(S) server on 127.0.0.1 that
answers every request (e.g. `POST /oauth/token`) with `200 ok` and records the request lines.

Import it (tests put `scripts/` on sys.path):
    with InterceptingProxy(upstream_ca="origin-ca.pem") as proxy:
        proxy.url, proxy.write_ca(path), proxy.requests, proxy.exchanges, proxy.tls_failures
Or run it:
    python scripts/intercepting_proxy.py [--port 0] [--mode intercept|tunnel|socks5] [--upstream-ca FILE]
        [--origin HOST:PORT] [--ca-out FILE] [--reject STATUS] [--auth USER:PASSWORD]
It prints `PORT <n>` and `CA <file>`, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import select
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import trustme

__all__ = ["Exchange", "InterceptingProxy", "OkOrigin", "ProxyRequest", "Socks5Proxy", "main"]

_IDLE_TIMEOUT = 30.0
_MAX_HEADER = 65536


@dataclass(frozen=True)
class ProxyRequest:
    """One request the proxy received: `CONNECT host:port` or an absolute-form request line."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class Exchange:
    """The decrypted bytes of one intercepted tunnel, client to origin and back."""

    host: str
    port: int
    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)


_Server = TypeVar("_Server", bound="_LoopbackServer")


class _LoopbackServer:
    """A threaded TCP server on 127.0.0.1 that hands each connection to `_handle`; `start()` / `close()`, or use
    it as a context manager."""

    _name = "loopback-server"
    _server: socketserver.ThreadingTCPServer | None = None

    def _handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def start(self: _Server) -> _Server:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), name=self._name, daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return int(self._server.server_address[1])


class InterceptingProxy(_LoopbackServer):
    """Serves on 127.0.0.1; `start()` / `close()` or use it as a context manager."""

    _name = "intercepting-proxy"

    def __init__(
        self,
        *,
        ca: trustme.CA | None = None,
        mode: str = "intercept",
        upstream_ca: str | Path | None = None,
        origin: tuple[str, int] | None = None,
        reject_status: int | None = None,
        require_auth: tuple[str, str] | None = None,
        allow_remote: bool = False,
    ) -> None:
        if mode not in ("intercept", "tunnel"):
            raise ValueError(f"unknown mode {mode!r}")
        self.ca = ca or trustme.CA(organization_name="Codex Test Intercepting Proxy")
        self.mode = mode
        self.origin = origin
        self.reject_status = reject_status
        self.require_auth = require_auth
        self.allow_remote = allow_remote
        self.requests: list[ProxyRequest] = []
        self.exchanges: list[Exchange] = []
        self.tls_failures: list[str] = []  # client handshakes that failed, e.g. "tlsv1 alert unknown ca"
        self._upstream = ssl.create_default_context(cafile=str(upstream_ca) if upstream_ca else None)
        self._leaves: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def close(self) -> None:
        super().close()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _close(sock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_ca(self, path: str | Path) -> Path:
        """Write the proxy's CA certificate (PEM) to `path`, as a user would export it."""
        self.ca.cert_pem.write_to_path(str(path))
        return Path(path)

    def decrypted(self) -> bytes:
        """Everything clients sent through intercepted tunnels, in order."""
        with self._lock:
            return b"".join(bytes(exchange.sent) for exchange in self.exchanges)

    # -- one client connection ---------------------------------------------------------------

    def _handle(self, client: socket.socket) -> None:
        self._track(client)
        try:
            client.settimeout(_IDLE_TIMEOUT)
            head, rest = _read_head(client)
            if head is None:
                return
            request = _parse_head(head)
            with self._lock:
                self.requests.append(request)
            if not self._admit(client, request):
                return
            if request.method == "CONNECT":
                self._connect(client, request)
            else:
                self._forward_plain(client, request, head, rest)
        except (OSError, ValueError):
            pass
        finally:
            self._untrack(client)
            _close(client)

    def _admit(self, client: socket.socket, request: ProxyRequest) -> bool:
        if self.require_auth is not None:
            token = base64.b64encode(":".join(self.require_auth).encode()).decode()
            if request.headers.get("proxy-authorization") != f"Basic {token}":
                client.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="codex-test"\r\nContent-Length: 0\r\n\r\n'
                )
                return False
        if self.reject_status is not None:
            status = f"HTTP/1.1 {self.reject_status} Rejected by test proxy\r\n"
            client.sendall(status.encode() + b"Content-Length: 0\r\n\r\n")
            return False
        return True

    def _destination(self, host: str, port: int) -> tuple[str, int] | None:
        if self.origin is not None:
            return self.origin
        if self.allow_remote or host == "localhost" or _is_loopback(host):
            return host, port
        return None

    def _connect(self, client: socket.socket, request: ProxyRequest) -> None:
        host, _, port_text = request.target.rpartition(":")
        host = host.strip("[]")
        destination = self._destination(host, int(port_text))
        if destination is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(destination, timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self._track(upstream)
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if self.mode == "tunnel":
                _relay(client, upstream, None)
                return
            self._intercept(client, upstream, host, int(port_text))
        finally:
            self._untrack(upstream)
            _close(upstream)

    def _intercept(self, client: socket.socket, upstream: socket.socket, host: str, port: int) -> None:
        try:
            inner = self._leaf(host).wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self._lock:
                self.tls_failures.append(str(getattr(exc, "reason", None) or exc))
            return
        self._track(inner)
        try:
            origin = self._upstream.wrap_socket(upstream, server_hostname=host)
        except (ssl.SSLError, OSError):
            self._untrack(inner)
            _close(inner)
            return
        self._track(origin)
        exchange = Exchange(host, port)
        with self._lock:
            self.exchanges.append(exchange)
        try:
            _relay(inner, origin, exchange)
        finally:
            for sock in (inner, origin):
                self._untrack(sock)
                _close(sock)

    def _leaf(self, host: str) -> ssl.SSLContext:
        with self._lock:
            context = self._leaves.get(host)
            if context is None:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                self.ca.issue_cert(host).configure_cert(context)
                context.set_alpn_protocols(["http/1.1"])
                self._leaves[host] = context
            return context

    def _forward_plain(self, client: socket.socket, request: ProxyRequest, head: bytes, rest: bytes) -> None:
        parts = urlsplit(request.target)
        destination = self._destination(parts.hostname or "", parts.port or 80)
        if parts.scheme != "http" or destination is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        path = parts.path or "/"
        path += f"?{parts.query}" if parts.query else ""
        lines = head.decode("latin-1").split("\r\n")
        version = lines[0].rsplit(" ", 1)[-1]
        kept = [line for line in lines[1:] if line and not line.lower().startswith(("proxy-", "connection:"))]
        new_head = "\r\n".join([f"{request.method} {path} {version}", *kept, "Connection: close", "", ""])
        with socket.create_connection(destination, timeout=10) as upstream:
            self._track(upstream)
            try:
                upstream.sendall(new_head.encode("latin-1") + rest)
                _relay(client, upstream, None)
            finally:
                self._untrack(upstream)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)


class Socks5Proxy(_LoopbackServer):
    """A SOCKS5 proxy on 127.0.0.1 (CONNECT only) that relays to loopback origins, or to `origin` for every
    request; `require_auth` asks for RFC 1929 user/password (a wrong pair is refused with status 1)."""

    _name = "socks5-proxy"

    def __init__(
        self, *, require_auth: tuple[str, str] | None = None, origin: tuple[str, int] | None = None
    ) -> None:
        self.require_auth = require_auth
        self.origin = origin
        self.requests: list[tuple[str, int]] = []
        self.users: list[str] = []

    def url(self, scheme: str = "socks5", auth: tuple[str, str] | None = None) -> str:
        credentials = f"{auth[0]}:{auth[1]}@" if auth else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    def _handle(self, client: socket.socket) -> None:
        try:
            self._negotiate(client)
        except (OSError, ValueError):
            pass  # the client went away, or spoke something else

    def _negotiate(self, client: socket.socket) -> None:
        client.settimeout(_IDLE_TIMEOUT)
        version, count = _exactly(client, 2)
        methods = _exactly(client, count)
        wanted = 0x02 if self.require_auth else 0x00
        if version != 5 or wanted not in methods:
            client.sendall(b"\x05\xff")
            return
        client.sendall(bytes([5, wanted]))
        if self.require_auth is not None:
            _, user_length = _exactly(client, 2)
            user = _exactly(client, user_length).decode()
            password = _exactly(client, _exactly(client, 1)[0]).decode()
            self.users.append(user)
            if (user, password) != self.require_auth:
                client.sendall(b"\x01\x01")
                return
            client.sendall(b"\x01\x00")
        _, command, _, kind = _exactly(client, 4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(_exactly(client, 4)))
        elif kind == 4:
            host = str(ipaddress.IPv6Address(_exactly(client, 16)))
        else:
            host = _exactly(client, _exactly(client, 1)[0]).decode("idna")
        port = int.from_bytes(_exactly(client, 2), "big")
        self.requests.append((host, port))
        destination = self.origin or ((host, port) if host == "localhost" or _is_loopback(host) else None)
        if command != 1 or destination is None:
            client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by the ruleset
            return
        try:
            upstream = socket.create_connection(destination, timeout=10)
        except OSError:
            client.sendall(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            return
        with upstream:
            client.sendall(b"\x05\x00\x00\x01" + bytes(6))
            _relay(client, upstream, None)


class OkOrigin:
    """A local origin answering every request with `200 ok`; `requests` holds (method, path, body)."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.tls_context = tls_context
        self.requests: list[tuple[str, str, bytes]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                origin.requests.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                sock, address = super().get_request()
                if origin.tls_context is not None:
                    sock = origin.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that rejects our certificate is an expected case in tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="ok-origin", daemon=True)

    def start(self) -> OkOrigin:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OkOrigin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, host: str = "localhost") -> str:
        return f"{'https' if self.tls_context else 'http'}://{host}:{self.port}"


# -- helpers -----------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > _MAX_HEADER:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ValueError("the client closed the connection")
        data += chunk
    return data


def _parse_head(head: bytes) -> ProxyRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return ProxyRequest(method.upper(), target, headers)


def _pending(sockets: Iterator[socket.socket]) -> list[socket.socket]:
    return [sock for sock in sockets if isinstance(sock, ssl.SSLSocket) and sock.pending()]


def _relay(a: socket.socket, b: socket.socket, exchange: Exchange | None) -> None:
    """Copy bytes both ways on one thread (an SSL object must not be read and written concurrently)."""
    peer = {a: b, b: a}
    while True:
        ready = _pending(iter((a, b)))
        if not ready:
            ready, _, _ = select.select([a, b], [], [], _IDLE_TIMEOUT)
            if not ready:
                return
        for sock in ready:
            try:
                data = _read_now(sock)
            except (OSError, ssl.SSLError):
                return
            if data is None:
                continue  # only TLS records without application data (e.g. session tickets)
            if not data:
                return
            if exchange is not None:
                (exchange.sent if sock is a else exchange.received).extend(data)
            try:
                peer[sock].sendall(data)
            except OSError:
                return


def _read_now(sock: socket.socket) -> bytes | None:
    """Read what is there without blocking; None when nothing readable for the application arrived."""
    sock.settimeout(0)
    try:
        return sock.recv(65536)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return None
    finally:
        sock.settimeout(_IDLE_TIMEOUT)


def _close(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the base-class call: no TLS close_notify dance
    except OSError:
        pass
    sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("intercept", "tunnel", "socks5"), default="intercept")
    parser.add_argument("--upstream-ca", help="PEM file of the CA that signs the origins (default: system roots)")
    parser.add_argument("--origin", metavar="HOST:PORT", help="send every tunnel to this origin")
    parser.add_argument("--ca-out", help="write the proxy's CA certificate here (default: a temporary file)")
    parser.add_argument("--reject", type=int, metavar="STATUS", help="answer every request with STATUS")
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="require these proxy credentials")
    args = parser.parse_args(argv)
    origin = None
    if args.origin:
        host, _, port = args.origin.rpartition(":")
        origin = (host, int(port))
    options: dict[str, Any] = {"mode": args.mode, "upstream_ca": args.upstream_ca, "origin": origin}
    if args.reject:
        options["reject_status"] = args.reject
    user, _, password = (args.auth or "").partition(":")
    auth = (user, password) if args.auth else None
    if args.mode == "socks5":
        with Socks5Proxy(require_auth=auth, origin=origin) as socks:
            print(f"PORT {socks.port}", flush=True)
            _serve_until_interrupted()
        return 0
    if auth:
        options["require_auth"] = auth
    ca_out = args.ca_out or str(Path(tempfile.mkdtemp(prefix="codex-proxy-")) / "proxy-ca.pem")
    with InterceptingProxy(**options) as proxy:
        proxy.write_ca(ca_out)
        print(f"PORT {proxy.port}")
        print(f"CA {ca_out}", flush=True)
        _serve_until_interrupted()
    return 0


def _serve_until_interrupted() -> None:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
