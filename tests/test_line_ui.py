"""The interactive line UI driven in a pseudo-terminal (pexpect) against the fake model, plus its renderer parts."""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, apply_patch_call, exec_call, message  # noqa: E402
from line_term import Term, finished_stream, slow_stream, trust  # noqa: E402

from codex_cli.protocol import AgentMessageDelta, AgentMessageItem, ItemCompleted  # noqa: E402
from codex_cli.style import Style
from codex_cli.ui.line_input import Key, parse_keys  # noqa: E402
from codex_cli.ui.line_render import (  # noqa: E402
    LineRenderer,
    MarkdownStream,
    compact_number,
    context_left_percent,
    strip_controls,
)

PY = sys.executable
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello world\n*** End Patch\n"


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    env.env["TERM"] = "xterm-256color"
    return env


def _inputs(request: Any) -> list[dict[str, Any]]:
    return list(request.body["input"])


def _texts(request: Any, role: str = "user") -> list[str]:
    return [part["text"] for item in _inputs(request) if item.get("role") == role
            for part in item.get("content", []) if "text" in part]


def _outputs(request: Any) -> dict[str, Any]:
    return {item["call_id"]: item["output"] for item in _inputs(request)
            if item.get("type") in ("function_call_output", "custom_tool_call_output")}


def _session_flow(term: Term, server: FakeResponsesServer, workdir: Path) -> None:
    """Prompt and streamed answer, command approval `y`, patch approval `n`, Ctrl-C mid-stream, /status, /new."""
    term.prompt()
    term.line("say hello")
    term.expect("Hello there from the fake model")
    term.expect("Token usage")
    term.prompt()
    term.line("run something")
    term.expect("Would you like to run the following command")
    term.expect("Answer with a key or a word")
    term.send("y")
    term.expect("You approved codex to run")
    term.expect("command ran")
    term.prompt()
    term.line("make a file")
    term.expect("Would you like to make the following edits")
    term.expect("Answer with a key or a word")
    term.send("n")
    term.expect("Tell Codex what to do differently")
    term.send("\r")
    term.expect("interrupted")
    term.prompt()
    term.line("stream please")
    term.expect("chunk3")
    term.send("\x03")
    term.expect("Conversation interrupted")
    term.prompt()
    term.line("/status")
    term.expect("Session:")
    term.expect("Token usage:")
    term.prompt()
    term.line("/new")
    term.expect("New conversation started")
    term.prompt()
    term.line("fresh start")
    term.expect("a new beginning")
    term.prompt()
    term.line("/quit")


def _flow_script(workdir: Path) -> list[Any]:
    return [
        {"output": [message("# Greeting\n\nHello there from the fake model with `code`.\n")]},
        {"output": [exec_call("echo from-the-command", "c1", sandbox_permissions="require_escalated",
                              justification="it needs to run outside")]},
        {"output": [message("command ran")]},
        {"output": [apply_patch_call(PATCH, "p1")]},
        slow_stream(),
        {"output": [message("a new beginning")]},
    ]


def _check_flow_requests(requests: list[Any], workdir: Path) -> None:
    assert _texts(requests[0])[-1] == "say hello"
    assert "from-the-command" in str(_outputs(requests[2])["c1"])
    assert not (workdir / "hello.txt").exists()
    stream_request = requests[4]
    assert _texts(stream_request)[-1] == "stream please"
    assert any(text.startswith("<turn_aborted>") for text in _texts(stream_request))  # the refused patch
    fresh = requests[5]
    assert _texts(fresh)[-1] == "fresh start"
    assert not any("say hello" in text for text in _texts(fresh))  # /new: a new thread
    assert fresh.headers["originator"] == "codex-tui"


def test_interactive_session_on_a_terminal(codex_env: CodexEnv) -> None:
    with FakeResponsesServer(_flow_script(codex_env.workdir)) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        _session_flow(term, server, codex_env.workdir)
        assert term.finish() == 0
        requests = list(server.requests)
    _check_flow_requests(requests, codex_env.workdir)
    raw = term.log.getvalue()
    assert "\x1b[" in raw  # a colour terminal gets colour
    # The window title (ux.md §2.4): the project when idle, a spinner frame (and the thread's name) while working,
    # a call for attention during an approval, cleared at exit.
    project = codex_env.workdir.name
    assert f"\x1b]0;{project}\x07" in raw
    assert re.search(rf"\x1b\]0;[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (Scripted thread \| )?{project}\x07", raw)
    assert re.search(rf"\x1b\]0;\[ ! \] Action Required \| (Scripted thread \| )?{project}\x07", raw)
    assert raw.rstrip().endswith("\x1b]0;\x07") or "\x1b]0;\x07" in raw[-400:]
    screen = term.text
    assert "• # Greeting" in screen and "Hello there from the fake model with code." in screen
    assert "• Ran echo from-the-command" in screen and "└ from-the-command" in screen
    assert "+hello world" in screen  # the proposed patch is shown before the question
    assert "To continue this session, run:" in screen and "codex resume " in screen
    history = (codex_env.home / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in history][:2] == ["say hello", "run something"]


def test_piped_stdout_is_plain_text(codex_env: CodexEnv, tmp_path: Path) -> None:
    out = tmp_path / "transcript.txt"
    with FakeResponsesServer(_flow_script(codex_env.workdir)) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, command=f"'{CODEX[0]}' '{CODEX[1]}' | tee '{out}'")
        _session_flow(term, server, codex_env.workdir)
        assert term.finish() == 0
        requests = list(server.requests)
    _check_flow_requests(requests, codex_env.workdir)
    transcript = out.read_text(encoding="utf-8")
    assert "\x1b" not in transcript and "\r" not in transcript
    assert "› say hello\n• # Greeting\n\n  Hello there from the fake model with `code`.\n" in transcript
    assert "• Ran echo from-the-command\n  └ from-the-command\n" in transcript
    assert "■ Conversation interrupted" in transcript and "Session:" in transcript


def test_typed_text_while_streaming_is_queued_for_the_next_turn(codex_env: CodexEnv) -> None:
    script = [finished_stream(12), {"output": [message("second answer")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.line("first")
        term.expect("chunk2")
        term.send("and then this\r")
        term.expect("↳ and then this")  # shown under the output while the turn runs
        term.expect("› and then this")  # then sent, once, when it ends
        term.expect("second answer")
        term.prompt()
        term.line("/exit")
        assert term.finish() == 0
        requests = list(server.requests)
    assert _texts(requests[1])[-1] == "and then this"


def test_bang_command_runs_locally_and_reaches_the_next_request(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("noted")]}]) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.line("!echo hi from bang")
        term.expect("You ran echo hi from bang")
        term.prompt()
        term.line("what did I run?")
        term.expect("noted")
        term.prompt()
        term.send("\x04")
        assert term.finish() == 0
        request = server.requests[0]
    texts = _texts(request)
    assert texts[-1] == "what did I run?"
    assert texts[-2].startswith(
        "<user_shell_command>\n<command>\necho hi from bang\n</command>\n<result>\nExit code: 0")


def test_notify_program_and_desktop_notification_after_a_turn(codex_env: CodexEnv, tmp_path: Path) -> None:
    out = tmp_path / "notify.json"
    script = tmp_path / "notify.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write(sys.argv[-1])\n")
    extra = (f'notify = ["{PY}", "{script}"]\n'
             '[tui]\nnotifications = true\nnotification_method = "osc9"\nnotification_condition = "always"\n')
    with FakeResponsesServer([{"output": [message("Turn one done.")]}]) as server:
        codex_env.write_config(server.base_url, extra=extra)
        term = Term(codex_env)
        term.prompt()
        term.line("First prompt")
        term.expect("Turn one done")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
    deadline = time.monotonic() + 10
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    payload = json.loads(out.read_text())
    assert payload["client"] == "codex-tui" and payload["input-messages"] == ["First prompt"]
    assert payload["last-assistant-message"] == "Turn one done."
    assert "\x1b]9;Turn one done.\x07" in term.log.getvalue()


def test_hook_blocks_a_command_in_the_ui_after_trusting_it(codex_env: CodexEnv, tmp_path: Path) -> None:
    hook = tmp_path / "block.py"
    hook.write_text("import sys\nsys.stdin.read()\nsys.stderr.write('blocked by policy')\nsys.exit(2)\n")
    config = {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": f"{PY} {hook}"}]}]}}
    (codex_env.home / "hooks.json").write_text(json.dumps(config))
    script = [{"output": [exec_call("echo should-not-run", "c1")]}, {"output": [message("ok, blocked")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "-s", "danger-full-access")
        term.expect("Hooks need review")
        term.expect("Select")
        term.line("1")
        term.prompt()
        term.line("try it")
        term.expect("Blocked by hook")
        term.expect("ok, blocked")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        requests = list(server.requests)
    assert _outputs(requests[1])["c1"] == (
        "Command blocked by PreToolUse hook: blocked by policy. Command: echo should-not-run")
    assert "trusted_hash = \"sha256:" in (codex_env.home / "config.toml").read_text()


def test_resume_last_replays_and_continues_the_thread(codex_env: CodexEnv) -> None:
    script = [{"output": [message("first answer")]}, {"output": [message("second answer")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "first question")
        term.expect("first answer")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        thread_id = re.search(r"codex resume (\S+)", term.text)
        assert thread_id is not None
        again = Term(codex_env, "resume", "--last")
        again.expect("first answer")  # replayed
        again.prompt()
        again.line("next question")
        again.expect("second answer")
        again.prompt()
        again.line("/quit")
        assert again.finish() == 0
        picker = Term(codex_env)
        picker.prompt()
        picker.line("/resume")
        picker.expect("Resume a previous session")
        picker.expect("1.")
        picker.line("1")
        picker.expect("Resumed session " + thread_id.group(1))
        picker.expect("second answer")  # replayed
        picker.prompt()
        picker.line("/quit")
        assert picker.finish() == 0
        requests = list(server.requests)
    assert _texts(requests[1])[-2:] == ["first question", "next question"]
    assert requests[1].headers["thread-id"] == thread_id.group(1)


def test_prompt_editing_mentions_multiline_and_ctrl_c(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([slow_stream(count=40, interval=0.1), {"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.send("discarded text")
        term.expect("discarded text")
        term.send("\x03")  # Ctrl-C with text: clears the line, does not quit
        term.prompt()
        term.line("stream")
        term.expect("chunk2")
        term.send("\x1b")  # Esc interrupts too
        term.expect("Conversation interrupted")
        term.prompt()
        term.send("look at @REA\t")
        term.expect("@README.md")
        term.send("please \\")  # the completion ends with a space
        term.expect("please \\")
        term.send("\r")  # a trailing backslash continues on a new line
        term.expect("please")
        term.line("second line")
        term.expect("• ok")
        term.prompt()
        term.send("\x03")  # Ctrl-C on an empty prompt quits
        assert term.finish() == 0
        requests = list(server.requests)
    assert len(requests) == 2
    assert _texts(requests[1])[-1] == "look at @README.md please \nsecond line"


def test_slash_commands(codex_env: CodexEnv) -> None:
    marker = codex_env.workdir / "made-by-model.txt"
    script = [
        {"output": [exec_call(f"touch {marker}", "c1")]},
        {"output": [message("touched")]},
        {"output": [message("the summary")]},
        {"output": [message("agents file written")]},
        {"output": [message("looked at it")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        term.line("/help")
        term.expect("/permissions")
        term.prompt()
        term.line("/bogus")
        term.expect("Unrecognized command '/bogus'")
        term.prompt()
        term.line("/model gpt-5.5 high")
        term.expect("Model changed to gpt-5.5 high")
        term.prompt()
        term.line("/approvals")
        term.expect("Select [1-3]")
        term.line("3")
        term.expect("Permissions changed to Full Access")
        term.prompt()
        term.line("touch it")
        term.expect("touched")
        term.prompt()
        term.line("/status")
        term.expect("gpt-5.5 (reasoning high")
        term.expect("Full Access")
        term.prompt()
        term.line("/diff")
        term.expect("+hello")
        term.prompt()
        term.line("/mcp")
        term.expect("No MCP servers configured.")
        term.prompt()
        term.line("/compact")
        term.expect("Context compacted")
        term.prompt()
        term.line("/init")
        term.expect("agents file written")
        term.prompt()
        term.line("/mention READ")
        term.expect("1. README.md")
        term.line("1")
        term.expect("@README.md")
        term.line("is it fine?")
        term.expect("looked at it")
        term.prompt()
        term.line("/logout")
        term.expect("Not logged in")
        assert term.finish() == 0
        requests = list(server.requests)
    assert marker.exists()
    assert requests[0].body["model"] == "gpt-5.5" and requests[0].body["reasoning"]["effort"] == "high"
    assert not any(item.get("type") == "function_call" for item in _inputs(requests[3]))  # compacted
    assert _texts(requests[3])[-1].startswith("Create an `AGENTS.md` file")
    assert _texts(requests[4])[-1] == "@README.md is it fine?"


def _listing_columns(text: str) -> set[int]:
    """Where the descriptions of a slash command listing start (colours stripped)."""
    rows = [re.match(r"  (/[a-z-]+)( +)\S", line) for line in text.replace("\r", "").splitlines()]
    return {len(row.group(1)) + len(row.group(2)) for row in rows if row}


def test_slash_alone_lists_the_commands_and_help_is_aligned(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([]) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env)
        term.prompt()
        listings = []
        for typed in ("/", "/help"):
            start = len(term.text)
            term.line(typed)
            term.expect("list the slash commands")  # /help, the last command of the list
            term.prompt()
            listings.append(term.text[start:])
        term.line("/quit")
        assert term.finish() == 0
    assert "Unrecognized command" not in term.text
    for listing in listings:
        assert "/model" in listing and "/permissions" in listing
        assert len(_listing_columns(listing)) == 1, listing  # one column for every description, colours or not


def test_first_prompt_names_the_thread_and_resume_finds_it_by_name(codex_env: CodexEnv) -> None:
    """ux.md §9: the first prompt of a new thread also asks the model for a title; it is recorded in
    session_index.jsonl, shown by /status and the exit summary, and `codex resume NAME` finds the thread."""
    script = [{"output": [message("first answer")]}, {"output": [message("again")]}]
    with FakeResponsesServer(script, thread_title="Fix the failing test") as server:
        codex_env.write_config(server.base_url)
        index = codex_env.home / "session_index.jsonl"
        term = Term(codex_env, "the test in tests/a.py fails")
        term.expect("first answer")
        term.prompt()
        deadline = time.monotonic() + 10
        while not index.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        term.line("/status")
        term.expect("Thread name:")
        term.expect("Fix the failing test")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        assert "Or run codex resume and select Fix the failing test." in term.text
        again = Term(codex_env, "resume", "Fix the failing test")
        again.expect("first answer")  # replayed
        again.prompt()
        again.line("one more")
        again.expect("again")
        again.prompt()
        again.line("/quit")
        assert again.finish() == 0
        titles = list(server.title_requests)
    assert len(titles) == 1  # a resumed thread keeps its name
    body = titles[0].body
    fmt = body["text"]["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "codex_output_schema", True)
    assert fmt["schema"]["properties"] == {"title": {"type": "string", "minLength": 1, "maxLength": 36}}
    texts = [part["text"] for item in body["input"] for part in item["content"]]
    assert "<current_date>" in texts[0] and "<timezone>" in texts[0] and "<cwd>" not in texts[0]
    assert texts[-1].endswith("the test in tests/a.py fails")
    assert '"thread_source":"thread_title"' in titles[0].headers["x-codex-turn-metadata"]
    entry = json.loads(index.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["thread_name"] == "Fix the failing test" and set(entry) == {"id", "thread_name", "updated_at"}
    assert stat.S_IMODE(index.stat().st_mode) == 0o600


def test_review_runs_apart_from_the_conversation_and_shows_findings(codex_env: CodexEnv) -> None:
    """/review: a separate thread with the reviewer's instructions; its JSON answer shown as findings with their
    priority; the conversation afterwards does not contain the review."""
    from codex_cli.review import UNCOMMITTED_PROMPT, review_instructions

    readme = codex_env.workdir / "README.md"
    where = {"absolute_file_path": str(readme), "line_range": {"start": 1, "end": 1}}
    answer = {"findings": [{"title": "Greeting changed", "body": "Is this on purpose?", "priority": 2,
                            "code_location": where}],
              "overall_correctness": "patch is correct", "overall_explanation": "One small question."}
    script = [{"output": [message("first-answer-7")]}, {"output": [message(json.dumps(answer))]},
              {"output": [message("after")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        term = Term(codex_env, "first")
        term.expect("first-answer-7")
        term.prompt()
        term.line("/review")
        term.expect("Select [1-4]")
        term.line("2")
        term.expect(">> Code review started: current changes <<")
        term.expect("One small question.")
        term.expect(f"[P2] Greeting changed — {readme}:1-1")
        term.expect("Is this on purpose?")
        term.expect("<< Code review finished >>")
        term.prompt()
        term.line("and now?")
        term.expect("after")
        term.prompt()
        term.line("/quit")
        assert term.finish() == 0
        requests = server.response_requests
    review = requests[1].body["input"]
    assert review[0]["content"][0]["text"] == review_instructions()
    assert review[-1]["content"][0]["text"] == UNCOMMITTED_PROMPT
    assert "first-answer-7" not in json.dumps(review)  # a thread of its own
    after = json.dumps(requests[2].body["input"])
    assert "first-answer-7" in after and UNCOMMITTED_PROMPT not in after and "One small question" not in after
    assert '"json"' not in term.text and '"findings"' not in term.text  # the raw answer is never shown


def test_resume_all_lists_exec_sessions_on_request_with_their_directory(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("from exec")]}]) as server:
        codex_env.write_config(server.base_url)
        assert codex_env.run("exec", "a headless task", stdin=subprocess.DEVNULL).returncode == 0
        plain = Term(codex_env, "resume", "--all")
        plain.expect("No saved sessions found.")  # exec sessions are left out by default
        plain.finish()
        picker = Term(codex_env, "resume", "--all", "--include-non-interactive")
        picker.expect("1.")
        picker.expect("a headless task")
        picker.expect(str(codex_env.workdir))
        picker.line("1")
        picker.expect("from exec")  # replayed
        picker.prompt()
        picker.line("/quit")
        assert picker.finish() == 0


def test_model_picker_saves_the_choice_when_asked(codex_env: CodexEnv) -> None:
    """`/model` saves model and effort in config.toml on Enter (as codex-rs does), keeping the rest of the file;
    answering n keeps the choice to this session; `/model NAME` never writes."""
    with FakeResponsesServer([{"output": [message("ok")]}]) as server:
        codex_env.write_config(server.base_url)
        config = codex_env.home / "config.toml"
        trust(codex_env, "untrusted")
        config.write_text("# my settings\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
        before = config.read_text(encoding="utf-8")
        term = Term(codex_env)
        term.prompt()
        term.line("/model gpt-5.5 low")
        term.expect("Model changed to gpt-5.5 low")
        term.prompt()
        term.line("/model")
        term.expect("Select [1-")
        term.line("1")
        term.expect("Select Reasoning Level for gpt-5.5")
        term.line("3")
        term.expect("Save as the default in")
        term.line("n")
        term.prompt()
        assert config.read_text(encoding="utf-8") == before
        term.line("/model")
        term.expect("Select [1-")
        term.line("1")
        term.expect("Select Reasoning Level")
        term.line("3")
        term.expect("Save as the default in")
        term.line("")
        term.expect("Saved as the default")
        term.prompt()
        term.line("say ok")
        term.expect("• ok")  # the answer, not the echo of the prompt
        term.prompt()
        term.send("\x04")
        assert term.finish() == 0
        requests = list(server.requests)
    after = config.read_text(encoding="utf-8")
    assert after.startswith("# my settings\n") and "[model_providers.mock]" in after
    assert after.count('model = "gpt-5.5"') == 1 and 'model_reasoning_effort = "high"' in after
    assert requests[0].body["reasoning"]["effort"] == "high"


def test_stdin_must_be_a_terminal(codex_env: CodexEnv) -> None:
    run = codex_env.run(input="hello\n")
    assert run.returncode == 1
    assert "stdin is not a terminal" in run.stderr


# ---------------------------------------------------------------------------------------------- renderer units


MARKDOWN = ("# Heading\n\nHello from **fake** model with `inline code`.\n\n1. first\n2. second\n   - nested\n\n"
            "> a quote\n\n```python\ndef f(x):\n    return x + 1\n```\n\nA [link](https://e.com) * star")


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_markdown_stream_is_the_same_however_the_text_is_split(step: int) -> None:
    whole = MarkdownStream(Style(True))
    expected = whole.feed(MARKDOWN) + whole.finish()
    stream = MarkdownStream(Style(True))
    out = "".join(stream.feed(MARKDOWN[i : i + step]) for i in range(0, len(MARKDOWN), step)) + stream.finish()
    assert out == expected
    assert strip_controls(out).splitlines()[:5] == [
        "• # Heading", "", "  Hello from fake model with inline code.", "", "  1. first"]
    assert "  def f(x):\n      return x + 1\n\n  A" in strip_controls(out)


def test_plain_markdown_is_the_text_itself_indented() -> None:
    stream = MarkdownStream(Style(False))
    out = stream.feed(MARKDOWN[:30]) + stream.feed(MARKDOWN[30:]) + stream.finish()
    assert "\x1b" not in out
    expected = MARKDOWN.replace("[link](https://e.com)", "link (https://e.com)")  # links are laid out
    assert out == "• " + expected.replace("\n", "\n  ").replace("\n  \n", "\n\n") + "\n"


def test_each_delta_is_written_when_it_arrives() -> None:
    """On a live terminal the row being written is shown at once (redrawn in place until it is final); without
    one, rows are written when they are complete."""
    out = io.StringIO()
    renderer = LineRenderer(out, color=True, live=True, width=lambda: 80)

    def written() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return strip_controls(text)

    renderer.handle(AgentMessageDelta("Hel"))
    assert written() == "• Hel"
    renderer.handle(AgentMessageDelta("lo wor"))
    assert written() == "• Hello wor"
    renderer.handle(ItemCompleted(AgentMessageItem("m", "Hello world")))
    assert written().endswith("• Hello world\n")  # the final text, made final
    plain = io.StringIO()
    renderer = LineRenderer(plain, color=False, live=False, width=lambda: 80)
    renderer.handle(AgentMessageDelta("Hello wor"))
    assert plain.getvalue() == ""
    renderer.handle(AgentMessageDelta("ld\nand more"))
    assert plain.getvalue() == "• Hello world\n"
    renderer.handle(ItemCompleted(AgentMessageItem("m", "Hello world\nand more")))
    assert plain.getvalue() == "• Hello world\n  and more\n"


def test_cells_in_plain_text() -> None:
    from codex_cli.protocol import CommandExecutionItem, FileChange, FileChangeItem, TodoEntry, TodoListItem

    out = io.StringIO()
    renderer = LineRenderer(out, color=False, live=False, cwd=Path("/w"))
    output = "".join(f"line {i}\n" for i in range(1, 13))
    renderer.command(CommandExecutionItem("c", "/bin/bash -lc 'seq 1 12'", output, 0, "completed"))
    renderer.command(CommandExecutionItem("c", "/bin/bash -lc 'false'", "", 1, "failed"))
    renderer.plan(TodoListItem("t", (TodoEntry("Inspect", True), TodoEntry("Write", False, True),
                                     TodoEntry("Verify", False))))
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n"
    renderer.patch(FileChangeItem("p", (FileChange("/w/x", "update"),), "completed", diff=diff))
    assert out.getvalue() == (
        "• Ran seq 1 12\n  └ line 1\n    line 2\n    line 3\n    … +7 lines (ctrl-t shows them all)\n"
        "    line 11\n    line 12\n"
        "• Ran false · exit 1\n  └ (no output)\n"
        "• Updated Plan · 1/3 complete\n  └ ✔ Inspect\n    → Write\n    □ Verify\n"
        "• Edited x (+1 -1)\n    --- a/x\n    +++ b/x\n    @@ -1 +1 @@\n    -old\n    +new\n")


def test_numbers_and_context_left() -> None:
    assert [compact_number(n) for n in (999, 1300, 9100, 7000, 212_000, 1_500_000)] == [
        "999", "1.3K", "9.1K", "7K", "212K", "1.5M"]
    assert context_left_percent(205_000, 272_000) == 22
    assert context_left_percent(102_000, 272_000) == 63
    assert context_left_percent(1_500, 272_000) == 100


def test_render_benchmark_writes_every_delta_in_its_tick() -> None:
    import bench_render

    cpu, _, late = bench_render.run(20_000, 5_000)
    assert late == 0
    assert cpu < 1.0


def test_key_parsing() -> None:
    keys, rest = parse_keys("ab\x1b[200~x\ny\x1b[201~\r\x03\x1b[I\x1b")
    assert keys == [Key("text", "ab"), Key("paste", "x\ny"), Key("enter"), Key("ctrl-c"), Key("focus-in"),
                    Key("esc")] and rest == ""
    keys, rest = parse_keys("a\x1b[20", final=False)
    assert keys == [Key("text", "a")] and rest == "\x1b[20"
    assert subprocess is not None
