"""A real TLS-intercepting proxy, mitmproxy's `mitmdump`, in front of the fake model (auth.md §6 d1–d3).

mitmproxy lives in its own cached virtualenv (tests/mitm_env.py): its pins conflict with httpx.
The first run installs it from PyPI; the tests skip only when PyPI cannot be reached.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402
from mitm_env import MitmUnavailable, mitmdump_path  # noqa: E402
from test_doctor import _doctor_command  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLEARED = (
    "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
)
_LISTENING = re.compile(r"proxy listening at \*?:?(?:127\.0\.0\.1)?:?(\d+)")


class Mitmdump:
    """A running `mitmdump` on 127.0.0.1 whose CA and config live in a temporary directory."""

    def __init__(self, executable: Path, upstream_ca: Path, workdir: Path) -> None:
        self.confdir = workdir / "mitm-conf"
        self.confdir.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("PYTHON")}
        env.update(HOME=str(workdir), PYTHONUNBUFFERED="1")  # the "listening at" line must reach the log now
        self.log_path = workdir / "mitmdump.log"
        self._log = open(self.log_path, "w+b")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [
                str(executable), "--listen-host", "127.0.0.1", "--listen-port", "0",
                "--set", f"confdir={self.confdir}",
                "--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}",
                "--set", "connection_strategy=lazy",
            ],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=workdir,
        )
        try:
            self.port = self._wait_for_port()
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            match = _LISTENING.search(text)
            if match and self.ca_file.exists():
                return int(match.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"mitmdump exited with {self.process.returncode}:\n{text}")
            time.sleep(0.05)
        raise RuntimeError(f"mitmdump did not start in 30 s:\n{self.log_path.read_text(errors='replace')}")

    @property
    def ca_file(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def mitm_workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="codex-mitm-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def origin_ca(mitm_workdir: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA(organization_name="Codex Fake Model Origin")
    path = mitm_workdir / "origin-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="module")
def mitmdump(origin_ca: tuple[trustme.CA, Path], mitm_workdir: Path) -> Iterator[Mitmdump]:
    try:
        executable = mitmdump_path()
    except MitmUnavailable as exc:
        pytest.skip(f"mitmproxy is not installed and cannot be: {exc}")
    proxy = Mitmdump(executable, origin_ca[1], mitm_workdir)
    yield proxy
    proxy.close()


@pytest.fixture
def model(fake_server: object, origin_ca: tuple[trustme.CA, Path]) -> FakeResponsesServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origin_ca[0].issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return fake_server([{"output": [message("FAKE-OK via mitmproxy")]}], tls=context)  # type: ignore[operator]


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    for name in CLEARED:
        env.env.pop(name, None)
    return env


def _exec(codex_env: CodexEnv, model: FakeResponsesServer, **env: str) -> tuple[int, str, float]:
    codex_env.write_config(model.base_url.replace("127.0.0.1", "localhost"))
    codex_env.env.update(env)
    start = time.monotonic()
    run = codex_env.run("exec", "--skip-git-repo-check", "say hi", timeout=60)
    return run.returncode, run.stdout + run.stderr, time.monotonic() - start


@pytest.mark.parametrize("variable", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
def test_mitmproxy_exec_works_with_its_ca(
    variable: str, codex_env: CodexEnv, model: FakeResponsesServer, mitmdump: Mitmdump
) -> None:
    code, output, _ = _exec(codex_env, model, HTTPS_PROXY=mitmdump.url, **{variable: str(mitmdump.ca_file)})
    assert code == 0, output + mitmdump.log()
    assert "FAKE-OK via mitmproxy" in output
    assert len(model.requests) == 1 and model.requests[0].path == "/v1/responses"


def test_mitmproxy_exec_without_its_ca_fails_fast_naming_the_variable(
    codex_env: CodexEnv, model: FakeResponsesServer, mitmdump: Mitmdump
) -> None:
    code, output, elapsed = _exec(codex_env, model, HTTPS_PROXY=mitmdump.url)
    assert code == 1, output
    assert elapsed < 5
    assert f"TLS certificate verification failed for localhost:{model.port} through the proxy {mitmdump.url}" in output
    assert "A TLS-inspecting proxy may be in the way: set CODEX_CA_CERTIFICATE=" in output
    assert "Reconnecting... waiting for network" not in output and "Traceback" not in output
    assert model.requests == []


def test_mitmproxy_origin_ca_alone_is_not_enough(
    codex_env: CodexEnv, model: FakeResponsesServer, mitmdump: Mitmdump, origin_ca: tuple[trustme.CA, Path]
) -> None:
    code, output, elapsed = _exec(codex_env, model, HTTPS_PROXY=mitmdump.url, CODEX_CA_CERTIFICATE=str(origin_ca[1]))
    assert code == 1 and elapsed < 5, output
    assert "TLS-inspecting proxy" in output and str(origin_ca[1]) in output


def test_mitmproxy_doctor_names_mitmproxy_as_the_issuer(
    codex_env: CodexEnv, model: FakeResponsesServer, mitmdump: Mitmdump
) -> None:
    codex_env.write_config(model.base_url.replace("127.0.0.1", "localhost"))
    env = {**codex_env.env, "HTTPS_PROXY": mitmdump.url}
    start = time.monotonic()
    result = subprocess.run(
        [*_doctor_command()], env=env, cwd=codex_env.workdir, capture_output=True, text=True,
        timeout=30,
    )
    assert time.monotonic() - start < 5
    assert result.returncode == 1, result.stdout + result.stderr
    issuer = next(line for line in result.stdout.splitlines() if line.strip().startswith("issuer"))
    assert "mitmproxy" in issuer
    assert "export CODEX_CA_CERTIFICATE=/path/to/proxy-ca.pem" in result.stdout


def test_mitmproxy_addressed_without_a_scheme_works(
    codex_env: CodexEnv, model: FakeResponsesServer, mitmdump: Mitmdump
) -> None:
    """HTTPS_PROXY=127.0.0.1:PORT, as people write it (codex-rs and curl take it as http://); httpx refused it
    with "Unknown scheme"."""
    code, output, _ = _exec(
        codex_env, model, HTTPS_PROXY=f"127.0.0.1:{mitmdump.port}", CODEX_CA_CERTIFICATE=str(mitmdump.ca_file)
    )
    assert code == 0, output + mitmdump.log()
    assert "FAKE-OK via mitmproxy" in output and "Unknown scheme" not in output
    assert len(model.requests) == 1
