"""Unit tests of `codex_cli.safety`: the approval decision table, known-safe and dangerous commands,
shell-script splitting, prefix rules, patch assessments and what each review decision means."""

from __future__ import annotations

import json
import os
import shlex
import threading
from pathlib import Path
from types import ModuleType
from typing import Literal, cast, get_args

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from codex_cli import command_safety, execpolicy, safety, shell, shell_parse, tools
from codex_cli.command_safety import is_dangerous_command, is_known_safe_command
from codex_cli.errors import ConfigError
from codex_cli.execpolicy import load_prefix_rules
from codex_cli.protocol import AskForApproval
from codex_cli.safety import (
    DANGEROUS_REJECTION,
    NEVER_ESCALATION_REJECTION,
    PATCH_OUTSIDE_REJECTION,
    PATCH_READ_ONLY_REJECTION,
    ApprovalRequest,
    Approver,
    CommandAssessment,
    PolicyOnlyApprover,
    ReviewDecision,
    assess_command,
    assess_patch,
    decision_result,
)
from codex_cli.shell_parse import parse_shell_script

Action = Literal["run", "ask", "reject"]


def bash(script: str) -> list[str]:
    """The argv the runner spawns for an exec_command `cmd`."""
    return ["/bin/bash", "-lc", script]


def rejected(message: str) -> str:
    return f'exec_command failed: CreateProcess {{ message: "Rejected(\\"{message}\\")" }}'


# --------------------------------------------------------------------------------------- the decision table

SAFE = bash("ls -la")
UNSAFE = bash("touch out.txt")
DANGEROUS = bash("rm -rf d1")
ESCALATED = bash("touch /outside/f")
JUSTIFICATION = "Need to write outside the workspace"
COMMANDS = {"safe": SAFE, "unsafe": UNSAFE, "dangerous": DANGEROUS, "escalation": ESCALATED}
DANGER_TEXT = rejected(f"`/bin/bash -lc 'rm -rf d1'` rejected: {DANGEROUS_REJECTION}")

# Derived from reference/sandbox.md §7.2, §7.4 and the §10 approval matrix, with the rules for
# `untrusted` (only known-safe runs unasked) and `on-failure` (sandboxed run, unsandboxed retry offered).
# Cell: action, then S = in the sandbox / U = unsandboxed (after approval for "ask"), "+retry" = on-failure
# retry offered, or the rejection kind. Columns: read-only, workspace-write, danger-full-access.
MODES = ("read-only", "workspace-write", "danger-full-access")
TABLE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("untrusted", "safe"): ("run S", "run S", "run U"),
    ("untrusted", "unsafe"): ("ask S", "ask S", "ask U"),
    ("untrusted", "dangerous"): ("ask S", "ask S", "ask U"),
    ("untrusted", "escalation"): ("ask U", "ask U", "ask U"),
    ("on-failure", "safe"): ("run S+retry", "run S+retry", "run U"),
    ("on-failure", "unsafe"): ("run S+retry", "run S+retry", "run U"),
    ("on-failure", "dangerous"): ("ask S+retry", "ask S+retry", "ask U"),
    ("on-failure", "escalation"): ("ask U", "ask U", "run U"),
    ("on-request", "safe"): ("run S", "run S", "run U"),
    ("on-request", "unsafe"): ("run S", "run S", "run U"),
    ("on-request", "dangerous"): ("ask S", "ask S", "ask U"),
    ("on-request", "escalation"): ("ask U", "ask U", "run U"),
    ("never", "safe"): ("run S", "run S", "run U"),
    ("never", "unsafe"): ("run S", "run S", "run U"),
    ("never", "dangerous"): ("reject danger", "reject danger", "reject danger"),
    ("never", "escalation"): ("reject never-escalation", "reject never-escalation", "reject never-escalation"),
}
CASES = [(policy, kind, mode, cells[i]) for (policy, kind), cells in TABLE.items() for i, mode in enumerate(MODES)]


def expected_assessment(kind: str, cell: str) -> CommandAssessment:
    action, detail = cell.split(" ")
    if action == "reject":
        text = DANGER_TEXT if detail == "danger" else NEVER_ESCALATION_REJECTION
        return CommandAssessment("reject", False, text)
    reason = JUSTIFICATION if action == "ask" and kind == "escalation" else None
    return CommandAssessment(cast(Action, action), detail.startswith("S"), reason, detail.endswith("+retry"))


def test_table_covers_every_policy_and_kind() -> None:
    assert {p for p, _ in TABLE} == set(get_args(AskForApproval))
    assert len(CASES) == 4 * 4 * 3


@pytest.mark.parametrize(("policy", "kind", "mode", "cell"), CASES, ids=[f"{p}-{k}-{m}" for p, k, m, _ in CASES])
def test_assess_command_policy_kind_mode_matches_table(policy: AskForApproval, kind: str, mode: str, cell: str) -> None:
    got = assess_command(
        COMMANDS[kind],
        policy=policy,
        sandbox_mode=mode,
        escalation_requested=kind == "escalation",
        justification=JUSTIFICATION if kind == "escalation" else None,
    )
    assert got == expected_assessment(kind, cell)


BYPASS = {"safe": "run U", "unsafe": "run U", "dangerous": "reject danger", "escalation": "reject never-escalation"}


@pytest.mark.parametrize("policy", ["never", "on-request"])
@pytest.mark.parametrize("kind", list(BYPASS))
def test_assess_command_bypass_flag_runs_unsandboxed_but_keeps_never_rejections(
    policy: AskForApproval, kind: str
) -> None:
    got = assess_command(
        COMMANDS[kind],
        policy=policy,
        sandbox_mode="read-only",
        escalation_requested=kind == "escalation",
        justification=JUSTIFICATION if kind == "escalation" else None,
        bypass=True,
    )
    assert got == expected_assessment(kind, BYPASS[kind])


def test_assess_command_dangerous_rejection_quotes_the_spawned_argv() -> None:
    got = assess_command(
        ["/bin/bash", "-c", "rm -rf d1"],
        policy="never",
        sandbox_mode="read-only",
        escalation_requested=False,
        justification=None,
    )
    expected = (
        "exec_command failed: CreateProcess { message: \"Rejected(\\\"`/bin/bash -c 'rm -rf d1'` rejected: "
        'rm -f style commands are not permitted. Use a safer approach\\")" }'
    )
    assert got.reason == expected


def test_assess_command_rejection_with_quotes_escapes_twice_like_rust_debug() -> None:
    got = assess_command(
        bash('rm -f "a b"'), policy="never", sandbox_mode="read-only", escalation_requested=False, justification=None
    )
    assert got.reason is not None
    assert '\\\\\\"a b\\\\\\"' in got.reason  # \" inside the inner string becomes \\\" in the outer one


def test_assess_command_escalation_under_never_uses_the_observed_text() -> None:
    assert NEVER_ESCALATION_REJECTION == (
        "approval policy is Never; reject command — you cannot ask for escalated permissions if the approval "
        "policy is Never"
    )


@pytest.mark.parametrize(
    ("kind", "policy", "action", "sandboxed"),
    [
        ("dangerous", "on-request", "run", True),
        ("escalation", "on-request", "run", False),
        ("unsafe", "untrusted", "run", True),
        ("dangerous", "never", "reject", False),
    ],
    ids=["dangerous-on-request", "escalation-on-request", "unsafe-untrusted", "dangerous-never-still-rejected"],
)
def test_assess_command_session_approved_skips_the_question(
    kind: str, policy: AskForApproval, action: str, sandboxed: bool
) -> None:
    argv = COMMANDS[kind]
    got = assess_command(
        argv,
        policy=policy,
        sandbox_mode="workspace-write",
        escalation_requested=kind == "escalation",
        justification=None,
        session_approved=frozenset({tuple(argv)}),
    )
    assert (got.action, got.sandboxed) == (action, sandboxed)


def test_assess_command_session_approval_is_per_exact_argv_asks_for_others() -> None:
    got = assess_command(
        bash("rm -rf d2"),
        policy="on-request",
        sandbox_mode="workspace-write",
        escalation_requested=False,
        justification=None,
        session_approved=frozenset({tuple(DANGEROUS)}),
    )
    assert got.action == "ask"


def test_assess_command_untrusted_known_safe_script_runs_without_asking() -> None:
    got = assess_command(
        bash("git status && git log -n 3 | head"),
        policy="untrusted",
        sandbox_mode="read-only",
        escalation_requested=False,
        justification=None,
    )
    assert got == CommandAssessment("run", True, None)


def test_assess_command_untrusted_redirection_asks() -> None:
    got = assess_command(
        bash("ls > listing.txt"),
        policy="untrusted",
        sandbox_mode="workspace-write",
        escalation_requested=False,
        justification=None,
    )
    assert got.action == "ask"


@settings(max_examples=200, deadline=None)
@given(
    argv=st.lists(st.text(max_size=30), max_size=6),
    policy=st.sampled_from(get_args(AskForApproval)),
    mode=st.sampled_from((*MODES, "bogus")),
    escalation=st.booleans(),
    bypass=st.booleans(),
)
def test_assess_command_arbitrary_argv_never_raises(
    argv: list[str], policy: AskForApproval, mode: str, escalation: bool, bypass: bool
) -> None:
    got = assess_command(
        argv,
        policy=policy,
        sandbox_mode=mode,
        escalation_requested=escalation,
        justification=None,
        bypass=bypass,
    )
    assert got.action in ("run", "ask", "reject")
    assert not (got.retry_unsandboxed_on_failure and not got.sandboxed)


@settings(max_examples=200, deadline=None)
@given(script=st.text(max_size=80))
def test_assess_command_arbitrary_scripts_never_raise(script: str) -> None:
    for policy in get_args(AskForApproval):
        assess_command(
            bash(script),
            policy=policy,
            sandbox_mode="workspace-write",
            escalation_requested=False,
            justification=None,
        )
    assert not (is_known_safe_command(bash(script)) and is_dangerous_command(bash(script)))


# ------------------------------------------------------------------------------------------ known-safe list

KNOWN_SAFE = {
    "ls": ["ls"],
    "ls-la": ["ls", "-la"],
    "cat": ["cat", "a.txt"],
    "git-status": ["git", "status"],
    "git-log": ["git", "log", "--oneline"],
    "git-C-diff": ["git", "-C", "sub", "diff"],
    "git-show": ["git", "show", "HEAD"],
    "git-branch-bare": ["git", "branch"],
    "git-branch-show-current": ["git", "branch", "--show-current"],
    "rg": ["rg", "-n", "TODO"],
    "find-name": ["find", ".", "-name", "*.py"],
    "sed-n-range": ["sed", "-n", "1,5p", "a.txt"],
    "sed-n-line": ["sed", "-n", "3p"],
    "base64": ["base64", "a.bin"],
    "bash-lc-and": bash("ls && pwd"),
    "bash-lc-pipe": bash("cat a.txt | grep x | wc -l"),
    "bash-lc-semicolon-or": bash("pwd; ls || true"),
    "bash-lc-quoted-operator": bash("echo 'a && b > c'"),
    "zsh-lc": ["/bin/zsh", "-lc", "ls"],
    "bash-c": ["bash", "-c", "git status"],
}
NOT_KNOWN_SAFE = {
    "git-push": ["git", "push"],
    "git-commit": ["git", "commit", "-m", "x"],
    "git-config-override": ["git", "-c", "core.pager=evil", "log"],
    "git-log-output": ["git", "log", "--output=x"],
    "git-diff-ext-diff": ["git", "diff", "--ext-diff"],
    "git-branch-delete": ["git", "branch", "-D", "x"],
    "git-paginate": ["git", "-p", "log"],
    "find-delete": ["find", ".", "-delete"],
    "find-exec": ["find", ".", "-exec", "rm", "{}", ";"],
    "find-fprint": ["find", ".", "-fprint", "out"],
    "sed-i": ["sed", "-i", "s/a/b/", "f"],
    "sed-n-script": ["sed", "-n", "s/a/b/w out", "f"],
    "sed-too-many-args": ["sed", "-n", "1p", "a", "b"],
    "rg-pre": ["rg", "--pre=cat", "x"],
    "rg-search-zip": ["rg", "-z", "x"],
    "base64-output": ["base64", "-o", "out", "in"],
    "touch": ["touch", "x"],
    "local-ls": ["./ls"],
    "empty": [],
    "redirection": bash("ls > out"),
    "append-redirection": bash("cat a >> b"),
    "substitution": bash("echo $(whoami)"),
    "backticks": bash("echo `whoami`"),
    "variable": bash("echo $HOME"),
    "subshell": bash("(ls)"),
    "background": bash("ls &"),
    "glob": bash("ls *.py"),
    "assignment": bash("FOO=1 ls"),
    "unsafe-segment": bash("ls && touch x"),
    "keyword": bash("if true; then ls; fi"),
    "unterminated-quote": bash("echo 'oops"),
}


@pytest.mark.parametrize("argv", list(KNOWN_SAFE.values()), ids=list(KNOWN_SAFE))
def test_is_known_safe_command_read_only_commands_true(argv: list[str]) -> None:
    assert is_known_safe_command(argv)


@pytest.mark.parametrize("argv", list(NOT_KNOWN_SAFE.values()), ids=list(NOT_KNOWN_SAFE))
def test_is_known_safe_command_writes_or_unjudgeable_false(argv: list[str]) -> None:
    assert not is_known_safe_command(argv)


# ------------------------------------------------------------------------------------------ dangerous check

DANGEROUS_CASES = {
    "rm-rf": ["rm", "-rf", "x"],
    "rm-f": ["rm", "-f", "x"],
    "rm-fr": ["rm", "-fr", "d1"],
    "rm-Rf": ["rm", "-Rf", "d1"],
    "rm-rfv": ["rm", "-rfv", "d1"],
    "rm-r-f": ["rm", "-r", "-f", "d1"],
    "rm-i-f": ["rm", "-i", "-f", "x"],
    "rm-force": ["rm", "--force", "x"],
    "rm-force-abbrev": ["rm", "--forc", "x"],
    "bin-rm": ["/bin/rm", "-rf", "d1"],
    "sudo": ["sudo", "rm", "-rf", "/"],
    "env-assignment": ["env", "FOO=1", "rm", "-fr", "x"],
    "env-flags": ["env", "-i", "-u", "HOME", "rm", "-f", "x"],
    "env-split-string": ["env", "-S", "rm -f", "x"],
    "bash-lc-and": bash("cd x && rm -rf y"),
    "bash-lc-mkdir": bash("mkdir -p d1 && rm -rf d1"),
    "bash-lc-pipe": bash("ls | rm -f x"),
    "bash-lc-substitution-arg": bash("rm -f $(echo x)"),
    "bash-lc-inside-substitution": bash("echo $(rm -rf x)"),
    "nested-bash-c": bash('bash -c "rm -rf d1"'),
    "nested-sh-c": ["sh", "-c", "sh -lc 'rm -f x'"],
    "env-in-script": bash("env rm -f x"),
    "sudo-in-script": bash("sudo rm -f x"),
    "assignment-in-script": bash("FOO=1 rm -rf x"),
    "keyword-in-script": bash("if true; then rm -rf x; fi"),
    "redirected": bash("rm -rf x 2>/dev/null"),
}
NOT_DANGEROUS_CASES = {
    "rm": ["rm", "x"],
    "rm-r": ["rm", "-r", "d1"],
    "rm-after-double-dash": ["rm", "--", "-f"],
    "unlink": ["unlink", "x"],
    "find-delete": ["find", ".", "-delete"],
    "git-clean": ["git", "clean", "-fdx"],
    "git-push-f": ["git", "push", "-f", "origin", "main"],
    "echo-rm": ["echo", "rm", "-rf"],
    "bash-echo-rm": bash("echo rm -rf d1"),
    "quoted-in-echo": bash("echo 'rm -rf x'"),
    "xargs-rm": bash("xargs rm -rf < /dev/null"),
    "command-rm": bash("command rm -f x"),
    "sudo-with-flags": bash("sudo -u root rm -f x"),
    "heredoc-body": bash("cat <<'EOF'\n rm -rf x\nEOF"),
    "empty": [],
}


@pytest.mark.parametrize("argv", list(DANGEROUS_CASES.values()), ids=list(DANGEROUS_CASES))
def test_is_dangerous_command_force_removal_true(argv: list[str]) -> None:
    assert is_dangerous_command(argv)


@pytest.mark.parametrize("argv", list(NOT_DANGEROUS_CASES.values()), ids=list(NOT_DANGEROUS_CASES))
def test_is_dangerous_command_other_commands_false(argv: list[str]) -> None:
    assert not is_dangerous_command(argv)


# --------------------------------------------------------------------------------------------- script parser

SCRIPTS = {
    "single": ("ls -la", [["ls", "-la"]]),
    "and-or-semicolon-pipe": ("a && b || c; d | e", [["a"], ["b"], ["c"], ["d"], ["e"]]),
    "no-spaces": ("a&&b|c", [["a"], ["b"], ["c"]]),
    "quotes": ("""echo 'x y' "a\\"b" c\\ d""", [["echo", "x y", 'a"b', "c d"]]),
    "empty-quotes": ("echo ''", [["echo", ""]]),
    "newline": ("ls\npwd\n", [["ls"], ["pwd"]]),
    "trailing-semicolon": ("ls;", [["ls"]]),
    "blank-lines": ("\nls\n\npwd\n", [["ls"], ["pwd"]]),
    "newline-after-and": ("ls &&\n pwd", [["ls"], ["pwd"]]),
    "comment": ("ls # list", [["ls"]]),
    "line-continuation": ("ls \\\n -la", [["ls", "-la"]]),
}
UNPARSEABLE = [
    "",
    "ls >out",
    "cat <in",
    "ls 2>&1",
    "echo $(id)",
    "echo `id`",
    "echo $HOME",
    'echo "$HOME"',
    "(ls)",
    "ls &",
    "ls ;; pwd",
    "&& ls",
    "ls &&",
    "FOO=1 ls",
    "ls *.py",
    "echo {a,b}",
    "for x in a; do ls; done",
    "echo 'open",
    'echo "open',
    "cat <<EOF\nx\nEOF",
]


@pytest.mark.parametrize(("script", "segments"), list(SCRIPTS.values()), ids=list(SCRIPTS))
def test_parse_shell_script_plain_script_gives_segments(script: str, segments: list[list[str]]) -> None:
    assert parse_shell_script(script) == segments


@pytest.mark.parametrize("script", UNPARSEABLE, ids=[repr(s) for s in UNPARSEABLE])
def test_parse_shell_script_unjudgeable_construct_gives_none(script: str) -> None:
    assert parse_shell_script(script) is None


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.text(max_size=12), min_size=1, max_size=5))
def test_parse_shell_script_quoted_words_round_trip(words: list[str]) -> None:
    assume(words[0] not in shell_parse.RESERVED_WORDS and not shell_parse.ASSIGNMENT.match(words[0]))
    assert parse_shell_script(shlex.join(words)) == [words]


@settings(max_examples=300, deadline=None)
@given(script=st.text(max_size=60))
def test_parse_shell_script_arbitrary_text_never_raises(script: str) -> None:
    result = parse_shell_script(script)
    assert result is None or all(segment for segment in result)


# ------------------------------------------------------------------------------------------------ prefix rules

RULES = """\
# comments and blank lines are fine

prefix_rule(pattern=["git", "push"], decision="forbidden", justification="pushing is not allowed here")
prefix_rule(pattern=["echo", ["b", "c"]], decision="forbidden")
prefix_rule(pattern=["curl"], decision="prompt", justification="network access")
prefix_rule(pattern=["touch", "/outside/allowed"])
prefix_rule(pattern=["rm", "-rf", "build"], decision="allow")
prefix_rule(pattern=["npm", "test"], match=["npm test --watch"], not_match=[["npm", "run"]])
host_executable(name="curl", paths=["/usr/bin/curl"])
"""


@pytest.fixture
def rules(tmp_path: Path) -> execpolicy.PrefixRules:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "default.rules").write_text(RULES)
    return load_prefix_rules(tmp_path)


def assess(argv: list[str], rules: execpolicy.PrefixRules, policy: AskForApproval = "on-request") -> CommandAssessment:
    return assess_command(
        argv,
        policy=policy,
        sandbox_mode="workspace-write",
        escalation_requested=False,
        justification=None,
        rules=rules,
    )


def test_load_prefix_rules_file_parses_every_rule(rules: execpolicy.PrefixRules) -> None:
    assert len(rules.rules) == 6
    assert rules.rules[1].pattern == (("echo",), ("b", "c"))
    assert rules.rules[3].decision == "allow"
    assert rules.host_executables == (("curl", ("/usr/bin/curl",)),)


def test_load_prefix_rules_missing_folder_gives_no_rules(tmp_path: Path) -> None:
    assert load_prefix_rules(tmp_path) == execpolicy.PrefixRules()


@pytest.mark.parametrize("policy", get_args(AskForApproval))
def test_assess_command_forbidden_rule_rejects_with_justification(
    rules: execpolicy.PrefixRules, policy: AskForApproval
) -> None:
    got = assess(bash("git push origin main"), rules, policy)
    assert got == CommandAssessment(
        "reject", False, rejected("`/bin/bash -lc 'git push origin main'` rejected: pushing is not allowed here")
    )


def test_assess_command_forbidden_rule_without_justification_names_prefix(rules: execpolicy.PrefixRules) -> None:
    got = assess(bash("ls && echo c d"), rules)
    assert got.reason == rejected(
        "`/bin/bash -lc 'ls && echo c d'` rejected: policy forbids commands starting with `echo c`"
    )


def test_assess_command_prompt_rule_under_never_rejects(rules: execpolicy.PrefixRules) -> None:
    got = assess(bash("curl example.com"), rules, "never")
    assert got == CommandAssessment(
        "reject", False, rejected("approval required by policy, but AskForApproval is set to Never")
    )


def test_assess_command_prompt_rule_under_on_request_asks_with_rule_reason(rules: execpolicy.PrefixRules) -> None:
    assert assess(bash("curl example.com"), rules) == CommandAssessment("ask", True, "network access")


def test_assess_command_absolute_program_falls_back_to_basename_rule(rules: execpolicy.PrefixRules) -> None:
    assert assess(["/usr/bin/curl", "x"], rules).action == "ask"
    assert assess(["/opt/curl", "x"], rules).action == "run"  # not a listed host executable


@pytest.mark.parametrize("policy", get_args(AskForApproval))
def test_assess_command_allow_rule_on_every_segment_runs_unsandboxed(
    rules: execpolicy.PrefixRules, policy: AskForApproval
) -> None:
    got = assess(bash("touch /outside/allowed && rm -rf build"), rules, policy)
    assert got == CommandAssessment("run", False, None)


def test_assess_command_allow_rule_mixed_with_other_segment_stays_sandboxed(rules: execpolicy.PrefixRules) -> None:
    assert assess(bash("touch /outside/allowed && touch y"), rules) == CommandAssessment("run", True, None)


def test_assess_command_allow_rule_in_complex_script_does_not_lift_sandbox(rules: execpolicy.PrefixRules) -> None:
    assert assess(bash("touch /outside/allowed > log"), rules) == CommandAssessment("run", True, None)


def test_assess_command_forbidden_rule_in_complex_script_still_rejects(rules: execpolicy.PrefixRules) -> None:
    assert assess(bash("git push > log"), rules).action == "reject"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('prefix_rule(pattern=["a"], decision="bogus")\n', "error: invalid decision: bogus"),
        ('prefix_rule(pattern=["npm"], match=["yarn test"])\n', "error: expected every example to match"),
        ('prefix_rule(pattern=["npm"], not_match=["npm x"])\n', "error: expected no not_match example"),
        ("prefix_rule(pattern=[])\n", "error: pattern must be"),
        ("prefix_rule(pattern=\n", "error:"),
        ("x = 1\n", "expected prefix_rule(...)"),
        ('other_rule(pattern=["a"])\n', "unknown function other_rule"),
    ],
    ids=["bad-decision", "match-example", "not-match-example", "empty-pattern", "syntax", "statement", "unknown"],
)
def test_load_prefix_rules_bad_file_raises_config_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "rules").mkdir()
    path = tmp_path / "rules" / "bad.rules"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_prefix_rules(tmp_path)
    assert info.value.message.startswith(f"failed to parse policy at {path}\n")
    assert message in info.value.message


def test_append_allow_rule_writes_observed_format_and_loads_back(tmp_path: Path) -> None:
    execpolicy.append_allow_rule(tmp_path, ["touch", "/home/dev/sandbox/outside/amend1"])
    text = (tmp_path / "rules" / "default.rules").read_text()
    assert text == 'prefix_rule(pattern=["touch", "/home/dev/sandbox/outside/amend1"], decision="allow")\n'
    loaded = load_prefix_rules(tmp_path)
    assert assess(["touch", "/home/dev/sandbox/outside/amend1"], loaded) == CommandAssessment("run", False, None)


# ------------------------------------------------------------------------------------------------------ patches


def patch(
    paths: list[Path],
    policy: AskForApproval,
    mode: str,
    roots: list[Path],
    *,
    cwd: Path | None = None,
    session_approved_patches: bool = False,
) -> safety.PatchAssessment:
    return assess_patch(
        paths,
        policy=policy,
        sandbox_mode=mode,
        writable_roots=roots,
        cwd=cwd,
        session_approved_patches=session_approved_patches,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return Path(os.path.realpath(root))


PATCH_POLICIES = get_args(AskForApproval)


@pytest.mark.parametrize("policy", PATCH_POLICIES)
def test_assess_patch_inside_writable_roots_runs(ws: Path, policy: AskForApproval) -> None:
    assert patch([ws / "a.txt", ws / "sub" / "b.txt"], policy, "workspace-write", [ws]).action == "run"


@pytest.mark.parametrize("policy", PATCH_POLICIES)
def test_assess_patch_outside_roots_asks_or_rejects_under_never(ws: Path, policy: AskForApproval) -> None:
    outside = ws.parent / "elsewhere.txt"
    got = patch([ws / "a.txt", outside], policy, "workspace-write", [ws])
    if policy == "never":
        assert got == safety.PatchAssessment("reject", PATCH_OUTSIDE_REJECTION, (outside,))
    else:
        assert got == safety.PatchAssessment("ask", None, (outside,))


@pytest.mark.parametrize("policy", PATCH_POLICIES)
def test_assess_patch_read_only_asks_or_rejects_under_never(ws: Path, policy: AskForApproval) -> None:
    got = patch([ws / "a.txt"], policy, "read-only", [ws])
    if policy == "never":
        assert got == safety.PatchAssessment("reject", PATCH_READ_ONLY_REJECTION, (ws / "a.txt",))
    else:
        assert got.action == "ask"


def test_assess_patch_read_only_rejection_is_the_observed_text() -> None:
    expected = "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings"
    assert expected == PATCH_READ_ONLY_REJECTION


@pytest.mark.parametrize("policy", PATCH_POLICIES)
def test_assess_patch_danger_full_access_runs(ws: Path, policy: AskForApproval) -> None:
    assert patch([Path("/etc/x")], policy, "danger-full-access", [ws]).action == "run"


@pytest.mark.parametrize("name", [".git", ".codex", ".agents", ".aws"])
def test_assess_patch_protected_name_at_root_top_is_blocked(ws: Path, name: str) -> None:
    assert patch([ws / name / "config"], "never", "workspace-write", [ws]).action == "reject"


def test_assess_patch_nested_git_directory_is_writable(ws: Path) -> None:
    assert patch([ws / "sub" / ".git" / "f"], "never", "workspace-write", [ws]).action == "run"


def test_assess_patch_relative_and_dotdot_paths_resolve_against_cwd(ws: Path) -> None:
    assert patch([Path("a.txt")], "never", "workspace-write", [ws], cwd=ws).action == "run"
    assert patch([Path("../x.txt")], "never", "workspace-write", [ws], cwd=ws).action == "reject"


def test_assess_patch_symlink_escaping_root_is_blocked(ws: Path) -> None:
    (ws.parent / "out").mkdir()
    (ws / "link").symlink_to(ws.parent / "out")
    assert patch([ws / "link" / "f"], "never", "workspace-write", [ws]).action == "reject"


def test_assess_patch_session_approved_runs(ws: Path) -> None:
    assert patch([ws / "a.txt"], "on-request", "read-only", [ws], session_approved_patches=True).action == "run"


def test_assess_patch_unknown_mode_is_read_only(ws: Path) -> None:
    assert patch([ws / "a.txt"], "never", "bogus", [ws]).reason == PATCH_READ_ONLY_REJECTION


# ---------------------------------------------------------------------------------------------- decisions

DECISIONS = {
    "approved-exec-sandboxed": ("approved", "exec", True, safety.DecisionResult("run", True)),
    "approved-exec-escalated": ("approved", "exec", False, safety.DecisionResult("run", False)),
    "session-exec": ("approved_for_session", "exec", True, safety.DecisionResult("run", True, None, True)),
    "approved-patch": ("approved", "patch", True, safety.DecisionResult("run", False)),
    "session-patch": ("approved_for_session", "patch", True, safety.DecisionResult("run", False, None, True)),
    "denied-exec": ("denied", "exec", True, safety.DecisionResult("reject", False, rejected("rejected by user"))),
    "denied-patch": ("denied", "patch", True, safety.DecisionResult("reject", False, "patch rejected by user")),
    "abort-exec": ("abort", "exec", True, safety.DecisionResult("abort", False)),
    "abort-patch": ("abort", "patch", False, safety.DecisionResult("abort", False)),
}


@pytest.mark.parametrize(("decision", "kind", "sandboxed", "expected"), list(DECISIONS.values()), ids=list(DECISIONS))
def test_decision_result_each_answer_maps_to_effect(
    decision: ReviewDecision, kind: Literal["exec", "patch"], sandboxed: bool, expected: safety.DecisionResult
) -> None:
    assert decision_result(decision, kind=kind, sandboxed=sandboxed) == expected


def test_decision_result_denied_exec_text_is_the_observed_one() -> None:
    got = decision_result("denied", kind="exec", sandboxed=True).output
    assert got == 'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }'


def test_policy_only_approver_any_request_denied(tmp_path: Path) -> None:
    approver: Approver = PolicyOnlyApprover()
    req = ApprovalRequest("exec", "call_1", tmp_path, tuple(DANGEROUS), reason="why")
    assert approver.request(req) == "denied"


def test_approval_request_display_is_shell_quoted(tmp_path: Path) -> None:
    req = ApprovalRequest("exec", "call_1", tmp_path, ("/bin/bash", "-c", "rm -rf d1"))
    assert req.display == "/bin/bash -c 'rm -rf d1'"
    assert req.offer_session and req.paths == ()


def test_scripted_approver_drives_ask_to_run_unsandboxed(tmp_path: Path) -> None:
    class Scripted:
        def __init__(self) -> None:
            self.seen: list[ApprovalRequest] = []

        def request(self, req: ApprovalRequest) -> ReviewDecision:
            self.seen.append(req)
            return "approved"

    approver: Approver = Scripted()
    got = assess_command(
        ESCALATED,
        policy="on-request",
        sandbox_mode="workspace-write",
        escalation_requested=True,
        justification=JUSTIFICATION,
    )
    answer = approver.request(ApprovalRequest("exec", "c1", tmp_path, tuple(ESCALATED), reason=got.reason))
    assert decision_result(answer, kind="exec", sandboxed=got.sandboxed) == safety.DecisionResult("run", False)


@pytest.mark.parametrize("module", [safety, command_safety, execpolicy, shell_parse], ids=lambda m: m.__name__)
def test_module_all_is_sorted_and_complete(module: ModuleType) -> None:
    public = {
        n
        for n in vars(module)
        if not n.startswith("_") and getattr(getattr(module, n), "__module__", "") == module.__name__
    }
    assert public <= set(module.__all__)


# ------------------------------------------------------------------------ what an approval request carries


@pytest.mark.parametrize(
    ("command", "suggested", "offered"),
    [
        (bash("cargo test -p core && echo done"), None, ("cargo", "test", "-p", "core")),
        (bash("cargo test -p core"), ["cargo", "test"], ("cargo", "test")),
        (bash("cargo test -p core"), ["npm"], ("cargo", "test", "-p", "core")),
        (bash("python3 -c 'print(1)'"), ["python3"], ("python3", "-c", "print(1)")),
        (bash("python3 -"), ["python3"], None),
        (["git", "push"], ["git"], ("git", "push")),
        (bash("echo $(id)"), None, None),
    ],
    ids=["first-command", "model-prefix", "not-a-prefix", "banned-suggestion", "banned", "banned-git",
         "unparsed-script"],
)
def test_approval_prefix_is_the_models_prefix_else_the_first_command_never_a_banned_one(
    command: list[str], suggested: object, offered: tuple[str, ...] | None
) -> None:
    assert safety.approval_prefix(command, suggested) == offered


class RecordingApprover:
    def __init__(self) -> None:
        self.requests: list[ApprovalRequest] = []

    def request(self, req: ApprovalRequest) -> ReviewDecision:
        self.requests.append(req)
        return "denied"


def _runner(tmp_path: Path, approver: RecordingApprover) -> tuple[tools.ToolRunner, tools.ToolContext]:
    settings = tools.ToolSettings("read-only", (tmp_path,), shell.EnvPolicy(), {}, approval_policy="on-request",
                                  approver=approver)
    ctx = tools.ToolContext(tmp_path, "thread", lambda event: None, lambda: "item_0", threading.Event())
    return tools.ToolRunner(settings), ctx


def test_patch_approval_request_carries_the_planned_changes_and_diff_without_any_history(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("one\ntwo\n", encoding="utf-8")
    (tmp_path / "gone.txt").write_text("bye\n", encoding="utf-8")
    text = ("*** Begin Patch\n*** Add File: new.txt\n+hello\n*** Delete File: gone.txt\n"
            "*** Update File: old.txt\n*** Move to: moved.txt\n@@\n one\n-two\n+three\n*** End Patch\n")
    approver = RecordingApprover()
    runner, ctx = _runner(tmp_path, approver)
    output = runner.run(tools.ToolCall("custom", "apply_patch", "call_p", text), ctx)
    assert output["output"] == "patch rejected by user"
    [req] = approver.requests
    assert (req.kind, req.call_id, req.cwd) == ("patch", "call_p", tmp_path)
    by_path = {change.path.name: change for change in req.changes}
    assert by_path["new.txt"].kind == "add" and by_path["new.txt"].content == "hello\n"
    assert by_path["gone.txt"].kind == "delete" and by_path["gone.txt"].content == "bye\n"
    moved = by_path["old.txt"]
    assert (moved.kind, moved.move_path) == ("update", tmp_path / "moved.txt")
    assert "-two\n+three\n" in moved.unified_diff
    assert "+hello" in req.diff and "-two" in req.diff and "+three" in req.diff


def test_command_approval_request_carries_the_prefix_offered_for_always(tmp_path: Path) -> None:
    approver = RecordingApprover()
    runner, ctx = _runner(tmp_path, approver)
    args = {"cmd": "cargo test -p core", "sandbox_permissions": "require_escalated", "prefix_rule": ["cargo", "test"]}
    runner.run(tools.ToolCall("function", "exec_command", "call_c", json.dumps(args)), ctx)
    [req] = approver.requests
    assert (req.kind, req.call_id, req.command[1:]) == ("exec", "call_c", ("-lc", "cargo test -p core"))
    assert req.prefix == ("cargo", "test")
