"""Build the one-file binary dist/codex[.exe] from spec/codex.spec, in a virtualenv of pinned requirements.

    python build/pyinstaller.py                 # dist/codex (dist/codex.exe on Windows)
    python build/pyinstaller.py --asset-name    # also copies it to dist/codex-<version>-<os>-<arch>[.exe]
    python build/pyinstaller.py --no-venv       # use the running Python's packages (PyInstaller installed)

By default the build runs in build/_work/venv-<python>-<hash>/, made on first use and installed
from build/requirements/pyinstaller.txt with `pip install --require-hashes` (the only network
use, and it is hash-checked). The same requirements give the same contents on every run; the
spec stamps BUILD_VARIANT = "pyinstaller" into a staged copy, never into the tree. On Linux the file
is a launcher followed by the one-folder build (build/launcher.py); elsewhere it is PyInstaller's onefile.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assets import ROOT, asset_name, host_arch, host_os, package_version

__all__ = ["build_binary", "main", "prepare_venv"]

SPEC = ROOT / "spec" / "codex.spec"
REQUIREMENTS = ROOT / "build" / "requirements" / "pyinstaller.txt"
WORK = ROOT / "build" / "_work"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def prepare_venv(work: Path = WORK, python: str = sys.executable) -> Path:
    """A virtualenv holding exactly the pinned build requirements; reused while they are unchanged."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = work / f"venv-py{sys.version_info.major}.{sys.version_info.minor}-{digest}"
    marker = venv / "requirements.sha256"
    if marker.is_file() and marker.read_text(encoding="utf-8") == digest:
        return _venv_python(venv)
    # Made beside its final place and moved there when complete, so a concurrent build never sees half
    # of one (we only ever run `python -m ...` from it, which does not care where the folder lives).
    scratch = work / f"{venv.name}.tmp{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"creating {venv} from {REQUIREMENTS.relative_to(ROOT)}", flush=True)
    subprocess.run([python, "-m", "venv", str(scratch)], check=True)
    subprocess.run(
        [str(_venv_python(scratch)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--only-binary=:all:", "-r", str(REQUIREMENTS)],
        check=True,
    )
    (scratch / marker.name).write_text(digest, encoding="utf-8")
    if venv.exists() and not marker.is_file():
        shutil.rmtree(venv, ignore_errors=True)  # a stale or broken one
    try:
        scratch.rename(venv)
    except OSError:  # another build finished first: use its copy
        shutil.rmtree(scratch, ignore_errors=True)
    return _venv_python(venv)


def build_binary(python: Path | str, distpath: Path, workpath: Path, repository: str | None = None) -> Path:
    """Run PyInstaller on spec/codex.spec; return the path of the binary."""
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same module order, so the same archive, every run
    env["CODEX_BUILD_STAGE"] = str(workpath / "stage")
    if repository:
        env["CODEX_BUILD_REPOSITORY"] = repository
    command = [
        str(python), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", str(distpath), "--workpath", str(workpath), str(SPEC),
    ]
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    binary = distpath / ("codex.exe" if os.name == "nt" else "codex")
    if not binary.is_file():
        raise SystemExit(f"PyInstaller finished but {binary} is missing")
    return binary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pyinstaller.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--distpath", type=Path, default=ROOT / "dist", help="where the binary goes (default: dist/)")
    parser.add_argument("--workpath", type=Path, default=WORK / "pyinstaller", help="PyInstaller's scratch folder")
    parser.add_argument("--no-venv", action="store_true", help="build with the running Python's packages")
    parser.add_argument("--asset-name", action="store_true", help="also copy the binary to its release name")
    parser.add_argument(
        "--repository", default=os.environ.get("GITHUB_REPOSITORY"),
        help="owner/name of the GitHub repository that publishes releases, for `codex update` "
        "(default: $GITHUB_REPOSITORY)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        python = Path(sys.executable) if args.no_venv else prepare_venv()
        binary = build_binary(python, args.distpath.resolve(), args.workpath.resolve(), args.repository)
    except subprocess.CalledProcessError as exc:
        print(f"build failed: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}", file=sys.stderr)
        return 1
    outputs = [binary]
    if args.asset_name:
        named = binary.with_name(asset_name(package_version(), host_os(), host_arch()))
        shutil.copy2(binary, named)
        outputs.append(named)
    for path in outputs:
        size = path.stat().st_size
        print(f"built {path} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
