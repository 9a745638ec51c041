"""`codex doctor`: this installation, the trust and proxy settings in effect, and the path to the model.

It reports the version, install kind, CODEX_HOME, config and auth status, every source of trust in
effect (the CA bundle a variable names, SSL_CERT_FILE read beside it, SSL_CERT_DIR's hashed folder, the
system store; how many certificates each holds), the proxy chosen for the model's base URL, then walks that
URL step by step: DNS, TCP, the proxy's CONNECT or SOCKS5 tunnel, the TLS handshake (the chain presented,
subject and issuer, whether it verifies with `tls.ssl_context()`, and which source held the certificate it
was verified by), and an HTTP request through the real client. A failing step comes with the exact fix.
Exit 0 unless a check fails.
`register()` adds the subcommand without importing httpx or ssl; the probes import them lazily.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from codex_cli.version import BUILD_VARIANT, VERSION

if TYPE_CHECKING:
    import argparse
    import socket
    import ssl

    from codex_cli.config import Config
    from codex_cli.tls import CertificateInfo, TrustSource

__all__ = ["Check", "Report", "install_kind", "main", "register", "run_checks"]

Status = Literal["ok", "warn", "fail", "skip"]
_SYMBOLS = {"ok": "✓", "warn": "⚠", "fail": "✗", "skip": "○"}
_ASCII = {"ok": "[ok]", "warn": "[!!]", "fail": "[xx]", "skip": "[--]"}


# NamedTuples and a plain class rather than dataclasses: `register()` runs on every start-up, and
# importing `dataclasses` (which pulls in `inspect`) would cost more than the rest of this module.


class Check(NamedTuple):
    """One line of the report: a status, a one-line summary, detail lines and the fix for a failure."""

    id: str
    label: str
    status: Status
    summary: str
    details: Sequence[str] = ()
    fix: str | None = None
    duration_ms: int = 0


class Report:
    """Checks grouped in sections, in the order they ran."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, list[Check]]] = []

    def add(self, section: str) -> list[Check]:
        checks: list[Check] = []
        self.sections.append((section, checks))
        return checks

    @property
    def checks(self) -> list[Check]:
        return [check for _, checks in self.sections for check in checks]

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `codex doctor` to the command tree (stdlib only, no I/O)."""
    import argparse

    parser = subparsers.add_parser(
        "doctor",
        help="check the installation, TLS trust, proxy and connection to the model",
        description=(
            "Report the version, install kind, CODEX_HOME, config, auth, the CA bundle and proxy in effect,\n"
            "then probe the model's base URL: DNS, TCP, proxy tunnel, TLS chain and an HTTP request.\n"
            "Exits 1 when a check fails. Honours CODEX_CA_CERTIFICATE, SSL_CERT_FILE, SSL_CERT_DIR,\n"
            "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY.\n\n"
            "example: HTTPS_PROXY=http://proxy.corp:3128 codex doctor"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-c", "--config", action="append", default=[], metavar="key=value",
        help="override a config.toml value, as for `codex exec`",
    )
    parser.add_argument("--enable", action="append", default=[], metavar="FEATURE", help="turn a feature flag on")
    parser.add_argument("--disable", action="append", default=[], metavar="FEATURE", help="turn a feature flag off")
    parser.add_argument("-p", "--profile", help="use a configuration profile from config.toml")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--network-only", action="store_true",
                        help="only the config, the trust and proxy in effect, and the connection to the model")
    parser.add_argument("--summary", action="store_true", help="one line per check and the counts, no details")
    parser.add_argument("--all", action="store_true", help="list every certificate of a CA bundle, not the first 3")
    parser.add_argument("--ascii", action="store_true", help="use [ok]/[xx] instead of symbols")
    parser.add_argument("--no-color", action="store_true", help="no colour (the report never has any)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="limit for each network step")
    parser.set_defaults(handler="codex_cli.doctor:main")


def main(args: argparse.Namespace) -> int:
    """Run every check, print the report, and return 1 when a check failed."""
    features = [f"features.{name}=true" for name in args.enable] + [f"features.{name}=false" for name in args.disable]
    report = run_checks(
        config_overrides=(*args.config, *features), profile=args.profile, timeout=max(float(args.timeout), 0.1),
        network_only=args.network_only, all_certificates=args.all,
    )
    if args.json:
        import json

        print(json.dumps(_as_json(report), indent=2, ensure_ascii=False))
    else:
        print(_render(report, ascii_only=args.ascii or not _can_encode("✓⚠✗○→"), summary=args.summary))
    return 1 if report.failed else 0


# -- the checks --------------------------------------------------------------------------------


def run_checks(*, config_overrides: tuple[str, ...] = (), profile: str | None = None, timeout: float = 5.0,
               network_only: bool = False, all_certificates: bool = False) -> Report:
    """Every check in order (`network_only`: the config and what reaching the model needs); never raises for a
    problem it can describe."""
    report = Report()
    install = report.add("Configuration" if network_only else "Installation")
    if not network_only:
        install.append(_version_check())
        install.append(_install_check())
    config = _config_checks(install, config_overrides, profile)
    base_url = _auth_check([] if network_only else install, config)
    trust = report.add("Trust and proxy")
    trust.append(_timed(lambda: _ca_check(all_certificates)))
    if base_url is None:
        return report
    trust.append(_proxy_check(base_url))
    path = report.add(f"Connection to {base_url}")
    _connectivity(path, base_url, timeout, ca_ok=trust[0].status != "fail")
    return report


def _timed(probe: Callable[[], Check]) -> Check:
    start = time.monotonic()
    check = probe()
    return check._replace(duration_ms=int((time.monotonic() - start) * 1000))


def _version_check() -> Check:
    import platform

    where = f"{platform.system().lower()}-{platform.machine() or 'unknown'}"
    return Check("version", "version", "ok", f"codex-cli {VERSION} (Python {platform.python_version()}, {where})")


def install_kind() -> tuple[str, str]:
    """(kind, location): binary, zipapp, pip or source."""
    import codex_cli

    package = os.path.dirname(os.path.abspath(codex_cli.__file__ or "."))
    if getattr(sys, "frozen", False) or BUILD_VARIANT == "pyinstaller":
        from codex_cli import launcher

        return "binary", launcher.path() or sys.executable  # the Linux binary's launcher, not its unpacked copy
    if BUILD_VARIANT == "zipapp" or ".pyz" in package or type(getattr(codex_cli, "__loader__", None)).__name__ == (
        "zipimporter"
    ):
        return "zipapp", package.split(".pyz", 1)[0] + ".pyz" if ".pyz" in package else package
    parts = package.replace("\\", "/").split("/")
    if BUILD_VARIANT == "pip" or "site-packages" in parts or "dist-packages" in parts:
        return "pip", package
    return "source", os.path.dirname(package)


def _install_check() -> Check:
    kind, where = install_kind()
    return Check("install", "install", "ok", f"{kind} ({where})")


def _config_checks(checks: list[Check], overrides: tuple[str, ...], profile: str | None) -> Config | None:
    from codex_cli.config import CliOverrides, find_codex_home, load_config
    from codex_cli.errors import CodexError

    try:
        home = find_codex_home()
    except CodexError as exc:
        checks.append(Check("codex_home", "codex home", "fail", exc.message, fix=exc.hint))
        return None
    checks.append(Check("codex_home", "codex home", "ok", f"{home}" + ("" if home.is_dir() else " (not created yet)")))
    try:
        config = load_config(CliOverrides(config_overrides=overrides, profile=profile))
    except CodexError as exc:
        checks.append(Check("config", "config", "fail", exc.message, fix=exc.hint))
        return None
    state = "loaded" if config.config_path.is_file() else "not found, defaults in use"
    summary = f"{config.config_path} ({state}) · model {config.model} · provider {config.model_provider_id}"
    warnings = [line for warning in config.warnings for line in warning.splitlines()]
    checks.append(Check("config", "config", "warn" if warnings else "ok", summary, warnings))
    return config


def _auth_check(checks: list[Check], config: Config | None) -> str | None:
    """Add the auth line; return the model's base URL (None when the config did not load)."""
    if config is None:
        return None
    from codex_cli.auth import BEARER_TOKEN_SOURCE, resolve_credentials
    from codex_cli.config import CHATGPT_CODEX_BASE_URL, OPENAI_API_BASE_URL
    from codex_cli.errors import CodexError

    info = config.model_provider
    base_url = info.base_url or OPENAI_API_BASE_URL
    try:
        credentials = resolve_credentials(
            codex_home=config.codex_home,
            env=os.environ,
            env_key=info.env_key,
            env_key_instructions=info.env_key_instructions,
            requires_openai_auth=info.requires_openai_auth,
            bearer_token=info.experimental_bearer_token,
        )
    except CodexError as exc:
        checks.append(Check("auth", "auth", "warn", exc.message, fix=exc.hint))
        return base_url
    if credentials.is_chatgpt and info.id == "openai" and info.base_url is None:
        base_url = CHATGPT_CODEX_BASE_URL
    summary = {
        "none": "no credentials needed by this provider",
        "auth.json": "API key from auth.json",
        "auth.json (ChatGPT)": "ChatGPT login from auth.json",
        BEARER_TOKEN_SOURCE: f"bearer token from model_providers.{info.id}.experimental_bearer_token",
    }.get(credentials.source, f"API key from {credentials.source}")
    checks.append(Check("auth", "auth", "ok", summary))
    return base_url


_SHOWN_SUBJECTS = 3  # of a CA bundle, by default: the count and where it comes from matter more; --all lists all


def _ca_check(all_certificates: bool = False) -> Check:
    """The CA bundle a variable names (its certificates), then every other source of trust in effect."""
    from codex_cli import tls
    from codex_cli.errors import TLSError

    sources = tls.trust_sources()
    try:
        summary = tls.trust_summary()
    except TLSError as exc:
        bundle = tls.selected_ca_bundle()
        others = [source for source in sources if bundle is None or source.path != bundle.path]
        return Check("ca_bundle", "ca bundle", "fail", exc.message, _source_lines(others), fix=exc.hint)
    details = []
    if summary.bundle is not None:
        count = len(summary.bundle_certificates)
        text = f"{summary.bundle.path} (from {summary.bundle.variable}): {_plural(count, 'certificate')}"
        shown = count if all_certificates else _SHOWN_SUBJECTS
        details = [f"  {cert.subject}" for cert in summary.bundle_certificates[:shown]]
        if count > shown:
            details.append(f"  … and {count - shown} more (--all lists them)")
        others = [source for source in sources if source.path != summary.bundle.path]
    else:
        roots = summary.roots.description
        if summary.root_count is not None:
            roots += f": {_plural(summary.root_count, 'certificate')}"
        text = f"none set (CODEX_CA_CERTIFICATE, SSL_CERT_FILE); using {roots}"
        others = [source for source in sources if source.path not in summary.roots.files]
    details += _source_lines(others)
    status: Status = "fail" if summary.roots.kind == "none" and summary.bundle is None else "ok"
    return Check("ca_bundle", "ca bundle", status, text, details)


def _source_lines(sources: Sequence[TrustSource]) -> list[str]:
    """`plus <source>: N certificates` for each source of trust (tls.TrustSource)."""
    from codex_cli import tls

    lines = []
    for source in sources:
        count = len(tls.source_certificates(source)) if source.path is not None else None
        lines.append(f"plus {source.description}" + (f": {_plural(count, 'certificate')}" if count is not None else ""))
    return lines


def _proxy_check(base_url: str) -> Check:
    from codex_cli import http

    proxy = http.proxy_for(base_url)
    source = http.proxy_source(base_url)
    if proxy is None:
        return Check("proxy", "proxy", "ok", f"none: direct connection ({source})")
    return Check("proxy", "proxy", "ok", f"{http.redact_proxy(proxy)} (from {source})")


# -- the connection, step by step --------------------------------------------------------------


class _Target(NamedTuple):
    url: str
    host: str
    port: int
    scheme: str
    proxy: str | None


def _target(base_url: str) -> _Target:
    from urllib.parse import urlsplit

    from codex_cli import http

    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return _Target(base_url, parts.hostname or "", port, parts.scheme, http.proxy_for(base_url))


class _StepFailed(Exception):
    """A step failed; its Check is already in the report."""


def _connectivity(checks: list[Check], base_url: str, timeout: float, *, ca_ok: bool) -> None:
    from codex_cli.errors import CodexError

    try:
        target = _target(base_url)
    except ValueError as exc:
        checks.append(Check("base_url", "base url", "fail", f"{base_url} is not a valid URL: {exc}"))
        return
    if target.scheme not in ("http", "https") or not target.host:
        checks.append(Check("base_url", "base url", "fail", f"{base_url} is not an http:// or https:// URL"))
        return
    try:
        sock = _open(target, timeout, checks)
    except _StepFailed:
        return
    sock.close()
    if target.scheme == "https":
        if not ca_ok:
            checks.append(Check("tls", "tls", "skip", "skipped: the CA bundle could not be loaded"))
            return
        try:
            _tls_checks(target, timeout, checks)
        except _StepFailed:
            return
        except CodexError as exc:
            checks.append(Check("tls", "tls", "fail", exc.message, fix=exc.hint))
            return
    checks.append(_timed(lambda: _http_check(target, timeout)))


def _open(target: _Target, timeout: float, checks: list[Check] | None) -> socket.socket:
    """DNS, TCP and (through a proxy) CONNECT; each step adds a Check when `checks` is given."""
    from urllib.parse import urlsplit

    host, port, role = target.host, target.port, "server"
    proxy_parts = urlsplit(target.proxy) if target.proxy else None
    socks = proxy_parts is not None and proxy_parts.scheme in ("socks5", "socks5h")
    if proxy_parts is not None:
        if proxy_parts.scheme != "http" and not socks:
            _record(checks, Check("tunnel", "tunnel", "skip", f"{proxy_parts.scheme}:// proxies are not probed"))
            raise _StepFailed
        host, port, role = proxy_parts.hostname or "", proxy_parts.port or (1080 if socks else 80), "proxy"
    addresses = _resolve(host, port, role, target, checks)
    sock = _connect(addresses, host, port, role, timeout, checks)
    if proxy_parts is not None:
        try:
            tunnel = _socks_tunnel if socks else _tunnel
            tunnel(sock, target, proxy_parts.username, proxy_parts.password, timeout, checks)
        except _StepFailed:
            sock.close()
            raise
    return sock


def _record(checks: list[Check] | None, check: Check) -> None:
    if checks is not None:
        checks.append(check)


@contextmanager
def _stopwatch() -> Iterator[Callable[[], int]]:
    start = time.monotonic()
    yield lambda: int((time.monotonic() - start) * 1000)


def _resolve(host: str, port: int, role: str, target: _Target, checks: list[Check] | None) -> list[Any]:
    import socket

    with _stopwatch() as elapsed:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            fix = "Check the proxy URL in the proxy variable." if role == "proxy" else "Check the base_url host name."
            _record(checks, Check("dns", "dns", "fail", f"cannot resolve {host} ({role}): {exc}", fix=fix))
            raise _StepFailed from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    note = "; the proxy resolves " + target.host if role == "proxy" else ""
    summary = f"{host} → {', '.join(addresses)} ({role}{note})"
    _record(checks, Check("dns", "dns", "ok", summary, duration_ms=elapsed()))
    return infos


def _connect(
    infos: list[Any], host: str, port: int, role: str, timeout: float, checks: list[Check] | None
) -> socket.socket:
    import socket

    errors: list[str] = []
    with _stopwatch() as elapsed:
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                errors.append(f"{address[0]}: {exc.strerror or exc}")
                continue
            summary = f"connected to {address[0]}:{port} ({role})"
            _record(checks, Check("tcp", "tcp", "ok", summary, duration_ms=elapsed()))
            return sock
    fix = (
        "Start the proxy, or correct or unset the proxy variable."
        if role == "proxy"
        else "Check the base_url host and port, and that the server is running."
    )
    summary = f"cannot connect to {host}:{port} ({role}): {'; '.join(errors)}"
    _record(checks, Check("tcp", "tcp", "fail", summary, fix=fix))
    raise _StepFailed


def _tunnel(
    sock: socket.socket, target: _Target, user: str | None, password: str | None, timeout: float,
    checks: list[Check] | None,
) -> None:
    import base64
    from urllib.parse import unquote

    authority = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if user is not None or password is not None:
        token = base64.b64encode(f"{unquote(user or '')}:{unquote(password or '')}".encode()).decode()
        lines.append(f"Proxy-Authorization: Basic {token}")
    with _stopwatch() as elapsed:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = _read_head(sock)
        except TimeoutError as exc:
            summary = (f"CONNECT {authority}: the proxy accepted the connection but did not answer "
                       f"within {timeout:g} s")
            fix = ("A hung proxy, or a firewall that swallows the traffic: check the proxy's address and port, "
                   "or unset the proxy variable if this network needs no proxy.")
            _record(checks, Check("tunnel", "tunnel", "fail", summary, fix=fix, duration_ms=elapsed()))
            raise _StepFailed from exc
        except OSError as exc:
            _record(checks, Check("tunnel", "tunnel", "fail", f"CONNECT {authority}: {exc}",
                                  fix="The proxy closed the connection: check that it is an HTTP proxy."))
            raise _StepFailed from exc
    if not head:
        _record(checks, Check("tunnel", "tunnel", "fail", f"CONNECT {authority}: the proxy closed the connection "
                              "without answering", fix="Check that the proxy variable names an HTTP proxy.",
                              duration_ms=elapsed()))
        raise _StepFailed
    status_line = head.split("\r\n", 1)[0]
    parts = status_line.split(" ", 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    summary = f"CONNECT {authority} → {status_line or 'no answer'}"
    if 200 <= code < 300:
        _record(checks, Check("tunnel", "tunnel", "ok", summary, duration_ms=elapsed()))
        return
    fix = (
        "The proxy wants credentials: put them in the proxy URL, http://USER:PASSWORD@HOST:PORT."
        if code == 407
        else "The proxy refused the tunnel: ask its administrator to allow this host, or set NO_PROXY for it."
    )
    _record(checks, Check("tunnel", "tunnel", "fail", summary, fix=fix, duration_ms=elapsed()))
    raise _StepFailed


_SOCKS_REPLIES = {
    1: "general failure", 2: "not allowed by the proxy's rules", 3: "network unreachable", 4: "host unreachable",
    5: "connection refused", 6: "TTL expired", 7: "command not supported", 8: "address type not supported",
}


def _socks_tunnel(
    sock: socket.socket, target: _Target, user: str | None, password: str | None, timeout: float,
    checks: list[Check] | None,
) -> None:
    """The SOCKS5 exchange (RFC 1928, user/password of RFC 1929), asking for the host by name as httpx does."""
    from urllib.parse import unquote

    authority = f"{target.host}:{target.port}"
    method = 2 if user is not None or password is not None else 0

    def fail(summary: str, fix: str) -> _StepFailed:
        _record(checks, Check("tunnel", "tunnel", "fail", f"SOCKS5 {authority}: {summary}", fix=fix,
                              duration_ms=elapsed()))
        return _StepFailed(summary)

    with _stopwatch() as elapsed:
        try:
            sock.sendall(bytes([5, 1, method]))
            chosen = _recv_exactly(sock, 2)
            if chosen[1] != method:
                wants = "a user and password" if chosen[1] == 2 else f"method {chosen[1]}"
                raise fail(f"the proxy wants {wants}",
                           "Put the credentials in the proxy URL: socks5://USER:PASSWORD@HOST:PORT.")
            if method == 2:
                name, secret = unquote(user or "").encode(), unquote(password or "").encode()
                sock.sendall(bytes([1, len(name)]) + name + bytes([len(secret)]) + secret)
                if _recv_exactly(sock, 2)[1] != 0:
                    raise fail("the proxy refused these credentials",
                               "Check the user name and password in the proxy variable.")
            encoded = target.host.encode("idna")
            sock.sendall(bytes([5, 1, 0, 3, len(encoded)]) + encoded + target.port.to_bytes(2, "big"))
            reply = _recv_exactly(sock, 4)
            _recv_exactly(sock, {1: 4, 4: 16}.get(reply[3], 0) or _recv_exactly(sock, 1)[0])
            _recv_exactly(sock, 2)
        except TimeoutError as exc:
            raise fail(f"the proxy accepted the connection but did not answer within {timeout:g} s",
                       "A hung proxy, or a firewall that swallows the traffic: check the proxy's address and port.",
                       ) from exc
        except (OSError, EOFError) as exc:
            raise fail(f"the proxy closed the connection ({exc})",
                       "Check that the proxy variable names a SOCKS5 proxy.") from exc
    if reply[1] != 0:
        raise fail(f"the proxy could not connect: {_SOCKS_REPLIES.get(reply[1], f'reply {reply[1]}')}",
                   "The proxy refused or failed to reach this host: ask its administrator, or set NO_PROXY for it.")
    _record(checks, Check("tunnel", "tunnel", "ok", f"SOCKS5 {authority} → connected", duration_ms=elapsed()))


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("closed by the proxy")
        data += chunk
    return data


def _read_head(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def _tls_checks(target: _Target, timeout: float, checks: list[Check]) -> None:
    import ssl

    from codex_cli import tls

    context = tls.ssl_context()
    sock = _open(target, timeout, None)
    start = time.monotonic()
    try:
        with context.wrap_socket(sock, server_hostname=target.host) as tls_sock:
            version = tls_sock.version() or "TLS"
            chain = [tls.describe_certificate(der) for der in _presented_chain(tls_sock)]
            verified = _chain(tls_sock, "get_verified_chain")
            anchor = verified[-1] if verified else None  # the trusted certificate the verification ended at
    except ssl.SSLCertVerificationError as exc:
        elapsed = int((time.monotonic() - start) * 1000)
        chain = _unverified_chain(target, timeout)
        checks.append(_verify_failure(exc, target, chain, elapsed))
        raise _StepFailed from exc
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        via = " through the proxy" if target.proxy else ""
        checks.append(Check("tls", "tls", "fail", f"handshake with {target.host}{via} failed: {exc}",
                            fix="Check that base_url's port serves HTTPS, and any proxy or firewall in between."))
        raise _StepFailed from exc
    elapsed = int((time.monotonic() - start) * 1000)
    issuer = chain[0].issuer if chain else "?"
    summary = f"{version}, certificate verified (issued by {issuer})"
    lines = _chain_lines(chain, target) + _anchor_lines(anchor)
    checks.append(Check("tls", "tls", "ok", summary, lines, duration_ms=elapsed))


def _anchor_lines(anchor: bytes | None) -> list[str]:
    """Which source of trust holds the certificate the verification ended at."""
    from codex_cli import tls

    if anchor is None:
        return []
    subject = tls.describe_certificate(anchor).subject
    source = tls.anchor_source(anchor, tls.trust_sources())
    if source is None:
        return [f"verified by {subject}, which none of the listed files holds (the system's own store)"]
    return [f"verified by {subject}, from {source.description}"]


def _presented_chain(sock: ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent, leaf first (all of them on Python ≥ 3.10, else the leaf)."""
    chain = _chain(sock, "get_unverified_chain")
    if chain:
        return chain
    leaf = sock.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _chain(sock: ssl.SSLSocket, which: str) -> list[bytes]:
    """`get_unverified_chain` or `get_verified_chain` as DER, leaf first: public from Python 3.13, on the private
    SSL object from 3.10; [] where neither exists (or an OS verifier kept OpenSSL from verifying)."""
    public = getattr(sock, which, None)
    if callable(public):
        return [bytes(item) for item in public() or []]
    private = getattr(getattr(sock, "_sslobj", None), which, None)
    if callable(private):
        import _ssl

        encoding = getattr(_ssl, "ENCODING_DER", 2)
        return [bytes(item.public_bytes(encoding)) for item in private() or []]
    return []


def _unverified_chain(target: _Target, timeout: float) -> list[CertificateInfo]:
    """A second handshake that does not verify, only to show what the server presents."""
    import ssl

    from codex_cli import tls

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = _open(target, timeout, None)
        with context.wrap_socket(sock, server_hostname=target.host) as tls_sock:
            return [tls.describe_certificate(der) for der in _presented_chain(tls_sock)]
    except (_StepFailed, OSError, ssl.SSLError):
        return []


def _chain_lines(chain: list[CertificateInfo], target: _Target) -> list[str]:
    lines = [f"chain presented for {target.host}:{target.port}:"] if chain else ["no certificate could be read"]
    for number, cert in enumerate(chain):
        lines.append(f"  [{number}] subject {cert.subject}")
        lines.append(f"      issuer  {cert.issuer}")
        names = f"; names {', '.join(cert.names)}" if cert.names else ""
        lines.append(f"      valid   {cert.not_before[:10]} → {cert.not_after[:10]}{names}")
    return lines


def _verify_failure(
    exc: ssl.SSLCertVerificationError, target: _Target, chain: list[CertificateInfo], elapsed: int
) -> Check:
    from codex_cli import http, tls

    reason = str(exc.verify_message or exc.reason or exc).rstrip(".")
    kind = tls.classify_verify_error(exc)
    leaf = chain[0] if chain else None
    issuer = leaf.issuer if leaf else "an unknown issuer"
    top = chain[-1].issuer if chain else issuer
    bundle = tls.selected_ca_bundle()
    in_bundle = ""
    if bundle is not None:
        in_bundle = f" Your bundle {bundle.path} (from {bundle.variable}) does not hold that CA."
    if kind == "mismatch":
        names = ", ".join(leaf.names) if leaf and leaf.names else "other names"
        fix = (
            f"The certificate covers {names}, not {target.host}. Use one of those names in the provider's base_url, "
            f"or ask the server's owner for a certificate that covers {target.host}."
        )
    elif kind == "expired":
        fix = (
            f"The certificate is valid from {leaf.not_before if leaf else '?'} to {leaf.not_after if leaf else '?'}. "
            "Check this computer's clock; if it is right, the server must renew its certificate."
        )
    elif target.proxy is not None:
        fix = (
            f"The proxy {http.redact_proxy(target.proxy)} inspects TLS: it presents a certificate for {target.host} "
            f"issued by '{top}'.{in_bundle} Save that CA certificate as a PEM file (your IT team can provide it) "
            "and run: export CODEX_CA_CERTIFICATE=/path/to/proxy-ca.pem"
        )
    else:
        fix = (
            f"The certificate was issued by '{top}', which the CA bundle in effect does not trust.{in_bundle} "
            "Save that CA certificate as a PEM file and run: export CODEX_CA_CERTIFICATE=/path/to/ca.pem"
        )
    summary = f"certificate for {target.host} does not verify: {reason}"
    return Check("tls", "tls", "fail", summary, _chain_lines(chain, target), fix=fix, duration_ms=elapsed)


def _http_check(target: _Target, timeout: float) -> Check:
    from codex_cli import http
    from codex_cli.errors import CodexError

    url = target.url.rstrip("/") + "/models"
    try:
        with http.create_client(timeout=timeout, read_timeout=timeout, connect_timeout=timeout) as client:
            try:
                response = client.get(url)
            except Exception as exc:  # httpx types stay inside http.py: map whatever it raised
                raise http.map_transport_error(exc, url) from exc
    except CodexError as exc:
        return Check("http", "http", "fail", exc.message, fix=exc.hint)
    return Check("http", "http", "ok", f"GET {url} → HTTP {response.status_code} (the server is reachable)")


# -- output ------------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _render(report: Report, *, ascii_only: bool, summary: bool = False) -> str:
    import platform

    symbols = _ASCII if ascii_only else _SYMBOLS
    arrow = "->" if ascii_only else "→"
    lines = [f"Codex Doctor v{VERSION} · {platform.system().lower()}-{platform.machine()}"]
    for title, checks in report.sections:
        lines += ["", title]
        for check in checks:
            lines.append(f"  {symbols[check.status]} {check.label:<11} {check.summary}")
            if summary:
                continue
            lines += [f"      {detail}" for detail in check.details]
            if check.fix and check.status in ("fail", "warn"):
                lines.append(f"      fix: {check.fix}")
    counts = {status: sum(1 for c in report.checks if c.status == status) for status in _SYMBOLS}
    lines += ["", " · ".join(f"{counts[s]} {s}" for s in ("ok", "warn", "fail", "skip") if counts[s])]
    text = "\n".join(lines)
    if ascii_only:
        text = text.replace("→", arrow).replace("·", "-").replace("…", "...")
    return text


def _as_json(report: Report) -> dict[str, Any]:
    overall = "fail" if report.failed else "warning" if any(c.status == "warn" for c in report.checks) else "ok"
    return {
        "schemaVersion": 1,
        "codexVersion": VERSION,
        "overallStatus": overall,
        "checks": [
            {"section": title, **check._asdict(), "details": list(check.details)}
            for title, checks in report.sections
            for check in checks
        ],
    }


def _standalone(argv: list[str]) -> int:
    """`python -m codex_cli.doctor`: the same command before (or without) the main parser."""
    import argparse

    parser = argparse.ArgumentParser(prog="codex")
    register(parser.add_subparsers(dest="command", required=True))
    return main(parser.parse_args(["doctor", *argv]))


if __name__ == "__main__":
    sys.exit(_standalone(sys.argv[1:]))
