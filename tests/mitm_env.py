"""mitmproxy in a virtualenv of its own, created once and cached for the TLS tests.

mitmproxy pins an h11 that conflicts with httpx's, so it never goes into the test environment:
`mitmdump_path()` creates `~/.cache/codex-py-tests/mitm-venv` (or `$CODEX_TEST_CACHE/mitm-venv`)
with `python -m venv` + `pip install mitmproxy==<MITMPROXY_VERSION>` on first use and returns the
`mitmdump` inside it. Creation is idempotent (a stamp file records the pinned version), guarded by
a lock file so parallel test processes wait for one another, and rebuilt when the stamp is stale.
When PyPI cannot be reached the caller skips with `MitmUnavailable`'s message; any other install
failure is an error. Run `python tests/mitm_env.py` to create the venv ahead of the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["MITMPROXY_VERSION", "MitmUnavailable", "mitmdump_path", "venv_dir"]

MITMPROXY_VERSION = "11.0.2"
_INSTALL_TIMEOUT = 900.0


class MitmUnavailable(Exception):
    """mitmproxy could not be installed because PyPI is unreachable (the test is skipped)."""


def venv_dir() -> Path:
    base = os.environ.get("CODEX_TEST_CACHE", "").strip()
    root = Path(base) if base else Path.home() / ".cache" / "codex-py-tests"
    return root / "mitm-venv"


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


def _stamp_text() -> str:
    return f"mitmproxy=={MITMPROXY_VERSION} python={sys.version_info[0]}.{sys.version_info[1]}\n"


def _is_ready(venv: Path) -> bool:
    stamp = venv / "codex-stamp.txt"
    return _bin(venv, "mitmdump").exists() and stamp.exists() and stamp.read_text() == _stamp_text()


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _pypi_reachable(python: Path) -> bool:
    probe = subprocess.run(
        [str(python), "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest",
         str(venv_dir().parent / "probe"), f"mitmproxy=={MITMPROXY_VERSION}"],
        capture_output=True, env=_pip_env(), timeout=120,
    )
    shutil.rmtree(venv_dir().parent / "probe", ignore_errors=True)
    return probe.returncode == 0


def _create(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    python = _bin(venv, "python")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"mitmproxy=={MITMPROXY_VERSION}"],
        capture_output=True, text=True, env=_pip_env(), timeout=_INSTALL_TIMEOUT,
    )
    if install.returncode != 0:
        if not _pypi_reachable(python):
            shutil.rmtree(venv, ignore_errors=True)
            raise MitmUnavailable(f"PyPI is unreachable, so mitmproxy=={MITMPROXY_VERSION} cannot be installed")
        raise RuntimeError(f"pip install mitmproxy failed:\n{install.stdout}\n{install.stderr}")
    (venv / "codex-stamp.txt").write_text(_stamp_text())


def mitmdump_path() -> Path:
    """The cached venv's `mitmdump`, creating the venv first if needed."""
    venv = venv_dir()
    if _is_ready(venv):
        return _bin(venv, "mitmdump")
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock = venv.parent / "mitm-venv.lock"
    deadline = time.monotonic() + _INSTALL_TIMEOUT + 60
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if _is_ready(venv):
                return _bin(venv, "mitmdump")
            if time.monotonic() > deadline or time.time() - lock.stat().st_mtime > _INSTALL_TIMEOUT + 60:
                lock.unlink(missing_ok=True)  # a crashed creator left it behind
            time.sleep(1)
    try:
        os.write(fd, str(os.getpid()).encode())
        if not _is_ready(venv):
            _create(venv)
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)
    return _bin(venv, "mitmdump")


if __name__ == "__main__":
    started = time.monotonic()
    print(f"{mitmdump_path()} ready in {time.monotonic() - started:.1f} s")
