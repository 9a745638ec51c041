"""`codex update`: tells each way of installing apart and says how to update it, without downloading anything.

The zipapp and the PyInstaller binary are checked for real in tests/test_build.py; here the facts a
process reports about itself are given directly to `classify()`, and this checkout is checked as is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli import update
from codex_cli.update import Facts, classify

ROOT = Path(__file__).resolve().parents[1]
RELEASES = "https://github.com/acme/codex/releases/latest"


def _facts(**changes: object) -> Facts:
    base = {
        "frozen": False,
        "executable": "/usr/bin/python3",
        "package_dir": "/nowhere/codex_cli",
        "archive": None,
        "prefix": "/usr",
        "direct_url": None,
        "editable": False,
    }
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def test_classify_frozen_is_a_binary_replaced_from_the_release(tmp_path: Path) -> None:
    exe = tmp_path / "codex"
    exe.write_bytes(b"")
    found = classify(_facts(frozen=True, executable=str(exe)), RELEASES)
    assert found is not None and found.method == "binary" and found.path == str(exe.resolve())
    assert any(RELEASES in step and "SHA256SUMS" in step for step in found.steps)
    assert any(update._binary_asset() in step for step in found.steps)


def test_classify_frozen_inside_a_caskroom_is_homebrew() -> None:
    found = classify(_facts(frozen=True, executable="/opt/homebrew/Caskroom/codex-py/0.1.0/codex"), RELEASES)
    assert found is not None and found.method == "homebrew"
    assert found.steps == (f"brew upgrade --cask {update.CASK_TOKEN}",)


def test_classify_zipimported_package_is_the_zipapp() -> None:
    found = classify(_facts(archive="/home/me/bin/codex.pyz", package_dir="/home/me/bin/codex.pyz/codex_cli"), RELEASES)
    assert found is not None and (found.method, found.path) == ("zipapp", "/home/me/bin/codex.pyz")
    assert any("codex-<version>.pyz" in step for step in found.steps)


def test_classify_site_packages_is_pip_with_this_interpreter() -> None:
    site = "/home/me/.venv/lib/python3.12/site-packages/codex_cli"
    found = classify(_facts(package_dir=site, executable="/home/me/.venv/bin/python"), RELEASES)
    assert found is not None and found.method == "pip"
    assert found.steps == (f"/home/me/.venv/bin/python -m pip install --upgrade '{update.DISTRIBUTION}'",)


def test_classify_pip_from_a_git_url_reinstalls_from_it() -> None:
    site = "/usr/lib/python3/dist-packages/codex_cli"
    found = classify(_facts(package_dir=site, direct_url="git+https://example.org/codex.git"), RELEASES)
    assert found is not None and found.steps[0].endswith("'git+https://example.org/codex.git'")


def test_classify_pipx_venv_is_pipx() -> None:
    prefix = "/home/me/.local/share/pipx/venvs/codex-cli-py"
    found = classify(_facts(package_dir=f"{prefix}/lib/python3.12/site-packages/codex_cli", prefix=prefix), RELEASES)
    assert found is not None and found.method == "pipx" and found.steps == (f"pipx upgrade {update.DISTRIBUTION}",)


def test_classify_checkout_is_source_and_pulls_with_git(tmp_path: Path) -> None:
    (tmp_path / "codex_cli").mkdir()
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "codex.py").write_text("", encoding="utf-8")
    found = classify(_facts(package_dir=str(tmp_path / "codex_cli")), RELEASES)
    assert found is not None and found.method == "source" and RELEASES in found.steps[0]
    (tmp_path / ".git").mkdir()
    found = classify(_facts(package_dir=str(tmp_path / "codex_cli")), RELEASES)
    assert found is not None and found.steps == (f"git -C {tmp_path} pull --ff-only",)


def test_classify_editable_install_in_site_packages_path_is_not_pip(tmp_path: Path) -> None:
    found = classify(_facts(package_dir=str(tmp_path / "site-packages" / "codex_cli"), editable=True), RELEASES)
    assert found is None


def test_classify_unknown_layout_is_none() -> None:
    assert classify(_facts(), RELEASES) is None


def test_current_facts_of_this_checkout_say_source() -> None:
    facts = update.current_facts()
    assert not facts.frozen and facts.archive is None
    found = classify(facts, RELEASES)
    assert found is not None and (found.method, found.path) == ("source", str(ROOT))


def test_main_prints_method_path_and_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert update.main(argparse.Namespace()) == 0
    out = capsys.readouterr().out
    assert "(source, build variant source)" in out and f"installed at: {ROOT}" in out
    assert "does not download anything" in out


def test_register_adds_update_with_a_lazy_handler() -> None:
    parser = argparse.ArgumentParser(prog="codex")
    update.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["update"]).handler == "codex_cli.update:main"


def test_update_never_imports_network_modules() -> None:
    code = (
        "import sys, argparse, io, contextlib\n"
        "from codex_cli import update\n"
        "with contextlib.redirect_stdout(io.StringIO()): update.main(argparse.Namespace())\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'ssl', 'urllib.request') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.stdout.strip() == "[]", run.stderr
