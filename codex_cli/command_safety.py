"""What is known about commands themselves: which only read (the known-safe list) and which are "rm -f style".

Both look through shell wrappers and scripts with `shell_parse`; neither knows the approval policy, the sandbox
or the execpolicy rules (`safety` weighs all of them). The known-safe list follows reference/sandbox.md §7.6
(PowerShell and cmd command lines are judged by `windows_commands`), the dangerous check §7.4.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence

from codex_cli.shell_parse import (
    ASSIGNMENT,
    MAX_DEPTH,
    RESERVED_WORDS,
    ScriptCache,
    command_segments,
    is_posix_shell,
    shell_wrapper_script,
)

__all__ = ["any_dangerous", "is_dangerous_command", "is_known_safe_command", "is_known_safe_simple_command"]

_POSIX_PATHS = os.sep == "/" and os.altsep is None


def _base_name(path: str) -> str:
    """`os.path.basename`, asked once per command of a script: the generic function costs more than the rest."""
    return path[path.rfind("/") + 1 :] if _POSIX_PATHS else os.path.basename(path)


# --------------------------------------------------------------------------------------- known-safe commands

_ALWAYS_SAFE = frozenset(
    "cat cd cut echo expr false grep head id ls nl paste pwd rev seq stat tail tr true uname uniq wc which".split()
) | {"whoami", *(("numfmt", "tac") if sys.platform.startswith("linux") else ())}
_FIND_UNSAFE = frozenset("-exec -execdir -ok -okdir -delete -fls -fprint -fprint0 -fprintf".split())
_GIT_READERS = frozenset({"status", "log", "diff", "show"})
_GIT_VALUE_OPTIONS = frozenset({"-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix"})
_GIT_BRANCH_FLAGS = frozenset("--list -l --show-current -a --all -r --remotes -v -vv --verbose".split())
_SED_PRINT = re.compile(r"\d+(,\d+)?p")


def _is_unsafe_git_arg(arg: str) -> bool:
    return (
        arg in ("--ext-diff", "--textconv", "--paginate", "-p")
        or arg.split("=", 1)[0] in ("--output", "--exec", "--config-env")
        or arg.startswith("-c")
    )


def _is_safe_git(args: Sequence[str]) -> bool:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if _is_unsafe_git_arg(args[i]):
            return False
        i += 2 if args[i] in _GIT_VALUE_OPTIONS else 1
    if i >= len(args):
        return False
    sub, rest = args[i], args[i + 1 :]
    if sub in _GIT_READERS:
        return not any(_is_unsafe_git_arg(a) and a != "-p" for a in rest)  # `-p` after the subcommand = patch
    if sub == "branch":
        return all(a in _GIT_BRANCH_FLAGS or a.startswith("--format=") for a in rest)
    return False


def is_known_safe_simple_command(argv: Sequence[str]) -> bool:
    """The known-safe list for one simple command (no shell wrapper)."""
    if not argv:
        return False
    prog, args = argv[0], argv[1:]
    if prog in _ALWAYS_SAFE:
        return True
    if prog == "base64":
        return not any(a == "--output" or a.startswith(("-o", "--output=")) for a in args)
    if prog == "find":
        return not any(a in _FIND_UNSAFE for a in args)
    if prog == "rg":
        return not any(
            a.split("=", 1)[0] in ("--pre", "--hostname-bin", "--search-zip")
            or (a.startswith("-") and not a.startswith("--") and "z" in a)
            for a in args
        )
    if prog == "git":
        return _is_safe_git(args)
    if prog == "sed":
        return len(argv) in (3, 4) and args[0] == "-n" and _SED_PRINT.fullmatch(args[1]) is not None
    return False


def is_known_safe_command(argv: Sequence[str]) -> bool:
    """True when argv only reads (§7.6): the safe list, `bash -lc SCRIPT` whose segments all are, or a PowerShell
    or cmd command line (by any path, as Windows runs them) whose commands all are."""
    from codex_cli.windows_commands import is_known_safe_windows_command, windows_shell_kind

    if windows_shell_kind(argv) is not None:
        return is_known_safe_windows_command(argv, is_known_safe_simple_command)
    segments = command_segments(argv)
    return segments is not None and bool(segments) and all(is_known_safe_simple_command(s) for s in segments)


# --------------------------------------------------------------------------------------- dangerous commands

_ENV_VALUE_FLAGS = frozenset({"-u", "-C", "--unset", "--chdir"})


def _has_force_flag(args: Sequence[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg.startswith("--"):
            if len(arg) >= 3 and "--force".startswith(arg):
                return True
        elif arg.startswith("-") and "f" in arg[1:]:
            return True
    return False


def _after_env(args: Sequence[str]) -> list[str]:
    """The command `env ARGS` runs; `-S STRING` is split into words."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-S", "--split-string"):
            return [*(args[i + 1].split() if i + 1 < len(args) else []), *args[i + 2 :]]
        if arg.startswith(("-S", "--split-string=")):
            text = arg[2:] if arg.startswith("-S") else arg.partition("=")[2]
            return [*text.split(), *args[i + 1 :]]
        if arg in _ENV_VALUE_FLAGS:
            i += 2
        elif arg.startswith("-") or ASSIGNMENT.match(arg):
            i += 1
        else:
            return list(args[i:])
    return []


_LOOKED_INTO = frozenset({"rm", "sudo", "env"})  # and the shells


def any_dangerous(commands: Iterable[Sequence[str]], scripts: ScriptCache) -> bool:
    """Whether any of `commands` is "rm -f style" (see `is_dangerous_command`), looking up to 8 levels of
    `sudo`, `env` and `bash -c` deep.

    One level at a time, and each command and script only at the shallowest level it is reached on: the
    same text is reached through every wrapper and substitution that encloses it, and following each of
    those paths on its own takes time exponential in the nesting."""
    level = list(commands)
    seen: set[tuple[str, ...]] = set()
    walked: dict[str, int] = {}  # script or body -> the shallowest substitution depth it was walked from
    looked_into: dict[str, bool] = {}  # first word -> whether a command starting with it is looked into
    for _ in range(MAX_DEPTH + 1):
        following: list[Sequence[str]] = []
        for argv in level:
            if not argv:
                continue
            look = looked_into.get(argv[0])
            if look is None:
                first = argv[0]
                look = looked_into[first] = (first in RESERVED_WORDS or ASSIGNMENT.match(first) is not None
                                             or _base_name(first) in _LOOKED_INTO or is_posix_shell(first))
            if not look:
                continue  # most commands of a script
            key = tuple(argv)
            if key in seen:
                continue
            seen.add(key)
            skip = 0
            while skip < len(argv) and (argv[skip] in RESERVED_WORDS or ASSIGNMENT.match(argv[skip])):
                skip += 1
            words = argv[skip:]
            if not words:
                continue
            prog = _base_name(words[0])
            if prog == "rm":
                if _has_force_flag(words[1:]):
                    return True
            elif prog == "sudo":  # only a bare `sudo CMD`; `sudo -u root rm -f` is not flagged (observed in 0.169)
                if len(words) > 1 and not words[1].startswith("-"):
                    following.append(words[1:])
            elif prog == "env":
                following.append(_after_env(words[1:]))
            elif (script := shell_wrapper_script(words)) is not None:
                following.extend(_newly_reached(script, scripts, walked))
        level = following
    return False


def _newly_reached(script: str, scripts: ScriptCache, walked: dict[str, int]) -> list[list[str]]:
    """The segments of `_loose_segments(script)` in texts not walked before, and in texts whose substitutions
    can now be followed deeper than before (`walked` is updated)."""
    found: list[list[str]] = []
    pending = [(script, 0)]
    while pending:
        text, depth = pending.pop()
        before = walked.get(text)
        if before is not None and before <= depth:
            continue
        walked[text] = depth
        segments, bodies = scripts.parts(text)
        if before is None:
            found.extend(segments)
        if depth < MAX_DEPTH:
            pending.extend((body, depth + 1) for body in bodies)
    return found


def is_dangerous_command(argv: Sequence[str]) -> bool:
    """True for "rm -f style" commands (§7.4): `rm` with any force flag, also behind `sudo`, `env` and
    nested `bash -c` scripts, in any segment of a script, including inside `$(...)`."""
    return any_dangerous([argv], ScriptCache())
