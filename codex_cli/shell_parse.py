"""POSIX shell scripts read as words: the lexer, the plain-script splitter, and the one rule for shell wrappers.

Every module that looks inside a command asks here: whether an argv is a shell wrapper (`bash -lc SCRIPT`) and
what its script is (`shell_wrapper_script`), the simple commands of a plain script (`parse_shell_script`), and
every command a script may run, substitutions included (`loose_segments`). The lexer only moves forward, so its
time grows with the script's length: a megabyte command is judged in milliseconds.

The wrapper rule is codex-rs's: exactly `[shell, "-lc" | "-c", SCRIPT]`. The shell is named by its last path
component (either separator, any case, `.exe` dropped: the case-insensitive volumes of macOS and Windows run
`BASH` as bash) and is one of the POSIX shells a command may run in: codex-rs's bash, zsh and sh, and dash and
ksh, which `$SHELL` may name here (`shell.shell_argv` runs `[$SHELL, "-lc", cmd]` for any of them). Other
shapes (`bash -l -c`, `bash -ec`, `bash -c SCRIPT ARG0`, `bash -o posix -c`) are ordinary commands: the
program `bash` with arguments, which no check reads as a script.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "ASSIGNMENT",
    "MAX_DEPTH",
    "POSIX_SHELLS",
    "RESERVED_WORDS",
    "ScriptCache",
    "command_segments",
    "is_posix_shell",
    "loose_segments",
    "parse_shell_script",
    "shell_wrapper_script",
]

POSIX_SHELLS = frozenset({"bash", "zsh", "sh", "dash", "ksh"})
_WRAPPER_FLAGS = frozenset({"-lc", "-c"})

# ------------------------------------------------------------------------------------------------- the lexer

_OPERATORS = tuple("<<< <<- && || ;; |& >> << <& >& &> <> >| ; | & ( ) < >".split())  # longest first
_PLAIN_OPERATORS = frozenset({"&&", "||", ";", "|"})
_REDIRECTIONS = frozenset({"<<<", ">>", "<<", "<<-", "<&", ">&", "&>", "<>", ">|", "<", ">"})
RESERVED_WORDS = frozenset(
    "if then else elif fi for while until do done case esac function select time coproc { } ! [[ ]]".split()
)
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


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
        if first in RESERVED_WORDS or ASSIGNMENT.match(first):
            return None
    return segments


class ScriptCache:
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
MAX_DEPTH = 8  # how deep substitutions, and apart from them `sudo`/`env`/`bash -c` wrappers, are looked into


def loose_segments(cmd: str, scripts: ScriptCache, depth: int = 0) -> list[list[str]]:
    """Every simple command a script may run, substitutions included; never fails."""
    segments, bodies = scripts.parts(cmd)
    found = list(segments)
    if depth < MAX_DEPTH:
        for body in bodies:
            found.extend(loose_segments(body, scripts, depth + 1))
    return found


# ------------------------------------------------------------------------------------------- shell wrappers


def is_posix_shell(program: str) -> bool:
    """Whether `program` (a name or a path, POSIX or Windows) names one of `POSIX_SHELLS`."""
    name = program[max(program.rfind("/"), program.rfind("\\")) + 1 :].lower()
    return (name[:-4] if name.endswith(".exe") else name) in POSIX_SHELLS


def shell_wrapper_script(argv: Sequence[str]) -> str | None:
    """The script of `[shell, "-lc" | "-c", SCRIPT]` when shell is a POSIX shell (see the module's docstring),
    else None: `/bin/bash -lc 'ls && pwd'` gives `ls && pwd`."""
    if len(argv) != 3 or argv[1] not in _WRAPPER_FLAGS or not is_posix_shell(argv[0]):
        return None
    return argv[2]


def command_segments(argv: Sequence[str], depth: int = 0) -> list[list[str]] | None:
    """Simple commands of argv, looking through `bash -lc` wrappers; None when a script is not plain."""
    script = shell_wrapper_script(argv)
    if script is None:
        return [list(argv)]
    segments = parse_shell_script(script)
    if segments is None or depth >= MAX_DEPTH:
        return None
    if not any(map(is_posix_shell, {segment[0] for segment in segments})):
        return segments  # no shell wrapper inside
    flat: list[list[str]] = []
    for segment in segments:
        inner = command_segments(segment, depth + 1)
        if inner is None:
            return None
        flat.extend(inner)
    return flat
