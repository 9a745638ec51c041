"""Approval decisions: whether one `exec_command` call or one patch runs, is asked about, or is rejected.

This module owns the whole decision; front ends only answer the questions it raises (through an `Approver`).
It holds the known-safe command list, the "rm -f style" danger check, a small shell-script splitter, the
execpolicy `prefix_rule` files of `$CODEX_HOME/rules/`, and the model-facing texts of every rejection.

Per command, in order: an escalation request under `never` is rejected; a `forbidden` rule rejects; a command
whose every segment an `allow` rule matches runs unsandboxed; a dangerous command is rejected under `never`;
a command approved for the session runs; a dangerous one is asked about; a `prompt` rule asks (rejects under
`never`); then the policy decides: `untrusted` runs only known-safe commands unasked, `never` runs everything
in the sandbox, `on-request`/`on-failure` ask only for escalation outside `danger-full-access`, and
`on-failure` offers an unsandboxed retry when a sandboxed run fails. Where nothing can confine a command
(Windows, `confinable=False`), only known-safe commands run unasked; others are asked about, refused under `never`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from codex_cli.errors import ConfigError
from codex_cli.records import Record

if TYPE_CHECKING:
    from codex_cli.patch import FileChange

__all__ = [
    "BANNED_PREFIXES",
    "DANGEROUS_REJECTION",
    "NEVER_ESCALATION_REJECTION",
    "NEVER_PROMPT_REJECTION",
    "PATCH_OUTSIDE_REJECTION",
    "PATCH_READ_ONLY_REJECTION",
    "ApprovalPolicy",
    "ApprovalRequest",
    "Approver",
    "CommandAssessment",
    "DecisionResult",
    "PatchAssessment",
    "PolicyOnlyApprover",
    "PrefixRule",
    "PrefixRules",
    "Refusal",
    "ReviewDecision",
    "RuleMatch",
    "append_allow_rule",
    "approval_prefix",
    "assess_command",
    "assess_patch",
    "decision_result",
    "exec_rejection_output",
    "is_dangerous_command",
    "is_known_safe_command",
    "load_prefix_rules",
    "parse_shell_script",
]

# The same values as `config.ApprovalPolicy`; declared here too so this module imports no config machinery.
ApprovalPolicy: TypeAlias = Literal["untrusted", "on-failure", "on-request", "never"]
ReviewDecision: TypeAlias = Literal["approved", "approved_for_session", "denied", "abort"]
RuleDecision: TypeAlias = Literal["allow", "prompt", "forbidden"]
Action: TypeAlias = Literal["run", "ask", "reject"]

NEVER_ESCALATION_REJECTION = (
    "approval policy is Never; reject command — "
    "you cannot ask for escalated permissions if the approval policy is Never"
)
NEVER_PROMPT_REJECTION = "approval required by policy, but AskForApproval is set to Never"
DANGEROUS_REJECTION = "rm -f style commands are not permitted. Use a safer approach"
PATCH_READ_ONLY_REJECTION = (
    "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings"
)
PATCH_OUTSIDE_REJECTION = "patch rejected: writing outside of the project; rejected by user approval settings"
_USER_REJECTION = "rejected by user"
_PATCH_USER_REJECTION = "patch rejected by user"
_STRICTNESS: dict[RuleDecision, int] = {"allow": 0, "prompt": 1, "forbidden": 2}

# --------------------------------------------------------------------------------------------- shell scripts

_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_OPERATORS = tuple("<<< <<- && || ;; |& >> << <& >& &> <> >| ; | & ( ) < >".split())  # longest first
_PLAIN_OPERATORS = frozenset({"&&", "||", ";", "|"})
_REDIRECTIONS = frozenset({"<<<", ">>", "<<", "<<-", "<&", ">&", "&>", "<>", ">|", "<", ">"})
_RESERVED = frozenset(
    "if then else elif fi for while until do done case esac function select time coproc { } ! [[ ]]".split()
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


class _Scanned:
    """What `_scan` found. A plain class: scripts with many substitutions make one of these per body."""

    __slots__ = ("items", "nested", "plain", "trailing_separator")

    def __init__(self) -> None:
        self.items: list[tuple[bool, str]] = []  # (is_operator, text)
        self.plain = True
        self.nested: list[str] = []  # bodies of $(...) and `...`
        self.trailing_separator = False


# The scanner only moves forward and copies no more than it keeps, so its time grows with the script's length
# (a 1 MB command used to take minutes: each character of a word copied the word so far). Stretches of bare
# words, blanks and operators, most of any script, are cut into tokens by one regular expression.
_OPERATOR_CHARS = "<>&|;()"
_WORD_PIECES = "#\\'\"$`"  # what a word may go on with after its bare characters
_WORD_RUN = re.compile(r"[^ \t\n#\\'\"$`<>&|;()]+")  # neither ends a word nor starts a quote or substitution
# Where a stretch of bare words, blanks, operators and newlines stops: a comment, a quote, a substitution, `<<`
# (the word after it is a here-document delimiter; a lone `<` is passed over) and, while here-documents are
# pending, the newline their bodies follow. Single character classes: alternatives search far slower.
_STRETCH_STOP = re.compile(r"[#\\'\"$`<]")
_STRETCH_STOP_AT_LINE_END = re.compile(r"[\n#\\'\"$`<]")
_TOKEN = re.compile("|".join([r"[^ \t\n<>&|;()]+", "\n", *map(re.escape, _OPERATORS)]))  # operators longest first
_WORD_ENDS = " \t\n" + _OPERATOR_CHARS
_NEWLINE_SEPARATOR = (True, ";")
_GLOB = re.compile(r"[*?\[\]{}!]")
_OPERATOR = re.compile("|".join(map(re.escape, _OPERATORS)))
_OPERATOR_RUN = re.compile(r"[<>&|;()]+")  # the operators in it are the same as in the whole script
_QUOTED_RUN = re.compile(r'[^"\\$`]+')  # inside "…": characters taken as they are
_PAREN_STOP = re.compile(r"[\\'\"()]")  # inside $(…): what skips text or changes the depth


def _closing_paren(src: str, start: int) -> int:
    """Index just past the `)` that closes a `$(` whose body begins at `start` (len(src) if unbalanced)."""
    depth, skipped_to = 1, start
    for stop in _PAREN_STOP.finditer(src, start):
        at = stop.start()
        if at < skipped_to:
            continue  # escaped or quoted
        c = stop.group()
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return at + 1
        elif c == "\\":
            skipped_to = at + 2
        else:
            end = src.find(c, at + 1)
            if end < 0:
                break
            skipped_to = end + 1
    return len(src)


def _substitution(src: str, i: int, out: _Scanned) -> int:
    """Record the `$(...)`, `${...}` or backtick body at `i`; return the index after it."""
    out.plain = False
    if src.startswith("$(", i):
        end = _closing_paren(src, i + 2)
        out.nested.append(src[i + 2 : end - 1] if src[end - 1 : end] == ")" else src[i + 2 : end])
        return end
    if src.startswith("${", i):
        end = src.find("}", i)
        return len(src) if end < 0 else end + 1
    if src[i] == "`":
        end = src.find("`", i + 1)
        end = len(src) if end < 0 else end
        out.nested.append(src[i + 1 : end])
        return end + 1
    return i + 1  # `$NAME`: the name follows as ordinary word characters


def _skip_heredocs(src: str, i: int, delimiters: list[tuple[str, bool]]) -> int:
    """Skip the here-document bodies that start at `i` (just after a newline); return the next index."""
    for delimiter, strip_tabs in delimiters:
        i = _after_delimiter_line(src, i, delimiter, strip_tabs)
    return i


def _after_delimiter_line(src: str, i: int, delimiter: str, strip_tabs: bool) -> int:
    """The index after the first line from `i` (a line start) that is `delimiter` (after leading tabs with
    `strip_tabs`); len(src) when none is."""
    n = len(src)
    if i >= n or "\n" in delimiter or (strip_tabs and delimiter.startswith("\t")):
        return n  # no line can be equal to it
    needle = delimiter + "\n"
    at = i
    while (hit := src.find(needle, at)) >= 0:  # at most one hit a line: the needle ends with the newline
        if _is_line(src, i, hit, strip_tabs):
            return hit + len(needle)
        at = hit + len(needle)
    last = n - len(delimiter)  # the last line has no newline to find
    if last >= at and src.endswith(delimiter) and _is_line(src, i, last, strip_tabs):
        return n + 1
    return n


def _is_line(src: str, first: int, at: int, strip_tabs: bool) -> bool:
    """Whether a line at or after `first` begins at `at` (or, with `strip_tabs`, has only tabs before it)."""
    newline = src.rfind("\n", first, at)
    start = first if newline < 0 else newline + 1
    if start >= len(src):
        return False  # the empty text after a final newline is no line
    return start == at or (strip_tabs and src.count("\t", start, at) == at - start)


def _double_quoted(src: str, i: int, word: list[str], out: _Scanned) -> int:
    """Append the text of a `"…"` body starting at `i` to `word`; the index after the closing quote
    (len(src) + 1 when it is missing)."""
    n = len(src)
    while i < n:
        c = src[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
            word.append(src[i + 1])
            i += 2
        elif c == "\\":
            word.append(c)
            i += 1
        elif c in "$`":
            start, i = i, _substitution(src, i, out)
            word.append(src[start:i])
        else:
            run = _QUOTED_RUN.match(src, i)
            assert run is not None  # c is none of the characters the pattern stops at
            word.append(run.group())
            i = run.end()
    return n + 1


def _stretch_end(src: str, i: int, newlines: bool) -> int:
    """The end of the stretch of whole bare words, blanks, operators and (with `newlines`) newlines at `i`."""
    stops = _STRETCH_STOP if newlines else _STRETCH_STOP_AT_LINE_END
    stop = stops.search(src, i)
    while stop is not None and src.startswith("<", stop.start()) and not src.startswith("<<", stop.start()):
        stop = stops.search(src, stop.start() + 1)  # a lone `<` is an operator of the stretch
    if stop is None:
        return len(src)
    end = stop.start()
    if end > i and src[end] in _WORD_PIECES and src[end - 1] not in _WORD_ENDS:
        # The word before it goes on (`a"b"`, `a$b`, `a#b`): leave that word to the piece-by-piece scan.
        last = max(src.rfind(c, i, end) for c in _WORD_ENDS)
        end = last + 1 if last >= 0 else i
    return end


def _take_stretch(src: str, i: int, end: int, out: _Scanned) -> None:
    """Record the words, operators and newlines of `src[i:end]`, a `_stretch_end` stretch."""
    tokens = _TOKEN.findall(src, i, end)
    if not tokens:
        return  # blanks only
    # A newline separates only after a word, as in `_scan`; `before` is the token each one follows, the
    # first one a stand-in for what came before the stretch (`w` for a word, `;` for anything else).
    before = ["w" if out.items and not out.items[-1][0] else ";", *tokens[:-1]]
    items = [
        _NEWLINE_SEPARATOR if token == "\n" else (token[0] in _OPERATOR_CHARS, token)
        for token, previous in zip(tokens, before, strict=True)
        if token != "\n" or (previous != "\n" and previous[0] not in _OPERATOR_CHARS)
    ]
    if items:
        out.items.extend(items)
        out.trailing_separator = items[-1] == _NEWLINE_SEPARATOR
    if out.plain and (_GLOB.search(src, i, end) is not None or not all(
        _PLAIN_OPERATORS.issuperset(_OPERATOR.findall(run)) for run in set(_OPERATOR_RUN.findall(src, i, end))
    )):
        out.plain = False


def _scan(src: str) -> _Scanned | None:
    """Words and operators of a shell script; None on an unterminated quote."""
    out = _Scanned()
    word: list[str] | None = None
    heredocs: list[tuple[str, bool]] = []
    pending_heredoc: bool | None = None  # set after `<<`/`<<-`: the next word is a delimiter
    i, n = 0, len(src)

    def end_word() -> None:
        nonlocal word, pending_heredoc
        if word is not None:
            text = "".join(word)
            if pending_heredoc is not None:
                heredocs.append((text, pending_heredoc))
                pending_heredoc = None
            out.items.append((False, text))
            out.trailing_separator = False
        word = None

    while i < n:
        if word is None and pending_heredoc is None and (end := _stretch_end(src, i, not heredocs)) > i:
            _take_stretch(src, i, end, out)
            i = end
            continue
        c = src[i]
        if c in " \t":
            end_word()
            i += 1
        elif c == "\n":
            end_word()
            if out.items and not out.items[-1][0]:  # a newline after `&&`, `|`, `;` or another newline adds nothing
                out.items.append((True, ";"))
                out.trailing_separator = True
            i = _skip_heredocs(src, i + 1, heredocs)
            heredocs = []
        elif c == "#" and word is None:
            end = src.find("\n", i)
            i = n if end < 0 else end
        elif c == "\\":
            if src.startswith("\n", i + 1):
                i += 2
                continue
            word = word if word is not None else []
            word.append(src[i + 1 : i + 2])
            i += 2
        elif c == "'":
            end = src.find("'", i + 1)
            if end < 0:
                return None
            word = word if word is not None else []
            word.append(src[i + 1 : end])
            i = end + 1
        elif c == '"':
            word = word if word is not None else []
            i = _double_quoted(src, i + 1, word, out)
            if i > n:
                return None
        elif c in "$`":
            start, i = i, _substitution(src, i, out)
            word = word if word is not None else []
            word.append(src[start:i])
        else:
            run = _WORD_RUN.match(src, i)
            op = _OPERATOR.match(src, i) if run is None else None
            if op is None:
                text = run.group() if run is not None else c  # a run, or a `#` inside a word
                if out.plain and _GLOB.search(text):
                    out.plain = False
                word = word if word is not None else []
                word.append(text)
                i += len(text)
                continue
            end_word()
            operator = op.group()
            out.items.append((True, operator))
            out.trailing_separator = operator == ";"
            if operator not in _PLAIN_OPERATORS:
                out.plain = False
            if operator in ("<<", "<<-"):
                pending_heredoc = operator == "<<-"
            i += len(operator)
    end_word()
    return out


def _split_items(items: list[tuple[bool, str]]) -> list[list[str]]:
    """Simple commands separated by operators; redirection targets are dropped."""
    segments: list[list[str]] = [[]]
    skip_next = False
    for is_op, text in items:
        if not is_op:
            if not skip_next:
                segments[-1].append(text)
            skip_next = False
        elif text in _REDIRECTIONS:
            skip_next = True
        else:
            segments.append([])
    return segments


def parse_shell_script(cmd: str) -> list[list[str]] | None:
    """The simple commands of a plain script (words, quotes, `&&`, `||`, `;`, `|`), or None when it uses
    anything this module cannot judge: redirections, substitutions, expansions, globs, subshells,
    background jobs, environment assignments or shell keywords."""
    scanned = _scan(cmd)
    if scanned is None or not scanned.plain:
        return None
    segments = _split_items(scanned.items)
    if scanned.trailing_separator and len(segments) > 1 and not segments[-1]:
        segments.pop()
    if not all(segments):
        return None
    for first in {segment[0] for segment in segments}:  # a script's commands share few first words
        if first in _RESERVED or _ASSIGNMENT.match(first):
            return None
    return segments


class _Scripts:
    """The scripts and substitution bodies met while judging one command, each scanned once: nested
    `bash -c` scripts and substitutions reach the same text again from every level that encloses it."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[list[list[str]], list[str]]] = {}

    def parts(self, text: str) -> tuple[list[list[str]], list[str]]:
        """(the non-empty simple commands of `text`, its substitution bodies); shared lists, not to be changed.
        An unterminated quote gives a rough split and no bodies."""
        known = self._parts.get(text)
        if known is None:
            scanned = _scan(text)
            if scanned is None:
                rough = (part.replace("'", " ").replace('"', " ").split() for part in _ROUGH_SPLIT.split(text))
                known = ([seg for seg in rough if seg], [])
            else:
                known = ([seg for seg in _split_items(scanned.items) if seg], scanned.nested)
            self._parts[text] = known
        return known


_ROUGH_SPLIT = re.compile(r"[;&|()\n`]+")
_MAX_DEPTH = 8  # how deep substitutions, and apart from them `sudo`/`env`/`bash -c` wrappers, are looked into


def _loose_segments(cmd: str, scripts: _Scripts, depth: int = 0) -> list[list[str]]:
    """Every simple command a script may run, substitutions included; never fails."""
    segments, bodies = scripts.parts(cmd)
    found = list(segments)
    if depth < _MAX_DEPTH:
        for body in bodies:
            found.extend(_loose_segments(body, scripts, depth + 1))
    return found


_POSIX_PATHS = os.sep == "/" and os.altsep is None


def _base_name(path: str) -> str:
    """`os.path.basename`, asked once per command of a script: the generic function costs more than the rest."""
    return path[path.rfind("/") + 1 :] if _POSIX_PATHS else os.path.basename(path)


def _shell_script(argv: Sequence[str]) -> str | None:
    """The script of `bash -c SCRIPT`-style argv (any `-c` flag cluster, e.g. `-lc`), else None."""
    if not argv or _base_name(argv[0]) not in _SHELLS:
        return None
    saw_c, i = False, 1
    while i < len(argv):
        arg = argv[i]
        if saw_c:
            return arg
        if arg in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if arg.startswith("--"):
            i += 1
            continue
        if arg[:1] in "-+" and len(arg) > 1:
            saw_c = "c" in arg[1:]
            i += 1
            continue
        return None
    return None


def _command_segments(argv: Sequence[str], depth: int = 0) -> list[list[str]] | None:
    """Simple commands of argv, looking through `bash -lc` wrappers; None when a script is not plain."""
    script = _shell_script(argv)
    if script is None:
        return [list(argv)]
    segments = parse_shell_script(script)
    if segments is None or depth >= _MAX_DEPTH:
        return None
    if not any(_base_name(first) in _SHELLS for first in {segment[0] for segment in segments}):
        return segments  # no `bash -c` inside: what `_shell_script` would find first for each command
    flat: list[list[str]] = []
    for segment in segments:
        inner = _command_segments(segment, depth + 1)
        if inner is None:
            return None
        flat.extend(inner)
    return flat


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


def _is_safe_simple(argv: Sequence[str]) -> bool:
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
        return is_known_safe_windows_command(argv, _is_safe_simple)
    segments = _command_segments(argv)
    return segments is not None and bool(segments) and all(_is_safe_simple(s) for s in segments)


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
        elif arg.startswith("-") or _ASSIGNMENT.match(arg):
            i += 1
        else:
            return list(args[i:])
    return []


_LOOKED_INTO = frozenset({"rm", "sudo", "env", *_SHELLS})


def _any_dangerous(commands: Iterable[Sequence[str]], scripts: _Scripts) -> bool:
    """Whether any of `commands` is "rm -f style" (see `is_dangerous_command`), looking up to 8 levels of
    `sudo`, `env` and `bash -c` deep.

    One level at a time, and each command and script only at the shallowest level it is reached on: the
    same text is reached through every wrapper and substitution that encloses it, and following each of
    those paths on its own takes time exponential in the nesting."""
    level = list(commands)
    seen: set[tuple[str, ...]] = set()
    walked: dict[str, int] = {}  # script or body -> the shallowest substitution depth it was walked from
    programs: dict[str, str] = {}  # first word -> its base name, "" for a keyword or an assignment
    for _ in range(_MAX_DEPTH + 1):
        following: list[Sequence[str]] = []
        for argv in level:
            if not argv:
                continue
            prog = programs.get(argv[0])
            if prog is None:
                first = argv[0]
                prog = programs[first] = "" if first in _RESERVED or _ASSIGNMENT.match(first) else _base_name(first)
            if prog and prog not in _LOOKED_INTO:
                continue  # most commands of a script
            key = tuple(argv)
            if key in seen:
                continue
            seen.add(key)
            skip = 0
            while skip < len(argv) and (argv[skip] in _RESERVED or _ASSIGNMENT.match(argv[skip])):
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
            elif prog in _SHELLS and (script := _shell_script(words)) is not None:
                following.extend(_newly_reached(script, scripts, walked))
        level = following
    return False


def _newly_reached(script: str, scripts: _Scripts, walked: dict[str, int]) -> list[list[str]]:
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
        if depth < _MAX_DEPTH:
            pending.extend((body, depth + 1) for body in bodies)
    return found


def is_dangerous_command(argv: Sequence[str]) -> bool:
    """True for "rm -f style" commands (§7.4): `rm` with any force flag, also behind `sudo`, `env` and
    nested `bash -c` scripts, in any segment of a script, including inside `$(...)`."""
    return _any_dangerous([argv], _Scripts())


# ---------------------------------------------------------------------------------------- execpolicy rules

PatternToken: TypeAlias = tuple[str, ...]  # alternatives for one argv position


class RuleMatch(Record):
    """The strictest rule that matched one command segment."""

    decision: RuleDecision
    matched_prefix: tuple[str, ...]
    justification: str | None = None


class PrefixRule(Record):
    """`prefix_rule(pattern=[...], decision=..., justification=...)` from a `.rules` file."""

    pattern: tuple[PatternToken, ...]
    decision: RuleDecision = "allow"
    justification: str | None = None

    def match(self, argv: Sequence[str]) -> RuleMatch | None:
        """The match when argv starts with this pattern, token by token."""
        if len(argv) < len(self.pattern) or not all(a in p for a, p in zip(argv, self.pattern, strict=False)):
            return None
        return RuleMatch(self.decision, tuple(argv[: len(self.pattern)]), self.justification)


class PrefixRules(Record):
    """All loaded rules plus the `host_executable` paths that let `/usr/bin/git` use rules for `git`."""

    rules: tuple[PrefixRule, ...] = ()
    host_executables: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def check(self, argv: Sequence[str]) -> RuleMatch | None:
        """The strictest matching rule (forbidden > prompt > allow), or None."""
        if not self.rules:
            return None  # the common case, asked once per command of a script
        found = [m for m in (r.match(argv) for r in self.rules) if m is not None]
        if not found and argv and "/" in argv[0]:
            name = os.path.basename(argv[0])
            allowed = [paths for host, paths in self.host_executables if host == name]
            if not allowed or any(argv[0] in paths for paths in allowed):
                found = [m for m in (r.match([name, *argv[1:]]) for r in self.rules) if m is not None]
        return max(found, key=lambda m: _STRICTNESS[m.decision], default=None)


def _rules_error(path: Path, detail: str) -> ConfigError:
    return ConfigError(f"failed to parse policy at {path}\nerror: {detail}")


def _pattern(value: object) -> tuple[PatternToken, ...] | None:
    if not isinstance(value, list) or not value:
        return None
    tokens: list[PatternToken] = []
    for item in value:
        alternatives = (item,) if isinstance(item, str) else tuple(item) if isinstance(item, list) else ()
        if not alternatives or not all(isinstance(a, str) for a in alternatives):
            return None
        tokens.append(alternatives)
    return tuple(tokens)


def _examples(path: Path, value: object) -> list[list[str]]:
    items = value if isinstance(value, list) else []
    try:
        return [
            shlex.split(e) if isinstance(e, str) else [str(w) for w in e] for e in items if isinstance(e, str | list)
        ]
    except ValueError as exc:
        raise _rules_error(path, f"bad example: {exc}") from exc


def _rule_from_call(path: Path, kwargs: dict[str, object]) -> PrefixRule:
    pattern = _pattern(kwargs.get("pattern"))
    if pattern is None:
        raise _rules_error(path, "pattern must be a non-empty list of strings or lists of strings")
    decision = kwargs.get("decision", "allow")
    if decision not in _STRICTNESS:
        raise _rules_error(path, f"invalid decision: {decision}")
    justification = kwargs.get("justification")
    rule = PrefixRule(pattern, decision, justification if isinstance(justification, str) else None)
    unmatched = [" ".join(e) for e in _examples(path, kwargs.get("match")) if rule.match(e) is None]
    if unmatched:
        raise _rules_error(path, f"expected every example to match at least one rule. unmatched: {unmatched}")
    matched = [" ".join(e) for e in _examples(path, kwargs.get("not_match")) if rule.match(e) is not None]
    if matched:
        raise _rules_error(path, f"expected no not_match example to match the rule. matched: {matched}")
    return rule


def _parse_rules_file(path: Path, rules: list[PrefixRule], hosts: list[tuple[str, tuple[str, ...]]]) -> None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError) as exc:
        raise _rules_error(path, str(exc)) from exc
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.args:
            raise _rules_error(path, f"line {stmt.lineno}: expected prefix_rule(...) or host_executable(...)")
        try:
            kwargs = {k.arg or "": ast.literal_eval(k.value) for k in call.keywords}
        except (ValueError, TypeError, SyntaxError, RecursionError) as exc:
            raise _rules_error(path, f"line {stmt.lineno}: only literal values are allowed ({exc})") from exc
        if call.func.id == "prefix_rule":
            rules.append(_rule_from_call(path, kwargs))
        elif call.func.id == "host_executable":
            paths = kwargs.get("paths")
            name = kwargs.get("name")
            if not isinstance(name, str) or not isinstance(paths, list):
                raise _rules_error(path, f"line {stmt.lineno}: host_executable needs name= and paths=")
            hosts.append((name, tuple(os.path.expanduser(str(p)) for p in paths)))
        else:
            raise _rules_error(path, f"line {stmt.lineno}: unknown function {call.func.id}")


def load_prefix_rules(codex_home: Path) -> PrefixRules:
    """The rules of every `$CODEX_HOME/rules/*.rules` file, in name order; none when the folder is absent."""
    rules: list[PrefixRule] = []
    hosts: list[tuple[str, tuple[str, ...]]] = []
    folder = codex_home / "rules"
    for path in sorted(folder.glob("*.rules")) if folder.is_dir() else []:
        _parse_rules_file(path, rules, hosts)
    return PrefixRules(tuple(rules), tuple(hosts))


def append_allow_rule(codex_home: Path, pattern: Sequence[str]) -> None:
    """Persist an approved amendment as `prefix_rule(pattern=[...], decision="allow")` in `default.rules`."""
    folder = codex_home / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    line = f'prefix_rule(pattern={json.dumps(list(pattern), ensure_ascii=False)}, decision="allow")\n'
    with (folder / "default.rules").open("a", encoding="utf-8") as fh:
        fh.write(line)


# -------------------------------------------------------------------------------------------- assessments


class CommandAssessment(Record):
    """What the runner must do with one `exec_command` call."""

    action: Action
    sandboxed: bool  # inside the sandbox; after approval when action is "ask"
    reason: str | None  # the model-facing output when rejecting, the question's reason when asking
    retry_unsandboxed_on_failure: bool = False  # on-failure: offer an unsandboxed rerun if this run fails


def _rust_debug(text: str) -> str:
    """`text` as Rust's `{:?}` prints a string."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    body = "".join(escapes.get(c, c if c.isprintable() else f"\\u{{{ord(c):x}}}") for c in text)
    return f'"{body}"'


def exec_rejection_output(message: str) -> str:
    """The function output of an exec_command that was not run: `exec_command failed: CreateProcess {…}`."""
    return f"exec_command failed: CreateProcess {{ message: {_rust_debug(f'Rejected({_rust_debug(message)})')} }}"


def _command_rejection(argv: Sequence[str], why: str) -> str:
    return exec_rejection_output(f"`{shlex.join(argv)}` rejected: {why}")


class _RuleView(Record):
    forbidden: RuleMatch | None
    prompt: RuleMatch | None
    all_allowed: bool
    dangerous: bool
    known_safe: bool  # every segment not matched by a rule is known-safe


def _rule_view(argv: Sequence[str], rules: PrefixRules) -> _RuleView:
    segments = _command_segments(argv)
    scripts = _Scripts()
    if segments is None:  # not a plain script: rules see its rough segments, and `allow` never lifts the sandbox
        matches = [rules.check(s) for s in _loose_segments(_shell_script(argv) or "", scripts)]
        strict = [m for m in matches if m is not None and m.decision != "allow"]
        return _RuleView(
            next((m for m in strict if m.decision == "forbidden"), None),
            next((m for m in strict if m.decision == "prompt"), None),
            False,
            _any_dangerous([argv], scripts),
            False,
        )
    if not rules.rules:  # what the general case below gives without rules, without a look per command
        return _RuleView(None, None, False, _any_dangerous(segments, scripts), all(map(_is_safe_simple, segments)))
    pairs = [(s, rules.check(s)) for s in segments]
    unmatched = [s for s, m in pairs if m is None]
    return _RuleView(
        next((m for _, m in pairs if m is not None and m.decision == "forbidden"), None),
        next((m for _, m in pairs if m is not None and m.decision == "prompt"), None),
        bool(pairs) and all(m is not None and m.decision == "allow" for _, m in pairs),
        _any_dangerous(unmatched, scripts),
        all(_is_safe_simple(s) for s in unmatched),
    )


def assess_command(
    argv: Sequence[str],
    *,
    policy: ApprovalPolicy,
    sandbox_mode: str,
    escalation_requested: bool,
    justification: str | None,
    session_approved: frozenset[tuple[str, ...]] = frozenset(),
    bypass: bool = False,
    rules: PrefixRules | None = None,
    confinable: bool = True,
) -> CommandAssessment:
    """Decide one exec_command call (argv as it will be spawned, e.g. `[shell, "-lc", cmd]`).

    `bypass` (`--dangerously-bypass-approvals-and-sandbox`) means policy `never` without any sandbox; the
    `never` rejections (escalation requests, dangerous commands, forbidden rules) still apply.
    `confinable=False` (Windows: no OS sandbox) makes approvals the control: see `_assess_unconfined`."""
    if bypass:
        policy, sandbox_mode = "never", "danger-full-access"
    confined = sandbox_mode != "danger-full-access"
    after_approval = confined and not escalation_requested
    retry = policy == "on-failure"

    def run(sandboxed: bool) -> CommandAssessment:
        return CommandAssessment("run", sandboxed, None, retry and sandboxed)

    def ask(reason: str | None = justification) -> CommandAssessment:
        return CommandAssessment("ask", after_approval, reason, retry and after_approval)

    if escalation_requested and policy == "never":
        return CommandAssessment("reject", False, NEVER_ESCALATION_REJECTION)
    view = _rule_view(argv, rules or PrefixRules())
    if view.forbidden is not None:
        prefix = " ".join(view.forbidden.matched_prefix)
        why = view.forbidden.justification or f"policy forbids commands starting with `{prefix}`"
        return CommandAssessment("reject", False, _command_rejection(argv, why))
    if view.all_allowed:
        return CommandAssessment("run", False, None)
    if view.dangerous and policy == "never":
        return CommandAssessment("reject", False, _command_rejection(argv, DANGEROUS_REJECTION))
    if confined and not confinable:  # [sandbox item 4: Windows] approvals replace the missing sandbox
        return _assess_unconfined(argv, view, policy, sandbox_mode, justification, session_approved)
    if tuple(argv) in session_approved:
        return run(after_approval)
    if view.dangerous:
        return ask()
    if view.prompt is not None:
        if policy == "never":
            return CommandAssessment("reject", False, exec_rejection_output(NEVER_PROMPT_REJECTION))
        return ask(justification or view.prompt.justification)
    if policy == "untrusted":
        return run(confined) if view.known_safe and not escalation_requested else ask()
    if escalation_requested and confined:  # on-request / on-failure
        return ask()
    return run(confined)


def _assess_unconfined(argv: Sequence[str], view: _RuleView, policy: ApprovalPolicy, sandbox_mode: str,
                       justification: str | None, session_approved: frozenset[tuple[str, ...]]) -> CommandAssessment:
    """Under read-only/workspace-write where nothing can confine a command: known-safe commands (and those
    approved for the session) run, every other one is asked about, and `never` refuses it. Nothing is ever
    reported as sandboxed, so no unsandboxed retry is offered either."""
    if tuple(argv) in session_approved or (view.known_safe and view.prompt is None and not view.dangerous):
        return CommandAssessment("run", False, None)
    if policy == "never":
        why = (f"this machine cannot confine commands to the `{sandbox_mode}` sandbox, so only known-safe "
               "read-only commands run without approval, and approval policy `never` cannot ask for it")
        return CommandAssessment("reject", False, _command_rejection(argv, why))
    reason = justification or (view.prompt.justification if view.prompt is not None else None)
    return CommandAssessment("ask", False, reason or f"This command would run unsandboxed (`{sandbox_mode}` cannot "
                             "be enforced on this machine).")


class PatchAssessment(Record):
    """What the runner must do with one apply_patch call."""

    action: Action
    reason: str | None  # the model-facing output when rejecting
    blocked_paths: tuple[Path, ...] = ()  # targets the sandbox would not let it write


def _is_writable(path: PurePath, roots: Sequence[PurePath], *, fold_case: Callable[[Path], bool]) -> bool:
    """Whether a confined process may write `path`: inside a root, and not under a protected name at its top.
    Names are compared as the volume compares them (`fold_case(root)`: `.GIT` is `.git` on APFS and NTFS), and
    as Windows reads them (`.git.`, `.git ` and `.git::$DATA` are `.git` there)."""
    from codex_cli.sandbox_policy import PROTECTED_NAMES

    windows = isinstance(path, PureWindowsPath)
    path = _without_verbatim_prefix(path)
    inside = False
    for root in map(_without_verbatim_prefix, roots):
        if not (path == root or root in path.parents):
            continue
        first = path.relative_to(root).parts[:1]
        if first:
            name = first[0].split(":", 1)[0].rstrip(". ") if windows else first[0]
            folded = name.casefold() if windows or fold_case(Path(root)) else name
            if folded in {n if folded == name else n.casefold() for n in PROTECTED_NAMES}:
                return False
        inside = True
    return inside


def _without_verbatim_prefix(path: PurePath) -> PurePath:
    r"""`\\?\C:\x` as `C:\x`, and `\\?\UNC\host\share` as `\\host\share`: Windows's verbatim form of a path."""
    text = str(path)
    if isinstance(path, PureWindowsPath) and text.startswith("\\\\?\\"):
        rest = text[4:]
        return PureWindowsPath("\\\\" + rest[4:] if rest[:4].upper() == "UNC\\" else rest)
    return path


def assess_patch(
    paths: Sequence[Path],
    *,
    policy: ApprovalPolicy,
    sandbox_mode: str,
    writable_roots: Sequence[Path],
    session_approved_patches: bool = False,
    cwd: Path | None = None,
) -> PatchAssessment:
    """Decide one apply_patch call from the paths it writes (relative ones against `cwd`, else the first
    writable root). Unknown sandbox modes are treated as read-only."""
    if sandbox_mode == "danger-full-access":
        return PatchAssessment("run", None)
    from codex_cli.sandbox_policy import case_insensitive_volume, real_path

    base = cwd or (writable_roots[0] if writable_roots else Path("/"))
    targets = tuple(real_path(base / p) for p in paths)
    if sandbox_mode == "workspace-write":
        roots = [real_path(r) for r in writable_roots]
        # The path as written and where it leads must both be writable: a protected name that is a symlink
        # (`.codex -> shared/codex`) leads somewhere plain, and its name still guards it.
        written = [Path(os.path.abspath(base / p)) for p in paths]
        blocked = tuple(target for target, as_written in zip(targets, written, strict=True)
                        if not (_is_writable(target, roots, fold_case=case_insensitive_volume)
                                and _is_writable(as_written, [*roots, *writable_roots],
                                                 fold_case=case_insensitive_volume)))
        rejection = PATCH_OUTSIDE_REJECTION
    else:
        blocked, rejection = targets, PATCH_READ_ONLY_REJECTION
    if not blocked or session_approved_patches:
        return PatchAssessment("run", None, blocked)  # approved for the session: still named, to be allowed
    if policy == "never":
        return PatchAssessment("reject", rejection, blocked)
    return PatchAssessment("ask", None, blocked)


# -------------------------------------------------------------------------------------- asking and answers


# Prefixes never offered for "always allow" (sandbox.md §7.3): they would allow any program at all.
BANNED_PREFIXES = frozenset(
    tuple(p.split()) for p in (
        "python3", "python3 -", "python3 -c", "python", "python -", "python -c", "py", "py -3", "pythonw", "pyw",
        "pypy", "pypy3", "git", "bash", "bash -lc", "sh", "sh -c", "sh -lc", "zsh", "zsh -lc", "/bin/zsh",
        "/bin/zsh -lc", "/bin/bash", "/bin/bash -lc", "pwsh", "pwsh -Command", "pwsh -c", "powershell",
        "powershell -Command", "powershell -c", "powershell.exe", "powershell.exe -Command", "powershell.exe -c",
        "env", "sudo", "node", "node -e", "perl", "perl -e", "ruby", "ruby -e", "php", "php -r", "lua", "lua -e",
        "osascript",
    )
)


def approval_prefix(command: Sequence[str], suggested: object) -> tuple[str, ...] | None:
    """The prefix offered for "don't ask again for commands that start with": the model's `prefix_rule` when it
    is a prefix of the command, else the first command of the script; None when that would allow any program."""
    words = list(command)
    if len(words) == 3 and words[1] in ("-lc", "-c"):
        segments = parse_shell_script(words[2]) or []
        words = segments[0] if segments else []
    if isinstance(suggested, list) and suggested and all(isinstance(w, str) for w in suggested):
        proposal = tuple(str(w) for w in suggested)
        if tuple(words[: len(proposal)]) == proposal and proposal not in BANNED_PREFIXES:
            return proposal
    prefix = tuple(words)
    return prefix if prefix and prefix not in BANNED_PREFIXES else None


class ApprovalRequest(Record):
    """One question to the user: run this command, or apply this patch? It carries all the person must see,
    computed where the call runs, so no front end has to look into the session's history."""

    kind: Literal["exec", "patch"]
    call_id: str
    cwd: Path
    command: tuple[str, ...] = ()
    reason: str | None = None  # the model's justification, shown as "Reason:"
    paths: tuple[Path, ...] = ()  # patch destinations
    offer_session: bool = True  # whether "approve for this session" is offered
    prefix: tuple[str, ...] | None = None  # a command's prefix offered for "always" (`approval_prefix`)
    changes: tuple[FileChange, ...] = ()  # a patch's planned changes, per file, in patch order
    diff: str = ""  # a patch's whole unified diff

    @property
    def display(self) -> str:
        """The command as one shell-quoted line."""
        return shlex.join(self.command)


class Refusal(Record):
    """A refusal that comes with its own words for the model: a `PermissionRequest` hook's deny message."""

    message: str


class Approver(Protocol):
    """A front end's way to put an `ApprovalRequest` to the user."""

    def request(self, req: ApprovalRequest) -> ReviewDecision | Refusal:
        """Block until the user answers."""
        ...


class PolicyOnlyApprover:
    """`codex exec`'s approver: there is nobody to ask, so every question is denied."""

    def request(self, req: ApprovalRequest) -> ReviewDecision:
        """Deny without asking."""
        return "denied"


class DecisionResult(Record):
    """What one answer means for the pending call."""

    action: Literal["run", "reject", "abort"]  # abort: interrupt the turn, send no output for the call
    sandboxed: bool
    output: str | None = None  # the model-facing text when rejected
    remember_for_session: bool = False  # do not ask again for this command / these files


def decision_result(decision: ReviewDecision | Refusal, *, kind: Literal["exec", "patch"],
                    sandboxed: bool) -> DecisionResult:
    """Turn an answer into what the runner does; `sandboxed` is the asking assessment's `sandboxed`."""
    if isinstance(decision, Refusal):  # the tool output carries the refusal's words (ux.md: "Rejected(<message>)")
        output = exec_rejection_output(decision.message) if kind == "exec" else f"patch rejected: {decision.message}"
        return DecisionResult("reject", False, output)
    if decision in ("approved", "approved_for_session"):
        return DecisionResult("run", sandboxed and kind == "exec", None, decision == "approved_for_session")
    if decision == "abort":
        return DecisionResult("abort", False)
    output = exec_rejection_output(_USER_REJECTION) if kind == "exec" else _PATCH_USER_REJECTION
    return DecisionResult("reject", False, output)
