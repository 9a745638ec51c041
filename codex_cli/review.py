"""Code review (`codex review`, `codex exec review`, `/review`): what is reviewed and how the reviewer is asked,
and how its JSON answer is shown to people.

A review is a turn whose base instructions are the reviewer's (review_instructions.md, our own text) and whose
user message names the changes. The model answers with a JSON object (findings, an overall verdict); people see it
rendered: the explanation, then `Review comment:` (`Full review comments:` for several) and one `- title — path:a-b`
entry per finding with its body indented, as codex-rs 0.169 prints it. An answer that is not such JSON is shown as is.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli.errors import CodexError
from codex_cli.protocol import AgentMessageDelta, AgentMessageItem, Event, ItemCompleted
from codex_cli.records import Record, replace

if TYPE_CHECKING:
    from codex_cli.config import Config

__all__ = ["UNCOMMITTED_PROMPT", "ReviewTarget", "render_review", "review_instructions", "review_target",
           "reviewer_config", "showing_rendered_reviews"]

UNCOMMITTED_PROMPT = (
    "Review the current code changes (staged, unstaged, and untracked files) and provide prioritized findings."
)


class ReviewTarget(Record):
    """What to review: the user message the reviewer gets, and the short label people see for it."""

    prompt: str
    label: str


def review_target(*, uncommitted: bool = False, base: str | None = None, commit: str | None = None,
                  title: str | None = None, instructions: str | None = None, cwd: Path) -> ReviewTarget:
    """The target the options name (the parser lets only one of them through)."""
    if uncommitted:
        return ReviewTarget(UNCOMMITTED_PROMPT, "current changes")
    if base is not None:
        merge_base = _git(cwd, "merge-base", "HEAD", base)
        if merge_base:
            prompt = (f"Review the changes of this branch against '{base}'. Their merge base is {merge_base}: "
                      f"`git diff {merge_base}` shows what is to be reviewed. Provide prioritized, actionable "
                      "findings.")
        else:
            prompt = (f"Review the changes of this branch against '{base}'. First find the merge base (`git "
                      f"merge-base HEAD {base}`, or against the upstream of {base} when there is no local branch), "
                      "then inspect `git diff` against it. Provide prioritized, actionable findings.")
        return ReviewTarget(prompt, f"changes against '{base}'")
    if commit is not None:
        titled = f' ("{title}")' if title else ""
        prompt = (f"Review the changes that commit {commit}{titled} introduced (`git show {commit}`). Provide "
                  "prioritized, actionable findings.")
        return ReviewTarget(prompt, f"commit {commit}: {title}" if title else f"commit {commit}")
    if instructions is not None:
        if not instructions.strip():
            raise CodexError("Review prompt cannot be empty", "Pass review instructions, or --uncommitted.")
        return ReviewTarget(instructions, instructions)
    raise CodexError(
        "Specify --uncommitted, --base, --commit, or provide custom review instructions",
        "Example: codex review --uncommitted",
    )


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def review_instructions() -> str:
    """The reviewer's base instructions."""
    return resources.files("codex_cli").joinpath("review_instructions.md").read_text(encoding="utf-8")


def reviewer_config(config: Config) -> Config:
    """`config` as the reviewer runs: its own base instructions, short answers and no plan tool, as codex-rs's
    review thread has."""
    return replace(config, base_instructions=review_instructions(), model_verbosity="low", update_plan_enabled=False)


def render_review(text: str, *, priorities: bool = False) -> str:
    """The reviewer's answer as people read it; `text` itself when it is not a review object. `priorities` puts
    `[P1]` before each title, as the interactive UI shows them."""
    doc = _review_object(text)
    if doc is None:
        return text
    raw = doc.get("findings")
    findings = [f for f in raw if isinstance(f, Mapping)] if isinstance(raw, list) else []
    explanation = doc.get("overall_explanation")
    parts = [explanation.strip()] if isinstance(explanation, str) and explanation.strip() else []
    if findings:
        heading = "Review comment:" if len(findings) == 1 else "Full review comments:"
        parts.append(heading + "\n\n" + "\n\n".join(_finding(f, priorities) for f in findings))
    return "\n\n".join(parts) if parts else text


def _review_object(text: str) -> Mapping[str, object] | None:
    from codex_cli.jsoncodec import decode_json

    body = text.strip()
    if body.startswith("```"):  # a fenced block despite the instructions
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        doc = decode_json(body[start : end + 1])
    except ValueError:
        return None
    if not isinstance(doc, dict) or not ({"findings", "overall_explanation"} & doc.keys()):
        return None
    return doc


def _finding(finding: Mapping[str, object], priorities: bool) -> str:
    title = str(finding.get("title") or "").strip() or "(untitled)"
    priority = finding.get("priority")
    if priorities and isinstance(priority, int) and not isinstance(priority, bool) \
            and not title.startswith(f"[P{priority}]"):  # models often write the tag into the title already
        title = f"[P{priority}] {title}"
    location = finding.get("code_location")
    where = ""
    if isinstance(location, Mapping) and isinstance(location.get("absolute_file_path"), str):
        where = f" — {location['absolute_file_path']}"
        lines = location.get("line_range")
        if isinstance(lines, Mapping) and lines.get("start") is not None:
            where += f":{lines.get('start')}-{lines.get('end', lines.get('start'))}"
    body = str(finding.get("body") or "").strip()
    indented = "".join(f"\n  {line}" if line else "\n" for line in body.splitlines())
    return f"- {title}{where}{indented}"


def showing_rendered_reviews(emit: Callable[[Event], None], *, priorities: bool = False) -> Callable[[Event], None]:
    """`emit` with each completed agent message rendered as a review (the history keeps the model's JSON); the
    streamed pieces of the answer are not shown, since they are JSON."""

    def emit_rendered(event: Event) -> None:
        if isinstance(event, AgentMessageDelta):
            return
        if isinstance(event, ItemCompleted) and isinstance(event.item, AgentMessageItem):
            event = ItemCompleted(replace(event.item, text=render_review(event.item.text, priorities=priorities)))
        emit(event)

    return emit_rendered
