"""The one SSL context every HTTPS client uses: native trust roots plus the CA bundle named by the environment.

Roots (auth.md §4.3): the platform store through `truststore` (macOS keychain, Windows store,
OpenSSL's files on Linux, which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`). On Linux the system
bundle file is also loaded explicitly, so a user's `SSL_CERT_FILE` adds to it rather than hiding
it. When no system store exists (a frozen binary on an unusual Linux) certifi's bundle is used.
The extra bundle (auth.md §4.1): `CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`; an empty value is
unset; every CERTIFICATE block is added. A bundle that cannot be read or holds no usable
certificate is a `TLSError` naming the variable, the path and what is wrong, raised when the first HTTPS
connection builds the context (http.py); a plain-HTTP run only warns with `bundle_problem()`.
`describe_certificate()` reads subject, issuer, validity and names from DER for `codex doctor`.
`ssl`, `truststore` and `certifi` are imported inside functions so start-up stays fast.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codex_cli.errors import TLSError
from codex_cli.records import Record

if TYPE_CHECKING:
    import ssl
    import threading

__all__ = [
    "CA_ENV_VARS",
    "CaBundle",
    "CertificateInfo",
    "TrustRoots",
    "TrustSource",
    "TrustSummary",
    "anchor_source",
    "bundle_problem",
    "ca_bundle_description",
    "classify_verify_error",
    "count_pem_certificates",
    "describe_certificate",
    "load_bundle",
    "native_roots",
    "selected_ca_bundle",
    "source_certificates",
    "ssl_context",
    "trust_sources",
    "trust_summary",
    "warm_ssl_context",
]

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
# Where Linux distributions keep their bundle (the list truststore and certifi-system-store use).
_CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED_NAME = re.compile(r"^[0-9a-fA-F]{8}\.[0-9]+$")
_OS_VERIFIER = {"darwin": "the macOS keychain", "win32": "the Windows certificate store"}
# OpenSSL verify codes (x509_vfy.h); the macOS and Windows verifiers report their own codes instead.
_OPENSSL_MISMATCH = frozenset({62, 64})
_OPENSSL_EXPIRED = frozenset({9, 10})
_MISMATCH_WORDS = re.compile(r"mismatch|does not match|not valid for|CN_NO_MATCH|name .*invalid", re.IGNORECASE)
_EXPIRED_WORDS = re.compile(r"expired|not yet valid|validity period", re.IGNORECASE)


class CaBundle(Record):
    """The extra CA bundle in effect: the variable that chose it and its path."""

    variable: str
    path: str


class TrustRoots(Record):
    """The roots under the extra bundle: `kind` is "system", "certifi" or "none"."""

    kind: str
    description: str
    files: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()


class CertificateInfo(Record):
    """What a person needs to recognise a certificate."""

    subject: str
    issuer: str
    not_before: str
    not_after: str
    names: tuple[str, ...]  # DNS names and IP addresses from subjectAltName

    @property
    def is_self_signed(self) -> bool:
        return self.subject == self.issuer


class TrustSource(Record):
    """One place the context takes trusted certificates from. `origin` is the variable that names it
    (CODEX_CA_CERTIFICATE, SSL_CERT_FILE, SSL_CERT_DIR) or "system", "certifi", "os"; `path` is a PEM file or a
    hashed folder (None for an OS store); `description` says both for people."""

    origin: str
    path: str | None
    description: str
    is_folder: bool = False


class TrustSummary(Record):
    """The trust in effect, for `codex doctor`: the extra bundle and its certificates, and the roots."""

    bundle: CaBundle | None
    bundle_certificates: tuple[CertificateInfo, ...]
    roots: TrustRoots
    root_count: int | None  # certificates in the roots' files; None when the OS keeps them
    cert_dir: str | None  # SSL_CERT_DIR when set to a directory


def selected_ca_bundle() -> CaBundle | None:
    """Return the bundle chosen by `CODEX_CA_CERTIFICATE` / `SSL_CERT_FILE`, or None."""
    for name in CA_ENV_VARS:
        value = os.environ.get(name, "")
        if value.strip():
            return CaBundle(name, value)
    return None


def bundle_problem() -> TLSError | None:
    """What is wrong with the CA bundle a variable names (missing, unreadable, no certificates), without building a
    context: a plain-HTTP run warns with it and goes on, where an HTTPS connection fails with it. None when no
    variable is set or the file reads as PEM certificates; a certificate OpenSSL rejects shows only at HTTPS."""
    bundle = selected_ca_bundle()
    if bundle is None:
        return None
    try:
        load_bundle(bundle)
    except TLSError as exc:
        return exc
    return None


def ssl_context() -> ssl.SSLContext:
    """Return the shared client context (built once per trust setting); raise TLSError for a bad bundle."""
    warming = _warming
    if warming is not None:
        warming.join()  # its context is in `_build_context`'s cache now; a failure is raised again below
    return _context()


def _context() -> ssl.SSLContext:
    bundle = selected_ca_bundle()
    return _build_context(bundle, native_roots(), _cert_dir(), (_file_stamp(bundle), os.environ.get("SSL_CERT_FILE")))


_warming: threading.Thread | None = None


def warm_ssl_context() -> None:
    """Start building the shared context in a background thread, for a caller that needs it soon (`codex exec`).

    Loading the roots is mostly OpenSSL reading files with the GIL released, so it overlaps the caller's own
    start-up. `ssl_context()` waits for it; errors are not raised here but by `ssl_context()`, which builds again.
    """
    global _warming
    if _warming is not None:
        return
    import ssl  # noqa: F401  (imported in this thread, so the two threads never wait on each other's imports)
    import threading

    _has_truststore()
    # Not a daemon: an early exit (a config error) then waits for it instead of tearing the interpreter down
    # while it is inside OpenSSL, which crashed now and then at shutdown (SIGSEGV, CPython 3.11).
    _warming = threading.Thread(target=_warm, name="codex-tls-warm-up", daemon=False)
    _warming.start()


def _warm() -> None:
    try:
        _context()
    except Exception:  # ssl_context() raises it again in the caller's thread
        pass


def ca_bundle_description() -> str:
    """Describe the trust roots in effect, for error messages."""
    bundle = selected_ca_bundle()
    text = native_roots().description
    cert_dir = _cert_dir()
    if cert_dir is not None:
        text += f" and the certificates in {cert_dir} (from SSL_CERT_DIR)"
    if bundle is None:
        return text
    return f"{text} plus {bundle.path} (from {bundle.variable})"


def native_roots(search: Sequence[str] | None = None) -> TrustRoots:
    """The platform's own roots, or certifi's bundle when the platform has none.

    `search` replaces the places looked at on OpenSSL platforms (the compiled-in file and
    directory, then the usual distribution paths); tests use it to stand for an unusual system.
    """
    if search is None and sys.platform in _OS_VERIFIER and _has_truststore():
        return TrustRoots("system", _OS_VERIFIER[sys.platform])
    import ssl

    defaults = ssl.get_default_verify_paths()  # the compiled-in paths, whatever the environment says
    files = [path for path in (search or (defaults.openssl_cafile, *_CA_FILE_CANDIDATES)) if _is_file(path)]
    dirs = [path for path in ((defaults.openssl_capath,) if search is None else ()) if _has_hashed_certs(path)]
    if files or dirs:
        where = files[0] if files else dirs[0]
        return TrustRoots("system", f"the system trust store ({where})", tuple(files[:1]), tuple(dirs[:1]))
    certifi_file = _certifi_path()
    if certifi_file is not None:
        return TrustRoots("certifi", f"certifi's bundle ({certifi_file})", (certifi_file,))
    return TrustRoots("none", "no trust store (neither system roots nor certifi's bundle was found)")


def _is_file(path: str | None) -> bool:
    return bool(path) and os.path.isfile(str(path))


def classify_verify_error(exc: ssl.SSLCertVerificationError) -> str:
    """"mismatch" (the name), "expired" (the dates) or "untrusted" (the issuer, or anything else)."""
    text = str(exc.verify_message or exc.reason or exc)
    code = exc.verify_code if sys.platform not in _OS_VERIFIER else None
    if code in _OPENSSL_MISMATCH or _MISMATCH_WORDS.search(text):
        return "mismatch"
    if code in _OPENSSL_EXPIRED or _EXPIRED_WORDS.search(text):
        return "expired"
    return "untrusted"


def trust_summary() -> TrustSummary:
    """The trust in effect, with the extra bundle's certificates; raise TLSError for a bad bundle."""
    bundle = selected_ca_bundle()
    certificates = tuple(describe_certificate(der) for der in load_bundle(bundle)) if bundle else ()
    roots = native_roots()
    count = sum(count_pem_certificates(path) for path in roots.files) if roots.files else None
    return TrustSummary(bundle, certificates, roots, count, _cert_dir())


def trust_sources() -> tuple[TrustSource, ...]:
    """Every source of trust in effect, the extra bundle first; never raises (a broken bundle is still listed).

    On OpenSSL platforms the system roots come from OpenSSL's default paths, which also read SSL_CERT_FILE and
    SSL_CERT_DIR: so SSL_CERT_FILE is trusted even when CODEX_CA_CERTIFICATE is the extra bundle, and the
    compiled-in hashed folder only while SSL_CERT_DIR is unset."""
    sources: list[TrustSource] = []
    seen: set[str] = set()

    def add(source: TrustSource) -> None:
        key = os.path.realpath(source.path) if source.path else source.origin
        if key not in seen:
            seen.add(key)
            sources.append(source)

    bundle = selected_ca_bundle()
    roots = native_roots()
    openssl_defaults = roots.kind == "system" and sys.platform not in _OS_VERIFIER
    if bundle is not None:
        add(TrustSource(bundle.variable, bundle.path, f"{bundle.path} (from {bundle.variable})"))
    ssl_cert_file = os.environ.get("SSL_CERT_FILE", "").strip()
    if openssl_defaults and ssl_cert_file and _is_file(ssl_cert_file):
        add(TrustSource("SSL_CERT_FILE", ssl_cert_file,
                        f"{ssl_cert_file} (from SSL_CERT_FILE, read through OpenSSL's default paths)"))
    cert_dir = _cert_dir()
    if cert_dir is not None:
        add(TrustSource("SSL_CERT_DIR", cert_dir, f"the hashed folder {cert_dir} (from SSL_CERT_DIR)", True))
    for path in roots.files:
        add(TrustSource(roots.kind, path, roots.description if len(roots.files) == 1 else path))
    if openssl_defaults and cert_dir is None:
        for folder in roots.directories:
            add(TrustSource("system", folder, f"the system's hashed folder {folder}", True))
    if not roots.files and roots.kind == "system":
        add(TrustSource("os", None, roots.description))
    return tuple(sources)


def source_certificates(source: TrustSource) -> list[bytes]:
    """The certificates (DER) a source holds; an unreadable file or entry gives none, never an error."""
    if source.path is None:
        return []
    if not source.is_folder:
        return _pem_certificates(source.path)
    try:
        names = sorted(name for name in os.listdir(source.path) if _HASHED_NAME.match(name))
    except OSError:
        return []
    return [der for name in names for der in _pem_certificates(os.path.join(source.path, name))]


def anchor_source(anchor: bytes, sources: Sequence[TrustSource]) -> TrustSource | None:
    """The first source holding the certificate `anchor` (DER), or one with a certificate of the same subject
    (a re-issued CA); None when no file holds it (an OS store, or a system root outside these files)."""
    subject = describe_certificate(anchor).subject
    by_subject: TrustSource | None = None
    for source in sources:
        certificates = source_certificates(source)
        if anchor in certificates:
            return source
        if by_subject is None and any(describe_certificate(der).subject == subject for der in certificates):
            by_subject = source
    return by_subject


def _pem_certificates(path: str) -> list[bytes]:
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("latin-1")
    except OSError:
        return []
    found = []
    for match in _PEM_BLOCK.finditer(text):
        if match.group(1) not in _CERT_LABELS:
            continue
        try:
            found.append(_first_der_object(base64.b64decode("".join(match.group(2).split()), validate=True)))
        except (binascii.Error, ValueError):
            continue
    return found


def count_pem_certificates(path: str) -> int:
    """Certificate blocks in a PEM file (0 when it cannot be read); never raises."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("latin-1")
    except OSError:
        return 0
    return sum(1 for match in _PEM_BLOCK.finditer(text) if match.group(1) in _CERT_LABELS)


@functools.cache
def _has_truststore() -> bool:
    try:
        import truststore  # noqa: F401
    except ImportError:
        return False
    return True


def _certifi_path() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    path = str(certifi.where())
    return path if os.path.isfile(path) else None


def _has_hashed_certs(path: str | None) -> bool:
    if not path:
        return False
    try:
        return any(_HASHED_NAME.match(name) for name in os.listdir(path))
    except OSError:
        return False


def _cert_dir() -> str | None:
    value = os.environ.get("SSL_CERT_DIR", "").strip()
    return value if value and os.path.isdir(value) else None


def _file_stamp(bundle: CaBundle | None) -> tuple[int, int] | None:
    """Part of the cache key, so an edited bundle is read again."""
    if bundle is None:
        return None
    try:
        stat = os.stat(bundle.path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=8)
def _build_context(bundle: CaBundle | None, roots: TrustRoots, cert_dir: str | None, stamp: object) -> ssl.SSLContext:
    """One context per trust setting; `stamp` (the bundle's mtime and size, SSL_CERT_FILE) only keys the cache."""
    import ssl

    extra = load_bundle(bundle) if bundle is not None else []
    if roots.kind == "system" and _has_truststore():
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    elif roots.kind == "system":
        ctx = ssl.create_default_context()  # OpenSSL's defaults, which honour SSL_CERT_FILE / SSL_CERT_DIR
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no system store: exactly certifi + the user's files
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # An intermediate CA in the bundle is a trust anchor by itself, as with rustls in codex-rs.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    for path in roots.files:
        ctx.load_verify_locations(cafile=path)
    if cert_dir is not None:
        if sys.platform in _OS_VERIFIER:  # the OS verifier sees only certificates loaded as data
            _add_directory(ctx, cert_dir)
        else:
            ctx.load_verify_locations(capath=cert_dir)
    if extra:
        assert bundle is not None
        if not _is_root_file(bundle.path, roots.files):
            _add_certificates(ctx, extra, bundle)
    return ctx


def _is_root_file(path: str, files: Sequence[str]) -> bool:
    """Whether the bundle is a roots file loaded already (SSL_CERT_FILE often names the system bundle): OpenSSL's
    store keeps the first copy of a certificate and ignores the same one added again, so loading it twice (~20 ms
    for a distribution bundle) would change nothing."""
    for root in files:
        try:
            if os.path.samefile(path, root):
                return True
        except OSError:
            continue
    return False


def _add_directory(ctx: ssl.SSLContext, path: str) -> None:
    import ssl

    for name in sorted(os.listdir(path)):
        if not _HASHED_NAME.match(name):
            continue
        try:
            ctx.load_verify_locations(cafile=os.path.join(path, name))
        except (OSError, ssl.SSLError):
            continue  # OpenSSL skips unreadable hashed entries too


def load_bundle(bundle: CaBundle) -> list[bytes]:
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
            f"no certificates found in PEM file ({_why_no_certificates(raw)})",
            _BAD_BUNDLE_HINT,
        )
    return certs


def _why_no_certificates(raw: bytes) -> str:
    """Say what the file holds instead, so the fix is obvious."""
    if not raw.strip():
        return "the file is empty"
    if raw[:1] == b"\x30" and len(raw) > 64:
        return (
            "it looks like a binary DER certificate; convert it with "
            "`openssl x509 -inform der -in FILE -out FILE.pem` and point the variable at the .pem"
        )
    labels = sorted({match.group(1) for match in _PEM_BLOCK.finditer(raw.decode("latin-1"))})
    if labels:
        return "it holds only " + ", ".join(labels) + " blocks"
    return "there is no -----BEGIN CERTIFICATE----- line"


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


# -- reading certificates (DER) ----------------------------------------------------------------

_NAME_KEYS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "1.2.840.113549.1.9.1": "emailAddress",
}
_SUBJECT_ALT_NAME = "2.5.29.17"


def describe_certificate(der: bytes) -> CertificateInfo:
    """Subject, issuer, validity and alternative names of a DER certificate; fields that cannot be read are '?'."""
    try:
        return _describe(der)
    except (IndexError, ValueError):
        return CertificateInfo("?", "?", "?", "?", ())


def _describe(der: bytes) -> CertificateInfo:
    certificate = _children(der, *_tlv(der, 0)[1:])
    tbs = _children(der, certificate[0][1], certificate[0][2])
    fields = tbs[1:] if tbs[0][0] == 0xA0 else tbs  # skip the explicit version
    _, issuer, validity, subject = fields[1:5]
    times = _children(der, validity[1], validity[2])
    names: tuple[str, ...] = ()
    for tag, start, end in fields[5:]:
        if tag == 0xA3:
            names = _alt_names(der, *_children(der, start, end)[0][1:])
    return CertificateInfo(
        subject=_name(der, subject[1], subject[2]),
        issuer=_name(der, issuer[1], issuer[2]),
        not_before=_time(der, *times[0]),
        not_after=_time(der, *times[1]),
        names=names,
    )


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at `offset`."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _tlv(data, start)
        items.append(item)
        start = item[2]
    return items


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(part) for part in parts)


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:
        return raw.decode("utf-16-be", "replace")
    return raw.decode("utf-8" if tag == 0x0C else "latin-1", "replace")


def _name(data: bytes, start: int, end: int) -> str:
    """An X.509 Name, most specific part first (`CN=…, O=…`)."""
    parts = []
    for _, set_start, set_end in _children(data, start, end):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            (_, oid_start, oid_end), (tag, value_start, value_end) = _children(data, seq_start, seq_end)[:2]
            oid = _oid(data[oid_start:oid_end])
            parts.append(f"{_NAME_KEYS.get(oid, oid)}={_string(tag, data[value_start:value_end])}")
    return ", ".join(reversed(parts)) or "(empty)"


def _time(data: bytes, tag: int, start: int, end: int) -> str:
    text = data[start:end].decode("ascii", "replace").rstrip("Z")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSS, years 50-99 are 19xx
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    return f"{text[0:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:14]} UTC"


def _alt_names(data: bytes, start: int, end: int) -> tuple[str, ...]:
    import ipaddress

    for _, ext_start, ext_end in _children(data, start, end):
        parts = _children(data, ext_start, ext_end)
        if _oid(data[parts[0][1] : parts[0][2]]) != _SUBJECT_ALT_NAME:
            continue
        octets_start = parts[-1][1]
        _, seq_start, seq_end = _tlv(data, octets_start)
        names = []
        for tag, name_start, name_end in _children(data, seq_start, seq_end):
            if tag == 0x82:
                names.append(data[name_start:name_end].decode("ascii", "replace"))
            elif tag == 0x87 and name_end - name_start in (4, 16):
                names.append(str(ipaddress.ip_address(data[name_start:name_end])))
        return tuple(names)
    return ()
