"""The shell scanner of `codex_cli.shell_parse` against the one it replaced: the same answers, in linear time.

The reference below is the previous scanner, kept verbatim: each character of a word copied the word so far, and
a dangerous-command check followed every path through nested `bash -c` scripts and substitutions (27 s for a
120 KB command, exponential in the nesting). `scripts/bench_safety.py` measures both."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_cli import command_safety, safety, shell_parse
from codex_cli.command_safety import _after_env, _has_force_flag
from codex_cli.shell_parse import (
    _OPERATORS,
    _PLAIN_OPERATORS,
    ASSIGNMENT,
    RESERVED_WORDS,
    _split_items,
    shell_wrapper_script,
)

# ----------------------------------------------------------------------------------- the previous scanner


@dataclass
class _Scanned:
    items: list[tuple[bool, str]]  # (is_operator, text)
    plain: bool
    nested: list[str]  # bodies of $(...) and `...`
    trailing_separator: bool


def _closing_paren(src: str, start: int) -> int:
    """Index just past the `)` that closes a `$(` whose body begins at `start` (len(src) if unbalanced)."""
    depth, i = 1, start
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c in "'\"":
            end = src.find(c, i + 1)
            i = len(src) if end < 0 else end + 1
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        i += 1
        if depth == 0:
            return i
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
        while i < len(src):
            end = src.find("\n", i)
            end = len(src) if end < 0 else end
            line = src[i:end].lstrip("\t") if strip_tabs else src[i:end]
            i = end + 1
            if line == delimiter:
                break
    return i


def _double_quoted(src: str, i: int, word: list[str], out: _Scanned) -> int:
    """Append the text of a `"…"` body starting at `i` to `word`; the index after the closing quote
    (len(src) + 1 when it is missing)."""
    n = len(src)
    while i < n and src[i] != '"':
        if src[i] == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
            word.append(src[i + 1])
            i += 2
        elif src[i] in "$`":
            start, i = i, _substitution(src, i, out)
            word.append(src[start:i])
        else:
            word.append(src[i])
            i += 1
    return i + 1 if i < n else n + 1


def _reference_scan(src: str) -> _Scanned | None:
    """Words and operators of a shell script; None on an unterminated quote."""
    out = _Scanned([], True, [], False)
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
            word = (word or []) + [src[i + 1 : i + 2]]
            i += 2
        elif c == "'":
            end = src.find("'", i + 1)
            if end < 0:
                return None
            word = (word or []) + [src[i + 1 : end]]
            i = end + 1
        elif c == '"':
            word = word or []
            i = _double_quoted(src, i + 1, word, out)
            if i > n:
                return None
        elif c in "$`":
            start, i = i, _substitution(src, i, out)
            word = (word or []) + [src[start:i]]
        else:
            op = next((o for o in _OPERATORS if src.startswith(o, i)), None)
            if op is None:
                if c in "*?[]{}!":
                    out.plain = False
                word = (word or []) + [c]
                i += 1
                continue
            end_word()
            out.items.append((True, op))
            out.trailing_separator = op == ";"
            if op not in _PLAIN_OPERATORS:
                out.plain = False
            if op in ("<<", "<<-"):
                pending_heredoc = op == "<<-"
            i += len(op)
    end_word()
    return out


def _reference_loose_segments(cmd: str, depth: int = 0) -> list[list[str]]:
    """Every simple command a script may run, substitutions included; never fails."""
    scanned = _reference_scan(cmd)
    if scanned is None:  # unterminated quote: fall back to a rough split
        return [part.replace("'", " ").replace('"', " ").split() for part in re.split(r"[;&|()\n`]+", cmd)]
    segments = _split_items(scanned.items)
    if depth < 8:
        for body in scanned.nested:
            segments.extend(_reference_loose_segments(body, depth + 1))
    return [seg for seg in segments if seg]


def _reference_dangerous(argv: Sequence[str], depth: int) -> bool:
    words = list(argv)
    while words and (words[0] in RESERVED_WORDS or ASSIGNMENT.match(words[0])):
        words.pop(0)
    if not words or depth > 8:
        return False
    prog = os.path.basename(words[0])
    if prog == "rm":
        return _has_force_flag(words[1:])
    if prog == "sudo":  # only a bare `sudo CMD`; `sudo -u root rm -f` is not flagged (as observed in 0.169)
        return len(words) > 1 and not words[1].startswith("-") and _reference_dangerous(words[1:], depth + 1)
    if prog == "env":
        return _reference_dangerous(_after_env(words[1:]), depth + 1)
    script = shell_wrapper_script(words)
    if script is not None:
        return any(_reference_dangerous(seg, depth + 1) for seg in _reference_loose_segments(script))
    return False


# ------------------------------------------------------------------------------------------- same answers


def _scanned(result: object) -> object:
    if result is None:
        return None
    return (result.items, result.plain, result.nested, result.trailing_separator)  # type: ignore[attr-defined]


def _assert_same(script: str) -> None:
    assert _scanned(shell_parse._scan(script)) == _scanned(_reference_scan(script)), script
    # The reference's rough split of an unterminated quote kept empty segments, which no check ever matched.
    loose = [segment for segment in _reference_loose_segments(script) if segment]
    assert shell_parse.loose_segments(script, shell_parse.ScriptCache()) == loose, script
    argv = ["/bin/bash", "-lc", script]
    assert command_safety.is_dangerous_command(argv) == _reference_dangerous(argv, 0), script


# Pieces that start, end or continue the scanner's constructs, so that random strings of them cross every path.
PIECES = [
    " ", "\t", "\n", "\r", "#", "\\", "\\\n", "'", '"', "$", "$(", "${", "}", "`", "(", ")", "((", "))", "<", "<<",
    "<<-", "<<<", ">", ">|", "&", "&&", "|", "||", ";", ";;", "a", "b", "EOF", "\tEOF", "*", "!", "{", "x=1", "if",
    "-", "é", "🙂", "rm", "-f", "-rf", "--force", "sudo", "env", "-S", "bash -c ", "sh -lc ", "/bin/rm",
]

TRICKY = [
    "",
    "a\"b\"c d'e'f g$h i`j`k l#m #n",
    "echo a\\\nb \\",
    "cat <<EOF\nbody $(rm -rf /)\nEOF\nls",
    "cat <<-'E'\n\tx\n\tE\nrm -f y",
    "cat <<E <<F\ne\nE\nf\nF\nrm -f z",
    "cat <<E\nno end",
    "cat <<''\n\nrm -f q",
    "a <<< b < c <& d <> e >| f &> g",
    "echo $(echo $(echo $(rm -f x)))",
    "echo $(a ')' \"(\" \\) b) $(unbalanced",
    "echo \"$(rm -f x)\" \"`rm -f y`\" \"${a}\" \"\\$(no)\"",
    "a\nb\n\n;c && \n d",
    "echo a#b c#d # comment\nrm -f w",
    "x=1 y=2 if then rm -f v",
    "env -S 'rm -f u' && sudo rm -rf t && sudo -u root rm -f s",
    "bash -c 'sh -c \"rm -f r\"'",
    "echo 'unterminated",
    'echo "unterminated $(x',
]


@pytest.mark.parametrize("script", TRICKY, ids=range(len(TRICKY)))
def test_tricky_scripts_scan_as_before(script: str) -> None:
    _assert_same(script)


@settings(max_examples=600, deadline=None)
@given(script=st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_random_scripts_scan_as_before(script: str) -> None:
    _assert_same(script)


def _quoted(text: str) -> str:
    """`text` as one double-quoted shell word."""
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


# Each wrapper adds a level of `bash -c`, `sudo`, `env` or substitution: past eight of either the previous
# checker stopped looking, and the answers must stop at the same place.
WRAPPERS = [
    lambda x: f"$({x})",
    lambda x: f"echo $({x})",
    lambda x: f"bash -c {_quoted(x)}",
    lambda x: f"sudo {x}",
    lambda x: f"env {x}",
    lambda x: f"a; {x}",
    lambda x: f"FOO=1 {x} | b",
    lambda x: f"$(a) `a` $({x})",
]
LEAVES = ["rm -f x", "rm x", "ls", "/bin/rm --force y"]


@settings(max_examples=300, deadline=None)
@given(leaf=st.sampled_from(LEAVES), wrappers=st.lists(st.sampled_from(WRAPPERS), min_size=4, max_size=14))
def test_deeply_nested_commands_are_judged_as_before(leaf: str, wrappers: list) -> None:
    script = leaf
    for wrap in wrappers:
        script = wrap(script)
    _assert_same(script)


# --------------------------------------------------------------------------------------------- linear time

MEGABYTE = 1_000_000
# Shapes that were quadratic or worse in the previous scanner; the guard is generous (it catches a return of
# quadratic behaviour, not a slow machine), `scripts/bench_safety.py` has the real figures.
BIG = {
    "one long word": "echo " + "a" * MEGABYTE,
    "many words": "echo " + "a " * (MEGABYTE // 2),
    "many lines": "echo hello world\n" * (MEGABYTE // 17),
    "variables": "echo " + "$a" * (MEGABYTE // 2),
    "backticks": "echo " + "`a`" * (MEGABYTE // 3),
    "unclosed substitutions": "echo " + "$(" * (MEGABYTE // 2),
    "assignments": "a=1 " * (MEGABYTE // 4) + "rm -f x",
    "nested bash -c": "$(bash -c " * 60 + "a " * (MEGABYTE // 2) + ")" * 60,
}


@pytest.mark.parametrize("script", list(BIG.values()), ids=list(BIG))
def test_a_megabyte_command_is_assessed_quickly(script: str) -> None:
    started = time.process_time()
    safety.assess_command(["/bin/bash", "-lc", script], policy="untrusted", sandbox_mode="workspace-write",
                          escalation_requested=False, justification=None)
    assert time.process_time() - started < 5
