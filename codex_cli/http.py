"""The one HTTP client factory, its proxy rules, and the translation of httpx errors into ours.

`create_client()` returns an `httpx.Client` that verifies with `tls.ssl_context()` and routes
through proxies chosen from the environment as auth.md §5 says: `HTTPS_PROXY` for https only,
`HTTP_PROXY` for http only, `ALL_PROXY` as the fallback for both, UPPERCASE over lowercase,
empty values unset, a value without a scheme taken as `http://` (as codex-rs and curl do), `socks5://`
and `socks5h://` through socksio, `NO_PROXY` matched on the URL's host name or IP address (no DNS;
`10.0.0.0/8` entries match IP addresses in that network); credentials in the proxy
URL go out as `Proxy-Authorization: Basic` on CONNECT. The SSL context is built when the first HTTPS
connection needs it, so a broken CA variable fails HTTPS only, not a run against a plain-http local model.
Making a connection (TCP, the proxy's CONNECT or SOCKS handshake, TLS) has one budget,
`connect_budget()`: 10 s unless CODEX_CONNECT_TIMEOUT says otherwise (http_connect.py), and every request
is tracked by `netwait` so front ends can say what they are waiting for. `map_transport_error()` turns httpx
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

from codex_cli import netwait, tls
from codex_cli.errors import CodexError, NetworkError, TLSError
from codex_cli.records import Record, field

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = [
    "CONNECT_TIMEOUT_ENV",
    "DEFAULT_CONNECT_TIMEOUT",
    "ProxyConfig",
    "connect_budget",
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
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
DEFAULT_CONNECT_TIMEOUT = 10.0
CONNECT_TIMEOUT_ENV = "CODEX_CONNECT_TIMEOUT"
_BUDGET_HINT = f"{CONNECT_TIMEOUT_ENV} sets this limit in seconds (default {DEFAULT_CONNECT_TIMEOUT:g})."


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


def _with_scheme(value: str | None) -> str | None:
    """`host:port` as people write it means `http://host:port`, as for codex-rs and curl."""
    if value is None or "://" in value:
        return value
    return "http://" + value


def proxy_config(env: Mapping[str, str] | None = None) -> ProxyConfig:
    """Read the proxy variables (default: `os.environ`) by the rules in the module docstring."""
    env = os.environ if env is None else env
    fallback, fallback_from = _env_value("all_proxy", env)
    http, http_from = _env_value("http_proxy", env)
    https, https_from = _env_value("https_proxy", env)
    fallback, http, https = _with_scheme(fallback), _with_scheme(http), _with_scheme(https)
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


def connect_budget(requested: float | None = None) -> tuple[float, bool]:
    """Seconds a new connection may take, from the first TCP packet to a usable (proxied, TLS) connection, and
    whether it overrides the callers' own connect timeouts: CODEX_CONNECT_TIMEOUT when set (it wins, so a slow
    network can be given longer); else `requested` capped at DEFAULT_CONNECT_TIMEOUT. Raise NetworkError for a
    value that is not a positive number."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not 0 < value < 86_400:
            raise NetworkError(
                f"Invalid {CONNECT_TIMEOUT_ENV}={raw!r}: expected a number of seconds.",
                f"For example {CONNECT_TIMEOUT_ENV}=30, or unset it for the default of "
                f"{DEFAULT_CONNECT_TIMEOUT:g} s.",
            )
        return value, True
    if requested is None or requested <= 0:
        return DEFAULT_CONNECT_TIMEOUT, False
    return min(requested, DEFAULT_CONNECT_TIMEOUT), False


def _check_proxy(url: str | None, variable: str | None) -> None:
    """Refuse a proxy URL httpx could not use, when the client is made rather than at its first request."""
    if url is None:
        return
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in _PROXY_SCHEMES and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, or out of range
        usable = False
    if not usable:
        raise NetworkError(
            f"Invalid proxy setting in {variable}: {_redact(url)}: expected http://HOST:PORT "
            "(or https://, socks5://, socks5h://).",
            _PROXY_HINT,
        )


def create_client(
    *,
    timeout: float | None = 30.0,
    read_timeout: float | None = 300.0,
    connect_timeout: float | None = 15.0,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
) -> httpx.Client:
    """Build the client every network caller uses; raise NetworkError for unusable proxy or timeout settings.

    A bad CA bundle is raised (TLSError) by the first HTTPS request, not here."""
    import httpx

    proxies = proxy_config()
    _check_proxy(proxies.https, proxies.https_from)
    _check_proxy(proxies.http, proxies.http_from)
    budget, overrides = connect_budget(connect_timeout)
    return httpx.Client(
        trust_env=False,
        transport=_router(proxies, budget, overrides),
        timeout=httpx.Timeout(timeout, read=read_timeout, connect=budget if overrides else connect_timeout),
        headers=headers,
        follow_redirects=follow_redirects,
    )


def _via(url: str, proxy: str | None, config: ProxyConfig) -> str | None:
    """How a waiting line names the route: `proxy 10.1.2.3:8080 (HTTPS_PROXY)`, without credentials."""
    if proxy is None:
        return None
    parts = urlsplit(proxy)
    variable = config.https_from if urlsplit(url).scheme == "https" else config.http_from
    where = parts.netloc.rpartition("@")[2]
    kind = "SOCKS proxy" if parts.scheme.startswith("socks") else "proxy"
    return f"{kind} {where} ({variable})"


def _install_backend(transport: httpx.HTTPTransport, backend: object) -> bool:
    """Give an httpx transport our network backend. httpx takes none; its httpcore 1.x pool keeps one in
    `_network_backend` for the connections it makes. tests/test_enterprise_network.py checks this for direct,
    proxied and SOCKS transports, so an upgrade that moves it fails a test instead of losing the budget."""
    pool = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        return False
    pool._network_backend = backend
    return True


_trust_warned = False


def _warn_about_trust(host: str) -> None:
    """Once per process, before the first plain-HTTP connection: say that the CA variable is broken, so the person
    learns it before the run that needs HTTPS (which then fails with the same text)."""
    global _trust_warned
    if _trust_warned:
        return
    _trust_warned = True
    problem = tls.bundle_problem()
    bundle = tls.selected_ca_bundle()
    if problem is None or bundle is None:
        return
    import sys

    sys.stderr.write(
        f"warning: {problem.message.rstrip('.')}. Plain-HTTP connections (this one to {host}) go ahead; HTTPS "
        f"ones fail until {bundle.variable} is fixed or unset.\n"
    )
    sys.stderr.flush()


def _router(proxies: ProxyConfig, budget: float, overrides: bool) -> httpx.BaseTransport:
    """A transport that sends each request direct or through its scheme's proxy, as `proxy_for` decides (the rule
    `codex doctor` reports; httpx's own mount patterns know no networks like `10.0.0.0/8`). The transports are
    made on first use: an https one builds the SSL context then, so only HTTPS meets a broken CA bundle."""
    import threading

    import httpx

    from codex_cli.http_connect import BoundedBackend

    transports: dict[tuple[str, str | None], httpx.HTTPTransport] = {}
    lock = threading.Lock()

    def transport_for(scheme: str, proxy: str | None, host: str) -> httpx.HTTPTransport:
        with lock:
            found = transports.get((scheme, proxy))
            if found is not None:
                return found
            over_tls = scheme == "https" or (proxy or "").lower().startswith("https://")
            if not over_tls:
                _warn_about_trust(host)
            # Plain http never uses the context: no trust roots are loaded and a broken CA variable is no matter.
            verify: ssl.SSLContext | bool = tls.ssl_context() if over_tls else False
            try:
                made = httpx.HTTPTransport(verify=verify, proxy=proxy)
            except ImportError as exc:  # socksio missing from a source install
                raise NetworkError(
                    f"SOCKS proxies need the socksio package, which this installation lacks: {exc}",
                    "Reinstall codex (socksio is one of its dependencies), or use an http:// proxy.",
                ) from exc
            except (ValueError, httpx.InvalidURL) as exc:
                raise NetworkError(f"Invalid proxy setting: {exc}", _PROXY_HINT) from exc
            tunnelled = proxy is not None and (scheme == "https" or proxy.lower().startswith("socks"))
            _install_backend(made, BoundedBackend(budget, tunnelled=tunnelled, overrides=overrides))
            transports[(scheme, proxy)] = made
            return made

    class ProxyRouter(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            url = str(request.url)
            proxy = proxy_for(url, proxies)
            transport = transport_for(request.url.scheme, proxy, request.url.host)
            with netwait.waiting(request.url.host, _via(url, proxy, proxies)):
                return transport.handle_request(request)

        def close(self) -> None:
            with lock:
                made = list(transports.values())
                transports.clear()
            for transport in made:
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

    if isinstance(exc, CodexError):  # raised by the transport itself (a bad CA bundle, a proxy setting)
        return exc
    chain = _causes(exc)
    parts = urlsplit(url)
    host = parts.hostname or url
    proxy = proxy_for(url)
    stalled = next((cause for cause in chain if hasattr(cause, "step") and hasattr(cause, "budget")), None)
    if stalled is not None:
        return _stalled_error(str(getattr(stalled, "step", "")), float(getattr(stalled, "budget", 0.0)), url, proxy)
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


def _stalled_error(step: str, budget: float, url: str, proxy: str | None) -> NetworkError:
    """The connect budget ran out (http_connect.ConnectStalled): say which step hung, and where."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    limit = f"within {budget:g} s"
    if proxy is None:
        if step == "tls":
            return NetworkError(
                f"Connected to {where}, but the TLS handshake did not finish {limit}.",
                "Check that base_url's port serves HTTPS, and any firewall in between. " + _BUDGET_HINT,
            )
        return NetworkError(
            f"Timed out connecting to {url}: no answer from {where} {limit}.",
            "Check the provider's base_url and your network; a firewall may be dropping the connection. If this "
            "network needs a proxy, set HTTPS_PROXY. " + _BUDGET_HINT,
        )
    variable = proxy_source(url)
    target = f"{_redact(proxy)} (from {variable})"
    fix = (
        f"Check the proxy's address and port in {variable}, or unset it if this network needs no proxy "
        f"(NO_PROXY lists hosts to reach directly). " + _BUDGET_HINT
    )
    if step == "proxy":
        asked = "the SOCKS handshake" if urlsplit(proxy).scheme.startswith("socks") else "the CONNECT request"
        return NetworkError(
            f"The proxy {target} accepted the connection but did not answer {asked} for {where} {limit} "
            "(a hung proxy, or a firewall that swallows the traffic).",
            fix,
        )
    if step == "tls":
        return NetworkError(
            f"The TLS handshake with {where} through the proxy {target} did not finish {limit}.", fix
        )
    return NetworkError(f"Could not reach the proxy {target}: no answer to the connection {limit}.", fix)


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
    parts = urlsplit(proxy)
    sent = parts.username is not None or parts.password is not None
    socks = parts.scheme.startswith("socks")
    # httpcore's SOCKS5 words: "Invalid username/password" (RFC 1929 refusal), "Requested NO AUTHENTICATION
    # REQUIRED from proxy server, but got ..." (the proxy wants a password), "Proxy Server could not connect: ...".
    asked_for_credentials = text.startswith("407") or (socks and "from proxy server, but got" in text)
    if sent and (asked_for_credentials or text == "Invalid username/password"):
        return NetworkError(
            f"The proxy {target} refused these credentials ({text}).",
            f"Check the user name and password in {source} (percent-encode special characters: @ as %40, "
            ": as %3A, / as %2F)" + ("." if socks else "; the proxy may also want another scheme than Basic."),
        )
    if asked_for_credentials:
        return NetworkError(
            f"The proxy {target} requires authentication ({text}).",
            f"Put the credentials in the proxy URL: {parts.scheme}://USER:PASSWORD@HOST:PORT (percent-encode special "
            "characters).",
        )
    if socks and text.startswith("Proxy Server could not connect"):
        return NetworkError(
            f"The SOCKS proxy {target} could not open a connection to {url}: {text}",
            "The proxy refused or failed to reach this host: ask its administrator, or set NO_PROXY for it. "
            + _PROXY_HINT,
        )
    if text[:3].isdigit():
        return NetworkError(
            f"The proxy {target} refused to open a tunnel to {url}: {text}.",
            "The proxy answered CONNECT with an error: ask its administrator to allow this host. " + _PROXY_HINT,
        )
    reason = text or type(exc).__name__
    return NetworkError(f"Could not reach {url} through the proxy {target}: {reason}.", _PROXY_HINT)
