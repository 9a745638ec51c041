"""The line UI's slash commands (ux.md §8): what each one does, with pickers as numbered plain questions.

`dispatch(app, "/name args")` runs one command and returns True when the UI should exit. Commands typed while a
turn runs are queued like any other text, so none of them ever runs during a turn.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from codex_cli.records import Record, replace
from codex_cli.ui.line_ui import permissions_label

if TYPE_CHECKING:
    from codex_cli.config import Config
    from codex_cli.rollout import ResumedThread
    from codex_cli.ui.line_ui import LineApp

__all__ = [
    "COMMANDS",
    "INIT_PROMPT",
    "SlashCommand",
    "command_names",
    "dispatch",
    "pick_thread",
    "replay",
    "review_hooks",
]

MODELS = ("gpt-6.1-sol", "gpt-6.1-terra", "gpt-6-sol", "gpt-6-luna", "gpt-6-astra", "gpt-5.6-sol", "gpt-5.6-terra",
          "gpt-5.6-luna", "gpt-5.5")
EFFORTS = ("low", "medium", "high", "xhigh")
INIT_PROMPT = """Create an `AGENTS.md` file in the current directory: a short contributor guide for this repository, \
titled "Repository Guidelines".

Look at the repository first (layout, build files, tests, recent history) and write only what is true here:
- Project structure: where the source, tests and assets live.
- Build, test and development commands, each with one line on what it does.
- Coding style and naming conventions, and the formatters or linters in use.
- Testing: the framework, how tests are named, how to run them.
- Commit and pull request conventions, as far as the history shows them.

Use Markdown headings and short bullet points, 200-400 words in all. If `AGENTS.md` already exists, do not \
overwrite it; say so and stop."""


class SlashCommand(Record):
    name: str
    description: str
    run: Callable[[LineApp, str], bool]
    hidden: bool = False


def pick_thread(app: LineApp, cwd: Path | None, *, include_exec: bool = False) -> Path | None:
    """A numbered list of recorded interactive threads (and `codex exec` ones with `include_exec`); the chosen
    one's rollout path."""
    from codex_cli import rollout

    current = app.session.thread_id if app.thread is not None else None
    threads = [t for t in rollout.list_threads(app.config.codex_home, cwd=cwd)
               if (include_exec or t.source != "exec") and t.first_user_message and t.id != current][:20]
    if not threads:
        app.renderer.note("No saved sessions found" + (" in this directory." if cwd else "."))
        return None
    app.renderer.line(app.renderer.pal.bold("Resume a previous session"))
    now = time.time()
    for index, thread in enumerate(threads, 1):
        title = (thread.title or "(no prompt)").replace("\n", " ")[:60]
        ident = app.renderer.pal.dim(thread.id)
        where = f"  {app.renderer.pal.dim(thread.cwd)}" if cwd is None else ""  # --all: sessions of every directory
        app.renderer.line(f"  {index}. {_age(now - thread.updated):>8}  {title}{where}  {ident}")
    answer = app.ask(f"Select [1-{len(threads)}] (enter to cancel): ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(threads):
        return threads[int(answer) - 1].path
    return None


def replay(app: LineApp, resumed: ResumedThread) -> None:
    """Show the recorded conversation as it was shown live: the person's prompts (and `!` commands), the
    assistant's answers, command and patch cells, other tool calls, and where a turn was interrupted."""
    from codex_cli.notifications import user_messages
    from codex_cli.ui.line_render import MarkdownStream

    outputs = {str(item.get("call_id")): item.get("output") for item in resumed.history
               if item.get("type") in ("function_call_output", "custom_tool_call_output")}
    renderer = app.renderer
    for item in resumed.history:
        kind = item.get("type")
        if kind in ("function_call", "custom_tool_call"):
            _replay_call(app, item, outputs.get(str(item.get("call_id"))))
            continue
        if kind != "message":
            continue
        texts = _item_texts(item)
        if item.get("role") == "user":
            if texts and texts[0].startswith("<turn_aborted>"):
                renderer.error("Conversation interrupted - tell the model what to do differently.")
            elif texts and texts[0].startswith("<user_shell_command>"):
                _replay_shell_command(app, texts[0])
            for text in user_messages([item]):
                renderer.user_prompt(text)
        elif item.get("role") == "assistant":
            text = "".join(texts)
            if text:
                app.last_answer = text
                stream = MarkdownStream(renderer.pal, width=renderer.width)
                renderer.write(stream.feed(text) + stream.finish())
                renderer.transcript.append(text)


def _item_texts(item: dict[str, object]) -> list[str]:
    content = item.get("content")
    if not isinstance(content, list):
        return []
    return [str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("text")]


def _output_text(output: object) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(part.get("text", "")) for part in output if isinstance(part, dict))
    if isinstance(output, dict):
        return str(output.get("content", output.get("output", "")))
    return ""


def _command_result(text: str) -> tuple[str, int | None]:
    """(output, exit code) of a recorded command's tool output (`Process exited with code N ... Output:`)."""
    import re

    code_match = re.search(r"(?:Process exited with code|Exit code:) (-?\d+)", text)
    _, found, body = text.partition("Output:\n")
    return (body if found else text), (int(code_match.group(1)) if code_match else None)


def _replay_call(app: LineApp, item: dict[str, object], output: object) -> None:
    import json

    from codex_cli.protocol import CommandExecutionItem

    name = str(item.get("name", ""))
    call_id = str(item.get("call_id", ""))
    text = _output_text(output)
    if name == "apply_patch":
        patch = item.get("input")
        if not isinstance(patch, str):
            try:
                patch = json.loads(str(item.get("arguments") or "{}")).get("input", "")
            except (ValueError, AttributeError):
                patch = ""
        _replay_patch(app, call_id, str(patch), failed="Success." not in text)
        return
    try:
        args = json.loads(str(item.get("arguments") or "{}")) if item.get("type") == "function_call" else {}
    except ValueError:
        args = {}
    command = args.get("cmd", args.get("command")) if isinstance(args, dict) else None
    if name in ("exec_command", "shell", "shell_command", "local_shell") and command is not None:
        shown = command if isinstance(command, str) else " ".join(str(word) for word in command)
        body, code = _command_result(text)
        app.renderer.command(CommandExecutionItem(call_id, shown, body, code, "completed" if code == 0 else "failed"))
    elif name not in ("update_plan", "write_stdin"):
        pal = app.renderer.pal
        app.renderer.line(f"{pal.sgr('1;32', '•')} {pal.bold('Called')} {name}")


def _replay_patch(app: LineApp, call_id: str, patch: str, *, failed: bool) -> None:
    """A recorded apply_patch as the patch cell: its files, and its hunks as the diff."""
    from codex_cli.protocol import FileChange, FileChangeItem

    kinds: dict[str, Literal["add", "delete", "update"]] = {
        "*** Add File: ": "add", "*** Delete File: ": "delete", "*** Update File: ": "update"}
    changes: list[FileChange] = []
    diff: list[str] = []
    for line in patch.splitlines():
        kind = next((k for k in kinds if line.startswith(k)), None)
        if kind is not None:
            path = line[len(kind):].strip()
            changes.append(FileChange(str(app.config.cwd / path), kinds[kind]))
            diff.append(f"--- {path}" if kinds[kind] != "add" else "--- /dev/null")
            diff.append(f"+++ {path}" if kinds[kind] != "delete" else "+++ /dev/null")
        elif line.startswith(("+", "-", " ", "@@")) and changes:
            diff.append(line)
    if changes:
        app.renderer.patch(FileChangeItem(call_id, tuple(changes), "failed" if failed else "completed",
                                          diff="\n".join(diff) + "\n"))


def _replay_shell_command(app: LineApp, text: str) -> None:
    from codex_cli.protocol import CommandExecutionItem

    command = text.partition("<command>\n")[2].partition("\n</command>")[0]
    result = text.partition("<result>\n")[2].rpartition("</result>")[0]
    body, code = _command_result(result)
    app.renderer.command(CommandExecutionItem("bang", command, body, code, "completed" if code == 0 else "failed"),
                         verb="You ran")


def review_hooks(app: LineApp) -> None:
    """The startup question for new or changed hooks (ux.md §2.1 step 2)."""
    from codex_cli.hooks import trust_handlers

    discovered = app.hooks.discovered
    if app.bypass_hook_trust:
        return
    review = discovered.needing_review()
    if not review:
        return
    pal = app.renderer.pal
    app.renderer.line(f"{pal.dim('•')} {pal.bold('Hooks need review')}")
    app.renderer.dim_line(f"  {len(review)} hook{'s are' if len(review) != 1 else ' is'} new or changed. "
                           "Hooks can run outside the sandbox after you trust them.")
    for handler in review:
        app.renderer.dim_line(f"    {handler.event}: {handler.command}  ({discovered.status(handler)})")
    app.renderer.line("  1. Trust all and continue\n  2. Continue without trusting (hooks won't run)")
    answer = app.ask("Select [1-2]: ").strip().lower()
    if answer in ("1", "t", "trust", "y", "yes"):
        trust_handlers(app.config.config_path, review, discovered.state)
        state = dict(discovered.state)
        for handler in review:
            state[handler.key] = {**state.get(handler.key, {}), "trusted_hash": handler.trust_hash()}
        app.hooks.discovered = replace(discovered, state=state)
        app.renderer.note(f"Trusted {len(review)} hook{'s' if len(review) != 1 else ''}.")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def _pick(app: LineApp, title: str, options: list[str], current: int | None = None) -> int | None:
    """A numbered list and a question; the chosen index, or None (cancelled / nonsense)."""
    app.renderer.line(app.renderer.pal.bold(title))
    for index, option in enumerate(options, 1):
        suffix = app.renderer.pal.dim(" (current)") if index - 1 == current else ""
        app.renderer.line(f"  {index}. {option}{suffix}")
    answer = app.ask(f"Select [1-{len(options)}] (enter to cancel): ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return int(answer) - 1
    return None


# ---------------------------------------------------------------------------------------------- commands


def _model(app: LineApp, args: str) -> bool:
    """`/model` picks a model and effort and offers to save them as the default (what Enter does in codex-rs);
    `/model NAME [EFFORT]` changes this session only."""
    words = args.split()
    config = app.config
    if words:
        model = words[0]
        effort = words[1] if len(words) > 1 else config.model_reasoning_effort
    else:
        names = list(dict.fromkeys((config.model, *MODELS)))
        choice = _pick(app, "Select Model", names, current=0)
        if choice is None:
            return False
        model = names[choice]
        levels = [f"{e.capitalize()}{' (default)' if e == 'medium' else ''}" for e in EFFORTS]
        current = EFFORTS.index(config.model_reasoning_effort) if config.model_reasoning_effort in EFFORTS else None
        level = _pick(app, f"Select Reasoning Level for {model}", levels, current=current)
        effort = EFFORTS[level] if level is not None else config.model_reasoning_effort
    if effort is not None and effort not in (*EFFORTS, "minimal", "none"):
        app.renderer.error(f"Unknown reasoning effort `{effort}`; use one of {', '.join(EFFORTS)}.")
        return False
    session = app.session
    reasoning = dict(session.request.reasoning or {})
    if effort:
        reasoning["effort"] = effort
    session.request = replace(session.request, model=model, reasoning=reasoning or None)
    app.config = replace(config, model=model, model_reasoning_effort=effort)
    app.hooks.model = model
    app.renderer.note(f"Model changed to {model}{f' {effort}' if effort else ''}")
    if not words:
        _offer_to_save_model(app, model, effort)
    return False


def _offer_to_save_model(app: LineApp, model: str, effort: str | None) -> None:
    from codex_cli import toml_edit

    config = app.config
    path = config.codex_home / "config.toml"
    table = ("profiles", config.profile) if config.profile else ()
    where = f"profile `{config.profile}` of {path}" if config.profile else str(path)
    if app.ask(f"Save as the default in {where}? [Y/n] ").strip().lower() not in ("", "y", "yes"):
        return
    try:
        text = toml_edit.set_value(toml_edit.read_text(path), (*table, "model"), model)
        if effort is not None:
            text = toml_edit.set_value(text, (*table, "model_reasoning_effort"), effort)
        toml_edit.write_text_atomic(path, text)
    except (OSError, UnicodeDecodeError, toml_edit.TomlEditError) as exc:
        app.renderer.error(f"Could not save the model in {path}: {exc}. It applies to this session.")
        return
    app.renderer.note(f"Saved as the default in {where}")


_PERMISSIONS = (
    ("Read Only", "read files; ask before anything else", "read-only", "on-request"),
    ("Ask for approval", "read and edit files in the workspace, run commands; ask for anything beyond it",
     "workspace-write", "on-request"),
    ("Full Access", "no sandbox and no questions; edit files and use the network anywhere", "danger-full-access",
     "never"),
)


def _permissions(app: LineApp, args: str) -> bool:
    from codex_cli.config import load_config

    config = app.config
    current = next((i for i, p in enumerate(_PERMISSIONS) if (p[2], p[3]) == (config.sandbox_mode,
                                                                            config.approval_policy)), None)
    choice = _pick(app, "Select Approval Mode", [f"{p[0]} — {p[1]}" for p in _PERMISSIONS], current=current)
    if choice is None or choice == current:
        return False
    _, _, sandbox, approval = _PERMISSIONS[choice]
    overrides = replace(app.overrides, sandbox_mode=sandbox, approval_policy=approval,
                                    bypass_approvals_and_sandbox=False)
    new_config = replace(load_config(overrides), model=config.model,  # keep a /model choice
                                     model_reasoning_effort=config.model_reasoning_effort)
    if app.reopen(new_config):
        app.overrides = overrides
        app.hooks.permission_mode = "bypassPermissions" if approval == "never" else "default"
        app.renderer.note(f"Permissions changed to {permissions_label(new_config)}")
    return False


def _status(app: LineApp, args: str) -> bool:
    from codex_cli.project_doc import load_agents_doc
    from codex_cli.version import VERSION

    config, session, pal = app.config, app.session, app.renderer.pal
    reasoning = session.request.reasoning or {}
    summary = reasoning.get("summary") or config.model_reasoning_summary or "auto"
    model = f"{config.model} (reasoning {reasoning.get('effort', 'default')}, summaries {summary})"
    doc = load_agents_doc(config.codex_home, config.cwd, max_bytes=config.project_doc_max_bytes,
                          fallback_filenames=config.project_doc_fallback_filenames,
                          root_markers=config.project_root_markers)
    agents = [str(p) for p in _agents_files(config)] if doc.body else []
    tokens, context = app.status_usage()
    rows = [("Model", model), ("Model provider", config.model_provider_id), ("Directory", str(config.cwd)),
            ("Permissions", permissions_label(config)), ("Agents.md", ", ".join(agents) or "<none>"),
            ("Session", session.thread_id)]
    if app.thread_name:
        rows.append(("Thread name", app.thread_name))
    if app.forked_from:
        rows.append(("Forked from", app.forked_from))
    rows.append(("Token usage", tokens))
    if context is not None:
        rows.append(("Context window", context))
    app.renderer.line(f"{pal.bold('>_ Codex CLI (Python)')} {pal.dim(f'(v{VERSION})')}")
    for key, value in rows:
        label = f"{key}:"
        app.renderer.line(f"  {pal.dim(f'{label:<17}')}{value}")
    app.renderer.blank()
    return False


_SCOPES = {"repo": "this repository", "user": "yours", "admin": "admin"}


def _skills(app: LineApp, args: str) -> bool:
    """`/skills`: every skill found (rescanned now), where from, which are off, and the ones that could not load."""
    from codex_cli.skills import skills_for_config

    loaded = skills_for_config(app.config)
    pal = app.renderer.pal
    if not loaded.skills:
        app.renderer.note("No skills found. A skill is a folder with a SKILL.md, in ~/.agents/skills or in "
                          ".agents/skills of this repository.")
    for skill in loaded.skills:
        about = skill.description if len(skill.description) <= 160 else skill.description[:159] + "…"
        state = " (off in config.toml)" if not skill.enabled else "" if skill.implicit else " (only when named)"
        app.renderer.line(f"  {pal.bold('$' + skill.name)}{pal.dim(state)}  {about}", hang=4)
        app.renderer.dim_line(f"    {_SCOPES[skill.scope]}: {skill.path}")
    for warning in loaded.warnings:
        app.warn(warning)
    if loaded.skills:
        app.renderer.dim_line("  Type $name in a prompt to give the model that skill (Tab completes the name).")
    return False


def _agents_files(config: Config) -> list[Path]:
    """The instruction files in effect, from the project root down to the working directory."""
    names = ("AGENTS.override.md", "AGENTS.md", *config.project_doc_fallback_filenames)
    found: list[Path] = []
    directory = config.cwd
    while True:
        match = next((directory / name for name in names if (directory / name).is_file()), None)
        if match is not None:
            found.append(match)
        if directory == config.project_root or directory.parent == directory:
            break
        directory = directory.parent
    return list(reversed(found))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def _diff(app: LineApp, args: str) -> bool:
    cwd = app.config.cwd
    try:
        inside = _git(["rev-parse", "--is-inside-work-tree"], cwd)
    except OSError:
        inside = None
    if inside is None or inside.returncode != 0:
        app.renderer.note("`/diff` — not inside a git repository")
        return False
    text = _git(["diff", "--no-color", "--no-ext-diff"], cwd).stdout
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd).stdout.split("\0")
    for name in filter(None, untracked):
        text += _git(["diff", "--no-color", "--no-index", "--", "/dev/null", name], cwd).stdout
    if not text.strip():
        app.renderer.note("No changes.")
    else:
        app.renderer.diff(text)
    return False


def _new(app: LineApp, args: str) -> bool:
    from codex_cli.bootstrap import ThreadStart

    app.close_session()
    app.open(ThreadStart(source="cli"), "startup")
    app.renderer.note(f"New conversation started ({app.session.thread_id})")
    app.renderer.blank()
    return False


def _resume(app: LineApp, args: str) -> bool:
    from codex_cli.thread import ThreadNotFound, ThreadRef, thread_start

    name = args.strip()
    if name:
        ref = ThreadRef(name=name)
    else:
        picked = pick_thread(app, app.config.cwd)
        if picked is None:
            return False
        ref = ThreadRef(path=picked)
    try:
        start = thread_start(app.config.codex_home, ref, source="cli")
    except ThreadNotFound:
        app.renderer.error(f"No saved session found with ID {name}.")
        return False
    resumed = start.resumed
    assert resumed is not None
    app.close_session()
    app.open(start, "resume")
    app.renderer.note(f"Resumed session {resumed.meta.id}")
    replay(app, resumed)
    return False


def _compact(app: LineApp, args: str) -> bool:
    thread = app.thread
    assert thread is not None
    app.run_turn(thread.compact, label="Compacting")  # the session's event says "Context compacted"
    return False


def _init(app: LineApp, args: str) -> bool:
    app.renderer.user_prompt(INIT_PROMPT)
    app.submit(INIT_PROMPT)
    return False


def _review(app: LineApp, args: str) -> bool:
    from codex_cli.errors import CodexError
    from codex_cli.review import review_target

    cwd = app.config.cwd
    try:
        if args.strip():
            target = review_target(instructions=args.strip(), cwd=cwd)
        else:
            presets = ["Review against a base branch (PR Style)", "Review uncommitted changes", "Review a commit",
                       "Custom review instructions"]
            choice = _pick(app, "Select a review preset", presets)
            if choice is None:
                return False
            if choice == 0:
                target = review_target(base=app.ask("Base branch: ").strip() or "main", cwd=cwd)
            elif choice == 1:
                target = review_target(uncommitted=True, cwd=cwd)
            elif choice == 2:
                target = review_target(commit=app.ask("Commit: ").strip() or "HEAD", cwd=cwd)
            else:
                target = review_target(instructions=app.ask("Review instructions: "), cwd=cwd)
    except CodexError as exc:
        app.renderer.error(exc.message)
        return False
    app.renderer.line(f">> Code review started: {target.label} <<")
    app.review(target.prompt)
    app.renderer.line("<< Code review finished >>")
    return False


def _mention(app: LineApp, args: str) -> bool:
    from codex_cli.ui.line_input import file_index, fuzzy_files

    query = args.strip() or app.ask("Search files: ").strip()
    if not query:
        return False
    matches = fuzzy_files(file_index(app.config.cwd), query)
    if not matches:
        app.renderer.note(f"No files match `{query}`.")
        return False
    choice = _pick(app, "Mention a file", matches)
    if choice is not None:
        app.draft = f"@{matches[choice]} "
    return False


def _mcp(app: LineApp, args: str) -> bool:
    from codex_cli.mcp_client import format_status_lines

    manager = app.session.tools.settings.mcp
    app.renderer.line(app.renderer.pal.bold("🔌  MCP Tools"))
    statuses = manager.list_status() if manager is not None else []
    for line in format_status_lines(statuses, verbose=args.strip() == "verbose"):
        app.renderer.line(f"  • {line.strip()}" if not line.startswith("    ") else f"    {line.strip()}")
    if args.strip() != "verbose" and statuses:
        app.renderer.dim_line("  Use /mcp verbose for tools and errors.")
    return False


def _hooks(app: LineApp, args: str) -> bool:
    discovered = app.hooks.discovered
    if not discovered.handlers:
        app.renderer.note("No hooks configured (hooks.json or [hooks] in config.toml).")
        return False
    for handler in discovered.handlers:
        app.renderer.line(f"  {handler.event:<18} {discovered.status(handler):<10} {handler.command}")
    if discovered.needing_review():
        review_hooks(app)
    return False


def _logout(app: LineApp, args: str) -> bool:
    from codex_cli.auth import revoke_tokens
    from codex_cli.auth_store import open_store
    from codex_cli.errors import AuthError

    setting = app.config.raw.get("cli_auth_credentials_store")
    store = open_store(app.config.codex_home, setting if isinstance(setting, str) else None)
    try:
        stored = store.load()
        if stored is not None:
            revoke_tokens(stored, env=app.env)
        removed = store.delete()
    except (AuthError, OSError) as exc:
        app.renderer.error(f"Error logging out: {exc}")
        return False
    app.renderer.note("Successfully logged out" if removed else "Not logged in")
    return True


def _fork(app: LineApp, args: str) -> bool:
    """`/fork`: a new thread that starts with this one's history (as `codex fork` does); this one stays as it was."""
    from codex_cli.thread import ThreadRef, thread_start

    path = app.thread.rollout_path if app.thread is not None else None
    if path is None or not path.exists():
        app.renderer.note("Nothing to fork yet: this thread has no recorded turn.")
        return False
    old_id, old_name = app.session.thread_id, app.thread_name
    start = thread_start(app.config.codex_home, ThreadRef(path=path), fork=True, source="cli")
    app.close_session()
    app.open(start, "fork")
    app.renderer.note(f"Thread forked from {old_name} ({old_id})" if old_name else f"Thread forked from {old_id}")
    app.renderer.dim_line(f"  New thread {app.session.thread_id}; `codex resume {old_id}` goes back to the other.")
    return False


def _rename(app: LineApp, args: str) -> bool:
    """`/rename [NAME]`: the thread's name, as `codex resume` and the title show it."""
    name = " ".join((args.strip() or app.ask("New name for this thread: ")).split())
    if not name:
        return False
    thread = app.thread
    if thread is None or not thread.is_recorded:
        app.renderer.error("This session is not recorded, so it has no name to keep.")
        return False
    try:
        thread.rename(name)
    except OSError as exc:
        app.renderer.error(f"Could not rename the thread: {exc}")
        return False
    app.renderer.title_thread = name
    app.renderer.note(f"Thread renamed to {name}")
    return False


def _clear(app: LineApp, args: str) -> bool:
    """`/clear`: a clean screen (on terminals that draw) and a new conversation."""
    from codex_cli.bootstrap import ThreadStart

    app.renderer.clear_screen()
    app.close_session()
    app.open(ThreadStart(source="cli"), "clear")
    app.header()
    app.renderer.note(f"New conversation started ({app.session.thread_id})")
    app.renderer.blank()
    return False


def _copy(app: LineApp, args: str) -> bool:
    """`/copy`: the last answer to the clipboard through the terminal (OSC 52), or into a file where the terminal
    cannot take it (TERM=dumb, NO_COLOR, a pipe)."""
    import base64
    import os
    import tempfile

    from codex_cli.notifications import tmux_passthrough

    text = app.last_answer
    if not text:
        app.renderer.note("Nothing to copy yet: no answer in this session.")
        return False
    if app.live:
        sequence = "\x1b]52;c;" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "\x07"
        app.renderer.write_control(sequence + (tmux_passthrough(sequence) if app.env.get("TMUX") else ""))
        app.renderer.note(f"Copied the last answer to the clipboard ({len(text)} characters).")
        return False
    path = Path(tempfile.gettempdir()) / f"codex-answer-{app.session.thread_id}.md"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        app.renderer.error(f"Could not write the answer to {path}: {exc}")
        return False
    app.renderer.note(f"This terminal cannot take text to the clipboard; the last answer is in {path}")
    return False


def _ps(app: LineApp, args: str) -> bool:
    """`/ps`: the commands the model left running in the background (exec_command sessions)."""
    import shlex

    from codex_cli.ui.line_render import display_command

    tools = app.session.tools
    running = [*tools.processes.sessions(), *tools.plain_processes.sessions()]
    if not running:
        app.renderer.note("No background terminals are running.")
        return False
    app.renderer.line(f"{app.renderer.pal.dim('•')} {app.renderer.pal.bold('Background terminals')}")
    rows = []
    for sid, argv in running:
        # The script as the model wrote it: without the line that sources the shell snapshot before it.
        script = "\n".join(line for line in display_command(shlex.join(argv)).split("\n")
                           if not (line.startswith(". ") and "shell_snapshots" in line))
        rows.append(f"{script}  (session {sid})")
    app.renderer.children(rows, style=lambda s: s)
    return False


def _transcript(app: LineApp, args: str) -> bool:
    app.show_transcript()
    return False


def _quit(app: LineApp, args: str) -> bool:
    return True


def _help(app: LineApp, args: str) -> bool:
    pal = app.renderer.pal
    shown = [command for command in COMMANDS if not command.hidden]
    width = max(len(command.name) for command in shown) + 1
    for command in shown:
        # Padded outside the styling: colour codes have no width on screen but count in a format's padding.
        name = f"/{command.name}"
        app.renderer.line(f"  {pal.bold(name)}{' ' * (width - len(name))}  {pal.dim(command.description)}",
                          hang=width + 4)
    app.renderer.dim_line("  @path mentions a file · !cmd runs a shell command · a trailing \\ continues the line")
    return False


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("model", "choose what model and reasoning effort to use", _model),
    SlashCommand("approvals", "choose what Codex can do without asking", _permissions),
    SlashCommand("permissions", "choose what Codex is allowed to do", _permissions),
    SlashCommand("skills", "use skills to improve how Codex performs specific tasks", _skills),
    SlashCommand("review", "review my current changes and find issues", _review),
    SlashCommand("rename", "rename the current thread", _rename),
    SlashCommand("new", "start a new chat during a conversation", _new),
    SlashCommand("resume", "resume a saved chat", _resume),
    SlashCommand("fork", "fork the current chat", _fork),
    SlashCommand("init", "create an AGENTS.md file with instructions for Codex", _init),
    SlashCommand("compact", "summarize conversation to prevent hitting the context limit", _compact),
    SlashCommand("copy", "copy the last response to the clipboard", _copy),
    SlashCommand("diff", "show git diff (including untracked files)", _diff),
    SlashCommand("mention", "mention a file", _mention),
    SlashCommand("transcript", "show the whole session, command output uncut (also ctrl-t)", _transcript),
    SlashCommand("status", "show current session configuration and token usage", _status),
    SlashCommand("mcp", "list MCP tools; use /mcp verbose for details", _mcp),
    SlashCommand("hooks", "view and trust lifecycle hooks", _hooks),
    SlashCommand("ps", "list background terminals", _ps),
    SlashCommand("clear", "clear the terminal and start a new chat", _clear),
    SlashCommand("logout", "log out of Codex", _logout),
    SlashCommand("quit", "exit Codex", _quit),
    SlashCommand("exit", "exit Codex", _quit, hidden=True),
    SlashCommand("help", "list the slash commands", _help),
)


def command_names() -> list[str]:
    return [f"/{command.name}" for command in COMMANDS]


def dispatch(app: LineApp, text: str) -> bool:
    """Run `/name args`; True means quit."""
    name, _, args = text[1:].partition(" ")
    if not name:  # `/` alone: the list the start-up tip promises
        return _help(app, args)
    for command in COMMANDS:
        if command.name == name:
            return command.run(app, args)
    app.renderer.note(f"Unrecognized command '/{name}'. Type \"/help\" for a list of supported commands.")
    return False
