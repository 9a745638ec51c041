"""Approval decisions: whether one `exec_command` call or one patch runs, is asked about, or is rejected.

This module owns the whole decision; front ends only answer the questions it raises (through an `Approver`).
It weighs what is known about the command (`command_safety`: known-safe, "rm -f style"; scripts read by
`shell_parse`) and the execpolicy rules (`execpolicy`) against the policy, and holds the model-facing texts of
every rejection.

Per command, in order: an escalation request under `never` is rejected; a `forbidden` rule rejects; a command
whose every segment an `allow` rule matches runs unsandboxed; a dangerous command is rejected under `never`;
a command approved for the session runs; a dangerous one is asked about; a `prompt` rule asks (rejects under
`never`); then the policy decides: `untrusted` runs only known-safe commands unasked, `never` runs everything
in the sandbox, `on-request`/`on-failure` ask only for escalation outside `danger-full-access`, and
`on-failure` offers an unsandboxed retry when a sandboxed run fails. Where nothing can confine a command
(Windows, `confinable=False`), only known-safe commands run unasked; others are asked about, refused under `never`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from codex_cli import command_safety, shell_parse
from codex_cli.execpolicy import PrefixRules, RuleMatch
from codex_cli.records import Record

if TYPE_CHECKING:
    from codex_cli.patch import FileChange
    from codex_cli.protocol import AskForApproval, SandboxMode

__all__ = [
    "BANNED_PREFIXES",
    "DANGEROUS_REJECTION",
    "NEVER_ESCALATION_REJECTION",
    "NEVER_PROMPT_REJECTION",
    "PATCH_OUTSIDE_REJECTION",
    "PATCH_READ_ONLY_REJECTION",
    "ApprovalRequest",
    "Approver",
    "CommandAssessment",
    "DecisionResult",
    "PatchAssessment",
    "PolicyOnlyApprover",
    "Refusal",
    "ReviewDecision",
    "approval_prefix",
    "assess_command",
    "assess_patch",
    "decision_result",
    "exec_rejection_output",
]

ReviewDecision: TypeAlias = Literal["approved", "approved_for_session", "denied", "abort"]
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
    segments = shell_parse.command_segments(argv)
    scripts = shell_parse.ScriptCache()
    if segments is None:  # not a plain script: rules see its rough segments, and `allow` never lifts the sandbox
        script = shell_parse.shell_wrapper_script(argv) or ""
        matches = [rules.check(s) for s in shell_parse.loose_segments(script, scripts)]
        strict = [m for m in matches if m is not None and m.decision != "allow"]
        return _RuleView(
            next((m for m in strict if m.decision == "forbidden"), None),
            next((m for m in strict if m.decision == "prompt"), None),
            False,
            command_safety.any_dangerous([argv], scripts),
            False,
        )
    if not rules.rules:  # what the general case below gives without rules, without a look per command
        return _RuleView(None, None, False, command_safety.any_dangerous(segments, scripts),
                         all(map(command_safety.is_known_safe_simple_command, segments)))
    pairs = [(s, rules.check(s)) for s in segments]
    unmatched = [s for s, m in pairs if m is None]
    return _RuleView(
        next((m for _, m in pairs if m is not None and m.decision == "forbidden"), None),
        next((m for _, m in pairs if m is not None and m.decision == "prompt"), None),
        bool(pairs) and all(m is not None and m.decision == "allow" for _, m in pairs),
        command_safety.any_dangerous(unmatched, scripts),
        all(map(command_safety.is_known_safe_simple_command, unmatched)),
    )


def assess_command(
    argv: Sequence[str],
    *,
    policy: AskForApproval,
    sandbox_mode: SandboxMode,
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


def _assess_unconfined(argv: Sequence[str], view: _RuleView, policy: AskForApproval, sandbox_mode: SandboxMode,
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
    policy: AskForApproval,
    sandbox_mode: SandboxMode,
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
    script = shell_parse.shell_wrapper_script(words)
    if script is not None:
        segments = shell_parse.parse_shell_script(script) or []
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
