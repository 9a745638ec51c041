"""Fast startup: `--version` and help load no network or JSON stack; modules stay small and documented."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codex_cli.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codex_cli"
HEAVY_MODULES = ("httpx", "ssl", "msgspec", "json")
MAX_MODULE_LINES = 1500

# Runs codex.py's main() in-process, then writes the loaded module names to the file in argv[1] (not the names
# the CLI blocks with a None entry, e.g. `httpx._main`). It must import nothing that the CLI would not: only sys,
# which every interpreter has loaded already.
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
    out.write("\\n".join(sorted(name for name, module in sys.modules.items() if module is not None)))
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


@pytest.mark.parametrize(("args", "usage"), [(["help"], "usage: codex "), (["help", "exec"], "usage: codex exec "),
                                           (["help", "mcp", "add"], "usage: codex mcp add ")])
def test_help_command_shows_the_named_commands_help(args: list[str], usage: str) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "codex.py"), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(usage)


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["exec", "--help"]], ids=["version", "help", "exec-help"]
)
def test_startup_commands_leave_heavy_modules_unloaded(tmp_path: Path, args: list[str]) -> None:
    modules = _loaded_modules(tmp_path, *args)
    assert "codex_cli.cli" in modules  # the driver really ran the CLI
    loaded = sorted(name for name in modules if name.split(".")[0] in HEAVY_MODULES)
    assert loaded == []


# What a plain `codex exec` turn (no MCP servers, hooks, images, notify or chat wire; the model only answers) never
# needs: each is imported on the path that uses it (the patch engine with the first command). `httpx._main` is the
# httpx command line (click, pygments, rich), which httpx would load by itself.
EXEC_UNUSED_MODULES = (
    "codex_cli.chat_wire", "codex_cli.completion", "codex_cli.doctor", "codex_cli.hooks", "codex_cli.images",
    "codex_cli.ui.line_ui", "codex_cli.login_cli", "codex_cli.mcp_client", "codex_cli.notifications", "codex_cli.patch",
    "httpx._main",
)


def test_exec_loads_only_the_modules_on_its_path(tmp_path: Path, fake_server: Callable[..., Any]) -> None:
    from cli_harness import make_codex_env
    from fake_responses import message

    codex_env = make_codex_env(tmp_path)
    server = fake_server([{"output": [message("done")]}])
    codex_env.write_config(server.base_url)
    out_path = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER.format(root=str(ROOT)), str(out_path), "exec", "--json", "say done"],
        capture_output=True, text=True, timeout=60, cwd=codex_env.workdir, env=codex_env.env, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(out_path.read_text(encoding="utf-8").splitlines())
    assert {"codex_cli.session", "httpx"} <= modules  # the turn really ran
    assert sorted(modules.intersection(EXEC_UNUSED_MODULES)) == []


# `codex sandbox` wraps one process, so what it imports is most of what it costs (scripts/bench_sandbox.py):
# without a config file or -c it parses no TOML, and it spawns without the subprocess module. (Under
# workspace-write it may record placeholders in JSON.)
SANDBOX_UNUSED_MODULES = ("argparse", "subprocess", "tomllib", "tomli", "json", "datetime", "codex_cli.cli_parser")


@pytest.mark.skipif(sys.platform != "linux", reason="codex sandbox linux runs on Linux")
def test_sandbox_command_loads_only_what_it_needs(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    out_path = tmp_path / "modules.txt"
    env = {**os.environ, "CODEX_HOME": str(home), "HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER.format(root=str(ROOT)), str(out_path), "sandbox", "linux", "--",
         sys.executable, "-c", "print('ran')"],
        capture_output=True, text=True, timeout=60, cwd=work, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ran\n"
    modules = set(out_path.read_text(encoding="utf-8").splitlines())
    assert "codex_cli.sandbox_linux" in modules
    # A site .pth hook of the interpreter may have imported some of them before codex started.
    before = set(subprocess.run([sys.executable, "-c", "import sys; print('\\n'.join(sys.modules))"],
                                capture_output=True, text=True, check=True).stdout.split())
    assert sorted(modules.intersection(SANDBOX_UNUSED_MODULES) - before) == []


SUBPACKAGE_INITS = sorted(path for path in PACKAGE.glob("*/__init__.py"))


@pytest.mark.parametrize("path", SUBPACKAGE_INITS, ids=lambda path: path.parent.name)
def test_subpackage_init_is_empty(path: Path) -> None:
    """Importing codex_cli.ui.line_ui runs codex_cli/ui/__init__.py first: it must cost nothing."""
    assert path.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize("path", sorted(set(PACKAGE.rglob("*.py")) - set(SUBPACKAGE_INITS)),
                         ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_package_module_is_small_and_opens_with_docstring(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    body = ast.parse(source).body
    assert body, "empty module"
    first = body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant), "no module docstring"
    assert isinstance(first.value.value, str) and first.value.value.strip(), "no module docstring"
