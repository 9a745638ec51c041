"""Build dist/codex.pyz: one file that runs on CPython >= 3.10 with no packages installed.

    python build/zipapp.py                      # dist/codex.pyz
    python build/zipapp.py --asset-name         # also dist/codex-<version>.pyz
    python build/zipapp.py --wheels DIR         # take the wheels from DIR (offline), still hash-checked

The archive holds `#!/usr/bin/env python3`, a `__main__.py`, `codex.py`, the package's runtime
files (`codex_cli/*.py`, `*.md`, stamped BUILD_VARIANT = "zipapp"), bytecode of the modules that
start-up imports (for the building Python's version; see `startup_bytecode`), and the pure-Python runtime
dependencies unpacked from the wheels pinned in build/requirements/runtime.txt (httpx, httpcore,
h11, idna, certifi with cacert.pem, truststore, tomli, socksio for SOCKS proxies), with their licence
files. msgspec is left out: codex_cli.jsoncodec falls back to the json module with the same output. Entries are
sorted and carry one fixed timestamp, so the same tree and wheels give the same bytes.
Missing wheels are fetched by `pip download --require-hashes`; every wheel is checked against
its pinned sha256 before use.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import py_compile
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assets import ROOT, package_version, stage_package, zipapp_name

__all__ = ["Pin", "build_zipapp", "main", "read_pins", "wheel_entries"]

REQUIREMENTS = ROOT / "build" / "requirements" / "runtime.txt"
WORK = ROOT / "build" / "_work"
SHEBANG = b"#!/usr/bin/env python3\n"
# 1980-01-01, the earliest time a zip entry can hold: no build date leaks into the archive.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAIN = '''\
"""Entry point of the codex zipapp: check the Python version, then run codex.py's main()."""
import sys

if sys.version_info < (3, 10):
    sys.exit("codex needs Python 3.10 or newer; this is " + sys.version.split()[0])

from codex import main

sys.exit(main())
'''
_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
# Imports the modules that `codex --version` and `codex --help` load, and prints their files.
_PROBE = """\
import contextlib, io, sys
sys.path.insert(0, sys.argv.pop(1))
import codex
for args in (["--version"], ["--help"]):
    sys.argv = ["codex", *args]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        codex.main()
print("\\n".join(sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})))
"""
_LICENSE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$|/licenses/", re.I)


@dataclass(frozen=True)
class Pin:
    """One line of a hash-pinned requirements file."""

    name: str
    version: str
    hashes: frozenset[str]

    @property
    def wheel_prefix(self) -> str:
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


def read_pins(path: Path = REQUIREMENTS) -> list[Pin]:
    """Parse `name==version \\ --hash=sha256:...` entries (continuation lines joined)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = _REQUIREMENT.match(line)
        if match:
            hashes = frozenset(_HASH.findall(line))
            if not hashes:
                raise SystemExit(f"{path}: {match.group(1)} has no --hash")
            pins.append(Pin(match.group(1), match.group(2), hashes))
    return pins


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _find_wheel(pin: Pin, wheels: Path) -> Path | None:
    for candidate in sorted(wheels.glob(f"{pin.wheel_prefix}*-none-any.whl")):
        if candidate.name.lower().startswith(pin.wheel_prefix) and _sha256(candidate) in pin.hashes:
            return candidate
    return None


def fetch_wheels(pins: list[Pin], wheels: Path, download: bool = True) -> list[Path]:
    """The pure-Python wheel of every pin, hash-checked; `pip download` fetches the missing ones."""
    found = {pin: _find_wheel(pin, wheels) for pin in pins}
    if any(path is None for path in found.values()) and download:
        wheels.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheels) as fresh:  # whole files only, even with builds in parallel
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--require-hashes", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
                 "--python-version", "3.10", "--dest", fresh, "-r", str(REQUIREMENTS)],
                check=True,
            )
            for wheel in Path(fresh).glob("*.whl"):
                os.replace(wheel, wheels / wheel.name)
        found = {pin: _find_wheel(pin, wheels) for pin in pins}
    missing = [f"{pin.name}=={pin.version}" for pin, path in found.items() if path is None]
    if missing:
        raise SystemExit(f"no hash-matching pure-Python wheel in {wheels} for: {', '.join(missing)}")
    return [path for path in found.values() if path is not None]


def wheel_entries(wheel: Path) -> Iterator[tuple[str, bytes]]:
    """The files of a wheel that belong in the archive: modules, package data, licence texts."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith("/") or "__pycache__/" in name or name.endswith((".pyc", ".pyi")):
                continue
            top = name.split("/", 1)[0]
            if top.endswith(".dist-info"):
                if _LICENSE.search(name):
                    yield name, archive.read(name)
                continue
            if top.endswith(".data"):
                continue  # scripts and headers: nothing the runtime imports
            yield name, archive.read(name)


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.create_system = 3  # unix, whatever the build host: the same bytes everywhere
    archive.writestr(info, data, compresslevel=9)


def startup_bytecode(stage: Path) -> dict[str, bytes]:
    """Bytecode of the staged modules that `--version` and `--help` import, for this Python.

    A zip cannot cache bytecode, so every start would compile them again. zipimport takes
    `name.pyc` beside `name.py` when its magic number matches the running Python and falls back
    to the source otherwise, so other versions lose nothing. Unchecked hash-based pycs carry no
    timestamp: the same source gives the same bytes.
    """
    probe = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE, str(stage)], capture_output=True, text=True, check=True
    )
    compiled: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for line in probe.stdout.splitlines():
            source = Path(line)
            if source.suffix != ".py" or not source.is_relative_to(stage):
                continue
            name = source.relative_to(stage).as_posix()
            target = Path(scratch) / "out.pyc"
            py_compile.compile(
                str(source), str(target), dfile=name, doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            compiled[name + "c"] = target.read_bytes()
    return compiled


def build_zipapp(
    output: Path, wheels: list[Path], stage: Path, repository: str | None = None, bytecode: bool = True
) -> list[str]:
    """Write the archive; return the entry names."""
    entries: dict[str, bytes] = {"__main__.py": MAIN.encode("utf-8")}
    for path in stage_package(stage, "zipapp", repository):
        entries[path.relative_to(stage).as_posix()] = path.read_bytes()
    if bytecode:
        entries.update(startup_bytecode(stage))
    for wheel in wheels:
        for name, data in wheel_entries(wheel):
            if name in entries:
                raise SystemExit(f"{wheel.name} would overwrite {name}")
            entries[name] = data
    if any(name.startswith("msgspec/") for name in entries):
        raise SystemExit("msgspec must not be vendored: it is compiled, and optional")
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            _write_entry(archive, name, entries[name])
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_bytes(buffer.getvalue())
    temporary.chmod(0o755)
    os.replace(temporary, output)
    return sorted(entries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="zipapp.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=ROOT / "dist" / "codex.pyz", help="default: dist/codex.pyz"
    )
    parser.add_argument("--wheels", type=Path, help="folder of wheels to use instead of downloading (hash-checked)")
    parser.add_argument("--asset-name", action="store_true", help="also copy the archive to its release name")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="leave out the start-up bytecode (see startup_bytecode)"
    )
    parser.add_argument(
        "--repository", default=os.environ.get("GITHUB_REPOSITORY"),
        help="owner/name of the GitHub repository that publishes releases, for `codex update` "
        "(default: $GITHUB_REPOSITORY)",
    )
    args = parser.parse_args(argv)
    pins = read_pins()
    try:
        wheels = fetch_wheels(pins, args.wheels or WORK / "wheels", download=args.wheels is None)
    except subprocess.CalledProcessError as exc:
        print(f"pip download failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    output = args.output.resolve()
    with tempfile.TemporaryDirectory(prefix="codex-zipapp-") as stage:
        names = build_zipapp(output, wheels, Path(stage) / "src", args.repository, not args.no_bytecode)
    outputs = [output]
    if args.asset_name:
        named = output.with_name(zipapp_name(package_version()))
        named.write_bytes(output.read_bytes())
        named.chmod(0o755)
        outputs.append(named)
    vendored = ", ".join(f"{pin.name} {pin.version}" for pin in pins)
    for path in outputs:
        print(f"built {path} ({path.stat().st_size / 1e3:.0f} kB, {len(names)} files; vendored: {vendored})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
