"""ARCHITECTURE.md stays true: its module map names every module of codex_cli once, under one of three layers."""

from __future__ import annotations

from architecture_map import LAYERS, modules, sections


def test_every_module_is_on_the_map_once() -> None:
    named = [name for names in sections().values() for name in names]
    assert sorted(set(named)) == sorted(named), "a module is listed twice"
    assert set(named) == modules(), (
        f"missing from ARCHITECTURE.md: {sorted(modules() - set(named))}; "
        f"listed but gone: {sorted(set(named) - modules())}")


def test_the_map_has_its_three_layers() -> None:
    assert list(sections()) == LAYERS


def test_front_end_folders_hold_only_front_ends() -> None:
    """The sub-packages (ui/, mcp_server/) are front ends made of several modules; the core stays flat."""
    nested = {name for name in modules() if "." in name}
    assert nested <= set(sections()["Entry points and front ends"])
