"""Release asset names and the stamped copy of the package that both build scripts pack.

One place decides what a release file is called, so the build scripts, the workflows and
`scripts/render_cask.py` agree:

    codex-<version>-<os>-<arch>[.exe]   the PyInstaller binary (os: linux, macos, windows;
                                        arch: x86_64, arm64 on every OS)
    codex-<version>.pyz                 the zipapp

The build scripts never change the tree: `stage_package()` copies `codex.py` and
`codex_cli/` elsewhere and stamps `BUILD_VARIANT` (and the GitHub repository, for
`codex update`) into the copy's `version.py`.

    python build/assets.py name [--os OS --arch ARCH | --zipapp] [--version V]
    python build/assets.py version              # VERSION from codex_cli/version.py
    python build/assets.py check-tag v1.2.3     # fails unless the tag matches codex_cli/version.py
"""

from __future__ import annotations

import argparse
import ast
import platform
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ROOT",
    "asset_name",
    "host_arch",
    "host_os",
    "main",
    "package_version",
    "stage_package",
    "zipapp_name",
]

ROOT = Path(__file__).resolve().parents[1]
OS_NAMES = ("linux", "macos", "windows")
ARCH_NAMES = ("x86_64", "arm64")
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
# What the package needs at run time: its modules and the files read through importlib.resources.
_PACKAGE_GLOBS = ("*.py", "*.md", "py.typed")
_VARIANT_LINE = re.compile(r'^BUILD_VARIANT = "[a-z]+"$', re.M)


def package_version(root: Path = ROOT) -> str:
    """VERSION from codex_cli/version.py, read without importing the package."""
    tree = ast.parse((root / "codex_cli" / "version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "VERSION" for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise SystemExit("codex_cli/version.py has no VERSION string")


def host_os() -> str:
    """linux, macos or windows."""
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    raise SystemExit(f"unsupported platform {sys.platform!r}")


def host_arch() -> str:
    """x86_64 or arm64, spelled the same on every OS."""
    machine = platform.machine().lower()
    if machine not in _ARCH_ALIASES:
        raise SystemExit(f"unsupported machine {platform.machine()!r}")
    return _ARCH_ALIASES[machine]


def asset_name(version: str, os_name: str, arch: str) -> str:
    """The release name of a binary: codex-<version>-<os>-<arch>, plus .exe on Windows."""
    if os_name not in OS_NAMES or arch not in ARCH_NAMES:
        raise ValueError(f"unknown target {os_name}/{arch}")
    return f"codex-{version}-{os_name}-{arch}{'.exe' if os_name == 'windows' else ''}"


def zipapp_name(version: str) -> str:
    """The release name of the zipapp."""
    return f"codex-{version}.pyz"


def stage_package(dest: Path, variant: str, repository: str | None = None, root: Path = ROOT) -> list[Path]:
    """Copy codex.py and codex_cli/ (runtime files only) to `dest`, stamped; return the files, sorted."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "codex_cli").mkdir(parents=True)
    shutil.copyfile(root / "codex.py", dest / "codex.py")
    files = [dest / "codex.py"]
    package = root / "codex_cli"
    for pattern in _PACKAGE_GLOBS:
        for source in sorted(package.rglob(pattern)):  # the package and its sub-packages (ui/, mcp_server/)
            if "__pycache__" in source.parts:
                continue
            target = dest / "codex_cli" / source.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            files.append(target)
    version_file = dest / "codex_cli" / "version.py"
    text = version_file.read_text(encoding="utf-8")
    text, count = _VARIANT_LINE.subn(f'BUILD_VARIANT = "{variant}"', text)
    if count != 1:
        raise SystemExit("codex_cli/version.py: expected one `BUILD_VARIANT = \"...\"` line to stamp")
    if repository:
        text += f'# Stamped by the build: where `codex update` points for new releases.\nREPOSITORY = "{repository}"\n'
    version_file.write_text(text, encoding="utf-8")
    return sorted(files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assets.py", description="Print release asset names; check a tag.")
    commands = parser.add_subparsers(dest="command", required=True)
    name = commands.add_parser("name", help="print an asset name (default: the binary for this host)")
    name.add_argument("--version", help="default: codex_cli/version.py")
    name.add_argument("--os", dest="os_name", choices=OS_NAMES, help="default: this host")
    name.add_argument("--arch", choices=ARCH_NAMES, help="default: this host")
    name.add_argument("--zipapp", action="store_true", help="the zipapp's name instead")
    commands.add_parser("version", help="print VERSION from codex_cli/version.py")
    tag = commands.add_parser("check-tag", help="fail unless TAG is v<VERSION>; print the version")
    tag.add_argument("tag")
    args = parser.parse_args(argv)
    version = package_version()
    if args.command == "version":
        print(version)
        return 0
    if args.command == "check-tag":
        if args.tag.removeprefix("refs/tags/") != f"v{version}":
            print(f"tag {args.tag} does not match codex_cli/version.py VERSION {version!r}", file=sys.stderr)
            return 1
        print(version)
        return 0
    version = args.version or version
    if args.zipapp:
        print(zipapp_name(version))
    else:
        print(asset_name(version, args.os_name or host_os(), args.arch or host_arch()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
