"""execpolicy rules: the `prefix_rule` files of `$CODEX_HOME/rules/`, read, matched and amended.

A rule says what to do with commands that start with a pattern (`allow`, `prompt` or `forbidden`, the strictest
match winning); `host_executable` lets `/usr/bin/git` use the rules for `git`. The files are Starlark; only
literal calls of these two functions are read (reference/sandbox.md §7.7). `safety` weighs the matches.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from codex_cli.errors import ConfigError
from codex_cli.records import Record

__all__ = [
    "PatternToken",
    "PrefixRule",
    "PrefixRules",
    "RuleDecision",
    "RuleMatch",
    "append_allow_rule",
    "load_prefix_rules",
]

RuleDecision: TypeAlias = Literal["allow", "prompt", "forbidden"]
_STRICTNESS: dict[RuleDecision, int] = {"allow": 0, "prompt": 1, "forbidden": 2}

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
