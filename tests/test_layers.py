"""The layers ARCHITECTURE.md draws hold in the imports: nothing imports a layer above its own (at the top, lazily
or under TYPE_CHECKING), and no module imports itself through others."""

from __future__ import annotations

import pytest
from architecture_map import LAYERS, imports, modules, sections


def _upward_imports(layer: str, graph: dict[str, set[str]]) -> dict[str, list[str]]:
    mapped = sections()
    above = {name for upper in LAYERS[: LAYERS.index(layer)] for name in mapped[upper]}
    return {m: sorted(graph[m] & above) for m in mapped[layer] if graph[m] & above}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph() -> dict[str, set[str]]:
    return {module: imports(module) for module in modules()}


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_no_module_imports_a_layer_above_its_own(layer: str) -> None:
    assert _upward_imports(layer, _graph()) == {}


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_a_planted_upward_import_is_caught() -> None:
    """The checks can fail: a core module that lazily imports the line UI, or a TYPE_CHECKING import back."""
    lazy = "def f() -> None:\n    from codex_cli.ui import line_ui  # noqa\n"
    assert imports("session", lazy) == {"ui.line_ui"}
    graph = _graph()
    graph["session"] = graph["session"] | imports("session", lazy)
    assert _upward_imports("Core", graph) == {"session": ["ui.line_ui"]}
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from codex_cli.session import Session\n"
    graph = _graph()
    graph["jsoncodec"] = imports("jsoncodec", typed)
    assert _upward_imports("Foundation", graph) == {"jsoncodec": ["session"]}
    assert any("jsoncodec" in cycle for cycle in _cycles({**graph, "session": graph["session"] | {"jsoncodec"}}))
