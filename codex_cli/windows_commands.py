"""Windows command lines: PowerShell and cmd scripts split into simple commands, and which of those only read.

On Windows nothing confines a command, so whether it is known to be read-only decides whether it runs without
asking (and whether `codex exec`, which cannot ask, runs it at all). Real command lines start with a full path
(`C:\\Program Files\\PowerShell\\7\\pwsh.exe -NoProfile -Command "Get-ChildItem"`, `C:\\Windows\\system32\\cmd.exe
/c dir`). The parsers here accept only plain scripts: words, quotes without expansion, pipelines and statement
separators. Anything that could run, redirect or expand something else (redirections, `$` variables and
subexpressions, script blocks, the call operator, escapes, `[Type]::Method`, cmd's `%VAR%` and `^`) makes the
script unknown, and an unknown script is never safe. codex-rs asks the real PowerShell parser instead; the safe
list of cmdlets follows its facts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["is_known_safe_windows_command", "windows_script_commands", "windows_shell_kind"]

_POWERSHELL = frozenset({"powershell", "pwsh"})
_TOLERATED_SWITCHES = frozenset({"-nologo", "-noprofile", "-noninteractive", "-mta", "-sta"})
# A PowerShell script is refused outright when it holds any of these: they expand, redirect, call, escape or
# group (`(Set-Content x y)` runs inside an argument), so its words would not be what runs.
_POWERSHELL_REFUSED = re.compile(r"[`$@{}()\[\]<>&#%]|\|\|")  # `%`: `--%` passes %VARS% on, and ForEach
_CMD_REFUSED = re.compile(r"[&<>^%!()]|\|\|")

# Cmdlets and aliases that only read (as codex-rs's Windows list).
_SAFE_CMDLETS = frozenset({
    "echo", "write-output", "write-host",
    "dir", "ls", "get-childitem", "gci",
    "cat", "type", "gc", "get-content",
    "select-string", "sls", "findstr",
    "measure-object", "measure",
    "get-location", "gl", "pwd",
    "test-path", "tp",
    "resolve-path", "rvpa",
    "select-object", "select",
    "get-item",
})
_SAFE_CMD_BUILTINS = frozenset({"dir", "type", "findstr", "echo", "where", "ver", "tree", "cd", "chdir", "vol"})
# Named anywhere in a command (as an argument too), these write, delete or start something.
_SIDE_EFFECTS = frozenset({"set-content", "add-content", "out-file", "new-item", "remove-item", "move-item",
                           "copy-item", "rename-item", "start-process", "stop-process", "invoke-expression",
                           "iex", "invoke-item", "ii", "invoke-command", "icm", "tee-object", "tee"})


def _program_name(path: str) -> str:
    name = re.split(r"[\\/]", path)[-1].lower()
    return name[:-4] if name.endswith(".exe") else name


def windows_shell_kind(argv: Sequence[str]) -> str | None:
    """`powershell` or `cmd` when argv runs one of them (by any path, any case), else None."""
    if not argv:
        return None
    name = _program_name(argv[0])
    if name in _POWERSHELL:
        return "powershell"
    return "cmd" if name == "cmd" else None


def windows_script_commands(argv: Sequence[str]) -> list[list[str]] | None:
    """The simple commands a PowerShell or cmd command line runs (pipelines and statements split), or None when
    argv is neither, or its script is not plain enough to know."""
    kind = windows_shell_kind(argv)
    if kind == "powershell":
        script = _powershell_script(argv[1:])
        return None if script is None else _split_powershell(script)
    if kind == "cmd":
        script = _cmd_script(argv[1:])
        return None if script is None else _split_cmd(script)
    return None


def is_known_safe_windows_command(argv: Sequence[str], posix_safe: Callable[[Sequence[str]], bool]) -> bool:
    """True when a PowerShell or cmd command line only reads: every command is on the safe list, or is a program
    that `posix_safe` knows to be read-only (`git status`, `rg` without `--pre`)."""
    commands = windows_script_commands(argv)
    if not commands:
        return False
    builtins = _SAFE_CMD_BUILTINS if windows_shell_kind(argv) == "cmd" else _SAFE_CMDLETS
    for words in commands:
        lowered = [_program_name(w) if i == 0 else w.lower().lstrip("-") for i, w in enumerate(words)]
        if any(word in _SIDE_EFFECTS for word in lowered):
            return False
        if lowered[0] in builtins:
            continue
        if lowered[0] in ("git", "rg") and posix_safe([lowered[0], *words[1:]]):
            continue
        return False
    return True


# ------------------------------------------------------------------------------------------------- PowerShell


def _powershell_script(args: Sequence[str]) -> str | None:
    """The script of `pwsh [switches] -Command SCRIPT` (or `-c`, `-Command:SCRIPT`, or bare words), else None."""
    for index, arg in enumerate(args):
        lower = arg.lower()
        if lower in ("-command", "/command", "-c"):
            return args[index + 1] if index + 2 == len(args) else None
        if lower.startswith(("-command:", "/command:")):
            return arg.split(":", 1)[1] if index + 1 == len(args) else None
        if lower in _TOLERATED_SWITCHES:
            continue
        if lower.startswith(("-", "/")):
            return None  # -EncodedCommand, -File, -ExecutionPolicy, anything unknown: opaque
        return " ".join(_quote_powershell(a) if i else a for i, a in enumerate(args[index:]))
    return None


def _quote_powershell(arg: str) -> str:
    if arg and not any(c.isspace() for c in arg):
        return arg
    return "'" + arg.replace("'", "''") + "'"


def _split_powershell(script: str) -> list[list[str]] | None:
    if _POWERSHELL_REFUSED.search(script):
        return None
    commands: list[list[str]] = []
    words: list[str] = []
    word: list[str] = []
    quoted = False
    i = 0

    def end_word() -> None:
        nonlocal quoted
        if word or quoted:
            words.append("".join(word))
        word.clear()
        quoted = False

    def end_command() -> bool:
        end_word()
        if words:
            commands.append(list(words))
            words.clear()
            return True
        return False

    while i < len(script):
        char = script[i]
        if char in "'\"":
            close = script.find(char, i + 1)
            while close != -1 and char == "'" and script[close + 1 : close + 2] == "'":  # '' is a quote inside
                close = script.find(char, close + 2)
            if close == -1:
                return None
            word.append(script[i + 1 : close].replace("''", "'") if char == "'" else script[i + 1 : close])
            quoted = True
            i = close + 1
            continue
        if char in ";\n\r|":
            if not end_command() and char == "|":
                return None  # a pipeline with nothing before it
            i += 1
            continue
        if char.isspace():
            end_word()
        else:
            word.append(char)
        i += 1
    end_command()
    return commands or None


# ------------------------------------------------------------------------------------------------------- cmd


def _cmd_script(args: Sequence[str]) -> str | None:
    """The script of `cmd [/d] [/s] [/q] /c SCRIPT...`, else None (`/k` keeps a shell open: never plain)."""
    for index, arg in enumerate(args):
        lower = arg.lower()
        if lower in ("/c", "/r"):
            rest = args[index + 1 :]
            return " ".join(rest) if rest else None
        if lower in ("/d", "/s", "/q", "/u", "/a"):
            continue
        return None
    return None


def _split_cmd(script: str) -> list[list[str]] | None:
    if _CMD_REFUSED.search(script) or script.count('"') % 2:
        return None
    commands = []
    for part in script.split("|"):
        words = [w.replace('"', "") for w in re.findall(r'(?:[^\s"]+|"[^"]*")+', part)]
        if not words:
            return None
        commands.append(words)
    return commands
