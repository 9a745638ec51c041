"""Reading ARCHITECTURE.md's module map and the package's imports, for test_architecture and test_layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codex_cli"
LAYERS = ["Entry points and front ends", "Core", "Foundation"]


def sections(text: str | None = None) -> dict[str, list[str]]:
    """The module names (`session`, `ui.line_ui`) listed under each heading of ARCHITECTURE.md's module map."""
    if text is None:
        text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.split("## Modules", 1)[1].splitlines():
        if line.endswith(":") and not line.startswith("-"):
            current = line[:-1].strip()
        elif match := re.match(r"- `([a-z_.]+)` — ", line):
            found.setdefault(current, []).append(match[1])
    return found


def modules() -> set[str]:
    """Every module of the package as a dotted name below `codex_cli` (sub-packages' empty __init__s left out)."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts and not (path.name == "__init__.py" and path.parent != PACKAGE)
    } - {"__init__"}


def imports(module: str, source: str | None = None) -> set[str]:
    """Every codex_cli module `module` imports: at the top, lazily inside functions, or under TYPE_CHECKING."""
    if source is None:
        source = (PACKAGE / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "codex_cli":
            base = node.module.partition(".")[2]
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            found.update(a.name.partition(".")[2] for a in node.names if a.name.startswith("codex_cli."))
    return found & known
