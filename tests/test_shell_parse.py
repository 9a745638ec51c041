"""Unit tests of `codex_cli.shell_parse`'s wrapper rule: which argv are `bash -lc SCRIPT` shell wrappers, and
that every reader of a command (safety, patch interception, display, hooks, MCP) follows the same rule.
The lexer itself is tested in tests/test_safety.py (plain scripts) and tests/test_safety_scan.py (linear time)."""

from __future__ import annotations

import json
import shlex

import pytest

from codex_cli import command_safety, hooks
from codex_cli.mcp_server.events import parsed_command
from codex_cli.patch import ShellPatch, extract_apply_patch_from_shell
from codex_cli.shell_parse import command_segments, is_posix_shell, shell_wrapper_script
from codex_cli.tools import ToolCall
from codex_cli.ui.line_render import display_command

ACCEPTED = {
    "bash-lc": ["bash", "-lc", "ls"],
    "bash-c": ["bash", "-c", "ls"],
    "bin-bash": ["/bin/bash", "-lc", "ls"],
    "usr-bin-zsh": ["/usr/bin/zsh", "-lc", "ls"],
    "sh": ["sh", "-c", "ls"],
    "dash": ["/usr/bin/dash", "-lc", "ls"],
    "ksh": ["ksh", "-c", "ls"],
    "relative-path": ["./bin/bash", "-c", "ls"],
    "windows-git-bash": [r"C:\Program Files\Git\bin\bash.exe", "-lc", "ls"],
    "upper-case": ["/bin/BASH", "-c", "ls"],
    "empty-script": ["bash", "-lc", ""],
}
REFUSED = {
    "separate-flags": ["bash", "-l", "-c", "ls"],
    "flag-cluster": ["bash", "-ec", "ls"],
    "flag-cluster-cl": ["bash", "-cl", "ls"],
    "option-before": ["bash", "-o", "posix", "-c", "ls"],
    "long-option-before": ["bash", "--norc", "-c", "ls"],
    "positional-after": ["bash", "-c", "ls", "arg0"],
    "no-c-flag": ["bash", "-x", "ls"],
    "login-only": ["bash", "-l", "ls"],
    "script-file": ["bash", "script.sh"],
    "missing-script": ["bash", "-c"],
    "bare-shell": ["bash"],
    "empty": [],
    "fish": ["/usr/bin/fish", "-lc", "ls"],
    "python": ["python3", "-c", "print(1)"],
    "node": ["node", "-c", "x"],
    "pwsh": ["pwsh", "-Command", "ls"],
    "pwsh-c": ["pwsh", "-c", "ls"],
    "cmd": ["cmd", "/c", "dir"],
    "shell-in-folder-name": ["/opt/bash/tool", "-c", "ls"],
    "name-with-suffix": ["bash5", "-c", "ls"],
}


@pytest.mark.parametrize("argv", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_shell_wrapper_script_posix_shell_with_c_flag_gives_script(argv: list[str]) -> None:
    assert shell_wrapper_script(argv) == argv[2]


@pytest.mark.parametrize("argv", list(REFUSED.values()), ids=list(REFUSED))
def test_shell_wrapper_script_other_shapes_give_none(argv: list[str]) -> None:
    assert shell_wrapper_script(argv) is None


def test_shell_wrapper_script_accepts_a_tuple() -> None:
    assert shell_wrapper_script(("/bin/zsh", "-c", "pwd")) == "pwd"


@pytest.mark.parametrize(
    ("program", "expected"),
    [("bash", True), ("/bin/sh", True), (r"C:\tools\ZSH.EXE", True), ("dash.exe", True), ("fish", False),
     ("bash.sh", False), ("", False), ("/", False)],
)
def test_is_posix_shell_names_by_last_path_component(program: str, expected: bool) -> None:
    assert is_posix_shell(program) is expected


def test_command_segments_look_through_nested_wrappers_only_of_the_accepted_shape() -> None:
    assert command_segments(["bash", "-lc", "ls && sh -c 'pwd; id'"]) == [["ls"], ["pwd"], ["id"]]
    assert command_segments(["bash", "-lc", "ls && bash -l -c pwd"]) == [["ls"], ["bash", "-l", "-c", "pwd"]]
    assert command_segments(["bash", "-e", "-c", "ls"]) == [["bash", "-e", "-c", "ls"]]


# ------------------------------------------------------------------------------------- every reader, one rule


@pytest.mark.parametrize("argv", [*ACCEPTED.values(), *REFUSED.values()], ids=[*ACCEPTED, *REFUSED])
def test_every_reader_unwraps_exactly_the_wrappers_of_the_rule(argv: list[str]) -> None:
    script = shell_wrapper_script(argv)
    shown = shlex.join(argv)
    assert display_command(shown) == (shown if script is None else script)
    assert parsed_command(argv) == [{"type": "unknown", "cmd": shown if script is None else script}]
    legacy_shell_call = ToolCall("function", "shell", "c1", json.dumps({"command": argv}))
    tool_input = hooks._tool_view(legacy_shell_call)[2]
    assert tool_input == {"command": " ".join(argv) if script is None else script}


def test_known_safe_and_dangerous_checks_follow_the_rule() -> None:
    assert command_safety.is_known_safe_command(["/usr/bin/dash", "-lc", "ls && pwd"])
    assert not command_safety.is_known_safe_command(["bash", "-l", "-c", "ls"])  # the program bash, with arguments
    assert command_safety.is_dangerous_command(["ksh", "-c", "rm -rf x"])
    assert command_safety.is_dangerous_command(["bash", "-lc", "sudo sh -c 'rm -f y'"])


BODY = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch"


@pytest.mark.parametrize("shell", ["bash", "/bin/zsh", "sh", "/usr/bin/dash", r"C:\Git\bin\BASH.EXE"])
def test_apply_patch_is_intercepted_in_every_accepted_shell(shell: str) -> None:
    assert extract_apply_patch_from_shell([shell, "-lc", f"apply_patch <<'EOF'\n{BODY}\nEOF\n"]) == ShellPatch(BODY)


@pytest.mark.parametrize("argv", [["bash", "-l", "-c"], ["fish", "-lc"], ["bash", "-c", "-x"]])
def test_apply_patch_is_not_intercepted_in_refused_shapes(argv: list[str]) -> None:
    command = [*argv[:2], f"apply_patch <<'EOF'\n{BODY}\nEOF\n", *argv[2:]]
    assert extract_apply_patch_from_shell(command) is None
