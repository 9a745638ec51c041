"""`codex update`: how this copy of codex was installed, and how to update it. It never downloads anything.

Detection, most specific first (the idea of yt-dlp's `_get_variant_and_executable_path()`):

    homebrew   a PyInstaller binary inside a Homebrew Caskroom
    binary     a PyInstaller binary (`sys.frozen`, `sys._MEIPASS`)
    zipapp     codex_cli was imported by a zipimporter: the archive is this copy
    pipx       a pip install inside a pipx virtualenv
    pip        codex_cli sits in a site-packages (or dist-packages) folder
    source     a checkout: codex_cli sits beside pyproject.toml and codex.py

`BUILD_VARIANT` (stamped by the build scripts) is shown beside it; the release repository is known
when the build stamped `REPOSITORY` into `version.py`. Anything else is an error that says where to
update by hand, as codex-rs does.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["CASK_TOKEN", "DISTRIBUTION", "Facts", "Installation", "classify", "current_facts", "main", "register"]

DISTRIBUTION = "codex-cli-py"  # the name in pyproject.toml
CASK_TOKEN = "codex-py"  # build/homebrew/codex-py.rb.template
_SITE_DIRS = ("site-packages", "dist-packages")


# Plain classes, not dataclasses: cli.py imports this module to build the parser, and `dataclasses`
# (with `inspect`) would add milliseconds to every `codex --version`.
class Facts:
    """What the running process tells about itself; `current_facts()` reads them."""

    __slots__ = ("archive", "direct_url", "editable", "executable", "frozen", "package_dir", "prefix")

    def __init__(
        self,
        frozen: bool,
        executable: str,
        package_dir: str,
        archive: str | None,  # the zipapp holding codex_cli, if a zipimporter loaded it
        prefix: str,
        direct_url: str | None,  # the pip install's source URL (PEP 610), when not from an index
        editable: bool,
    ) -> None:
        self.frozen = frozen
        self.executable = executable
        self.package_dir = package_dir
        self.archive = archive
        self.prefix = prefix
        self.direct_url = direct_url
        self.editable = editable


class Installation:
    """The answer: how, where, and the steps to update."""

    __slots__ = ("method", "path", "steps")

    def __init__(self, method: str, path: str, steps: tuple[str, ...]) -> None:
        self.method = method
        self.path = path
        self.steps = steps


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `codex update` to the tree."""
    parser = subparsers.add_parser(
        "update",
        help="say how this copy was installed and how to update it",
        description=(
            "Say how this copy of codex was installed (binary, Homebrew, zipapp, pip, pipx or a source\n"
            "checkout) and how to update it. Nothing is downloaded.\n\n"
            "example: codex update"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler="codex_cli.update:main")


def main(args: argparse.Namespace) -> int:
    """Handler of `codex update`."""
    from codex_cli.errors import CodexError
    from codex_cli.version import BUILD_VARIANT, VERSION

    found = classify(current_facts(), _releases_url())
    if found is None:
        raise CodexError(f"Could not detect the Codex installation method. Please update manually: {_releases_url()}")
    sys.stdout.write(f"codex-cli {VERSION} ({found.method}, build variant {BUILD_VARIANT})\n")
    sys.stdout.write(f"installed at: {found.path}\n")
    sys.stdout.write("to update:\n" + "".join(f"  {step}\n" for step in found.steps))
    sys.stdout.write("codex update does not download anything itself.\n")
    return 0


def current_facts() -> Facts:
    """Read the facts from this process."""
    import zipimport

    import codex_cli

    package_dir = os.path.dirname(os.path.abspath(codex_cli.__file__ or ""))
    loader = getattr(codex_cli, "__loader__", None)
    archive = loader.archive if isinstance(loader, zipimport.zipimporter) else None
    frozen = bool(getattr(sys, "frozen", False) or hasattr(sys, "_MEIPASS"))
    direct_url, editable = (None, False) if frozen or archive else _pip_origin()
    from codex_cli import launcher

    executable = (launcher.path() or sys.executable) if frozen else sys.executable  # the file a person replaces
    return Facts(frozen, executable, package_dir, archive, sys.prefix, direct_url, editable)


def classify(facts: Facts, releases: str) -> Installation | None:
    """Name the installation method and the steps to update it; None when it cannot be told."""
    if facts.frozen:
        executable = os.path.realpath(facts.executable)
        if "/Caskroom/" in executable.replace(os.sep, "/"):
            return Installation("homebrew", executable, (f"brew upgrade --cask {CASK_TOKEN}",))
        return Installation("binary", executable, (
            f"download {_binary_asset()} and SHA256SUMS from {releases}",
            "check it: sha256sum --check --ignore-missing SHA256SUMS (shasum -a 256 -c on macOS)",
            f"replace {executable} with it (and chmod +x it)",
        ))
    if facts.archive:
        return Installation("zipapp", facts.archive, (
            f"download codex-<version>.pyz and SHA256SUMS from {releases}",
            "check it: sha256sum --check --ignore-missing SHA256SUMS",
            f"replace {facts.archive} with it",
        ))
    parts = facts.package_dir.replace(os.sep, "/").split("/")
    if any(part in _SITE_DIRS for part in parts) and not facts.editable:
        python = facts.executable or "python3"
        prefix = facts.prefix.replace(os.sep, "/")
        if "/pipx/venvs/" in prefix or "/pipx/shared/" in prefix:
            return Installation("pipx", facts.package_dir, (f"pipx upgrade {DISTRIBUTION}",))
        target = facts.direct_url or DISTRIBUTION
        return Installation("pip", facts.package_dir, (f"{python} -m pip install --upgrade '{target}'",))
    root = os.path.dirname(facts.package_dir)
    if os.path.isfile(os.path.join(root, "pyproject.toml")) and os.path.isfile(os.path.join(root, "codex.py")):
        if os.path.isdir(os.path.join(root, ".git")):
            steps: tuple[str, ...] = (f"git -C {root} pull --ff-only",)
        else:
            steps = (f"replace {root} with a newer source release from {releases}",)
        return Installation("source", root, steps)
    return None


def _pip_origin() -> tuple[str | None, bool]:
    """Where pip installed this distribution from (PEP 610 direct_url.json), and whether it is editable."""
    import importlib.metadata
    import json

    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None, False
    if not text:
        return None, False
    try:
        data = json.loads(text)
    except ValueError:
        return None, False
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None, False
    dir_info, vcs_info = data.get("dir_info"), data.get("vcs_info")
    editable = isinstance(dir_info, dict) and bool(dir_info.get("editable"))
    if isinstance(vcs_info, dict) and isinstance(vcs_info.get("vcs"), str):
        return f"{vcs_info['vcs']}+{data['url']}", editable
    return str(data["url"]), editable


def _releases_url() -> str:
    from codex_cli import version

    repository = getattr(version, "REPOSITORY", None)
    if isinstance(repository, str) and repository:
        return f"https://github.com/{repository}/releases/latest"
    return "the project's GitHub Releases page"


def _binary_asset() -> str:
    """The release file for this platform; build/assets.py asset_name() makes the same name (a test checks)."""
    import platform

    os_name = {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
    return f"codex-<version>-{os_name}-{arch}{'.exe' if os_name == 'windows' else ''}"
