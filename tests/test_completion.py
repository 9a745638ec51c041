"""`codex completion`: scripts for four shells, read off the real argument tree, that the shells accept and use."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli import completion
from codex_cli.cli_parser import build_parser

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") if os.name != "nt" else None


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _all_option_strings(parser: argparse.ArgumentParser) -> set[str]:
    found = {s for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS for s in a.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict(action.choices).values():
                found |= _all_option_strings(sub)
    return found


def _toy_parser() -> argparse.ArgumentParser:
    """A tree no script knows about: completions must follow it."""
    parser = argparse.ArgumentParser(prog="codex")
    parser.add_argument("--top-flag", action="store_true", help="a [bracketed]: help")
    sub = parser.add_subparsers(dest="command")
    frob = sub.add_parser("frob", aliases=["fr"], help="frobnicate it's things")
    frob.add_argument("--wibble", choices=["alpha", "beta"], help="pick one")
    frob.add_argument("-n", "--count", type=int, help="how many")
    frob.add_argument("--secret", action="store_true", help=argparse.SUPPRESS)
    deeper = frob.add_subparsers(dest="inner").add_parser("deeper", help="one more level")
    deeper.add_argument("target", choices=["here", "there"])
    completion.register(sub)
    return parser


def _bash_complete(script: str, *words: str) -> list[str]:
    """Source the script and ask `_codex` for the completions of `words` (the last is being typed)."""
    assert BASH is not None
    items = " ".join(f"'{word}'" for word in words)
    program = (
        f"{script}\nCOMP_WORDS=({items}); COMP_CWORD={len(words) - 1}; _codex; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    run = subprocess.run([BASH, "--norc", "-c", program], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line]


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_render_every_shell_names_every_subcommand_and_option(shell: str) -> None:
    parser = build_parser()
    script = completion.render(shell, parser)
    for name in dict(_subparsers(parser).choices):
        assert name in script
    for flag in _all_option_strings(parser):
        assert flag.lstrip("-") in script
    assert "--full-auto" not in script  # hidden with argparse.SUPPRESS


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_render_follows_a_tree_it_has_never_seen(shell: str) -> None:
    script = completion.render(shell, _toy_parser())
    for word in ("frob", "fr", "wibble", "alpha", "beta", "count", "deeper", "here", "there", "completion", "zsh"):
        assert word in script
    assert "secret" not in script


@pytest.mark.skipif(BASH is None, reason="no bash")
def test_bash_script_passes_bash_n(tmp_path: Path) -> None:
    for parser in (build_parser(), _toy_parser()):
        path = tmp_path / "codex.bash"
        path.write_text(completion.render("bash", parser), encoding="utf-8")
        run = subprocess.run([BASH, "-n", str(path)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


@pytest.mark.skipif(BASH is None, reason="no bash")
def test_bash_completes_subcommands_options_and_choices() -> None:
    parser = build_parser()
    script = completion.render("bash", parser)
    assert set(_bash_complete(script, "codex", "")) == set(dict(_subparsers(parser).choices))
    assert _bash_complete(script, "codex", "ex") == ["exec"]
    assert _bash_complete(script, "codex", "exec", "--sa") == ["--sandbox"]
    modes = ["read-only", "workspace-write", "danger-full-access"]
    assert _bash_complete(script, "codex", "exec", "--sandbox", "") == modes
    assert _bash_complete(script, "codex", "e", "-c", "x=1", "-s", "w") == ["workspace-write"]
    assert "--version" in _bash_complete(script, "codex", "--")
    assert _bash_complete(script, "codex", "exec", "-m", "") == []  # a free value: bash falls back to files


@pytest.mark.skipif(BASH is None, reason="no bash")
def test_bash_follows_aliases_and_nested_subcommands() -> None:
    script = completion.render("bash", _toy_parser())
    assert _bash_complete(script, "codex", "fr", "--wibble", "") == ["alpha", "beta"]
    assert _bash_complete(script, "codex", "frob", "-n", "3", "d") == ["deeper"]
    assert _bash_complete(script, "codex", "frob", "deeper", "") == ["here", "there"]
    assert _bash_complete(script, "codex", "completion", "") == list(completion.SHELLS)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh")
def test_zsh_script_parses(tmp_path: Path) -> None:
    path = tmp_path / "_codex"
    text = completion.render("zsh", _toy_parser()) + completion.render("zsh", build_parser())
    path.write_text(text, encoding="utf-8")
    run = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="no fish")
def test_fish_script_completes_subcommands_and_choices(tmp_path: Path) -> None:
    path = tmp_path / "codex.fish"
    path.write_text(completion.render("fish", build_parser()), encoding="utf-8")
    assert subprocess.run(["fish", "--no-execute", str(path)], capture_output=True).returncode == 0
    program = f"source {path}; complete -C'codex ex'; echo SPLIT; complete -C'codex exec --sandbox '"
    run = subprocess.run(["fish", "--no-config", "-c", program], capture_output=True, text=True, timeout=30)
    first, second = run.stdout.split("SPLIT\n")
    assert [line.split("\t")[0] for line in first.splitlines()] == ["exec"]
    modes = {"read-only", "workspace-write", "danger-full-access"}
    assert {line.split("\t")[0] for line in second.splitlines()} == modes


def test_powershell_script_registers_a_native_completer() -> None:
    script = completion.render("powershell", build_parser())
    assert script.count("{") == script.count("}")
    assert "Register-ArgumentCompleter -Native -CommandName 'codex'" in script
    assert "[CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue" in script


def test_register_adds_completion_with_four_shells_and_a_lazy_handler() -> None:
    parser = _toy_parser()
    args = parser.parse_args(["completion", "fish"])
    assert (args.shell, args.handler) == ("fish", "codex_cli.completion:main")
    assert parser.parse_args(["completion"]).shell == "bash"
    with pytest.raises(SystemExit):
        parser.parse_args(["completion", "tcsh"])


def test_completion_main_writes_the_script_of_the_one_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert completion.main(argparse.Namespace(shell="bash")) == 0
    assert capsys.readouterr().out == completion.render("bash", build_parser())


def test_completion_leaves_network_modules_unimported() -> None:
    code = (
        "import sys\n"
        "from codex_cli import completion\n"
        "from codex_cli.cli_parser import build_parser\n"
        "for shell in completion.SHELLS: completion.render(shell, build_parser())\n"
        "print(sorted(m for m in ('httpx', 'ssl', 'msgspec') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.strip() == "[]", run.stderr


def test_cli_completion_bash_prints_the_script() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "codex.py"), "completion"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == completion.render("bash", build_parser())
