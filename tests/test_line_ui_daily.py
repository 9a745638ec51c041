"""The line UI for daily use, driven in a pseudo-terminal as a person would: pasting, wrapping, typing while it
works, folder trust, the transcript, the commands people reach for, and start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CodexEnv, make_codex_env
from fake_responses import FakeResponsesServer, exec_call, message
from line_term import Term, finished_stream, slow_stream, trust


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    env.env["TERM"] = "xterm-256color"
    return env


def _texts(request: Any, role: str = "user") -> list[str]:
    return [part["text"] for item in request.body["input"] if item.get("role") == role
            for part in item.get("content", []) if "text" in part]


TRACE = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom\n'


# ---------------------------------------------------------------------------------------------- 1. paste


def test_a_paste_at_the_prompt_is_one_message_sent_on_enter(codex_env: CodexEnv) -> None:
    """Bracketed paste is on whenever the UI reads (also at the idle prompt): pasted lines are text, never sent
    until Enter; Ctrl-J, Shift+Enter and Alt+Enter add a line without sending."""
    with FakeResponsesServer([{"output": [message("got the trace")]}, {"output": [message("got the lines")]}]) \
            as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env)
        term.prompt()
        assert term.raw.rfind("\x1b[?2004h") > term.raw.rfind("\x1b[?2004l")  # asked for at the idle prompt
        term.paste(TRACE)
        term.expect("ValueError: boom")
        term.settle(1.0)
        assert server.requests == []  # nothing sent: the paste's newlines are text
        term.send("\r")
        term.expect("got the trace")
        term.prompt()
        assert term.raw.rfind("\x1b[?2004h") > term.raw.rfind("\x1b[?2004l")  # still on for the next prompt
        term.send("first")
        term.send("\n")  # Ctrl-J
        term.send("second\x1b[13;2u")  # Shift+Enter as kitty reports it
        term.send("third\x1b[27;2;13~")  # ... and as xterm's modifyOtherKeys does
        term.send("fourth\x1b\r")  # Alt+Enter
        term.send("fifth")
        term.expect("fifth")
        term.settle(0.5)
        assert len(server.requests) == 1
        term.send("\r")
        term.expect("got the lines")
        term.quit()
        requests = list(server.requests)
    assert _texts(requests[0])[-1] == TRACE.rstrip("\n")
    assert _texts(requests[1])[-1] == "first\nsecond\nthird\nfourth\nfifth"
    assert "\x1b[?2004l" in term.raw[-200:]  # given back at exit


@pytest.mark.parametrize("plain", ["TERM=dumb", "NO_COLOR=1"])
def test_without_bracketed_paste_a_burst_of_lines_is_a_paste(codex_env: CodexEnv, plain: str) -> None:
    """TERM=dumb or NO_COLOR: the UI writes no escape code at all, so the terminal pastes bare lines; lines that
    arrive in one burst are one message, sent by the next Enter. A line typed and sent on its own still goes."""
    name, _, value = plain.partition("=")
    codex_env.env[name] = value
    script = [{"output": [message("one line")]}, {"output": [message("three lines")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env)
        term.prompt()
        term.line("just this")
        term.expect("one line")
        term.prompt()
        term.paste("alpha\nbeta\ngamma\n")
        term.expect("gamma")
        term.settle(1.0)
        assert len(server.requests) == 1
        term.send("\r")
        term.expect("three lines")
        term.quit()
        requests = list(server.requests)
    assert _texts(requests[0])[-1] == "just this"
    assert _texts(requests[1])[-1] == "alpha\nbeta\ngamma"
    assert "\x1b" not in term.raw


# ---------------------------------------------------------------------------------------------- 2. wrapping


ANSWER = ("Here is what I found after reading the repository: the configuration loader resolves profiles before "
          "project layers, which explains the behaviour you described in considerable detail.\n\n"
          "- A bullet item that is long enough to wrap onto a second row under its own text at narrow widths\n"
          "- short one\n\n"
          "1. A numbered step that also goes on for a while so that it needs more than one row to show\n\n"
          "See [the loader documentation](https://example.com/docs/loader) for details.\n\n"
          "| name | meaning |\n|---|---|\n| profile | a named set of settings chosen with -p or the profile key |\n"
          "| layer | one source |\n\n"
          "```\nprint('hi')\n```\n")
PROMPT_TEXT = ("please explain why the configuration loader resolves profiles before project layers and what "
               "that means for my setup")


def _rows_with(screen_text: str, needle: str) -> list[str]:
    return [row for row in screen_text.splitlines() if needle in row]


@pytest.mark.parametrize("cols", [40, 120])
def test_long_lines_are_wrapped_at_words_to_the_terminal_width(codex_env: CodexEnv, cols: int) -> None:
    """Answers, the echoed prompt and the summary line are wrapped by the UI at words, bullets with a hanging
    indent; links and tables are laid out; nothing is left for the terminal to cut."""
    with FakeResponsesServer([{"output": [message(ANSWER)]}]) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env, cols=cols, rows=40)
        term.prompt()
        term.line(PROMPT_TEXT)
        term.expect("Worked for")
        term.prompt()
        term.settle(0.3)
        screen = term.screen()
        term.line("/quit")
        assert term.finish() == 0
    text = screen.text()
    assert screen.wraps == 0, text  # no row ever reached past the last column
    rows = text.splitlines()
    assert all(len(row) <= cols for row in rows)
    for word in {*ANSWER.replace("|", " ").split(), *PROMPT_TEXT.split()} - {"-", "1.", "```", "[the"}:
        if word.startswith(("[", "(", "|", "-")) or "](" in word:
            continue
        assert any(word.strip("*`") in row for row in rows), f"{word!r} is split:\n{text}"
    assert "the loader documentation (https://example.com/docs/loader)" in " ".join(rows) or cols < 60
    assert "](" not in text and "|---" not in text  # links and tables are laid out, not raw
    bullet = _rows_with(text, "• A bullet item")[0]
    if "widths" not in bullet:
        continued = rows[rows.index(bullet) + 1]
        assert continued.startswith("    ") and not continued.startswith("     ")  # under the item's text
    if cols >= 60:
        assert _rows_with(text, "profile  a named")[0].split()[:3] == ["profile", "a", "named"]
    else:  # too narrow for the columns: each row as `header: value` pairs
        assert _rows_with(text, "name: profile")
    assert any(row.startswith("─ Worked for") for row in rows)


def test_the_width_is_read_again_when_the_terminal_is_resized(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message(ANSWER)]}]) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env, cols=120, rows=40)
        term.prompt()
        term.child.setwinsize(40, 50)
        term.settle(0.3)
        start = len(term.raw)
        term.line(PROMPT_TEXT)
        term.expect("Worked for")
        term.prompt()
        term.settle(0.3)
        from render_typescript import Screen

        screen = Screen(50, 40)
        screen.feed(term.raw[start:])
        term.line("/quit")
        assert term.finish() == 0
    assert screen.wraps == 0
    assert max(len(row) for row in screen.text().splitlines()) <= 50


# ------------------------------------------------------------------------------------------ 3. typing while it works


def _last_rows(term: Term, count: int) -> list[str]:
    return term.screen().text().splitlines()[-count:]


def test_typing_while_a_turn_runs_is_shown_queued_once_and_sent_after_it(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([finished_stream(25), {"output": [message("second answer")]}]) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env, cols=80)
        term.prompt()
        term.line("first")
        term.expect("chunk2")
        term.send("and then this")
        term.expect("and then this")
        rows = _last_rows(term, 3)
        assert any("Working" in row for row in rows) and rows[-1] == "› and then this"  # under the live output
        term.send("\r")
        term.expect("↳ and then this")  # queued, shown under the output
        term.expect("second answer")
        term.prompt()
        term.settle(0.3)
        screen = term.screen().text()
        term.line("/quit")
        assert term.finish() == 0
        requests = list(server.requests)
    assert _texts(requests[1])[-1] == "and then this"
    assert screen.count("and then this") == 1, screen  # in the scrollback once: as the message sent
    assert "› and then this\n• second answer" in screen
    chunks = [row for row in screen.splitlines() if "chunk" in row]
    assert all("and then" not in row and "Queued" not in row for row in chunks)  # never inside the answer


def test_an_interrupt_puts_queued_text_back_in_the_input_unsent(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([slow_stream(), {"output": [message("edited and sent")]}]) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env, cols=80)
        term.prompt()
        term.line("stream")
        term.expect("chunk2")
        term.send("next question\r")
        term.expect("↳ next question")
        term.send("more")
        term.expect("› more")
        term.send("\x1b")  # Esc: stop the turn
        term.expect("Conversation interrupted")
        term.expect("› next question")
        term.settle(1.0)
        assert _last_rows(term, 2) == ["› next question", "  more"]  # back in the input, to edit
        assert len(server.requests) == 1  # and not sent
        term.send(" please\r")
        term.expect("edited and sent")
        term.quit()
        requests = list(server.requests)
    assert _texts(requests[1])[-1] == "next question\nmore please"


def test_plain_terminals_note_a_queued_message_after_the_answer(codex_env: CodexEnv) -> None:
    codex_env.env["TERM"] = "dumb"
    with FakeResponsesServer([finished_stream(20), {"output": [message("second answer")]}]) as server:
        codex_env.write_config(server.base_url)
        trust(codex_env)
        term = Term(codex_env, cols=60)
        term.prompt()
        term.line("first")
        term.expect("chunk2")
        term.send("and then this\r")
        term.expect("• Queued for the next turn: and then this")
        term.expect("second answer")
        term.quit()
    text = term.screen().text()
    assert "\x1b" not in term.raw
    queued = text.index("Queued for the next turn")
    assert "chunk19" in text[:queued]  # after the answer, not inside it


# ---------------------------------------------------------------------------------------------- 4. folder trust


def test_first_start_in_a_repository_asks_for_trust_and_trusted_projects_may_write(codex_env: CodexEnv) -> None:
    script = [{"output": [exec_call("touch made-by-model.txt", "c1")]}, {"output": [message("made it")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, trust_level=None)
        term.expect("Folder access")
        term.expect("Trust this folder?")
        term.expect("1. Trust and continue")
        term.expect("2. Not now")
        term.send("\r")  # Enter: trust, as in codex-rs
        term.expect(f"Trusted {codex_env.workdir.resolve()}")
        term.expect("permissions: Workspace (Ask for approval)")
        term.prompt()
        term.line("make a file")
        term.expect("made it")
        term.quit()
    assert "Would you like to run" not in term.text  # a write in the workspace needs no approval
    assert (codex_env.workdir / "made-by-model.txt").exists()
    config = (codex_env.home / "config.toml").read_text(encoding="utf-8")
    assert f'[projects."{codex_env.workdir.resolve()}"]\ntrust_level = "trusted"\n' in config
    again = Term(codex_env, trust_level=None)  # decided: not asked again
    again.expect("permissions: Workspace (Ask for approval)")
    again.quit()
    assert "Folder access" not in again.text


def test_not_now_keeps_the_session_read_only_and_records_nothing(codex_env: CodexEnv) -> None:
    sub = codex_env.workdir / "pkg"
    sub.mkdir()
    with FakeResponsesServer([]) as server:
        codex_env.write_config(server.base_url)
        before = (codex_env.home / "config.toml").read_text(encoding="utf-8")
        term = Term(codex_env, "-C", str(sub), trust_level=None)
        term.expect("Folder access")
        term.expect(f"inside the Git repository {codex_env.workdir.resolve()}")  # trust is for the repository
        term.expect("Select [1-2]")
        term.line("2")
        term.expect("Not trusted: read-only for this session.")
        term.expect("permissions: Read Only (Ask for approval)")
        term.quit()
        assert (codex_env.home / "config.toml").read_text(encoding="utf-8") == before
        plain = codex_env.workdir.parent / "not-a-repository"
        plain.mkdir()
        outside = Term(codex_env, "-C", str(plain), trust_level=None)  # no repository: nothing to ask
        outside.expect("permissions: Read Only")
        outside.quit()
    assert "Folder access" not in outside.text


# ---------------------------------------------------------------------------------------------- 5. transcript


@pytest.mark.parametrize("how", ["ctrl-t in $PAGER", "/transcript on a plain terminal"])
def test_the_transcript_shows_what_was_cut(codex_env: CodexEnv, how: str) -> None:
    script = [{"output": [exec_call("seq 1 300", "c1")]}, {"output": [message("counted")]}]
    if how.startswith("ctrl-t"):
        codex_env.env["PAGER"] = "cat"
    else:
        codex_env.env["TERM"] = "dumb"
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.line("count to 300")
        term.expect("… +295 lines (ctrl-t shows them all)")
        term.expect("counted")
        term.prompt()
        assert "\n    150\n" not in term.text
        if how.startswith("ctrl-t"):
            term.send("\x14")
        else:
            term.line("/transcript")
            term.expect("/ T R A N S C R I P T /")
        term.expect("$ seq 1 300")
        for number in (1, 150, 296, 300):
            term.expect(f"    {number}\n")
        term.expect("✓")
        term.expect("• counted")
        term.quit()


# ---------------------------------------------------------------------------------------------- 6. commands


def test_rename_fork_copy_ps_and_clear(codex_env: CodexEnv) -> None:
    import base64
    import json

    script = [{"output": [message("first answer, to copy")]},
              {"output": [exec_call("sleep 30", "c1", yield_time_ms=300)]}, {"output": [message("left it running")]},
              {"output": [message("after the fork")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "-s", "danger-full-access")
        term.prompt()
        term.line("/rename Planning the loader")  # before the first turn: its name is kept over the model's title
        term.expect("Thread renamed to Planning the loader")
        term.prompt()
        term.line("first question")
        term.expect("first answer, to copy")
        term.prompt()
        term.line("/copy")
        term.expect("Copied the last answer to the clipboard")
        payload = base64.b64encode(b"first answer, to copy").decode()
        assert f"\x1b]52;c;{payload}\x07" in term.raw
        term.prompt()
        term.line("start something")
        term.expect("left it running")
        term.prompt()
        term.line("/ps")
        term.expect("Background terminals")
        term.expect("└ sleep 30  (session ")
        term.prompt()
        term.line("/status")
        term.expect("Session:")
        old_id = term.text[term.pos:].split()[0]
        term.expect("Thread name:")
        term.expect("Planning the loader")
        term.prompt()
        term.line("/fork")
        term.expect(f"Thread forked from Planning the loader ({old_id})")
        term.prompt()
        term.line("and now?")
        term.expect("after the fork")
        term.prompt()
        term.line("/status")
        term.expect("Forked from:")
        term.expect(old_id)
        term.prompt()
        term.line("/clear")
        term.expect("New conversation started")
        term.quit()
        requests = list(server.response_requests)
    assert "\x1b[2J" in term.raw
    forked = requests[-1]
    assert _texts(forked)[-2:] == ["start something", "and now?"] and "first question" in _texts(forked)
    assert forked.headers["thread-id"] != old_id
    names = [json.loads(line) for line in (codex_env.home / "session_index.jsonl").read_text().splitlines()]
    assert {"id": old_id, "thread_name": "Planning the loader"}.items() <= names[-1].items() or any(
        entry["id"] == old_id and entry["thread_name"] == "Planning the loader" for entry in names)


def test_copy_goes_to_a_file_where_the_terminal_cannot_take_it(codex_env: CodexEnv) -> None:
    codex_env.env["TERM"] = "dumb"
    with FakeResponsesServer([{"output": [message("the **answer**")]}]) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.line("/copy")
        term.expect("Nothing to copy yet")
        term.prompt()
        term.line("question")
        term.expect("the **answer**")
        term.prompt()
        term.line("/copy")
        term.expect("the last answer is in ")
        path = Path(term.text[term.pos:].split()[0])
        term.quit()
    assert path.read_text(encoding="utf-8") == "the **answer**\n"
    assert "\x1b" not in term.raw
    path.unlink()


def test_at_mentions_search_the_repository_fuzzily_and_skip_ignored_files(codex_env: CodexEnv) -> None:
    work = codex_env.workdir
    (work / "src" / "codex").mkdir(parents=True)
    (work / "src" / "codex" / "config_loader.py").write_text("x = 1\n")
    (work / "build").mkdir()
    (work / "build" / "config_loader_copy.py").write_text("x = 1\n")
    (work / ".gitignore").write_text("build/\n")
    with FakeResponsesServer([{"output": [message("looked")]}]) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.send("see @cfgload")
        term.expect("@cfgload")
        term.send("\t")
        term.expect("see @src/codex/config_loader.py")
        term.send("\t")  # the next candidate, if any: never the ignored copy
        term.settle(0.3)
        term.send("\x15")  # Ctrl-U: start again
        term.send("@loader_copy")
        term.expect("@loader_copy")
        term.send("\t\r")
        term.expect("looked")
        term.quit()
        request = server.requests[0]
    assert "build/" not in term.text.split("see @src", 1)[1]
    assert _texts(request)[-1] != "@build/config_loader_copy.py "


# ---------------------------------------------------------------------------------------------- 7. small defects


def test_compact_once_review_tags_once_and_resume_replays_tool_cells(codex_env: CodexEnv) -> None:
    import json

    readme = codex_env.workdir / "README.md"
    review = {"findings": [{"title": "[P1] Greeting lost", "body": "Why?", "priority": 1,
                            "code_location": {"absolute_file_path": str(readme),
                                              "line_range": {"start": 1, "end": 1}}}],
              "overall_correctness": "patch is incorrect", "overall_explanation": "One problem."}
    script = [{"output": [exec_call("echo replayed-output", "c1")]}, {"output": [message("ran it")]},
              slow_stream(), {"output": [message("the summary")]}, {"output": [message(json.dumps(review))]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "-s", "danger-full-access")
        term.prompt()
        term.line("run it")
        term.expect("ran it")
        term.prompt()
        term.line("stream")
        term.expect("chunk2")
        term.send("\x1b")
        term.expect("Conversation interrupted")
        term.quit()
        again = Term(codex_env, "resume", "--last")  # replayed as it was shown: tool cells, the interruption
        again.expect("› run it")
        again.expect("• Ran echo replayed-output")
        again.expect("└ replayed-output")
        again.expect("• ran it")
        again.expect("› stream")
        again.expect("■ Conversation interrupted")
        again.prompt()
        again.line("/compact")
        again.expect("Context compacted")
        again.prompt()
        again.line("/review look at the greeting")
        again.expect("<< Code review finished >>")
        again.quit()
    assert again.text.count("Context compacted") == 1
    assert "[P1] Greeting lost" in again.text and "[P1] [P1]" not in again.text


def test_prompt_history_approval_answers_and_a_piped_echo(codex_env: CodexEnv, tmp_path: Path) -> None:
    """`codex "..."` is in Up's history; Enter at an approval says what it chose, a wrong key says what is right;
    `codex | cat` shows a typed line once."""
    from cli_harness import CODEX

    script = [{"output": [message("first answer")]},
              {"output": [exec_call("echo approved-run", "c1", sandbox_permissions="require_escalated",
                                    justification="needs it")]},
              {"output": [message("done")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "the very first prompt")
        term.expect("first answer")
        term.prompt()
        term.send("\x1b[A")  # Up
        term.expect("the very first prompt")
        term.send("\x15")  # Ctrl-U clears it again
        term.line("run it")
        term.expect("Answer with a key or a word")
        term.send("x")
        term.expect("'x' is not an answer")
        term.send("\r")
        term.expect("yes (Yes, proceed)")
        term.expect("You approved codex to run")
        term.expect("done")
        term.quit()
    out = tmp_path / "piped.txt"
    with FakeResponsesServer([{"output": [message("piped answer")]}]) as server:
        codex_env.write_config(server.base_url)
        piped = Term(codex_env, command=f"'{CODEX[0]}' '{CODEX[1]}' | tee '{out}'")
        piped.expect("› ")
        piped.send("typed once")
        piped.expect("typed once")
        piped.send("\r")
        piped.settle(1.0)
        piped.line("/quit")
        piped.finish()
    assert piped.screen().text().count("typed once") == 1
    assert "› typed once\n• piped answer" in out.read_text(encoding="utf-8")


def test_approvals_offer_the_models_prefix_and_show_a_heredoc_patch_where_it_lands(codex_env: CodexEnv) -> None:
    """The request carries what is shown: "always" for the model's `prefix_rule` (then recorded as a rule), and
    the diff of a `cd sub && apply_patch` heredoc planned in `sub` (looking it up again in the history planned it
    in `sub/sub`)."""
    (codex_env.workdir / "sub").mkdir()
    heredoc = ("cd sub && apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: sub-note.txt\n+under sub\n"
               "*** End Patch\nEOF\n")
    script = [{"output": [exec_call("echo prefixed-run", "c1", sandbox_permissions="require_escalated",
                                    justification="needs it", prefix_rule=["echo", "prefixed-run"])]},
              {"output": [message("ran it")]},
              {"output": [exec_call(heredoc, "c2")]},
              {"output": [message("declined")]}]  # fmt: skip
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "-s", "read-only", "-a", "on-request", "run it")
        term.expect("don't ask again for commands that start with `echo prefixed-run`")
        term.expect("Answer with a key or a word")
        term.send("p")
        term.expect("You approved codex to always run commands that start with echo prefixed-run")
        term.expect("ran it")
        term.prompt()
        term.line("patch it")
        term.expect("Would you like to make the following edits")
        term.expect("Answer with a key or a word")
        screen = term.screen().text()
        term.send("d")
        term.expect("declined")
        term.quit()
    assert "+under sub" in screen
    assert f"+++ {codex_env.workdir / 'sub' / 'sub-note.txt'}\n" in screen  # once `sub`, not `sub/sub`
    rules = (codex_env.home / "rules" / "default.rules").read_text(encoding="utf-8")
    assert 'prefix_rule(pattern=["echo", "prefixed-run"], decision="allow")' in rules
    assert not (codex_env.workdir / "sub" / "sub-note.txt").exists()


def test_start_up_warnings_show_before_the_answer_and_again_for_a_new_thread(codex_env: CodexEnv) -> None:
    """The config's warning is an event of each session's stream: shown once per session, before its first turn's
    answer, and once more after /new (which builds a session again)."""
    script = [{"output": [message("first answer")]}, {"output": [message("second answer")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url, extra="bogus_setting = 1\n")
        term = Term(codex_env, "hello")
        term.expect("first answer")
        term.prompt()
        term.line("/new")
        term.expect("New conversation started")
        term.prompt()
        term.line("again")
        term.expect("second answer")
        term.quit()
    text = term.text
    warning = "⚠ Codex is ignoring 1 unrecognized configuration setting"
    assert text.count(warning) == 2, text
    first, second = text.index(warning), text.rindex(warning)
    assert first < text.index("first answer") < second < text.index("New conversation started"), text


def test_without_credentials_the_ui_offers_to_log_in(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("signed in and answered")]}]) as server:
        (codex_env.home / "config.toml").write_text(f'model = "gpt-5.5"\nopenai_base_url = "{server.base_url}"\n',
                                                    encoding="utf-8")
        term = Term(codex_env)
        term.expect("Not logged in")
        term.expect("1. Sign in with ChatGPT (opens a browser)")
        term.expect("3. Use an API key")
        term.expect("Select [1-4]")
        term.line("3")
        term.expect("API key (not shown)")
        term.line("sk-typed-key")
        term.expect("API key saved")
        term.prompt()
        term.line("hello")
        term.expect("signed in and answered")
        term.quit()
        request = server.requests[0]
    assert request.headers["authorization"] == "Bearer sk-typed-key"
    assert "sk-typed-key" not in term.text  # never echoed
    assert "sk-typed-key" in (codex_env.home / "auth.json").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- 8. start-up


def test_the_prompt_comes_before_the_session_is_ready(codex_env: CodexEnv) -> None:
    """MCP servers, the HTTP client, the sandbox and the history are set up behind the prompt: with an MCP server
    that takes 3 s to answer, the prompt is there at once; what is typed meanwhile is sent once it is ready."""
    import sys
    import time

    server_py = Path(__file__).resolve().parent / "data" / "mcp" / "minimal_server.py"
    # Waiting up to 4 s for MCP servers at start: before, that was 3 s without a prompt.
    extra = (f'mcp_optional_startup_grace_ms = 4000\n[mcp_servers.slow]\ncommand = "{sys.executable}"\n'
             f'args = ["{server_py}", "--delay", "3"]\n')
    (codex_env.home / "history.jsonl").write_text(
        "".join(f'{{"session_id": "s", "ts": {1_700_000_000 + i}, "text": "earlier {i}"}}\n' for i in range(2000)))
    with FakeResponsesServer([{"output": [message("answered after the servers")]}]) as server:
        codex_env.write_config(server.base_url, extra=extra)
        started = time.monotonic()
        term = Term(codex_env)
        term.prompt()
        shown = time.monotonic() - started
        term.line("typed at once")
        term.expect("answered after the servers")
        waited = time.monotonic() - started
        term.prompt()
        term.send("\x1b[A\x1b[A")  # Up twice: the message just sent, then the history read behind the prompt
        term.expect("earlier 1999")
        term.send("\x15")
        term.line("/mcp")
        term.expect("slow")
        term.quit()
        request = server.requests[0]
    assert shown < 2.0, shown  # generous for a shared machine; scripts/bench_ui.py measures it (~0.1 s)
    assert waited >= 2.5  # the turn did wait for the MCP server
    assert _texts(request)[-1] == "typed at once"


def test_ctrl_z_at_the_prompt_suspends_and_fg_brings_the_draft_back(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([]) as server:
        codex_env.write_config(server.base_url)
        from cli_harness import CODEX

        term = Term(codex_env, command=f"set -m; '{CODEX[0]}' '{CODEX[1]}'; echo STOPPED; fg; echo DONE")
        term.prompt()
        term.send("draft")
        term.expect("draft")
        term.send("\x1a")  # Ctrl-Z
        term.expect("STOPPED")
        term.expect("› draft")  # back after fg, the draft as it was
        term.send("\x15")
        term.line("/quit")
        term.expect("DONE")
        term.finish()


def test_context_left_uses_the_window_compaction_uses(codex_env: CodexEnv) -> None:
    """With a model whose family window is not the default (an --oss model: 131,072 tokens), the figure after a
    turn is computed against that window, the one compaction fires at (it used the 272,000 default)."""
    from codex_cli.ui.line_render import context_left_percent

    usage = {"input_tokens": 60_000, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1_000,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 61_000}
    with FakeResponsesServer([{"output": [message("hi")], "usage": usage}]) as server:
        codex_env.write_config(server.base_url)
        config = codex_env.home / "config.toml"
        config.write_text(config.read_text(encoding="utf-8").replace('model = "gpt-5.5"', 'model = "gpt-oss:20b"'),
                          encoding="utf-8")
        term = Term(codex_env)
        term.prompt()
        term.line("hello")
        term.expect("context left")
        term.prompt()
        text = term.text
        term.line("/quit")
        assert term.finish() == 0
    shown = int(re.findall(r"(\d+)% context left", text)[-1])
    assert abs(shown - context_left_percent(61_000, 131_072)) <= 1, text
    assert shown < context_left_percent(61_000, 272_000) - 10
