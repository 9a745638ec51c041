"""The one SSL context (codex_cli.tls): roots, the extra CA bundle, SSL_CERT_DIR, chains, TLS 1.3, and
the certificate reader used by `codex doctor`, against real local TLS servers."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from intercepting_proxy import OkOrigin  # noqa: E402

from codex_cli import http, tls  # noqa: E402
from codex_cli.errors import TLSError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPENSSL_VERIFIER = sys.platform not in ("darwin", "win32")  # elsewhere the OS words the errors
CLEARED = (
    "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine exports SSL_CERT_FILE/SSL_CERT_DIR for every process: each test sets what it needs."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Codex TLS Test")


def write_pem(path: Path, *pems: bytes) -> Path:
    path.write_bytes(b"".join(pems))
    return path


def serve(ca: trustme.CA, *names: str, tls13_only: bool = False, issuer: trustme.CA | None = None) -> OkOrigin:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if tls13_only:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    (issuer or ca).issue_cert(*(names or ("localhost", "127.0.0.1"))).configure_cert(context)
    return OkOrigin(context).start()


@pytest.fixture
def origin(ca: trustme.CA) -> Iterator[OkOrigin]:
    server = serve(ca)
    yield server
    server.close()


def post(url: str) -> str:
    with http.create_client() as client:
        return client.post(url + "/oauth/token", data={"code": "c"}).text


def post_error(url: str) -> TLSError:
    with pytest.raises(Exception) as info, http.create_client() as client:
        client.post(url + "/oauth/token")
    error = http.map_transport_error(info.value, url + "/oauth/token")
    assert isinstance(error, TLSError), error
    return error


# -- selection and roots -----------------------------------------------------------------------


def test_tls_direct_tls13_origin_verifies_with_codex_ca_certificate(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(ca, tls13_only=True)
    try:
        monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
        with http.create_client() as client:
            response = client.post(server.url() + "/oauth/token", data={"code": "c"})
            version = response.extensions["network_stream"].get_extra_info("ssl_object").version()
        assert (response.text, version) == ("ok", "TLSv1.3")
        assert server.requests == [("POST", "/oauth/token", b"code=c")]
    finally:
        server.close()


def test_tls_without_the_ca_the_origin_is_untrusted(origin: OkOrigin) -> None:
    error = post_error(origin.url())
    assert f"TLS certificate verification failed for localhost:{origin.port}" in error.message
    assert "CODEX_CA_CERTIFICATE" in error.message and tls.ca_bundle_description() in error.message
    assert origin.requests == []


def test_tls_ssl_cert_file_is_used_when_codex_variable_is_empty(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", "")
    monkeypatch.setenv("SSL_CERT_FILE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
    assert tls.selected_ca_bundle() == tls.CaBundle("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    assert post(origin.url()) == "ok"


def test_tls_codex_variable_wins_and_a_broken_ssl_cert_file_is_never_read(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
    monkeypatch.setenv("SSL_CERT_FILE", str(write_pem(tmp_path / "garbage.pem", b"garbage\n")))
    assert post(origin.url()) == "ok"


def test_tls_native_roots_are_kept_under_a_wrong_codex_bundle(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auth.md §4.3: CODEX_CA_CERTIFICATE=<wrong CA> plus SSL_CERT_FILE=<right CA> works (native-roots path)."""
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "wrong.pem", trustme.CA().cert_pem.bytes())))
    monkeypatch.setenv("SSL_CERT_FILE", str(write_pem(tmp_path / "right.pem", ca.cert_pem.bytes())))
    assert post(origin.url()) == "ok"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to hash a CA directory")
def test_tls_ssl_cert_dir_with_hashed_names_is_honoured(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pem)], capture_output=True, text=True, check=True
    ).stdout.strip()
    directory = tmp_path / "certs"
    directory.mkdir()
    shutil.copy(pem, directory / f"{digest}.0")
    monkeypatch.setenv("SSL_CERT_DIR", str(directory))
    assert tls.selected_ca_bundle() is None
    assert post(origin.url()) == "ok"
    assert f"{directory} (from SSL_CERT_DIR)" in tls.ca_bundle_description()


def test_tls_bundle_with_root_verifies_a_chain_through_an_intermediate(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intermediate = ca.create_child_ca()
    server = serve(ca, issuer=intermediate)  # sends leaf + intermediate
    try:
        monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "root.pem", ca.cert_pem.bytes())))
        assert post(server.url()) == "ok"
        monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "mid.pem", intermediate.cert_pem.bytes())))
        assert post(server.url()) == "ok"  # an intermediate alone is an anchor, as with rustls
    finally:
        server.close()


def test_tls_ip_address_certificate_verifies(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
    assert post(origin.url("127.0.0.1")) == "ok"


def test_tls_hostname_mismatch_is_named(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(ca, "other.example")
    try:
        monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
        error = post_error(server.url())
    finally:
        server.close()
    assert f"The TLS certificate of localhost:{server.port} does not match that name" in error.message
    assert "base_url" in error.message
    assert "Hostname mismatch" in error.message or not OPENSSL_VERIFIER


def test_tls_context_is_shared_and_rebuilt_when_trust_changes(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tls.ssl_context()
    assert tls.ssl_context() is first
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "ca.pem", ca.cert_pem.bytes())))
    second = tls.ssl_context()
    assert second is not first and tls.ssl_context() is second
    assert second.minimum_version >= ssl.TLSVersion.TLSv1_2 and second.verify_mode == ssl.CERT_REQUIRED


def test_tls_warmed_context_is_the_one_ssl_context_returns(
    origin: OkOrigin, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "_warming", None)
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(write_pem(tmp_path / "warm.pem", ca.cert_pem.bytes())))
    tls.warm_ssl_context()
    context = tls.ssl_context()
    assert tls._warming is not None and not tls._warming.is_alive()
    assert tls.ssl_context() is context
    assert post(origin.url()) == "ok"


def test_tls_warm_up_failure_is_raised_by_ssl_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, "_warming", None)
    bundle = write_pem(tmp_path / "garbage.pem", b"hello\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    tls.warm_ssl_context()
    with pytest.raises(TLSError) as info:
        tls.ssl_context()
    assert info.value.message.startswith(f"Failed to load CA certificates from {bundle} selected by SSL_CERT_FILE")


@pytest.mark.skipif(sys.platform == "win32", reason="a symlink needs a privilege there")
def test_tls_bundle_that_is_a_roots_file_trusts_the_same_certificates(ca: trustme.CA, tmp_path: Path) -> None:
    """SSL_CERT_FILE often names the system bundle itself; it is then not loaded a second time."""
    other = trustme.CA(organization_name="Second CA")
    roots_file = write_pem(tmp_path / "roots.pem", ca.cert_pem.bytes(), other.cert_pem.bytes())
    alias = tmp_path / "alias.pem"
    alias.symlink_to(roots_file)
    roots = tls.TrustRoots("certifi", "test roots", (str(roots_file),))
    expected = tls._build_context(None, roots, None, "roots only").get_ca_certs()
    bundle = tls.CaBundle("SSL_CERT_FILE", str(alias))
    assert len(expected) == 2
    assert tls._build_context(bundle, roots, None, "same file").get_ca_certs() == expected


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the OS keeps the roots there")
def test_tls_system_store_is_found_on_this_linux() -> None:
    roots = tls.native_roots()
    assert roots.kind == "system" and roots.files and os.path.isfile(roots.files[0])
    assert tls.count_pem_certificates(roots.files[0]) > 10


def test_tls_certifi_is_the_fallback_without_a_system_store(tmp_path: Path) -> None:
    import certifi

    roots = tls.native_roots(search=(str(tmp_path / "no-such-bundle.pem"),))
    assert roots.kind == "certifi" and roots.files == (certifi.where(),)
    assert "certifi" in roots.description
    context = tls._build_context(None, roots, None, None)
    assert len(context.get_ca_certs()) == tls.count_pem_certificates(certifi.where())


# -- bad bundles say what they are -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "explanation"),
    [
        ("empty", "(the file is empty)"),
        ("garbage", "(there is no -----BEGIN CERTIFICATE----- line)"),
        ("der", "(it looks like a binary DER certificate; convert it with `openssl x509 -inform der"),
        ("key-only", "(it holds only "),
    ],
)
def test_tls_bundle_without_certificates_says_what_it_holds(
    kind: str, explanation: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = {
        "empty": b"",
        "garbage": b"hello\n",
        "der": ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()),
        "key-only": ca.private_key_pem.bytes(),
    }[kind]
    path = write_pem(tmp_path / f"{kind}.pem", data)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    with pytest.raises(TLSError) as info:
        tls.ssl_context()
    prefix = f"Failed to load CA certificates from {path} selected by SSL_CERT_FILE: no certificates found in PEM file "
    assert info.value.message.startswith(prefix + explanation)
    if kind == "key-only":
        assert info.value.message.endswith("PRIVATE KEY blocks)")


def test_tls_trust_summary_counts_the_bundle(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = trustme.CA(organization_name="Second CA")
    bundle = write_pem(tmp_path / "two.pem", b"# corp\n", ca.cert_pem.bytes(), b"junk\n", other.cert_pem.bytes())
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(bundle))
    summary = tls.trust_summary()
    assert summary.bundle == tls.CaBundle("CODEX_CA_CERTIFICATE", str(bundle))
    assert [cert.subject.split(", ")[-1] for cert in summary.bundle_certificates] == ["O=Codex TLS Test", "O=Second CA"]
    assert tls.count_pem_certificates(str(bundle)) == 2


# -- reading certificates ------------------------------------------------------------------------


def test_tls_describe_certificate_reads_names_and_validity(ca: trustme.CA) -> None:
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", common_name="codex.test")
    info = tls.describe_certificate(ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode()))
    assert info.subject.startswith("CN=codex.test, ")
    assert info.issuer.endswith("O=Codex TLS Test") and not info.is_self_signed
    assert info.names == ("localhost", "127.0.0.1", "::1")
    assert info.not_before == "2000-01-01 00:00:00 UTC" and info.not_after.startswith("3000-01-01")
    root = tls.describe_certificate(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    assert root.is_self_signed and root.subject == info.issuer


def test_tls_describe_certificate_never_raises_on_garbage() -> None:
    assert tls.describe_certificate(b"\x30\x82\xff\xff").subject == "?"
    assert tls.describe_certificate(b"").issuer == "?"


def test_tls_modules_do_not_import_ssl_or_httpx_at_import_time() -> None:
    code = (
        "import sys, argparse\n"
        "before = set(sys.modules)  # a site .pth file may load certifi on its own\n"
        "import codex_cli.tls, codex_cli.http, codex_cli.doctor\n"
        "p = argparse.ArgumentParser(); codex_cli.doctor.register(p.add_subparsers())\n"
        "print(sorted({'ssl', 'httpx', 'truststore', 'certifi'} & (set(sys.modules) - before)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_tls_ssl_error_on_an_established_connection_stays_retryable() -> None:
    import httpx

    try:
        try:
            raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
        except ssl.SSLError as cause:
            raise httpx.ReadError("EOF occurred in violation of protocol") from cause
    except httpx.ReadError as exc:
        error = http.map_transport_error(exc, "https://localhost:1/v1/responses")
    assert not isinstance(error, TLSError) and "Network error talking to" in error.message
