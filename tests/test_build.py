"""The release artifacts, built from this tree and run with nothing else installed.

`build/zipapp.py` and `build/pyinstaller.py` each run once per session into a temporary folder.
The binary build takes about 20 s here (plus a one-off virtualenv of pinned requirements under
build/_work/); CODEX_TEST_BUILD_BINARY=0 skips the `test_binary_*` tests. CODEX_TEST_BINARY and
CODEX_TEST_ZIPAPP point the tests at artifacts built elsewhere instead (the release workflow's
smoke tests do that); CODEX_TEST_PYTHONS adds interpreters for the zipapp to run on. Every run
gets a fresh environment: PATH=/usr/bin:/bin, no PYTHONPATH, no
SSL_CERT_FILE/SSL_CERT_DIR (this machine exports both), the CA only through CODEX_CA_CERTIFICATE, and an
XDG_CACHE_HOME of the session's own, where the Linux binary unpacks itself (build/launcher.py).
"""

from __future__ import annotations

import atexit
import difflib
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build"))
sys.path.insert(0, str(ROOT / "scripts"))

import assets  # noqa: E402
from fake_responses import message  # noqa: E402
from intercepting_proxy import Socks5Proxy  # noqa: E402

VERSION = assets.package_version()
MB = 1_000_000
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# Where the Linux binary unpacks itself during this session (never the developer's ~/.cache).
RUNTIME_CACHE = tempfile.mkdtemp(prefix="codex-test-runtime-")
atexit.register(shutil.rmtree, RUNTIME_CACHE, True)


def _clean_env(**extra: str) -> dict[str, str]:
    if os.name == "nt":
        keep = ("SYSTEMROOT", "SYSTEMDRIVE", "TEMP", "TMP", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "COMSPEC")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env["PATH"] = os.path.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")
    else:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "XDG_CACHE_HOME": RUNTIME_CACHE}
    env.update(extra)
    return env


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=180, **kwargs)


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CODEX_TEST_ZIPAPP")
    if given:
        return Path(given).resolve()
    output = tmp_path_factory.mktemp("zipapp") / "codex.pyz"
    build = _run([sys.executable, str(ROOT / "build" / "zipapp.py"), "--output", str(output)])
    assert build.returncode == 0, build.stderr
    return output


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This Python without any packages: a virtualenv without pip."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = _run([str(python), "-I", "-c", "import httpx"], env=_clean_env())
    assert probe.returncode != 0, "the bare interpreter must not see httpx"
    return str(python)


@pytest.fixture(scope="session")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("CODEX_TEST_BINARY")
    if given:
        return Path(given).resolve()
    if os.environ.get("CODEX_TEST_BUILD_BINARY", "1") == "0":
        pytest.skip("CODEX_TEST_BUILD_BINARY=0: the PyInstaller build is off")
    where = tmp_path_factory.mktemp("pyinstaller")
    build = _run([
        sys.executable, str(ROOT / "build" / "pyinstaller.py"),
        "--distpath", str(where / "dist"), "--workpath", str(where / "work"),
    ])
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return where / "dist" / ("codex.exe" if os.name == "nt" else "codex")


def _registered(command: str) -> bool:
    from codex_cli.cli_parser import build_parser

    for action in build_parser()._actions:
        if isinstance(action.choices, dict) and command in action.choices and not action.option_strings:
            return True
    return False


def _exec_over_tls(command: list[str], tmp_path: Path, fake_server, *, with_ca: bool = True, **extra_env: str):
    """`codex exec --json -` against the fake model over https, trusting a fresh CA only via CODEX_CA_CERTIFICATE;
    `extra_env` adds variables (a proxy)."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = fake_server([{"output": [message("hello over tls")]}], tls=context)
    home = tmp_path / "codex_home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        'model = "gpt-5.5"\nmodel_provider = "mock"\n[model_providers.mock]\nname = "mock"\n'
        f'base_url = "{server.base_url}"\nenv_key = "MOCK_API_KEY"\n'
        "request_max_retries = 0\nstream_max_retries = 0\n",
        encoding="utf-8",
    )
    env = _clean_env(CODEX_HOME=str(home), HOME=str(tmp_path), USERPROFILE=str(tmp_path), MOCK_API_KEY="test-key")
    if with_ca:
        env["CODEX_CA_CERTIFICATE"] = str(ca_file)
    env.update(extra_env)
    run = _run([*command, "exec", "--skip-git-repo-check", "--json", "-"], input="say hello", cwd=tmp_path, env=env)
    return run, server


def _assert_answered(run: subprocess.CompletedProcess[str], server) -> list[dict[str, object]]:
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    messages = [
        e["item"]["text"] for e in events if e.get("type") == "item.completed" and e["item"]["type"] == "agent_message"
    ]
    assert messages == ["hello over tls"]
    assert len(server.response_requests) == 1
    assert "say hello" in json.dumps(server.response_requests[0].body)
    return events


# -- the zipapp ----------------------------------------------------------------------------------


def test_zipapp_version_runs_on_a_bare_python(zipapp: Path, bare_python: str) -> None:
    run = _run([bare_python, "-I", str(zipapp), "--version"], env=_clean_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"codex-cli {VERSION}\n"


def test_zipapp_exec_over_tls_with_runtime_ca_answers(
    zipapp: Path, bare_python: str, tmp_path: Path, fake_server
) -> None:
    run, server = _exec_over_tls([bare_python, "-I", str(zipapp)], tmp_path, fake_server)
    _assert_answered(run, server)


def test_zipapp_exec_over_tls_without_the_ca_fails_with_a_tls_error(
    zipapp: Path, bare_python: str, tmp_path: Path, fake_server
) -> None:
    run, server = _exec_over_tls([bare_python, "-I", str(zipapp)], tmp_path, fake_server, with_ca=False)
    assert run.returncode != 0
    assert "CODEX_CA_CERTIFICATE" in run.stdout + run.stderr
    assert server.response_requests == []


def test_zipapp_exec_through_a_socks5_proxy_with_a_password(
    zipapp: Path, bare_python: str, tmp_path: Path, fake_server
) -> None:
    """SOCKS support (socksio) is carried inside: the zipapp used to say `pip install httpx[socks]`."""
    with Socks5Proxy(require_auth=("alice", "s3cret")) as socks:
        run, server = _exec_over_tls([bare_python, "-I", str(zipapp)], tmp_path, fake_server,
                                     ALL_PROXY=socks.url("socks5h", ("alice", "s3cret")))
        _assert_answered(run, server)
        assert socks.requests == [("127.0.0.1", server.port)] and socks.users == ["alice"]


def test_zipapp_without_msgspec_behaves_like_with_it(
    zipapp: Path, bare_python: str, tmp_path: Path, fake_server
) -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from codex_cli.jsoncodec import json_backend; print(json_backend())"
    )
    bare = _run([bare_python, "-I", "-c", probe, str(zipapp)], env=_clean_env())
    assert bare.stdout.strip() == "json", bare.stderr
    rich = _run([sys.executable, "-I", "-c", probe, str(zipapp)], env=_clean_env())
    if rich.stdout.strip() != "msgspec":
        pytest.skip("msgspec is not installed for this Python")
    outputs = []
    for name, python in (("json", bare_python), ("msgspec", sys.executable)):
        where = tmp_path / name
        where.mkdir()
        run, server = _exec_over_tls([python, "-I", str(zipapp)], where, fake_server)
        _assert_answered(run, server)
        body = json.dumps(server.response_requests[0].body, sort_keys=True).replace(str(where), "DIR")
        # Thread, item and prompt-cache ids are new UUIDs in every session.
        outputs.append((UUID.sub("UUID", run.stdout), UUID.sub("UUID", body)))
    for (json_out, json_body), (msgspec_out, msgspec_body) in [outputs]:
        assert json_out == msgspec_out
        diff = difflib.unified_diff(json_body.split(", "), msgspec_body.split(", "), lineterm="", n=0)
        assert json_body == msgspec_body, "\n".join(diff)


def test_zipapp_holds_only_runtime_files_stamped_and_without_msgspec(zipapp: Path) -> None:
    data = zipapp.read_bytes()
    assert data.startswith(b"#!/usr/bin/env python3\n")
    assert len(data) <= 2 * MB
    if os.name != "nt":
        assert os.access(zipapp, os.X_OK)
    with zipfile.ZipFile(zipapp) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        tops = {name.split("/")[0] for name in names}
        wanted = {"__main__.py", "codex.py", "codex_cli", "httpx", "httpcore", "h11", "idna", "certifi", "truststore",
                  "socksio"}
        assert wanted <= tops
        assert "certifi/cacert.pem" in names and "codex_cli/instructions.md" in names
        assert not any(top.startswith(("msgspec", "tests", "scripts", "build", "anyio", "sniffio")) for top in tops)
        assert 'BUILD_VARIANT = "zipapp"' in archive.read("codex_cli/version.py").decode()


def test_zipapp_build_twice_gives_identical_bytes(zipapp: Path, tmp_path: Path) -> None:
    if os.environ.get("CODEX_TEST_ZIPAPP"):
        pytest.skip("the zipapp was built elsewhere")
    again = tmp_path / "again.pyz"
    build = _run([sys.executable, str(ROOT / "build" / "zipapp.py"), "--output", str(again)])
    assert build.returncode == 0, build.stderr
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(zipapp.read_bytes()).digest()


def test_zipapp_reports_itself_as_a_zipapp(zipapp: Path, bare_python: str) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from codex_cli import update\n"
        "found = update.classify(update.current_facts(), 'RELEASES'); print(found.method); print(found.path)"
    )
    run = _run([bare_python, "-I", "-c", code, str(zipapp)], env=_clean_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["zipapp", str(zipapp)]
    if _registered("update"):
        shown = _run([bare_python, "-I", str(zipapp), "update"], env=_clean_env())
        assert shown.returncode == 0, shown.stderr
        assert "zipapp" in shown.stdout and str(zipapp) in shown.stdout


def _other_pythons() -> list[str]:
    """python3.10 ... python3.15 on PATH, plus CODEX_TEST_PYTHONS (paths joined with os.pathsep)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(10, 16) if minor != sys.version_info.minor]
    candidates += [path for path in os.environ.get("CODEX_TEST_PYTHONS", "").split(os.pathsep) if path]
    found = []
    for candidate in candidates:
        if candidate is None:
            continue
        probe = _run([candidate, "-I", "-c", "import sys; print(sys.version_info >= (3, 10))"], env=_clean_env())
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            found.append(candidate)
    return found


def test_zipapp_version_runs_on_every_other_installed_python(zipapp: Path) -> None:
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other CPython >= 3.10 on PATH")
    for python in pythons:
        run = _run([python, "-I", "-S", str(zipapp), "--version"], env=_clean_env())
        assert (python, run.returncode, run.stdout) == (python, 0, f"codex-cli {VERSION}\n"), run.stderr


# -- the PyInstaller binary ----------------------------------------------------------------------


def test_binary_version_with_a_bare_environment(binary: Path) -> None:
    run = _run([str(binary), "--version"], env=_clean_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"codex-cli {VERSION}\n"


def test_binary_exec_over_tls_with_runtime_ca_answers(binary: Path, tmp_path: Path, fake_server) -> None:
    run, server = _exec_over_tls([str(binary)], tmp_path, fake_server)
    _assert_answered(run, server)


def test_binary_exec_through_a_socks5_proxy(binary: Path, tmp_path: Path, fake_server) -> None:
    with Socks5Proxy() as socks:
        run, server = _exec_over_tls([str(binary)], tmp_path, fake_server, ALL_PROXY=socks.url())
        _assert_answered(run, server)
        assert socks.requests == [("127.0.0.1", server.port)]


def test_binary_is_under_15_mb(binary: Path) -> None:
    assert binary.stat().st_size <= 15 * MB


def test_binary_update_reports_a_binary(binary: Path) -> None:
    run = _run([str(binary), "update"], env=_clean_env())
    assert run.returncode == 0, run.stderr
    assert "(binary, build variant pyinstaller)" in run.stdout
    assert str(binary) in run.stdout  # the file a person replaces, not the copy the Linux launcher unpacked


def _is_launcher(binary: Path) -> bool:
    with binary.open("rb") as fh:
        return fh.read(9) == b"#!/bin/sh"


def test_binary_on_linux_unpacks_once_into_the_cache(binary: Path, tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("elsewhere the binary is PyInstaller's onefile")
    assert _is_launcher(binary)
    env = _clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), TMPDIR=str(tmp_path / "no-such-tmp"))
    for _ in range(2):
        run = _run([str(binary), "--version"], env=env)
        assert (run.returncode, run.stdout) == (0, f"codex-cli {VERSION}\n"), run.stderr
    unpacked = sorted((tmp_path / "cache" / "codex-py").iterdir())
    assert [path.name.startswith(f"codex-py-{VERSION}-") for path in unpacked] == [True]
    assert (unpacked[0] / "codex").is_file() and not any(p.name.startswith(".unpack") for p in unpacked)
    link = tmp_path / "apply_patch"
    link.symlink_to(binary)
    (tmp_path / "a.txt").write_text("old\n", encoding="utf-8")
    patch = "*** Begin Patch\n*** Update File: a.txt\n@@\n-old\n+new\n*** End Patch\n"
    run = _run([str(link), patch], env=env, cwd=tmp_path)  # the launcher's name chooses the patch tool
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "new\n"


NOEXEC_SCRIPT = """
set -e
mount -t tmpfs -o noexec tmpfs "$TMPDIR"
mount -t tmpfs -o noexec tmpfs "$XDG_CACHE_HOME"
mount -t tmpfs tmpfs /var/tmp  # the fallback, private to this namespace
findmnt -no OPTIONS "$TMPDIR" | grep -q noexec
"$1" --version
ls -d /var/tmp/codex-py-*/codex-py-*
"""


def test_binary_starts_where_tmpdir_and_the_cache_are_noexec(binary: Path, tmp_path: Path) -> None:
    """Hardened servers and CI images mount $TMPDIR noexec: PyInstaller's onefile died there ("libz.so.1: failed to
    map segment", exit 127). Here the cache is noexec too, so the launcher falls back to /var/tmp."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("needs Linux and unshare(1) for a private mount namespace")
    probe = _run(["unshare", "--user", "--map-root-user", "--mount", "true"])
    if probe.returncode != 0:
        pytest.skip(f"no user and mount namespaces here: {probe.stderr.strip()}")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cache").mkdir()
    env = _clean_env(TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    run = _run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", NOEXEC_SCRIPT, "sh", str(binary)],
               env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"codex-cli {VERSION}"


def test_binary_completion_bash_is_valid_bash(binary: Path, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None or os.name == "nt":
        pytest.skip("no bash")
    run = _run([str(binary), "completion", "bash"], env=_clean_env())
    assert run.returncode == 0, run.stderr
    script = tmp_path / "codex.bash"
    script.write_text(run.stdout, encoding="utf-8")
    assert _run([bash, "-n", str(script)]).returncode == 0


# -- names shared by the scripts, the workflows and `codex update` ------------------------------


def test_asset_names_are_the_ones_update_points_at() -> None:
    from codex_cli import update

    assert update._binary_asset() == assets.asset_name("<version>", assets.host_os(), assets.host_arch())
    assert assets.asset_name("1.2.3", "windows", "x86_64") == "codex-1.2.3-windows-x86_64.exe"
    assert assets.asset_name("1.2.3", "linux", "arm64") == "codex-1.2.3-linux-arm64"
    assert assets.zipapp_name("1.2.3") == "codex-1.2.3.pyz"


def test_stage_package_stamps_a_copy_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    before = (ROOT / "codex_cli" / "version.py").read_bytes()
    files = assets.stage_package(tmp_path / "stage", "zipapp", "acme/codex")
    stamped = (tmp_path / "stage" / "codex_cli" / "version.py").read_text(encoding="utf-8")
    assert 'BUILD_VARIANT = "zipapp"' in stamped and 'REPOSITORY = "acme/codex"' in stamped
    assert (ROOT / "codex_cli" / "version.py").read_bytes() == before
    assert all(path.suffix in (".py", ".md", ".typed") for path in files)
    assert not any("__pycache__" in path.parts for path in files)
