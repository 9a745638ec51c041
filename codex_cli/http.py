"""The one HTTP client factory, its proxy rules, and the translation of httpx errors into ours.

`create_client()` returns an `httpx.Client` that verifies with `tls.ssl_context()` and routes
through proxies chosen from the environment as auth.md §5 says: `HTTPS_PROXY` for https only,
`HTTP_PROXY` for http only, `ALL_PROXY` as the fallback for both, UPPERCASE over lowercase,
empty values unset, `NO_PROXY` matched on the URL's host name (no DNS). `map_transport_error()`
turns httpx transport failures into `NetworkError` / `TLSError`; nothing above this module
catches httpx types. httpx is imported inside functions so start-up stays fast.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from codex_cli import tls
from codex_cli.errors import CodexError, NetworkError, TLSError

if TYPE_CHECKING:
    import httpx

__all__ = ["ProxyConfig", "create_client", "is_connect_error", "map_transport_error", "proxy_config", "proxy_for"]

_CA_HINT = (
    "The CA bundle in effect is {bundle}. If a proxy or gateway re-signs TLS traffic, set "
    "CODEX_CA_CERTIFICATE to a PEM file holding its CA certificate."
)


@dataclass(frozen=True)
class ProxyConfig:
    """Proxies chosen from the environment; `no_proxy` holds the bypass entries as written."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = field(default_factory=tuple)


def _env_value(name: str, env: Mapping[str, str]) -> str | None:
    for key in (name.upper(), name.lower()):
        value = env.get(key, "").strip()
        if value:
            return value
    return None


def proxy_config(env: Mapping[str, str] | None = None) -> ProxyConfig:
    """Read the proxy variables (default: `os.environ`) by the rules in the module docstring."""
    env = os.environ if env is None else env
    fallback = _env_value("all_proxy", env)
    no_proxy = tuple(item.strip() for item in (_env_value("no_proxy", env) or "").split(",") if item.strip())
    return ProxyConfig(
        http=_env_value("http_proxy", env) or fallback,
        https=_env_value("https_proxy", env) or fallback,
        no_proxy=no_proxy,
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


def _bypass_patterns(entries: tuple[str, ...]) -> list[str]:
    """httpx mount patterns for NO_PROXY entries."""
    patterns: list[str] = []
    for entry in entries:
        host, port = _split_entry(entry)
        if not host:
            continue
        pattern = f"[{host}]" if ":" in host else host
        pattern = pattern if _is_literal(host) else f"*{pattern}"
        patterns.append(f"all://{pattern}" + (f":{port}" if port is not None else ""))
    return patterns


def proxy_for(url: str, config: ProxyConfig | None = None) -> str | None:
    """The proxy the client uses for `url` (None: direct), by the same rules as `create_client`."""
    config = proxy_config() if config is None else config
    parts = urlsplit(url)
    proxy = {"https": config.https, "http": config.http}.get(parts.scheme)
    if proxy is None or "*" in config.no_proxy:
        return None
    host = (parts.hostname or "").lower()
    for entry in config.no_proxy:
        name, port = _split_entry(entry)
        if port is not None and port != parts.port:
            continue
        if host == name or (not _is_literal(name) and host.endswith("." + name)):
            return None
    return proxy


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
    mounts: dict[str, httpx.BaseTransport | None] = {}
    try:
        if "*" not in proxies.no_proxy:
            for scheme, url in (("http://", proxies.http), ("https://", proxies.https)):
                if url is not None:
                    mounts[scheme] = httpx.HTTPTransport(verify=context, proxy=url)
            if mounts:
                for pattern in _bypass_patterns(proxies.no_proxy):
                    mounts[pattern] = httpx.HTTPTransport(verify=context)
    except (ValueError, ImportError, httpx.InvalidURL) as exc:
        raise NetworkError(
            f"Invalid proxy setting: {exc}",
            "Check HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (UPPERCASE wins over lowercase).",
        ) from exc
    return httpx.Client(
        verify=context,
        trust_env=False,
        mounts=mounts,
        timeout=httpx.Timeout(timeout, read=read_timeout, connect=connect_timeout),
        headers=headers,
        follow_redirects=follow_redirects,
    )


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
    import ssl

    import httpx

    chain = _causes(exc)
    host = urlsplit(url).hostname or url
    hint = _CA_HINT.format(bundle=tls.ca_bundle_description())
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return TLSError(f"TLS certificate verification failed for {host}: {reason}.", hint)
        if isinstance(cause, ssl.SSLError):
            return TLSError(f"TLS handshake with {host} failed: {cause.reason or cause}.", hint)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return TLSError(f"TLS certificate verification failed for {host}: {exc}.", hint)
    refused = any(
        isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED
        for cause in chain
    ) or "Connection refused" in str(exc)
    proxy = proxy_for(url)
    if proxy is not None and isinstance(exc, (httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout)):
        reason = "connection refused" if refused else str(exc) or type(exc).__name__
        return NetworkError(
            f"Could not reach {url} through the proxy {_redact(proxy)}: {reason}.",
            "Check HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (UPPERCASE wins over lowercase).",
        )
    if refused:
        return NetworkError(
            f"Could not connect to {url}: connection refused.",
            "Check the provider's base_url and that the server is running.",
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return NetworkError(f"Timed out connecting to {url}.", "Check the provider's base_url and your network.")
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"Could not connect to {url}: {exc}.", "Check the provider's base_url and your network.")
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"Timed out waiting for {url}.")
    return NetworkError(f"Network error talking to {url}: {exc or type(exc).__name__}.")
