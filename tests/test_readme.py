"""The README's two set-up commands stay true: CI runs exactly the test command the README shows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", setup, flags=re.S)]


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "codex exec" in commands[0]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r'^TEST_COMMAND="(.*)"$', ci, flags=re.M)
    assert match is not None
    assert match.group(1) == _setup_commands()[1]


def test_setup_names_the_python_it_needs_and_a_virtualenv() -> None:
    """A newcomer on Debian or Ubuntu cannot `pip install` outside a virtualenv (PEP 668): the README says so first."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    minimum = re.search(r'^requires-python = ">=(\d+\.\d+)"$', pyproject, flags=re.M)
    assert minimum is not None
    assert f"Python {minimum.group(1)} or newer" in setup
    assert "python3 -m venv .venv" in setup and ". .venv/bin/activate" in setup
    assert "PEP 668" in setup
    # The virtualenv comes before the commands that install into it.
    assert setup.index("python3 -m venv") < setup.index("```sh")


# Ways a test or script could read a file beside the checkout (a GitHub clone has nothing there). Relative
# "../" strings are left to review: tests use them as hostile patch paths.
_OUTSIDE = re.compile(r'parents\[\d\]\.parent\b|\.parent\.parent\.parent|["\']/work/|\.parent / "shared"')


def test_tests_and_scripts_read_nothing_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("tests", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OUTSIDE.search(line) and path.name != "test_readme.py"
    ]
    assert offenders == []
