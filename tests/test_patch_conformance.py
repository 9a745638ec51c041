"""Conformance of codex_cli.patch against the data recorded from codex-rs 0.169.0 (tests/data/apply_patch).

- scenarios/: the 23 upstream fixtures, run through the real CLI in a subprocess (tree compared byte for
  byte, plus exit code and output from upstream_observed.json).
- observed/: 82 recorded cases, run through `apply_patch_cli` in-process (tree, exit code, stdout, stderr).
- agent_observed.json: end-to-end agent runs, replayed through `apply_patch_atomic` and
  `extract_apply_patch_from_shell`. Cases about tool registration, sandbox policy or writes outside the
  workspace belong to other modules and are skipped here.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli.patch import PatchError, apply_patch_atomic, apply_patch_cli, extract_apply_patch_from_shell

MAIN = Path(__file__).resolve().parents[1]


# The data lives in the repository (tests/data/apply_patch, see its NOTICE): a clone carries it, and a missing
# folder fails at collection instead of silently skipping the cases.
DATA = MAIN / "tests" / "data" / "apply_patch"
SCENARIOS = sorted(p.name for p in (DATA / "scenarios").iterdir() if p.is_dir())
OBSERVED = sorted(p.name for p in (DATA / "observed").iterdir() if p.is_dir())


def copy_tree(source: Path, target: Path) -> None:
    """Copy bytes only: the data's modes (read-only in some copies) must not leak into the work dir."""
    for root, dirs, files in os.walk(source):
        here = target / Path(root).relative_to(source)
        for name in dirs:
            (here / name).mkdir()
        for name in files:
            (here / name).write_bytes((Path(root) / name).read_bytes())


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Relative path -> file bytes, or None for a directory."""
    if not root.is_dir():
        return {}
    tree: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        tree[path.relative_to(root).as_posix()] = None if path.is_dir() else path.read_bytes()
    return tree


def prepare(case: Path, work: Path) -> str:
    if (case / "input").is_dir():
        copy_tree(case / "input", work)
    return (case / "patch.txt").read_bytes().decode("utf-8")


def upstream_results() -> dict[str, dict[str, object]]:
    results = json.loads((DATA / "upstream_observed.json").read_text(encoding="utf-8"))["results"]
    return {r["scenario"]: r for r in results}


@pytest.mark.parametrize("name", SCENARIOS, ids=SCENARIOS)
def test_upstream_scenario_through_cli_subprocess(name: str, tmp_path: Path) -> None:
    work = tmp_path.resolve()
    patch = prepare(DATA / "scenarios" / name, work)
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    proc = subprocess.run(
        [sys.executable, "-m", "codex_cli.patch_cli", patch], cwd=work, env=env, capture_output=True, timeout=60
    )
    assert snapshot(work) == snapshot(DATA / "scenarios" / name / "expected")
    expected = upstream_results()[name]
    assert proc.returncode == expected["exit_code"]
    assert proc.stdout.decode() == expected["stdout"]
    assert proc.stderr.decode().replace(str(work), "<CWD>") == expected["stderr"]


@pytest.mark.parametrize("name", OBSERVED, ids=OBSERVED)
def test_observed_case_through_cli(name: str, tmp_path: Path) -> None:
    work = tmp_path.resolve()
    case = DATA / "observed" / name
    patch = prepare(case, work)
    out, err = io.StringIO(), io.StringIO()
    code = apply_patch_cli(patch, work, out, err)
    outcome = json.loads((case / "outcome.json").read_text(encoding="utf-8"))
    assert snapshot(work) == snapshot(case / "expected")
    assert (code, out.getvalue(), err.getvalue().replace(str(work), "<CWD>")) == (
        outcome["exit_code"],
        outcome["stdout"],
        outcome["stderr"],
    )


# --------------------------------------------------------------------------------------- agent runs

AGENT_CASES = json.loads((DATA / "agent_observed.json").read_text(encoding="utf-8"))["cases"]
AGENT_BY_NAME = {case["case"]: case for case in AGENT_CASES}

# Not this module's concern: tool registration (t1u, t2, t3), sandbox/approval policy (e_ro, e_proc) and
# writes outside the per-test workspace (e_outside, e_dotdot), which the engine allows as upstream does.
AGENT_SKIPPED = {"t1u", "t2", "t3", "e_ro", "e_proc", "e_outside", "e_dotdot"}

# Deliberate differences of our atomic agent path (the apply_patch reference, §6 and §7):
# - m_swap: upstream verifies against the pre-patch disk, then writes sequentially; the second hunk then
#   fails against the first one's output and leaves b.txt = "A". We compute everything from the pre-patch
#   disk and write it all at once, so the swap simply succeeds.
# - e_move_same: upstream writes f.txt and then deletes it as the "move source". We treat a Move to the
#   source path as a plain update, so no data is lost.
AGENT_DEVIATIONS: dict[str, dict[str, str]] = {
    "m_swap": {"a.txt": "B\n", "b.txt": "A\n"},
    "e_move_same": {"f.txt": "b\n"},
}
AGENT_NAMES = [c["case"] for c in AGENT_CASES if c["case"] not in AGENT_SKIPPED]

_TOOL_SUCCESS = re.compile(
    r"(?:Wall time: [0-9.]+ seconds\nOutput:\n)?Exit code: 0\nWall time: [0-9.]+ seconds\nOutput:\n(.*)", re.S
)


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))


def read_files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_bytes().decode() for p in sorted(root.rglob("*")) if p.is_file()}


def run_agent_call(call: dict[str, str], work: Path) -> tuple[str, list[dict[str, str]]]:
    """What the model would get back (unwrapped), and the file_change list for a success."""
    target = work
    if call["type"] == "custom_tool_call":
        patch = call["input"].replace("<CWD>", str(work))
    else:
        args = json.loads(call["arguments"])
        found = extract_apply_patch_from_shell(args["cmd"])
        if found is None:
            return "<not intercepted>", []
        target = work / args.get("workdir", ".") / (found.workdir or ".")
        patch = found.patch
    outcome = apply_patch_atomic(patch, target)
    changes = [{"path": str(c.path).replace(str(work), "<CWD>"), "kind": c.kind} for c in outcome.changes]
    return outcome.summary, changes


def expected_reply(output: str) -> tuple[str, bool]:
    match = _TOOL_SUCCESS.fullmatch(output)
    if match:
        return match.group(1), True
    if "Process exited with code" in output:
        return "<not intercepted>", True
    return output, False


@pytest.mark.parametrize("name", AGENT_NAMES, ids=AGENT_NAMES)
def test_agent_observed_case(name: str, tmp_path: Path) -> None:
    case = AGENT_BY_NAME[name]
    work = tmp_path.resolve()
    write_files(work, case["initial_files"])
    completed = [
        e["item"]["changes"]
        for e in case["exec_json_events"]
        if e["type"] == "item.completed" and e["item"]["type"] == "file_change"
    ]
    for index, (call, sent) in enumerate(zip(case["model_calls"], case["tool_outputs_sent_to_model"])):
        want, is_success = expected_reply(sent["output"].replace("<CWD>", str(work)))
        if not is_success and name not in AGENT_DEVIATIONS:
            with pytest.raises(PatchError) as caught:
                run_agent_call(call, work)
            assert str(caught.value) == want
            continue
        reply, changes = run_agent_call(call, work)
        if name in AGENT_DEVIATIONS:
            continue
        assert reply == want
        if changes:
            assert changes == completed[index]
    assert read_files(work) == AGENT_DEVIATIONS.get(name, case["final_files"])


def test_agent_cases_cover_the_recorded_file(tmp_path: Path) -> None:
    assert len(AGENT_CASES) == 44
    assert set(AGENT_DEVIATIONS) <= set(AGENT_NAMES)
