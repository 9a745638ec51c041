"""Agent Skills: the SKILL.md folders found on disk, their frontmatter, and the skills message the model is given.

A skill is a folder holding a `SKILL.md`: YAML frontmatter (`name`, `description`) and then instructions, with
optional `scripts/`, `references/` and `assets/` (the open Agent Skills standard). Roots are scanned as codex-rs
0.169 scans them, in this order: `.codex/skills` from the cwd up to the project root, `$CODEX_HOME/skills`,
`$HOME/.agents/skills`, the admin root (`/etc/codex/skills`), then `.agents/skills` from the project root down to
the cwd. The model sees one line per skill in a `<skills_instructions>` developer text (names, descriptions and
short paths `rN/<dir>/SKILL.md` against a table of roots) and opens a `SKILL.md` only when it uses that skill;
`$name` in a prompt adds the skill's whole file to the turn. codex-rs's bundled skills (`$CODEX_HOME/skills/.system`)
describe codex-rs's own tools, so they are not read here, and this CLI bundles none.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from codex_cli.records import Record, replace
from codex_cli.response_items import ResponseItem

if TYPE_CHECKING:
    from codex_cli.config import Config

__all__ = [
    "FrontmatterError",
    "LoadedSkills",
    "Skill",
    "SkillRoot",
    "SkillRule",
    "SkillsMessage",
    "complete_skill",
    "load_skills",
    "mention_items",
    "mentioned_skills",
    "parse_frontmatter",
    "read_skill",
    "render_skills",
    "skill_roots",
    "skill_rules",
    "skills_for_config",
    "skills_update_message",
]

Scope: TypeAlias = Literal["repo", "user", "admin"]  # codex-rs also has "system": its bundled skills
SKILL_FILE = "SKILL.md"
MAX_NAME_CHARS = 64  # longer names are refused, as codex-rs and the standard do
MAX_DESCRIPTION_CHARS = 1024  # longer descriptions are cut to this length (codex-rs 0.169 keeps such skills)
MAX_SCAN_DEPTH = 6  # folders below a root that are searched for SKILL.md
MAX_DIRS_PER_ROOT = 2000
CHAR_BUDGET = 8000  # the skills lines' budget when the context window is unknown
WINDOW_PERCENT = 2  # otherwise this share of the window, in tokens of ~4 bytes
# The message lists admin skills first, then repo and user ones (codex-rs puts its bundled ones before all);
# mentions and /skills go repo, user, admin.
_LIST_RANK: Mapping[str, int] = {"admin": 0, "repo": 1, "user": 2}
_LOAD_RANK: Mapping[str, int] = {"repo": 0, "user": 1, "admin": 2}
# `$PATH` and friends in a prompt are shell variables, not skills (codex-rs skips the same names).
_ENV_NAMES = frozenset("PATH HOME USER SHELL PWD TMPDIR TEMP TMP LANG TERM XDG_CONFIG_HOME".split())
_MENTION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:")
_NULLS = frozenset(("~", "null", "Null", "NULL"))

_INTRO = (
    "Skills are folders of task instructions, each with a `SKILL.md` file. Every entry below gives a skill's name, "
    "what it is for, and its `SKILL.md` as a short path: replace the leading `rN` with that root's folder from the "
    "table of skill roots."
)
_HOW_TO = """\
- When: use a skill for this turn when the user names it (`$name` or in plain words) or when the task clearly \
fits its description. Use every skill the user names; a skill named in an earlier turn is not carried over.
- First read: expand the short path, then read the whole `SKILL.md` before doing the task; it says what to do.
- Files of a skill: resolve relative paths in `SKILL.md` (`scripts/run.py`) against the folder holding it. Open \
files under `references/` or `assets/` only when `SKILL.md` sends you to them for this task, and read those \
yourself rather than handing them to a helper agent.
- Reuse: run or adapt a skill's scripts and start from its templates instead of writing the same thing anew.
- Several skills: pick the fewest that cover the request, say in one line which ones you use and in what order, \
and say why when you leave out one that seems to fit.
- Trouble: when a named skill is not listed, its file cannot be read or its steps do not apply cleanly, say so in \
a sentence and carry on with the best approach you have."""
_GONE = "No skills are available any more; disregard the skills listed earlier in this conversation."


class FrontmatterError(ValueError):
    """A SKILL.md whose frontmatter cannot be read: the line (of the file) and why."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message


class SkillRoot(Record):
    path: Path
    scope: Scope


class Skill(Record):
    """One loaded skill. `path` is where the scan found SKILL.md (under `root`, through any symlinked folder);
    `real_path` is the file itself, the skill's identity (duplicates, `[[skills.config]]`, mentions)."""

    name: str
    description: str
    path: Path
    real_path: Path
    root: Path
    scope: Scope
    enabled: bool = True
    implicit: bool = True  # False: `policy.allow_implicit_invocation: false` in agents/openai.yaml


class SkillRule(Record):
    """One `[[skills.config]]` entry: a path or a name, and whether it turns the skill on or off."""

    enabled: bool
    path: Path | None = None
    name: str | None = None


class LoadedSkills(Record):
    skills: tuple[Skill, ...]  # enabled or not, repo first (codex-rs's load order)
    roots: tuple[Path, ...]  # every root scanned that exists (resolved), in scan order
    warnings: tuple[str, ...]
    include_instructions: bool = True  # `skills.include_instructions`

    def enabled(self) -> list[Skill]:
        return [skill for skill in self.skills if skill.enabled]


class SkillsMessage(Record):
    """The developer text (`<skills_instructions>` + `body` + its end tag), or None when no skill is listed."""

    text: str | None
    body: str
    warning: str | None = None


# ---------------------------------------------------------------------------------------------- frontmatter


class _Value(Record):
    kind: Literal["text", "null", "list", "map"]
    text: str = ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _strip_comment(text: str) -> str:
    """A plain scalar ends where ` #` starts a comment."""
    for index, ch in enumerate(text):
        if ch == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def _key_of(text: str) -> tuple[str, str] | None:
    """(`key`, rest) when `text` (no indentation) is `key: rest` or `key:`; a `:` inside a word is not one."""
    if text[:1] in ("-", "[", "{", "?", "#", "|", ">") and (len(text) < 2 or text[1] in " \t"):
        return None
    if text[:1] in ('"', "'"):
        end = text.find(text[0], 1)
        if end < 0 or text[end + 1 : end + 2] != ":":
            return None
        rest = text[end + 2 :]
        return (text[1:end], rest.strip()) if not rest or rest[0] in " \t" else None
    for index, ch in enumerate(text):
        if ch == ":" and (index + 1 == len(text) or text[index + 1] in " \t"):
            key = text[:index].rstrip()
            return (key, text[index + 1 :].strip()) if key else None
        if ch == "#" and index and text[index - 1] in " \t":
            return None
    return None


def _unescape(body: str, line: int) -> str:
    """The escapes of a YAML double-quoted scalar."""
    simple = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
              "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
              "L": "\u2028", "P": "\u2029", "\n": ""}
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1 : i + 2]
        if code in simple:
            out.append(simple[code])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        digits = body[i + 2 : i + 2 + width] if width else ""
        if not width or len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise FrontmatterError(line, f"unknown escape `\\{code}` in double-quoted text")
        out.append(chr(int(digits, 16)))
        i += 2 + width
    return "".join(out)


def _join(parts: list[str]) -> str:
    """The lines of a multi-line scalar, each continuation without its indentation. Line folding is left out:
    names and descriptions are collapsed to one line anyway (an escaped line break is `_unescape`'s)."""
    return "\n".join([parts[0], *(part.lstrip() for part in parts[1:])])


def _quoted(first: str, more: list[tuple[int, str]], line: int) -> str:
    """A single- or double-quoted scalar that may run over the `more` lines; nothing but a comment may follow."""
    quote = first[0]
    texts = [first[1:], *(text for _, text in more)]
    lines = [line, *(number for number, _ in more)]
    for index, text in enumerate(texts):
        i = 0
        while i < len(text):
            if quote == '"' and text[i] == "\\":
                i += 2
                continue
            if text[i] == quote:
                if quote == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                tail = text[i + 1 :].strip()
                if (tail and not tail.startswith("#")) or any(t.strip() for t in texts[index + 1 :]):
                    raise FrontmatterError(lines[index], "text after the closing quote")
                joined = _join([*texts[:index], text[:i]])
                return joined.replace("''", "'") if quote == "'" else _unescape(joined, line)
            i += 1
    raise FrontmatterError(line, f"the {'double' if quote == chr(34) else 'single'}-quoted text is never closed")


def _flow_end(texts: list[str]) -> tuple[int, int] | None:
    """(line index, column) just past the bracket that closes the flow collection opening `texts[0]`."""
    depth, quote = 0, ""
    for row, text in enumerate(texts):
        for col, ch in enumerate(text):
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth == 0:
                    return row, col + 1
    return None


def _value(rest: str, region: list[tuple[int, str]], line: int, indent: int) -> _Value:
    """The value of a top-level key: `rest` after `key:` on its line, and the `region` of lines that belong to it."""
    while region and _blank(region[-1][1]):
        region = region[:-1]
    while rest[:1] in ("&", "!"):  # an anchor or a tag changes nothing here
        rest = rest.partition(" ")[2]
        rest = rest.strip()
    if rest.startswith("*"):
        raise FrontmatterError(line, "aliases (`*name`) are not supported")
    body = [(number, text) for number, text in region if not _blank(text)]
    if not rest or rest.startswith("#"):
        if not body:
            return _Value("null")
        number, text = body[0]
        stripped = text.strip()
        if stripped == "-" or stripped.startswith(("- ", "-\t")):
            return _Value("list")
        if _key_of(stripped) is not None:
            return _Value("map")
        return _value(stripped, [(n, t) for n, t in region if n > number], number, indent)
    if rest[0] in "|>":
        header = _strip_comment(rest)
        if any(c not in "|>+-123456789" for c in header) or len(header) > 3:
            raise FrontmatterError(line, f"bad block scalar header `{header}`")
        if not body:
            return _Value("text")
        deepest = min(_indent(text) for _, text in body)
        if deepest <= indent:
            raise FrontmatterError(body[0][0], "the block text must be indented more than its key")
        return _Value("text", "\n".join(text[deepest:] for _, text in region))
    if rest[0] in "\"'":
        return _Value("text", _quoted(rest, region, line))
    if rest[0] in "[{":
        texts = [rest, *(text for _, text in region)]
        end = _flow_end(texts)
        if end is not None and not _strip_comment(texts[end[0]][end[1] :]) and not any(
            t.strip() for t in texts[end[0] + 1 :]
        ):
            return _Value("list" if rest[0] == "[" else "map")
        # An unclosed bracket is read as text, as codex-rs 0.169 reads `description: [draft`.
    if rest == "-" or rest.startswith(("- ", "-\t")):
        raise FrontmatterError(line, "a list cannot start on the line of its key")
    parts = [_strip_comment(rest)]
    for number, text in region:
        stripped = text.strip()
        if stripped.startswith("#"):
            continue
        if _key_of(stripped) is not None:
            raise FrontmatterError(number, f"`{stripped}` looks like a new key, but it is indented under the "
                                           "text above; quote the text or move the key left")
        parts.append(_strip_comment(stripped))
    return _Value("null") if len(parts) == 1 and parts[0] in _NULLS else _Value("text", _join(parts))


class _Frontmatter(Record):
    fields: Mapping[str, tuple[int, _Value]]  # name, description: (line, value)
    start: int  # the line after the opening `---`


def parse_frontmatter(text: str) -> _Frontmatter:
    """Read the `name` and `description` of a SKILL.md (a small YAML subset: a top-level mapping of plain,
    quoted, block and multi-line scalars; other keys and their nested values are skipped). `FrontmatterError`
    names the file line that cannot be read."""
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if not lines or lines[0].strip() != "---":
        raise FrontmatterError(1, "no frontmatter: the file must start with a `---` line")
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if closing is None or closing == 1:
        raise FrontmatterError(1, "the frontmatter is never closed by a `---` line" if closing is None
                               else "the frontmatter is empty")
    numbered = [(i + 1, lines[i]) for i in range(1, closing)]
    content = [(n, t) for n, t in numbered if not _blank(t)]
    if not content:
        return _Frontmatter({}, 2)
    base = _indent(content[0][1])
    fields: dict[str, tuple[int, _Value]] = {}
    position = 0
    while position < len(numbered):
        number, line = numbered[position]
        position += 1
        if _blank(line):
            continue
        if "\t" in line[: _indent(line) + 1] and not line.strip().startswith("#"):
            raise FrontmatterError(number, "tabs cannot indent YAML")
        if _indent(line) != base:
            raise FrontmatterError(number, "unexpected indentation")
        stripped = line.strip()
        if stripped == "-" or stripped.startswith(("- ", "-\t")):
            raise FrontmatterError(number, "the frontmatter must be `key: value` lines, not a list")
        found = _key_of(stripped)
        if found is None:
            raise FrontmatterError(number, f"expected `key: value`, found `{stripped}`")
        key, rest = found
        region: list[tuple[int, str]] = []
        while position < len(numbered):
            text = numbered[position][1]
            # YAML lets a key's list start at the key's own indentation (`key:` then `- item` lines).
            list_item = not rest and _indent(text) == base and text.strip().startswith("-")
            if text.strip() and _indent(text) <= base and not list_item:
                break  # the next key, or a comment at the key's level, ends the value
            region.append(numbered[position])
            position += 1
        # Every value is read (a malformed one makes the YAML invalid for codex-rs too); two are kept.
        value = _value(rest, region, number, base)
        if key in ("name", "description"):
            if key in fields:
                raise FrontmatterError(number, f"`{key}` is given twice")
            fields[key] = (number, value)
    return _Frontmatter(fields, 2)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _standard_name(name: str) -> bool:
    """Lowercase letters and digits in words joined by single hyphens (the Agent Skills standard)."""
    words = name.split("-")
    return all(words) and all(ch.isalnum() and not ch.isupper() for word in words for ch in word)


def _implicit(skill_dir: Path) -> bool:
    """False when `agents/openai.yaml` sets `policy: allow_implicit_invocation: false` (mentions still work)."""
    try:
        text = (skill_dir / "agents" / "openai.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True
    in_policy = False
    for line in text.splitlines():
        if not _blank(line) and _indent(line) == 0:
            in_policy = line.split("#", 1)[0].strip() == "policy:"
        elif in_policy:
            found = _key_of(line.strip())
            if found is not None and found[0] == "allow_implicit_invocation":
                return _strip_comment(found[1]).strip("'\"") != "false"
    return True


def read_skill(found: Path, root: Path, scope: Scope) -> tuple[Skill, list[str]]:
    """The skill of the SKILL.md at `found` and warnings about it; `FrontmatterError` when it cannot be loaded."""
    try:
        text = found.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrontmatterError(1, "the file is not UTF-8 text") from exc
    front = parse_frontmatter(text)
    name_line, name_value = front.fields.get("name", (front.start, _Value("null")))
    desc_line, desc_value = front.fields.get("description", (front.start, _Value("null")))
    for line, value, key in ((name_line, name_value, "name"), (desc_line, desc_value, "description")):
        if value.kind in ("list", "map"):
            raise FrontmatterError(line, f"`{key}` must be text, not a {'list' if value.kind == 'list' else 'mapping'}")
    name = _one_line(name_value.text) or _one_line(found.parent.name) or "skill"
    description = _one_line(desc_value.text)
    if not description:
        raise FrontmatterError(desc_line, "`description` is missing or empty")
    if len(name) > MAX_NAME_CHARS:
        raise FrontmatterError(name_line, f"the name is {len(name)} characters long; at most {MAX_NAME_CHARS} are "
                                          "allowed")
    warnings = []
    if not _standard_name(name):
        warnings.append(f"Skill {found}:{name_line}: the name `{name}` does not follow the Agent Skills standard "
                        "(lowercase letters, digits and single hyphens); it is loaded anyway.")
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 3] + "..."
    skill = Skill(name, description, found, found.resolve(), root, scope, implicit=_implicit(found.parent))
    return skill, warnings


# ---------------------------------------------------------------------------------------------- discovery


def _admin_root() -> Path:
    """The admin skills folder, next to the system config.toml."""
    if sys.platform == "win32":
        return Path(os.environ.get("ProgramData", r"C:\ProgramData")) / "OpenAI" / "Codex" / "skills"
    return Path("/etc/codex/skills")


def skill_roots(
    cwd: Path, project_root: Path, codex_home: Path, home: Path | None, admin: Path | None
) -> list[SkillRoot]:
    """The folders searched for skills, in codex-rs's order and without duplicates (they may not exist)."""
    cwd = cwd.resolve()
    chain = [cwd]
    if project_root != cwd and project_root in cwd.parents:
        chain += [parent for parent in cwd.parents if project_root in (parent, *parent.parents)]
    own_home = codex_home.resolve()
    roots = [SkillRoot(d / ".codex" / "skills", "repo") for d in chain if (d / ".codex").resolve() != own_home]
    roots.append(SkillRoot(codex_home / "skills", "user"))
    if home is not None:
        roots.append(SkillRoot(home / ".agents" / "skills", "user"))
    if admin is not None:
        roots.append(SkillRoot(admin, "admin"))
    roots += [SkillRoot(d / ".agents" / "skills", "repo") for d in reversed(chain)]
    unique: dict[Path, SkillRoot] = {}
    for root in roots:
        unique.setdefault(root.path, root)
    return list(unique.values())


def _scan(root: Path, limit: int = MAX_DIRS_PER_ROOT) -> list[Path]:
    """Every SKILL.md under `root`, breadth first: hidden entries skipped, symlinked folders followed (each
    folder once), symlinked SKILL.md files ignored (as codex-rs does), at most `MAX_SCAN_DEPTH` folders deep."""
    found: list[Path] = []
    visited = {root}
    queue: deque[tuple[Path, int]] = deque([(root, 0)])
    while queue:
        folder, depth = queue.popleft()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                is_dir = entry.is_dir()
                if entry.is_file(follow_symlinks=False) and entry.name == SKILL_FILE:
                    found.append(path)
                    continue
                real = path.resolve() if is_dir else None
            except OSError:
                continue
            if real is None or real in visited or depth + 1 > MAX_SCAN_DEPTH or len(visited) >= limit:
                continue
            visited.add(real)
            queue.append((path, depth + 1))
    return found


def skill_rules(entries: Iterable[Mapping[str, object]]) -> tuple[SkillRule, ...]:
    """`[[skills.config]]` entries as rules; an entry with both or neither of `path` and `name` is ignored, as
    codex-rs ignores it, and a later rule for the same path or name replaces an earlier one."""
    rules: list[SkillRule] = []
    for entry in entries:
        path, name, enabled = entry.get("path"), entry.get("name"), entry.get("enabled")
        if not isinstance(enabled, bool):
            continue
        if isinstance(path, str) and name is None:
            rule = SkillRule(enabled, path=Path(path).resolve())
        elif isinstance(name, str) and path is None and name.strip():
            rule = SkillRule(enabled, name=name.strip())
        else:
            continue
        rules = [r for r in rules if (r.path, r.name) != (rule.path, rule.name)]
        rules.append(rule)
    return tuple(rules)


def _disabled(skills: Sequence[Skill], rules: Sequence[SkillRule]) -> set[Path]:
    off: set[Path] = set()
    for rule in rules:
        paths = [rule.path] if rule.path is not None else [s.real_path for s in skills if s.name == rule.name]
        for path in paths:
            if rule.enabled:
                off.discard(path)
            else:
                off.add(path)
    return off


def load_skills(
    cwd: Path,
    project_root: Path,
    codex_home: Path,
    *,
    home: Path | None = None,
    admin: Path | None = None,
    rules: Sequence[SkillRule] = (),
    include_instructions: bool = True,
) -> LoadedSkills:
    """Scan the roots, read every SKILL.md once (the first root that reaches a file keeps it), apply the
    `[[skills.config]]` rules. A SKILL.md that cannot be read is left out with one warning naming its line.
    `home` defaults to the user's home folder, `admin` to /etc/codex/skills."""
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:
            home = None
    roots = skill_roots(cwd, project_root, codex_home, home, _admin_root() if admin is None else admin)
    skills: list[Skill] = []
    warnings: list[str] = []
    scanned: list[Path] = []
    seen: set[Path] = set()
    for root in roots:
        try:
            real_root = root.path.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if not real_root.is_dir() or real_root in scanned:
            continue
        scanned.append(real_root)
        for found in _scan(real_root):
            real = found.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                skill, notes = read_skill(found, real_root, root.scope)
            except FrontmatterError as exc:
                warnings.append(f"Skipped the skill {found}:{exc.line}: {exc.message}.")
                continue
            except OSError as exc:
                warnings.append(f"Skipped the skill {found}:1: cannot read it ({exc.strerror or exc}).")
                continue
            skills.append(skill)
            warnings += notes
    off = _disabled(skills, rules)
    skills = [replace(s, enabled=s.real_path not in off) for s in skills]
    skills.sort(key=lambda s: (_LOAD_RANK[s.scope], s.name, str(s.path)))
    return LoadedSkills(tuple(skills), tuple(scanned), tuple(warnings), include_instructions)


# ---------------------------------------------------------------------------------------------- the message


def _line(name: str, description: str, path: str) -> str:
    return f"- {name}: {description} (file: {path})" if description else f"- {name}: (file: {path})"


def _tokens(byte_count: int) -> int:
    return (byte_count + 3) // 4


def _fit(entries: list[tuple[str, str, str]], limit: int, in_tokens: bool) -> tuple[list[str], int]:
    """The lines within `limit` (tokens of ~4 bytes, or characters): every description whole if they fit; else
    every skill with its description cut, the room shared out one character at a time in list order, so short
    descriptions stay whole; else as many skills as fit without descriptions. Returns (lines, skills left out)."""

    def cost(text: str) -> int:
        return _tokens(len(text.encode("utf-8"))) if in_tokens else len(text)

    full = [_line(*entry) for entry in entries]
    if sum(cost(line + "\n") for line in full) <= limit:
        return full, 0
    bare = [_line(name, "", path) for name, _, path in entries]
    bare_costs = [cost(line + "\n") for line in bare]
    if sum(bare_costs) > limit:
        kept: list[str] = []
        used = 0
        for line, line_cost in zip(bare, bare_costs, strict=True):
            if used + line_cost <= limit:
                kept.append(line)
                used += line_cost
        return kept, len(entries) - len(kept)
    # The extra cost of the first k description characters (plus the space before them), per skill.
    extras: list[list[int]] = []
    for (_, description, _), line in zip(entries, bare, strict=True):
        chars, size = len(line) + 1, len(line.encode("utf-8")) + 1
        base = _tokens(size) if in_tokens else chars
        steps, prefix_chars, prefix_bytes = [0], 0, 0
        for ch in description:
            prefix_chars += 1
            prefix_bytes += len(ch.encode("utf-8"))
            steps.append((_tokens(size + prefix_bytes + 1) if in_tokens else chars + prefix_chars + 1) - base)
        extras.append(steps)
    remaining = limit - sum(bare_costs)
    given = [0] * len(entries)
    changed = True
    while changed:
        changed = False
        for index, steps in enumerate(extras):
            if given[index] + 1 >= len(steps):
                continue
            delta = steps[given[index] + 1] - steps[given[index]]
            if delta <= remaining:
                given[index] += 1
                remaining -= delta
                changed = True
    return [_line(name, description[: given[i]], path) for i, (name, description, path) in enumerate(entries)], 0


def render_skills(loaded: LoadedSkills, context_window: int | None) -> SkillsMessage:
    """The `<skills_instructions>` text: roots as `rN` aliases, one line per enabled skill that the model may pick
    by itself (admin, repo, then user skills, by name), within the budget (`WINDOW_PERCENT` of the context
    window in ~4-byte tokens, or `CHAR_BUDGET` characters when the window is unknown)."""
    listed = sorted((s for s in loaded.skills if s.enabled and s.implicit),
                    key=lambda s: (_LIST_RANK[s.scope], s.name, str(s.path)))
    if not loaded.include_instructions or not listed:
        return SkillsMessage(None, "")
    used = {s.root for s in listed}
    aliases = {root: f"r{i}" for i, root in enumerate(r for r in loaded.roots if r in used)}
    entries = [(s.name, s.description, f"{aliases[s.root]}/{s.path.relative_to(s.root).as_posix()}") for s in listed]
    in_tokens = context_window is not None and context_window > 0
    limit = max(1, context_window * WINDOW_PERCENT // 100) if context_window is not None and in_tokens else CHAR_BUDGET
    lines, left_out = _fit(entries, limit, in_tokens)
    warning = None
    if left_out:
        budget = f"{WINDOW_PERCENT}% of the context window" if in_tokens else f"{CHAR_BUDGET} characters"
        warning = (f"{left_out} skill{'s were' if left_out != 1 else ' was'} left out of the model's skills list: "
                   f"even without their descriptions, {len(listed)} skills exceed the skills budget ({budget}). "
                   "Turn off the ones you do not use with `[[skills.config]]` entries in config.toml.")
    table = [f"- `{alias}` = `{root.as_posix()}`" for root, alias in aliases.items()]
    body = "\n".join(["", "## Skills", _INTRO, "### Skill roots", *table, "### Available skills", *lines,
                      "### How to use skills", _HOW_TO, ""])
    return SkillsMessage(f"<skills_instructions>{body}</skills_instructions>", body, warning)


def skills_update_message(message: SkillsMessage) -> str:
    """The developer text sent when the skills changed since the thread last saw them."""
    if message.text is not None:
        return message.text
    return f"<skills_instructions>\n## Skills update\n{_GONE}\n</skills_instructions>"


# ---------------------------------------------------------------------------------------------- mentions


def _mentions(text: str) -> tuple[set[str], set[str]]:
    """(`$name` names, paths of `[$name](path)` links) in a prompt, shell variables such as `$HOME` aside."""
    names: set[str] = set()
    paths: set[str] = set()
    i = 0
    while i < len(text):
        if text.startswith("[$", i):
            end = i + 2
            while end < len(text) and text[end] in _MENTION_CHARS:
                end += 1
            close = text.find(")", end)
            if end > i + 2 and text.startswith("]", end) and text[end + 1 :].lstrip().startswith("(") and close > 0:
                path = text[text.index("(", end) + 1 : close].strip()
                if path and text[i + 2 : end].upper() not in _ENV_NAMES:
                    paths.add(path.removeprefix("skill://"))
                i = close + 1
                continue
        if text[i] == "$":
            end = i + 1
            while end < len(text) and text[end] in _MENTION_CHARS:
                end += 1
            if end > i + 1 and text[i + 1 : end].upper() not in _ENV_NAMES:
                names.add(text[i + 1 : end])
            i = max(end, i + 1)
            continue
        i += 1
    return names, paths


def mentioned_skills(text: str, loaded: LoadedSkills) -> list[Skill]:
    """The enabled skills a prompt mentions: by `[$name](path/to/SKILL.md)` link, then by `$name` when exactly one
    enabled skill has that name; each once, in load order (repo skills first)."""
    names, paths = _mentions(text)
    if not names and not paths:
        return []
    enabled = loaded.enabled()
    counts: dict[str, int] = {}
    for skill in enabled:
        counts[skill.name] = counts.get(skill.name, 0) + 1
    chosen = [s for s in enabled if str(s.real_path) in paths or str(s.path) in paths]
    taken = {s.name for s in chosen}
    for skill in enabled:
        if skill.name in names and counts[skill.name] == 1 and skill.name not in taken:
            chosen.append(skill)
            taken.add(skill.name)
    return chosen


def mention_items(user_items: Sequence[ResponseItem], loaded: LoadedSkills) -> list[ResponseItem]:
    """One user message per mentioned skill with its whole SKILL.md, added after the prompt (codex-rs's shape:
    `<skill>`, `<name>`, `<path>`, the file, `</skill>`). A file that cannot be read any more is left out."""
    from codex_cli.response_items import text_message

    texts: list[str] = []
    for item in user_items:
        content = item.get("content")
        if item.get("type") == "message" and item.get("role") == "user" and isinstance(content, list):
            texts += [str(part.get("text", "")) for part in content
                      if isinstance(part, dict) and part.get("type") == "input_text"]
    items: list[ResponseItem] = []
    for skill in mentioned_skills("\n".join(texts), loaded):
        try:
            contents = skill.real_path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        items.append(text_message("user", f"<skill>\n<name>{skill.name}</name>\n<path>{skill.real_path}</path>\n"
                                          f"{contents}\n</skill>"))
    return items


def complete_skill(word: str, loaded: LoadedSkills) -> list[str]:
    """Tab completions of `$partial`: `$name ` for the enabled skills whose name starts with it."""
    if not word.startswith("$"):
        return []
    names = sorted({s.name for s in loaded.enabled() if set(s.name) <= _MENTION_CHARS})
    return [f"${name} " for name in names if name.startswith(word[1:])]


def skills_for_config(config: Config, *, home: Path | None = None, admin: Path | None = None) -> LoadedSkills:
    """The skills of a run: its cwd and project root, `[[skills.config]]` and `skills.include_instructions`."""
    table = config.raw.get("skills")
    include = not (isinstance(table, Mapping) and table.get("include_instructions") is False)
    return load_skills(config.cwd, config.project_root, config.codex_home, home=home, admin=admin,
                       rules=skill_rules(config.skills_config), include_instructions=include)
