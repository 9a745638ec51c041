"""The one SSL context: native trust roots plus the extra CA bundle named by the environment.

Selection (auth.md §4.1): `CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`; an empty value counts
as unset. The bundle is added to the roots, never replacing them. A bundle that cannot be read
or holds no usable certificate is an immediate `TLSError` naming the variable and the path.
`ssl`, `truststore` and `certifi` are imported inside functions so start-up stays fast.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codex_cli.errors import TLSError

if TYPE_CHECKING:
    import ssl

__all__ = ["CA_ENV_VARS", "CaBundle", "ca_bundle_description", "selected_ca_bundle", "ssl_context"]

CA_ENV_VARS = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")

_BAD_BUNDLE_HINT = (
    "If you set CODEX_CA_CERTIFICATE or SSL_CERT_FILE, ensure it points to a PEM file containing one or more "
    "CERTIFICATE blocks, or unset it to use system roots."
)
_PEM_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)
_CERT_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")


@dataclass(frozen=True)
class CaBundle:
    """The extra CA bundle in effect: the variable that chose it and its path."""

    variable: str
    path: str


def selected_ca_bundle() -> CaBundle | None:
    """Return the bundle chosen by `CODEX_CA_CERTIFICATE` / `SSL_CERT_FILE`, or None."""
    for name in CA_ENV_VARS:
        value = os.environ.get(name, "")
        if value.strip():
            return CaBundle(name, value)
    return None


def ssl_context() -> ssl.SSLContext:
    """Return the shared client context (built once per CA selection); raise TLSError for a bad bundle."""
    return _build_context(selected_ca_bundle())


def ca_bundle_description() -> str:
    """Describe the trust roots in effect, for error messages."""
    bundle = selected_ca_bundle()
    roots = "the system trust store" if _has_truststore() else f"certifi's bundle ({_certifi_path()})"
    if bundle is None:
        return roots
    return f"{roots} plus {bundle.path} (from {bundle.variable})"


@functools.cache
def _has_truststore() -> bool:
    try:
        import truststore  # noqa: F401
    except ImportError:
        return False
    return True


def _certifi_path() -> str:
    try:
        import certifi
    except ImportError:
        return "unavailable"
    return str(certifi.where())


@functools.lru_cache(maxsize=8)
def _build_context(bundle: CaBundle | None) -> ssl.SSLContext:
    import ssl

    extra = _load_bundle(bundle) if bundle is not None else []
    if _has_truststore():
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        ctx = ssl.create_default_context()
        certifi_file = _certifi_path()
        if os.path.isfile(certifi_file):
            ctx.load_verify_locations(cafile=certifi_file)
    if extra:
        assert bundle is not None
        _add_certificates(ctx, extra, bundle)
    return ctx


def _load_bundle(bundle: CaBundle) -> list[bytes]:
    """Read the PEM file and return each certificate as DER; raise TLSError naming what is wrong."""
    try:
        with open(bundle.path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        reason = f"{exc.strerror or exc} (os error {exc.errno})" if exc.errno else str(exc)
        raise TLSError(
            f"Failed to read CA certificate file {bundle.path} selected by {bundle.variable}: {reason}",
            _BAD_BUNDLE_HINT,
        ) from exc
    text = raw.decode("latin-1")
    certs: list[bytes] = []
    for match in _PEM_BLOCK.finditer(text):
        if match.group(1) not in _CERT_LABELS:
            continue  # private keys, CRLs and other blocks are skipped
        try:
            der = base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise TLSError(
                f"Failed to load CA certificates from {bundle.path} selected by {bundle.variable}: "
                f"failed to parse PEM file: base64 decode error: {exc}",
                _BAD_BUNDLE_HINT,
            ) from exc
        certs.append(_first_der_object(der))
    if not certs:
        raise TLSError(
            f"Failed to load CA certificates from {bundle.path} selected by {bundle.variable}: "
            "no certificates found in PEM file",
            _BAD_BUNDLE_HINT,
        )
    return certs


def _first_der_object(der: bytes) -> bytes:
    """Cut a DER blob to its first ASN.1 object (a TRUSTED CERTIFICATE carries trust data after it)."""
    if len(der) < 2 or der[0] != 0x30:
        return der
    length = der[1]
    if length < 0x80:
        return der[: 2 + length]
    count = length & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return der
    return der[: 2 + count + int.from_bytes(der[2 : 2 + count], "big")]


def _add_certificates(ctx: ssl.SSLContext, certs: list[bytes], bundle: CaBundle) -> None:
    import ssl

    try:
        ctx.load_verify_locations(cadata=b"".join(certs))
        return
    except ssl.SSLError:
        pass  # find which certificate is broken, for the message
    for number, der in enumerate(certs, start=1):
        try:
            ctx.load_verify_locations(cadata=der)
        except ssl.SSLError as exc:
            raise TLSError(
                f"Failed to parse certificate #{number} from {bundle.path} selected by {bundle.variable}: "
                f"{exc.reason or exc}",
                _BAD_BUNDLE_HINT,
            ) from exc
