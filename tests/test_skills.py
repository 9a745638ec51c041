"""Agent Skills: SKILL.md frontmatter, discovery in real folders, the skills message of the first request (format,
order, budget), `[[skills.config]]`, `$name` mentions, and the same folders through codex-rs 0.169 when it is
installed."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from cli_harness import CodexEnv, codex_rs_binary, make_codex_env
from fake_responses import FakeResponsesServer, RecordedRequest, message
from line_term import Term

from codex_cli import skills
from codex_cli.skills import FrontmatterError, LoadedSkills, parse_frontmatter, read_skill


def _skill(folder: Path, name: str | None, description: str, *, body: str = "Steps.\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    head = f"name: {name}\n" if name is not None else ""
    (folder / "SKILL.md").write_text(f"---\n{head}description: {description}\n---\n{body}", encoding="utf-8")
    return folder / "SKILL.md"


def _fields(text: str) -> dict[str, str | None]:
    front = parse_frontmatter(text)
    return {key: value.text if value.kind == "text" else None for key, (_, value) in front.fields.items()}


def _error_line(text: str) -> int:
    with pytest.raises(FrontmatterError) as caught:
        parse_frontmatter(text)
    return caught.value.line


# ------------------------------------------------------------------------------------------ frontmatter


def test_frontmatter_scalars() -> None:
    text = (
        "---\r\n# a comment\r\nname: pdf-tools\r\n\r\ndescription: >-\r\n  Folded\r\n  text.\r\nlicense: MIT\r\n"
        "metadata:\r\n  short-description: short\r\nallowed-tools:\r\n- Read\r\n- Write\r\n---\r\nbody\r\n"
    )
    assert _fields(text) == {"name": "pdf-tools", "description": "Folded\ntext."}
    assert _fields("---\nname: 'it''s'\ndescription: \"tab\\there \\u00e9\"\n---\n") == {
        "name": "it's", "description": "tab\there é"}
    assert _fields("---\nname: x\ndescription: |\n  one\n   two\n---\n")["description"] == "one\n two"
    assert _fields("---\nname: x\ndescription: first\n  second - not a list\n---\n")["description"] == (
        "first\nsecond - not a list")
    assert _fields("---\nname: x\ndescription: Use when: a colon follows # a comment\n---\n")["description"] == (
        "Use when: a colon follows")
    assert _fields("---\nname: x\ndescription:\n  on the next line\n---\n")["description"] == "on the next line"
    assert _fields("---\nname: ~\ndescription: &a anchored\n---\n") == {"name": None, "description": "anchored"}
    assert _fields("---\n  name: x\n  description: indented mapping\n---\n")["description"] == "indented mapping"
    assert _fields("---\nname: x\ndescription: \"one \\\n   two\"\n---\n")["description"] == "one two"
    # An unclosed bracket is text, as codex-rs 0.169 reads it; a whole list is not.
    assert _fields("---\nname: x\ndescription: [draft\n---\n")["description"] == "[draft"
    assert _fields("---\nname: x\ndescription: [a, b]\n---\n")["description"] is None


def test_frontmatter_errors_name_their_line() -> None:
    assert _error_line("no frontmatter\n") == 1
    assert _error_line("\ufeff---\nname: x\n---\n") == 1  # a BOM hides the fence, for codex-rs too
    assert _error_line("---\nname: x\ndescription: y\n") == 1
    assert _error_line("---\nname: x\ndescription: y\n  third: line\n---\n") == 4
    assert _error_line("---\nname: x\ndescription: 'unterminated\n---\n") == 3
    assert _error_line("---\nname: x\nname: y\ndescription: z\n---\n") == 3
    assert _error_line("---\nname:x\ndescription: z\n---\n") == 2
    assert _error_line("---\nname: x\ndescription: - dash\n---\n") == 3
    assert _error_line("---\nname: x\nlicense: \"open\n---\n") == 3


def test_read_skill_names_descriptions_and_limits(tmp_path: Path) -> None:
    def read(folder: str, text: str) -> skills.Skill:
        path = tmp_path / folder / "SKILL.md"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        return read_skill(path, tmp_path, "user")[0]

    assert read("from-dir", "---\ndescription: d\n---\n").name == "from-dir"
    assert read("numeric", "---\nname: 123\ndescription: yes\n---\n").description == "yes"
    assert read("spaces", "---\nname: s\ndescription: |\n  two\n\n  lines   here\n---\n").description == (
        "two lines here")
    long = read("long", "---\nname: l\ndescription: " + "é" * 1025 + "\n---\n").description
    assert len(long) == 1024 and long.endswith("é...")
    with pytest.raises(FrontmatterError, match="65 characters"):
        read("too-long", "---\nname: " + "a" * 65 + "\ndescription: d\n---\n")
    with pytest.raises(FrontmatterError, match="description") as caught:
        read("no-description", "---\nname: n\ndescription: \"  \"\n---\n")
    assert caught.value.line == 3
    path = _skill(tmp_path / "odd", "My_Skill", "d")
    assert "does not follow the Agent Skills standard" in read_skill(path, tmp_path, "user")[1][0]


# ------------------------------------------------------------------------------------------ discovery


def test_roots_order_symlinks_hidden_depth_and_duplicates(tmp_path: Path) -> None:
    repo, home, codex_home, admin = tmp_path / "repo", tmp_path / "home", tmp_path / "ch", tmp_path / "admin"
    cwd = repo / "pkg" / "deep"
    cwd.mkdir(parents=True)
    (repo / ".git").mkdir()
    _skill(repo / ".codex" / "skills" / "codex-dir", "codex-dir", "project .codex skills")
    _skill(repo / ".agents" / "skills" / "root-skill", "root-skill", "repo root")
    _skill(repo / "pkg" / ".agents" / "skills" / "pkg-skill", "pkg-skill", "subfolder")
    _skill(codex_home / "skills" / "home-skill", "home-skill", "codex home")
    _skill(codex_home / "skills" / ".hidden" / "secret", "secret", "hidden folders are skipped")
    _skill(codex_home / "skills" / ".system" / "imagegen", "imagegen", "codex-rs's bundled skills are not ours")
    _skill(codex_home / "skills" / "a" / "b" / "c" / "d" / "e" / "f", "six-deep", "found")
    _skill(codex_home / "skills" / "a" / "b" / "c" / "d" / "e" / "f" / "g", "seven-deep", "too deep")
    _skill(home / ".agents" / "skills" / "user-skill", "user-skill", "home agents")
    _skill(admin / "admin-skill", "admin-skill", "admin")
    target = _skill(tmp_path / "elsewhere" / "linked", "linked", "through a symlink")
    (codex_home / "skills" / "link").symlink_to(target.parent)
    (repo / ".agents" / "skills" / "same-file").symlink_to(target.parent)  # reached again: listed once
    (codex_home / "skills" / "file-link").mkdir()
    (codex_home / "skills" / "file-link" / "SKILL.md").symlink_to(target)  # a symlinked file is not a skill
    (codex_home / "skills" / "loop").symlink_to(codex_home / "skills")

    loaded = skills.load_skills(cwd, repo, codex_home, home=home, admin=admin)
    assert loaded.warnings == ()
    assert loaded.roots == (repo / ".codex" / "skills", codex_home / "skills", home / ".agents" / "skills", admin,
                            repo / ".agents" / "skills", repo / "pkg" / ".agents" / "skills")
    assert [(s.name, s.scope) for s in loaded.skills] == [
        ("codex-dir", "repo"), ("pkg-skill", "repo"), ("root-skill", "repo"), ("home-skill", "user"),
        ("linked", "user"), ("six-deep", "user"), ("user-skill", "user"), ("admin-skill", "admin")]
    linked = next(s for s in loaded.skills if s.name == "linked")
    assert linked.path == codex_home / "skills" / "link" / "SKILL.md" and linked.real_path == target

    text = skills.render_skills(loaded, 272_000).text
    assert text is not None and text.startswith("<skills_instructions>\n## Skills\n")
    assert text.endswith("\n</skills_instructions>")
    assert _listing(text) == [
        f"- `r0` = `{repo}/.codex/skills`", f"- `r1` = `{codex_home}/skills`", f"- `r2` = `{home}/.agents/skills`",
        f"- `r3` = `{admin}`", f"- `r4` = `{repo}/.agents/skills`", f"- `r5` = `{repo}/pkg/.agents/skills`",
        "- admin-skill: admin (file: r3/admin-skill/SKILL.md)",
        "- codex-dir: project .codex skills (file: r0/codex-dir/SKILL.md)",
        "- pkg-skill: subfolder (file: r5/pkg-skill/SKILL.md)",
        "- root-skill: repo root (file: r4/root-skill/SKILL.md)",
        "- home-skill: codex home (file: r1/home-skill/SKILL.md)",
        "- linked: through a symlink (file: r1/link/SKILL.md)",
        "- six-deep: found (file: r1/a/b/c/d/e/f/SKILL.md)",
        "- user-skill: home agents (file: r2/user-skill/SKILL.md)",
    ]


def _listing(text: str) -> list[str]:
    """The roots table and skill lines of a skills message (our prose and codex-rs's aside)."""
    return [line for line in text.split("### How to use skills")[0].splitlines() if line.startswith("- ")]


def test_config_rules_turn_skills_off_by_path_or_name(tmp_path: Path) -> None:
    root = tmp_path / "ch"
    by_path = _skill(root / "skills" / "by-path", "by-path", "off by its path")
    _skill(root / "skills" / "by-name", "by-name", "off by its name")
    _skill(root / "skills" / "back-on", "back-on", "off, then on again")
    link = tmp_path / "link"
    link.symlink_to(by_path.parent)
    rules = skills.skill_rules([
        {"path": str(link / "SKILL.md"), "enabled": False},  # through a symlink: the same file
        {"name": " by-name ", "enabled": False},
        {"name": "back-on", "enabled": False},
        {"name": "back-on", "enabled": True},
        {"name": "by-name", "path": str(by_path), "enabled": True},  # both selectors: ignored, as codex-rs does
        {"enabled": True},
    ])
    loaded = skills.load_skills(tmp_path, tmp_path, root, home=tmp_path / "nohome", admin=tmp_path / "noadmin",
                                rules=rules)
    assert [(s.name, s.enabled) for s in loaded.skills] == [("back-on", True), ("by-name", False),
                                                          ("by-path", False)]
    text = skills.render_skills(loaded, None).text
    assert text is not None and "by-path" not in text and "by-name" not in text and "- back-on:" in text


def _many(count: int, description: str = "Does one particular thing, described at some length here.") -> LoadedSkills:
    root = Path("/skills")
    listed = tuple(skills.Skill(f"skill-{i:03d}", f"{description} {i}", root / f"skill-{i:03d}" / "SKILL.md",
                                root / f"skill-{i:03d}" / "SKILL.md", root, "repo") for i in range(count))
    return LoadedSkills(listed, (root,), ())


def test_budget_shortens_descriptions_first_then_leaves_skills_out() -> None:
    loaded = _many(300)
    whole = skills.render_skills(loaded, 10_000_000)
    assert whole.warning is None and whole.text is not None
    assert "- skill-007: Does one particular thing, described at some length here. 7 (file: r0/skill-007/SKILL.md)" \
        in whole.text

    shortened = skills.render_skills(loaded, 272_000)  # 5,440 tokens of ~4 bytes for the skill lines
    lines = [line for line in _listing(shortened.text or "") if not line.startswith("- `")]
    assert shortened.warning is None and len(lines) == 300
    assert sum((len(line.encode()) + 1 + 3) // 4 for line in lines) <= 5440
    assert all(re.fullmatch(r"- skill-\d{3}: Does one \S.* \(file: r0/skill-\d{3}/SKILL\.md\)", line)
               for line in lines)

    cut = skills.render_skills(loaded, 100_000)  # 2,000 tokens: no room even for 300 bare lines
    lines = [line for line in _listing(cut.text or "") if not line.startswith("- `")]
    assert lines[0] == "- skill-000: (file: r0/skill-000/SKILL.md)" and len(lines) == 181
    assert cut.warning is not None and cut.warning.startswith("119 skills were left out")

    characters = skills.render_skills(loaded, None)  # the window unknown: 8,000 characters
    lines = [line for line in _listing(characters.text or "") if not line.startswith("- `")]
    assert sum(len(line) + 1 for line in lines) <= 8000 and len(lines) == 186
    assert skills.render_skills(_many(0), 272_000).text is None


def test_mentions_pick_enabled_unambiguous_skills(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    alpha = _skill(root / "alpha", "alpha", "a", body="Alpha steps.\n")
    _skill(root / "twin-1", "twin", "one of two")
    twin2 = _skill(root / "twin-2", "twin", "two of two")
    _skill(root / "off", "off", "disabled")
    _skill(root / "PATH", "PATH", "a shell variable, not a mention")
    quiet = _skill(root / "quiet", "quiet", "only when asked")
    (quiet.parent / "agents").mkdir()
    (quiet.parent / "agents" / "openai.yaml").write_text("policy:\n  allow_implicit_invocation: false\n")
    loaded = skills.load_skills(tmp_path, tmp_path, tmp_path / "ch", home=tmp_path / "h", admin=root,
                                rules=skills.skill_rules([{"name": "off", "enabled": False}]))

    def names(text: str) -> list[str]:
        return [s.name for s in skills.mentioned_skills(text, loaded)]

    assert names("use $alpha, $twin, $off, $PATH and $quiet; $alpha again") == ["alpha", "quiet"]
    assert names(f"[$twin]({twin2}) and [$twin](skill://{twin2})") == ["twin"]
    assert names("cost is $5 and $ alone") == []
    text = skills.render_skills(loaded, None).text or ""
    assert "- quiet:" not in text and "- alpha:" in text  # only named, never offered

    prompt = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "do it with $alpha"}]}
    [item] = skills.mention_items([prompt], loaded)
    assert item["role"] == "user" and item["content"] == [{
        "type": "input_text",
        "text": f"<skill>\n<name>alpha</name>\n<path>{alpha}</path>\n{alpha.read_text()}\n</skill>"}]
    assert skills.complete_skill("$tw", loaded) == ["$twin "]
    assert skills.complete_skill("$", loaded)[:2] == ["$PATH ", "$alpha "]


# ------------------------------------------------------------------------------------------ end to end


class _Tree:
    """The acceptance folders: skills of the user ($HOME/.agents/skills), CODEX_HOME, the repository root and a
    subfolder (run from a folder below it), a symlinked skill, one turned off in config.toml, one broken."""

    def __init__(self, env: CodexEnv) -> None:
        self.env = env
        self.home, self.user = Path(env.env["HOME"]).resolve(), env.home.resolve()
        self.repo = env.workdir.resolve()
        self.cwd = self.repo / "pkg" / "deep"
        self.cwd.mkdir(parents=True)
        _skill(self.home / ".agents" / "skills" / "user-skill", "user-skill", "From the user's own folder.")
        _skill(self.user / "skills" / "home-skill", "home-skill", '"Quoted: with a colon"')
        self.off = _skill(self.user / "skills" / "off-skill", "off-skill", "Turned off in config.toml.")
        self.broken = _skill(self.user / "skills" / "broken", "broken", "'never closed")
        _skill(self.repo / ".agents" / "skills" / "repo-skill", "repo-skill", "|\n  Block text\n  on two lines.")
        self.pkg = _skill(self.repo / "pkg" / ".agents" / "skills" / "pkg-skill", "pkg-skill", ">\n  Folded\n  text.",
                          body="# Package skill\n\nRun `make pkg`.\n")
        self.linked = _skill(self.repo.parent / "elsewhere" / "linked-skill", "linked-skill", "Reached by a symlink.")
        (self.repo / ".agents" / "skills" / "linked").symlink_to(self.linked.parent)
        self.config = f'[[skills.config]]\npath = "{self.off}"\nenabled = false\n'

    def expected(self) -> list[str]:
        return [
            f"- `r0` = `{self.user}/skills`",
            f"- `r1` = `{self.home}/.agents/skills`",
            f"- `r2` = `{self.repo}/.agents/skills`",
            f"- `r3` = `{self.repo}/pkg/.agents/skills`",
            "- linked-skill: Reached by a symlink. (file: r2/linked/SKILL.md)",
            "- pkg-skill: Folded text. (file: r3/pkg-skill/SKILL.md)",
            "- repo-skill: Block text on two lines. (file: r2/repo-skill/SKILL.md)",
            "- home-skill: Quoted: with a colon (file: r0/home-skill/SKILL.md)",
            "- user-skill: From the user's own folder. (file: r1/user-skill/SKILL.md)",
        ]


def _developer_texts(request: RecordedRequest) -> list[str]:
    return [part["text"] for item in request.body["input"] if item.get("role") == "developer"
            for part in item["content"]]


def _skills_text(request: RecordedRequest) -> str | None:
    return next((t for t in _developer_texts(request) if t.startswith("<skills_instructions>")), None)


@pytest.fixture
def tree(tmp_path: Path) -> _Tree:
    return _Tree(make_codex_env(tmp_path))


def test_first_request_lists_the_skills_of_every_root(tree: _Tree) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        tree.env.write_config(server.base_url, extra=tree.config)
        run = tree.env.run("exec", "hi", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        [request] = server.response_requests
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: Skipped the skill {tree.broken}:3: the single-quoted text is never closed."]
    text = _skills_text(request)
    assert text is not None and _listing(text) == tree.expected()
    # Second developer message, in codex-rs's position: after developer_instructions, before the permissions.
    developer = [item for item in request.body["input"] if item.get("role") == "developer"]
    assert developer[1]["content"][0]["text"] == text
    assert developer[1]["content"][1]["text"].startswith("<permissions instructions>")
    assert "### Skill roots\n" in text and "### Available skills\n" in text and "### How to use skills\n" in text


def test_a_dollar_mention_adds_the_whole_skill_after_the_prompt(tree: _Tree) -> None:
    script = [{"output": [message("ok")]}, {"output": [message("again")]}]
    with FakeResponsesServer(script) as server:
        tree.env.write_config(server.base_url, extra=tree.config)
        first = tree.env.run("exec", "--json", "build it with $pkg-skill, not $off-skill", cwd=tree.cwd,
                             stdin=subprocess.DEVNULL)
        second = tree.env.run("exec", "resume", "--last", "and now?", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        requests = server.response_requests
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    events = [e for e in first.events() if e.get("item", {}).get("type") != "error"]  # the broken skill's warning
    assert [e["type"] for e in events] == ["thread.started", "turn.started", "item.completed", "turn.completed"]
    tail = requests[0].body["input"][-2:]
    assert tail[0]["content"][0]["text"] == "build it with $pkg-skill, not $off-skill"
    assert tail[1]["role"] == "user" and tail[1]["content"] == [{"type": "input_text", "text": (
        f"<skill>\n<name>pkg-skill</name>\n<path>{tree.pkg}</path>\n{tree.pkg.read_text()}\n</skill>")}]
    # Resumed with the same skills: the history goes back as it was, and no second skills message.
    after = requests[1].body["input"]
    assert after[: len(requests[0].body["input"])] == requests[0].body["input"]
    assert [t for t in _developer_texts(requests[1]) if t.startswith("<skills_instructions>")] == [
        _skills_text(requests[0])]


def test_a_resumed_thread_hears_about_changed_skills(tree: _Tree) -> None:
    script = [{"output": [message("ok")]}, {"output": [message("again")]}, {"output": [message("third")]}]
    with FakeResponsesServer(script) as server:
        tree.env.write_config(server.base_url, extra=tree.config)
        tree.env.run("exec", "hi", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        _skill(tree.user / "skills" / "new-skill", "new-skill", "Added between two runs.")
        tree.env.run("exec", "resume", "--last", "next", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        tree.env.write_config(server.base_url, extra=tree.config + "[skills]\ninclude_instructions = false\n")
        tree.env.run("exec", "resume", "--last", "last", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        requests = server.response_requests
    second = requests[1].body["input"][len(requests[0].body["input"]) + 1 :]
    assert [i["role"] for i in second] == ["developer", "user"]
    assert "- new-skill: Added between two runs. (file: r0/new-skill/SKILL.md)" in _listing(
        second[0]["content"][0]["text"])
    third = requests[2].body["input"][len(requests[1].body["input"]) + 1 :]
    assert third[0]["content"][0]["text"].startswith("<skills_instructions>\n## Skills update\n")


def test_three_hundred_skills_over_the_budget(tree: _Tree) -> None:
    for i in range(300):
        _skill(tree.repo / ".agents" / "skills" / f"bulk-{i:03d}", f"bulk-{i:03d}",
               f"Bulk skill number {i}, which does one particular thing that takes a whole sentence to describe.")
    script = [{"output": [message("ok")]}, {"output": [message("ok")]}]
    with FakeResponsesServer(script) as server:
        tree.env.write_config(server.base_url, extra=tree.config)
        roomy = tree.env.run("exec", "hi", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        tree.env.write_config(server.base_url, extra="model_context_window = 100000\n" + tree.config)
        tight = tree.env.run("exec", "hi", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        requests = server.response_requests
    assert roomy.returncode == 0 and tight.returncode == 0
    assert "left out" not in roomy.stderr  # 2% of gpt-5.5's 272,000 tokens: shortened descriptions only
    lines = [line for line in _listing(_skills_text(requests[0]) or "") if not line.startswith("- `")]
    assert len(lines) == 305 and all(": (file:" not in line for line in lines)
    assert any(line.startswith("- bulk-123: Bulk skill") and "describe." not in line for line in lines)
    # 2,000 tokens: even without descriptions not all fit; the user skills at the end are the ones left out.
    lines = [line for line in _listing(_skills_text(requests[1]) or "") if not line.startswith("- `")]
    assert lines[-1].startswith("- bulk-") and all(": (file:" in line for line in lines)
    [warning] = [line for line in tight.stderr.splitlines() if "left out" in line]
    assert warning.startswith(f"warning: {305 - len(lines)} skills were left out of the model's skills list")


def test_skills_settings_in_config(tree: _Tree) -> None:
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        tree.env.write_config(server.base_url, extra="[skills]\ninclude_instructions = false\nfoo = 1\n"
                                                     "[skills.bundled]\nenabled = false\n")
        quiet = tree.env.run("exec", "use $user-skill", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        tree.env.write_config(server.base_url, extra='[[skills.config]]\nname = "user-skill"\n')
        missing = tree.env.run("exec", "hi", cwd=tree.cwd, stdin=subprocess.DEVNULL)
        [request] = server.response_requests
    assert quiet.returncode == 0, quiet.stderr
    assert _skills_text(request) is None  # no list, but a named skill is still given to the model
    assert request.body["input"][-1]["content"][0]["text"].startswith("<skill>\n<name>user-skill</name>")
    assert "`skills.foo` is ignored" in quiet.stderr
    assert missing.returncode == 1 and "missing field `enabled`" in missing.stderr


@pytest.mark.skipif(codex_rs_binary() is None, reason="codex-rs 0.169 binary not available")
def test_the_skills_list_matches_codex_rs(tree: _Tree) -> None:
    binary = codex_rs_binary()
    assert binary is not None
    _skill(tree.user / "skills" / "weird", "Not_Standard Name", "Listed by codex-rs all the same.")
    _skill(tree.user / "skills" / "no-name", None, "Named after its folder.")
    _skill(tree.user / "skills" / "multi", "multi", "first line\n  continued line # a comment")
    (tree.user / "skills" / "long").mkdir()
    (tree.user / "skills" / "long" / "SKILL.md").write_text("---\nname: long\ndescription: " + "é" * 1100 + "\n---\n")
    # codex-rs's bundled skills are set aside: this CLI has none.
    config = tree.config + "[skills.bundled]\nenabled = false\n"
    script = [{"output": [message("ours")]}, {"output": [message("theirs")]}]
    with FakeResponsesServer(script) as server:
        tree.env.write_config(server.base_url, extra=config)
        prompt = "use $linked-skill and [$pkg-skill](" + str(tree.pkg) + ")"
        ours = tree.env.run("exec", "--skip-git-repo-check", prompt, cwd=tree.cwd, stdin=subprocess.DEVNULL)
        theirs = subprocess.run([binary, "exec", "--skip-git-repo-check", prompt], cwd=tree.cwd, env=tree.env.env,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        requests = server.response_requests
    assert ours.returncode == 0 and theirs.returncode == 0, ours.stderr + theirs.stderr
    assert _listing(_skills_text(requests[0]) or "") == _listing(_skills_text(requests[1]) or "")
    assert len(_listing(_skills_text(requests[0]) or "")) == len(tree.expected()) + 4

    def mentions(request: RecordedRequest) -> list[object]:
        return [item["content"] for item in request.body["input"]
                if item.get("role") == "user" and item["content"][0]["text"].startswith("<skill>")]

    assert mentions(requests[0]) == mentions(requests[1]) and len(mentions(requests[0])) == 2
    # Both report the broken skill, by its path.
    assert str(tree.broken) in ours.stderr and str(tree.broken) in theirs.stderr
    roles = [[(i.get("role"), i["content"][0]["text"][:20]) for i in r.body["input"][1:]] for r in requests]
    assert [r for r, _ in roles[0]] == [r for r, _ in roles[1]]
    assert json.dumps(roles[0][0]) == json.dumps(roles[1][0])


def test_line_ui_lists_skills_and_completes_a_mention(tree: _Tree) -> None:
    tree.env.env["TERM"] = "xterm-256color"
    with FakeResponsesServer([{"output": [message("done with the skill")]}]) as server:
        tree.env.write_config(server.base_url, extra=tree.config)
        term = Term(tree.env)
        term.prompt()
        term.line("/skills")
        term.expect("$repo-skill")
        term.expect("Block text on two lines.")
        term.expect(f"this repository: {tree.repo}/.agents/skills/repo-skill/SKILL.md")
        term.expect("$off-skill (off in config.toml)")
        term.expect(f"Skipped the skill {tree.broken}:3")
        term.prompt()
        term.send("follow $rep\t")
        term.expect("$repo-skill ")
        term.line("please")
        term.expect("done with the skill")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        [request] = server.response_requests
    tail = request.body["input"][-2:]
    assert tail[0]["content"][0]["text"] == "follow $repo-skill please"
    assert tail[1]["content"][0]["text"].startswith("<skill>\n<name>repo-skill</name>\n")
