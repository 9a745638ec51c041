"""The one HTTP client factory, its proxy rules, and the translation of httpx errors into ours.

`create_client()` returns an `httpx.Client` that verifies with `tls.ssl_context()` and routes
through proxies chosen from the environment as auth.md §5 says: `HTTPS_PROXY` for https only,
`HTTP_PROXY` for http only, `ALL_PROXY` as the fallback for both, UPPERCASE over lowercase,
empty values unset, `NO_PROXY` matched on the URL's host name or IP address (no DNS; `10.0.0.0/8` entries
match IP addresses in that network); credentials in the proxy
URL go out as `Proxy-Authorization: Basic` on CONNECT. `map_transport_error()` turns httpx
transport failures into `NetworkError` / `TLSError` whose text names the host, the proxy (and
the variable that chose it) and the CA bundle in effect; nothing above this module catches
httpx types. httpx is imported inside functions so start-up stays fast.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from codex_cli import tls
from codex_cli.errors import CodexError, NetworkError, TLSError
from codex_cli.records import Record, field

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = [
    "ProxyConfig",
    "create_client",
    "is_connect_error",
    "map_transport_error",
    "proxy_config",
    "proxy_for",
    "proxy_source",
    "redact_proxy",
]

_CA_HINT = (
    "If a proxy or gateway re-signs TLS traffic, put its CA certificate (PEM) in the file CODEX_CA_CERTIFICATE "
    "names; `codex doctor` shows the certificate chain the server presents. The CA bundle in effect is {bundle}."
)
_INSPECTING_PROXY_HINT = (
    "The proxy re-signs {host}'s certificate with its own CA, which is not trusted. Your IT team can provide that "
    "CA certificate, and `codex doctor` shows its name. The CA bundle in effect is {bundle}."
)
_MISMATCH_HINT = (
    "The server's certificate was issued for other names. Use a host name the certificate covers in the "
    "provider's base_url (`codex doctor` lists them). The CA bundle in effect is {bundle}."
)
_PROXY_HINT = "Check HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (UPPERCASE wins over lowercase)."


class ProxyConfig(Record):
    """Proxies chosen from the environment; `no_proxy` holds the bypass entries as written."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = field(default_factory=tuple)
    http_from: str | None = None  # the variable that set `http`, e.g. "ALL_PROXY"
    https_from: str | None = None
    no_proxy_from: str | None = None


def _env_value(name: str, env: Mapping[str, str]) -> tuple[str, str] | tuple[None, None]:
    for key in (name.upper(), name.lower()):
        value = env.get(key, "").strip()
        if value:
            return value, key
    return None, None


def proxy_config(env: Mapping[str, str] | None = None) -> ProxyConfig:
    """Read the proxy variables (default: `os.environ`) by the rules in the module docstring."""
    env = os.environ if env is None else env
    fallback, fallback_from = _env_value("all_proxy", env)
    http, http_from = _env_value("http_proxy", env)
    https, https_from = _env_value("https_proxy", env)
    no_proxy_raw, no_proxy_from = _env_value("no_proxy", env)
    no_proxy = tuple(item.strip() for item in (no_proxy_raw or "").split(",") if item.strip())
    return ProxyConfig(
        http=http or fallback,
        https=https or fallback,
        no_proxy=no_proxy,
        http_from=http_from if http else fallback_from,
        https_from=https_from if https else fallback_from,
        no_proxy_from=no_proxy_from,
    )


def _split_entry(entry: str) -> tuple[str, int | None]:
    """A NO_PROXY entry as (lower-case host, port or None); `.example.com` means `example.com`."""
    entry = entry.strip().lower()
    if "://" in entry:
        parts = urlsplit(entry)
        return parts.hostname or "", parts.port
    entry = entry.lstrip(".")
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _is_literal(host: str) -> bool:
    """IP addresses and `localhost` match exactly; other names also cover their subdomains."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def _in_network(address: str, entry: str) -> bool:
    """True when `entry` is a network in CIDR notation (`10.0.0.0/8`, `fd00::/8`) that holds the IP `address`."""
    import ipaddress

    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(entry, strict=False)
    except (ValueError, TypeError):  # not an IP and a network of the same family
        return False


def proxy_for(url: str, config: ProxyConfig | None = None) -> str | None:
    """The proxy the client uses for `url` (None: direct), by the same rules as `create_client`."""
    config = proxy_config() if config is None else config
    parts = urlsplit(url)
    proxy = {"https": config.https, "http": config.http}.get(parts.scheme)
    if proxy is None or _bypass_entry(url, config) is not None:
        return None
    return proxy


def _bypass_entry(url: str, config: ProxyConfig) -> str | None:
    """The NO_PROXY entry that sends `url` direct, if any."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    url_port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    for entry in config.no_proxy:
        if entry == "*":
            return entry
        name, port = _split_entry(entry)
        if port is not None and port != url_port:
            continue
        if host == name or (not _is_literal(name) and host.endswith("." + name)):
            return entry
        if "/" in name and _in_network(host, name):
            return entry
    return None


def proxy_source(url: str, config: ProxyConfig | None = None) -> str:
    """Why `url` goes where it goes, for people: `HTTPS_PROXY`, `NO_PROXY entry 'localhost'`, or `no proxy variable`."""
    config = proxy_config() if config is None else config
    scheme = urlsplit(url).scheme
    variable = config.https_from if scheme == "https" else config.http_from if scheme == "http" else None
    if variable is None:
        return "no proxy variable is set for " + (scheme or "this") + " URLs"
    entry = _bypass_entry(url, config)
    if entry is not None:
        return f"{config.no_proxy_from} entry {entry!r} bypasses {variable}"
    return variable


def redact_proxy(proxy: str) -> str:
    """The proxy URL with its credentials replaced by `***`."""
    return _redact(proxy)


def _redact(proxy: str) -> str:
    parts = urlsplit(proxy)
    if parts.username is None and parts.password is None:
        return proxy
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{netloc}").geturl()


def create_client(
    *,
    timeout: float | None = 30.0,
    read_timeout: float | None = 300.0,
    connect_timeout: float | None = 15.0,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
) -> httpx.Client:
    """Build the client every network caller uses; raise TLSError for a bad CA bundle."""
    import httpx

    context = tls.ssl_context()
    proxies = proxy_config()
    transport: httpx.BaseTransport | None = None
    try:
        if "*" not in proxies.no_proxy:
            by_scheme = {scheme: httpx.HTTPTransport(verify=context, proxy=url)
                         for scheme, url in (("http", proxies.http), ("https", proxies.https)) if url is not None}
            if by_scheme:
                transport = _routing_transport(httpx.HTTPTransport(verify=context), by_scheme, proxies)
    except (ValueError, ImportError, httpx.InvalidURL) as exc:
        raise NetworkError(f"Invalid proxy setting: {exc}", _PROXY_HINT) from exc
    return httpx.Client(
        verify=context,
        trust_env=False,
        transport=transport,
        timeout=httpx.Timeout(timeout, read=read_timeout, connect=connect_timeout),
        headers=headers,
        follow_redirects=follow_redirects,
    )


def _routing_transport(
    direct: httpx.BaseTransport, by_scheme: Mapping[str, httpx.BaseTransport], proxies: ProxyConfig
) -> httpx.BaseTransport:
    """A transport that sends each request through its scheme's proxy unless NO_PROXY bypasses its URL: decided by
    `_bypass_entry`, the same rule `proxy_for` and `codex doctor` report (httpx's own mount patterns know no
    networks like `10.0.0.0/8`)."""
    import httpx

    class ProxyRouter(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            proxied = by_scheme.get(request.url.scheme)
            if proxied is None or _bypass_entry(str(request.url), proxies) is not None:
                return direct.handle_request(request)
            return proxied.handle_request(request)

        def close(self) -> None:
            for transport in (direct, *by_scheme.values()):
                transport.close()

    return ProxyRouter()


def is_connect_error(exc: BaseException) -> bool:
    """True when the request never reached the server (refused, DNS, connect timeout, proxy)."""
    import httpx

    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError))


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def map_transport_error(exc: BaseException, url: str) -> CodexError:
    """Translate an httpx (or ssl/socket) failure for `url` into a NetworkError or TLSError."""
    import socket
    import ssl

    import httpx

    chain = _causes(exc)
    parts = urlsplit(url)
    host = parts.hostname or url
    proxy = proxy_for(url)
    # Only a failure while connecting is a handshake problem; an SSL error while reading or writing
    # an established connection (a dropped keep-alive) stays a retryable NetworkError.
    connecting = isinstance(exc, (httpx.ConnectError, httpx.ProxyError, ssl.SSLError))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _certificate_error(cause, url, proxy)
        if isinstance(cause, ssl.SSLError) and connecting:
            return _handshake_error(cause, url, proxy)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        hint = _CA_HINT.format(bundle=tls.ca_bundle_description())
        return TLSError(f"TLS certificate verification failed for {host}: {exc}.", hint)
    refused = any(
        isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED
        for cause in chain
    ) or "Connection refused" in str(exc)
    if proxy is not None and isinstance(exc, (httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout)):
        return _proxy_error(exc, url, proxy, refused)
    if refused:
        return NetworkError(
            f"Could not connect to {url}: connection refused.",
            "Check the provider's base_url and that the server is running.",
        )
    if any(isinstance(cause, socket.gaierror) for cause in chain):
        return NetworkError(
            f"Could not resolve the host name {host}: {exc}.", "Check the provider's base_url and your DNS settings."
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return NetworkError(f"Timed out connecting to {url}.", "Check the provider's base_url and your network.")
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"Could not connect to {url}: {exc}.", "Check the provider's base_url and your network.")
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"Timed out waiting for {url}.")
    return NetworkError(f"Network error talking to {url}: {exc or type(exc).__name__}.")


def _certificate_error(cause: ssl.SSLCertVerificationError, url: str, proxy: str | None) -> TLSError:
    bundle = tls.ca_bundle_description()
    reason = str(cause.verify_message or cause.reason or cause).rstrip(".")
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    via = f" through the proxy {_redact(proxy)} (from {proxy_source(url)})" if proxy else ""
    kind = tls.classify_verify_error(cause)
    if kind == "mismatch":
        return TLSError(
            f"The TLS certificate of {where}{via} does not match that name: {reason}. "
            "Use a host name the certificate covers in the provider's base_url.",
            _MISMATCH_HINT.format(bundle=bundle),
        )
    if kind == "expired":
        return TLSError(
            f"The TLS certificate of {where}{via} is not valid now: {reason}. Check this computer's clock; if it is "
            "right, the server must renew its certificate.",
            f"The CA bundle in effect is {bundle}.",
        )
    message = f"TLS certificate verification failed for {where}{via}: {reason} (trusted: {bundle})."
    if proxy is not None:
        message += (
            " A TLS-inspecting proxy may be in the way: set CODEX_CA_CERTIFICATE=/path/to/proxy-ca.pem, "
            "a PEM file holding the proxy's CA certificate."
        )
        return TLSError(message, _INSPECTING_PROXY_HINT.format(host=host, bundle=bundle))
    message += " Set CODEX_CA_CERTIFICATE to a PEM file holding the CA that signs this server's certificate."
    return TLSError(message, _CA_HINT.format(bundle=bundle))


def _handshake_error(cause: ssl.SSLError, url: str, proxy: str | None) -> TLSError:
    reason = str(cause.reason or cause)
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname or url)
    via = f" through the proxy {_redact(proxy)}" if proxy else ""
    hint = _CA_HINT.format(bundle=tls.ca_bundle_description())
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"):
        return TLSError(
            f"TLS handshake with {where}{via} failed: the server does not speak TLS on that port ({reason}). "
            "If it serves plain HTTP, use an http:// base_url.",
            hint,
        )
    if "EOF" in reason or "VIOLATION" in reason.upper():
        return TLSError(
            f"TLS handshake with {where}{via} failed: the connection was closed during the handshake. "
            "Check the port, and any proxy or firewall on the way.",
            hint,
        )
    return TLSError(f"TLS handshake with {where}{via} failed: {reason}.", hint)


def _proxy_error(exc: BaseException, url: str, proxy: str, refused: bool) -> NetworkError:
    source = proxy_source(url)
    target = f"{_redact(proxy)} (from {source})"
    text = str(exc).strip()
    if refused:
        return NetworkError(
            f"Could not reach {url} through the proxy {target}: connection refused "
            "(nothing listens at the proxy's address).",
            "Check that the proxy is running and the address is right, or unset the variable. " + _PROXY_HINT,
        )
    if text.startswith("407"):
        return NetworkError(
            f"The proxy {target} requires authentication ({text}).",
            "Put the credentials in the proxy URL: http://USER:PASSWORD@HOST:PORT (percent-encode special characters).",
        )
    if text[:3].isdigit():
        return NetworkError(
            f"The proxy {target} refused to open a tunnel to {url}: {text}.",
            "The proxy answered CONNECT with an error: ask its administrator to allow this host. " + _PROXY_HINT,
        )
    reason = text or type(exc).__name__
    return NetworkError(f"Could not reach {url} through the proxy {target}: {reason}.", _PROXY_HINT)
