"""The line UI's approval questions (ux.md §4): the command or patch, the choices, and one key or word to answer.

`approval_details()` runs on the session thread before the question is queued: it turns the request's planned
changes into the proposed patch shown as a diff, and takes the command prefix offered for "don't ask again".
`ask_approval()` runs on the UI thread: it prints the question, reads the answer, and writes the decision back.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from codex_cli.records import Record, replace
from codex_cli.ui.line_input import Key
from codex_cli.ui.line_render import display_command

if TYPE_CHECKING:
    from codex_cli.protocol import FileChangeItem
    from codex_cli.safety import ApprovalRequest, ReviewDecision
    from codex_cli.ui.line_ui import LineApp, PendingApproval

__all__ = ["approval_details", "ask_approval"]


class _Option(Record):
    key: str
    word: str
    decision: str  # a ReviewDecision, or "prefix" / "feedback"
    label: str


def approval_details(req: ApprovalRequest) -> tuple[FileChangeItem | None, tuple[str, ...] | None]:
    """(the proposed patch as an item with a diff, the prefix offered for "always") for one request."""
    from codex_cli.protocol import FileChange, FileChangeItem

    if req.kind != "patch":
        return None, req.prefix
    if not req.changes:
        return None, None
    changes = sorted((FileChange(str(c.path), c.kind) for c in req.changes), key=lambda c: c.path)
    return FileChangeItem("proposed", tuple(changes), diff=req.diff), None


def _options(req: ApprovalRequest, prefix: tuple[str, ...] | None) -> list[_Option]:
    options = [_Option("y", "yes", "approved", "Yes, proceed")]
    if req.kind == "patch":
        if req.offer_session:
            options.append(_Option("a", "always", "approved_for_session", "Yes, and don't ask again for these files"))
        options.append(_Option("d", "decline", "denied", "No, continue without applying them"))
    else:
        if req.offer_session:
            options.append(_Option("a", "always", "approved_for_session",
                                   "Yes, and don't ask again for this command in this session"))
            if prefix is not None:
                options.append(_Option("p", "prefix", "prefix",
                                       f"Yes, and don't ask again for commands that start with `{shlex.join(prefix)}`"))
        options.append(_Option("d", "decline", "denied", "No, continue without running it"))
    options.append(_Option("n", "no", "feedback", "No, and tell Codex what to do differently"))
    options.append(_Option("c", "cancel", "abort", "Cancel and stop the turn"))
    return options


def _choose(app: LineApp, options: list[_Option]) -> tuple[_Option, list[Key]]:
    """Wait for a key: an option's letter (or a word starting with it), its number, Enter (yes), Esc (cancel).
    Any other key is answered with the keys that are."""
    cancel = next(o for o in options if o.decision == "abort")
    while True:
        keys = app.terminal.read_keys(0.2)
        for index, key in enumerate(keys):
            rest = keys[index + 1 :]
            if key.name == "enter":
                return options[0], rest
            if key.name in ("esc", "ctrl-c", "ctrl-d"):
                return cancel, rest
            if key.name == "focus-in" or key.name == "focus-out":
                app.notifier.focused = key.name == "focus-in"
                continue
            typed = key.text.strip() if key.name in ("text", "paste") else ""
            if typed:
                first = typed[0].lower()
                for number, option in enumerate(options, 1):
                    if first in (option.key, str(number)):
                        tail = typed[1:]
                        return option, ([Key("text", tail)] if tail else []) + rest
            elif key.name in ("text", "newline"):
                continue  # a space or a stray newline
            shown = typed[:1] or key.name
            choices = ", ".join(option.key for option in options)
            app.renderer.write(f"\n  {app.renderer.pal.yellow(f'{shown!r} is not an answer:')} press {choices} or "
                               f"1-{len(options)} (enter: yes, esc: cancel)\n  Answer with a key or a word: ")


def _read_feedback(app: LineApp, prompt: str, typed: list[Key]) -> str:
    """A line typed in the input editor (the session thread waits meanwhile); Ctrl-C or Esc gives up."""
    app.terminal.push_back(typed)
    try:
        return app.read_input(prompt, history=False, drain=False).strip()
    except (EOFError, KeyboardInterrupt):
        return ""


def ask_approval(app: LineApp, pending: PendingApproval) -> None:
    """Print the question for `pending`, read the answer, record it, and wake the session thread."""
    renderer, pal, req = app.renderer, app.renderer.pal, pending.request
    renderer.end_message()
    renderer.hide_input()
    renderer.clear_status()
    if req.kind == "patch":
        subject = "apply these edits"
        if pending.proposed is not None:
            renderer.patch(pending.proposed, proposed=True)
        renderer.line("  " + pal.bold("Would you like to make the following edits?"))
        for path in req.paths:
            renderer.line(f"  Destination: {path}")
        what = "apply patch"
    else:
        what = display_command(shlex.join(req.command))
        subject = f"run {what}"
        renderer.line(f"{pal.dim('•')} {pal.bold('Running')} {what}")
        renderer.line("  " + pal.bold("Would you like to run the following command?"))
        if req.reason:
            renderer.line(f"  Reason: {req.reason}")
        renderer.line(f"  {pal.dim('$')} {what}")
    options = _options(req, pending.prefix)
    keys = {"c": f"{pal.bold('c')} / {pal.bold('esc')}"}
    renderer.line("\n".join(f"  {i}. {o.label} ({keys.get(o.key, pal.bold(o.key))})" for i, o in enumerate(options, 1)))
    renderer.write("  Answer with a key or a word: ")
    app.notifier.notify("approval-requested", f"Approval requested: {what}")
    option, rest = _choose(app, options)
    renderer.write(f"{option.word} ({option.label})\n")
    app.swallow(option.word[1:])
    decision = _apply(app, pending, option, subject, rest)
    pending.decision = decision
    pending.done.set()
    if option.decision == "abort" and option.key == "c":
        app.stopped_by_person()
    if option.decision != "feedback":
        for key in rest:
            app.turn_key(key)
    app.show_draft()


def _apply(app: LineApp, pending: PendingApproval, option: _Option, subject: str, rest: list[Key]) \
        -> ReviewDecision:
    renderer, pal = app.renderer, app.renderer.pal
    yes, no = pal.green("✔"), pal.red("✗")
    if option.decision == "approved":
        renderer.line(f"{yes} You approved codex to {subject} this time")
        return "approved"
    if option.decision == "approved_for_session":
        renderer.line(f"{yes} You approved codex to {subject} every time this session")
        return "approved_for_session"
    if option.decision == "prefix" and pending.prefix is not None:
        from codex_cli import execpolicy

        home = app.config.codex_home
        execpolicy.append_allow_rule(home, pending.prefix)
        tools = app.session.tools
        tools.settings = replace(tools.settings, rules=execpolicy.load_prefix_rules(home))
        renderer.line(f"{yes} You approved codex to always run commands that start with {shlex.join(pending.prefix)}")
        return "approved_for_session"
    if option.decision == "denied":
        renderer.line(f"{no} You did not approve codex to {subject}; it continues without that")
        return "denied"
    renderer.line(f"{no} You canceled the request to {subject}")
    if option.decision == "feedback":
        feedback = _read_feedback(app, "  Tell Codex what to do differently (enter to skip): ", rest)
        if feedback:
            app.queued.insert(0, feedback)
    return "abort"
