"""Code review: `codex review` and `codex exec review` against the fake model (the request the reviewer gets, the
rendered findings on stdout, the errors), and the rendering and targets as units."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, message  # noqa: E402

from codex_cli import review  # noqa: E402
from codex_cli.errors import CodexError  # noqa: E402


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=T", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    _git(env.workdir, "checkout", "-q", "-b", "main")
    _git(env.workdir, "add", ".")
    _git(env.workdir, "commit", "-qm", "first")
    (env.workdir / "a.py").write_text("print(y)\n", encoding="utf-8")
    return env


def _answer(path: Path, *titles: str) -> str:
    findings = [{"title": title, "body": f"About {title}.\nSecond line.", "confidence_score": 0.9, "priority": 1,
                 "code_location": {"absolute_file_path": str(path), "line_range": {"start": 1, "end": 2}}}
                for title in titles]
    return json.dumps({"findings": findings, "overall_correctness": "patch is incorrect",
                       "overall_explanation": "It raises NameError.", "overall_confidence_score": 0.8})


def test_review_uncommitted_asks_the_reviewer_and_prints_the_findings(codex_env: CodexEnv) -> None:
    path = codex_env.workdir / "a.py"
    with FakeResponsesServer([{"output": [message(_answer(path, "Undefined name y"))]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("review", "--uncommitted", stdin=subprocess.DEVNULL)
        (request,) = server.response_requests
    assert run.returncode == 0, run.stderr
    assert run.stdout == (f"It raises NameError.\n\nReview comment:\n\n- Undefined name y — {path}:1-2\n"
                          "  About Undefined name y.\n  Second line.\n")
    assert "\nuser\ncurrent changes\n" in run.stderr
    body = request.body
    first = body["input"][0]
    assert first["role"] == "developer" and first["content"][0]["text"] == review.review_instructions()
    assert body["input"][-1]["content"][0]["text"] == review.UNCOMMITTED_PROMPT
    assert body["text"]["verbosity"] == "low"
    assert "update_plan" not in [tool.get("name") for tool in body["tools"]]


def test_exec_review_base_names_the_merge_base_and_renders_json_events(codex_env: CodexEnv) -> None:
    merge_base = _git(codex_env.workdir, "rev-parse", "HEAD")
    path = codex_env.workdir / "a.py"
    with FakeResponsesServer([{"output": [message(_answer(path, "One", "Two"))]}]) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "review", "--base", "main", "--json", stdin=subprocess.DEVNULL)
        (request,) = server.response_requests
    assert run.returncode == 0, run.stderr
    prompt = request.body["input"][-1]["content"][0]["text"]
    assert "'main'" in prompt and f"git diff {merge_base}" in prompt
    (text,) = [e["item"]["text"] for e in run.events() if e.get("type") == "item.completed"]
    assert text.startswith("It raises NameError.\n\nFull review comments:\n\n- One — ")
    assert f"- Two — {path}:1-2\n  About Two.\n  Second line." in text


def test_review_commit_and_custom_instructions(codex_env: CodexEnv) -> None:
    with FakeResponsesServer([{"output": [message("Nothing to report.")]}]) as server:
        codex_env.write_config(server.base_url)
        commit = codex_env.run("review", "--commit", "HEAD", "--title", "First", stdin=subprocess.DEVNULL)
        custom = codex_env.run("review", "-", input="look at the error handling")
        requests = server.response_requests
    assert (commit.returncode, commit.stdout) == (0, "Nothing to report.\n")  # not JSON: shown as it is
    assert "\nuser\ncommit HEAD: First\n" in commit.stderr
    assert 'commit HEAD ("First")' in requests[0].body["input"][-1]["content"][0]["text"]
    assert custom.returncode == 0, custom.stderr
    assert requests[1].body["input"][-1]["content"][0]["text"] == "look at the error handling"


@pytest.mark.parametrize(("args", "code", "text"), [
    ((), 1, "Specify --uncommitted, --base, --commit, or provide custom review instructions"),
    (("",), 1, "Review prompt cannot be empty"),
    (("--uncommitted", "--base", "main"), 2, "not allowed with"),
    (("--commit", "HEAD", "look here"), 2, "not allowed with"),
])  # fmt: skip
def test_review_refuses_a_missing_or_double_target(codex_env: CodexEnv, args: tuple[str, ...], code: int,
                                                   text: str) -> None:
    codex_env.write_config("http://127.0.0.1:9/v1")
    run = codex_env.run("review", *args, stdin=subprocess.DEVNULL)
    assert run.returncode == code
    assert text in run.stderr


def test_render_review_forms() -> None:
    one = {"findings": [{"title": "T", "body": "B"}], "overall_explanation": "E"}
    assert review.render_review(json.dumps(one)) == "E\n\nReview comment:\n\n- T\n  B"
    assert review.render_review("```json\n" + json.dumps(one) + "\n```") == "E\n\nReview comment:\n\n- T\n  B"
    assert review.render_review(json.dumps({"findings": [], "overall_explanation": "Fine."})) == "Fine."
    assert review.render_review("plain words") == "plain words"
    assert review.render_review('{"other": 1}') == '{"other": 1}'


def test_review_targets(tmp_path: Path) -> None:
    assert review.review_target(uncommitted=True, cwd=tmp_path).label == "current changes"
    outside = review.review_target(base="main", cwd=tmp_path)  # no repository: the reviewer finds the base itself
    assert outside.label == "changes against 'main'" and "git merge-base HEAD main" in outside.prompt
    assert review.review_target(commit="abc", cwd=tmp_path).label == "commit abc"
    with pytest.raises(CodexError, match="cannot be empty"):
        review.review_target(instructions="  ", cwd=tmp_path)
