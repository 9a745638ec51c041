"""Fast startup: `--version` and help load no network or JSON stack; modules stay small and documented."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codex_cli"
HEAVY_MODULES = ("httpx", "ssl", "msgspec", "json")
MAX_MODULE_LINES = 1500

# Runs codex.py's main() in-process, then writes the loaded module names to the file in argv[1].
# It must import nothing that the CLI would not: only sys, which every interpreter has loaded already.
_DRIVER = """
import sys
out_path, args = sys.argv[1], sys.argv[2:]
sys.argv = ["codex", *args]
sys.path.insert(0, {root!r})
import codex
try:
    code = codex.main()
except SystemExit as exc:
    code = exc.code
with open(out_path, "w", encoding="utf-8") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""


def _loaded_modules(tmp_path: Path, *args: str) -> set[str]:
    out_path = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER.format(root=str(ROOT)), str(out_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout, "the command printed nothing"
    return set(out_path.read_text(encoding="utf-8").splitlines())


def test_version_prints_codex_cli_and_package_version() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "codex.py"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"codex-cli {VERSION}\n"


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["exec", "--help"]], ids=["version", "help", "exec-help"]
)
def test_startup_commands_leave_heavy_modules_unloaded(tmp_path: Path, args: list[str]) -> None:
    modules = _loaded_modules(tmp_path, *args)
    assert "codex_cli.cli" in modules  # the driver really ran the CLI
    loaded = sorted(name for name in modules if name.split(".")[0] in HEAVY_MODULES)
    assert loaded == []


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_package_module_is_small_and_opens_with_docstring(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    body = ast.parse(source).body
    assert body, "empty module"
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant), "no module docstring"
    assert isinstance(first.value.value, str) and first.value.value.strip(), "no module docstring"
