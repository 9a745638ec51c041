"""ARCHITECTURE.md stays true: it names every module of codex_cli, and the layers it draws hold in the imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codex_cli"


def _sections() -> dict[str, list[str]]:
    """The module names listed under each heading of ARCHITECTURE.md's module map."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.split("## Modules", 1)[1].splitlines():
        if line.endswith(":") and not line.startswith("-"):
            current = line[:-1].strip()
        elif match := re.match(r"- `([a-z_]+)` — ", line):
            sections.setdefault(current, []).append(match[1])
    return sections


def _modules() -> set[str]:
    return {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}


def _imports(module: str) -> set[str]:
    """Every codex_cli module `module` imports, at the top, lazily inside functions or under TYPE_CHECKING."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "codex_cli":
            parts = node.module.split(".")
            found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("codex_cli."))
    return found & _modules()


def test_every_module_is_on_the_map_once() -> None:
    named = [name for names in _sections().values() for name in names]
    assert sorted(set(named)) == sorted(named), "a module is listed twice"
    assert set(named) == _modules(), (
        f"missing from ARCHITECTURE.md: {sorted(_modules() - set(named))}; "
        f"listed but gone: {sorted(set(named) - _modules())}")


def test_the_map_has_its_three_layers() -> None:
    assert list(_sections()) == ["Entry points and front ends", "Core", "Foundation"]


@pytest.mark.parametrize("layer", ["Core", "Foundation"])
def test_no_module_imports_a_layer_above_its_own(layer: str) -> None:
    sections = _sections()
    above = set(sections["Entry points and front ends"]) | (set(sections["Core"]) if layer == "Foundation" else set())
    wrong = {module: sorted(_imports(module) & above) for module in sections[layer] if _imports(module) & above}
    assert not wrong, f"{layer} modules importing from above: {wrong}"


def test_a_planted_upward_import_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a core module that lazily imports the line UI is found."""
    planted = "def f() -> None:\n    from codex_cli import line_ui  # noqa\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: planted)
    assert _imports("session") == {"line_ui"}
