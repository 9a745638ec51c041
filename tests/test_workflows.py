"""The GitHub workflows are valid YAML, use only known actions pinned by commit, and wire the release together;
scripts/render_cask.py fills the Homebrew cask from a SHA256SUMS file."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "build"))

import assets  # noqa: E402
from render_cask import read_sums, render_cask  # noqa: E402

# Real actions, each pinned to a commit of the release named in the comment beside it.
KNOWN_ACTIONS = {
    "actions/checkout": ("8e8c483db84b4bee98b60c0593521ed34d9990e8", "v6.0.1"),
    "actions/setup-python": ("83679a892e2d95755f2dac6acb0bfd1e9ac5d548", "v6.1.0"),
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),
    "actions/download-artifact": ("37930b1c2abaa49bbe596cd826c3c89aef350131", "v7.0.0"),
}
LOCAL_WORKFLOWS = {"./.github/workflows/build.yml"}


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict) -> Iterator[tuple[str, dict]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


@pytest.fixture(params=["ci.yml", "build.yml", "release.yml"])
def workflow_name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_workflow_parses_and_locks_permissions(workflow_name: str) -> None:
    workflow = _load(workflow_name)
    assert workflow["permissions"] == {}
    for job_name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{workflow_name}:{job_name} sets no permissions"
        if job.get("permissions", {}).get("contents") == "write":
            assert (workflow_name, job_name) == ("release.yml", "publish")
        strategy = job.get("strategy")
        if strategy is not None:
            assert strategy.get("fail-fast") is False


def test_workflow_uses_only_known_actions_pinned_to_a_commit(workflow_name: str) -> None:
    text = (WORKFLOWS / workflow_name).read_text(encoding="utf-8")
    workflow = _load(workflow_name)
    uses = [step["uses"] for _, step in _steps(workflow) if "uses" in step]
    uses += [job["uses"] for job in workflow["jobs"].values() if "uses" in job]
    assert uses
    for use in uses:
        if use in LOCAL_WORKFLOWS:
            assert (ROOT / use).is_file()
            continue
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40})", use)
        assert match, f"{use} is not owner/repo@<commit sha>"
        assert KNOWN_ACTIONS.get(match.group(1), ("", ""))[0] == match.group(2), f"unknown action or commit: {use}"
        assert re.search(re.escape(use) + r"\s+# " + re.escape(KNOWN_ACTIONS[match.group(1)][1]), text)


def test_checkouts_do_not_keep_credentials(workflow_name: str) -> None:
    for job_name, step in _steps(_load(workflow_name)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{workflow_name}:{job_name}"


def test_workflows_run_scripts_that_exist(workflow_name: str) -> None:
    text = (WORKFLOWS / workflow_name).read_text(encoding="utf-8")
    for path in re.findall(r"\b((?:build|scripts|tests)/[\w/.-]+\.(?:py|txt))", text):
        assert (ROOT / path).is_file(), f"{workflow_name} names missing {path}"


def test_ci_tests_three_oses_on_oldest_and_newest_python_and_calls_build() -> None:
    ci = _load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    matrix = ci["jobs"]["test"]["strategy"]["matrix"]
    assert {os_name.split("-")[0] for os_name in matrix["os"]} == {"ubuntu", "macos", "windows"}
    assert matrix["python"][0] == "3.10" and len(matrix["python"]) >= 2
    assert ci["jobs"]["build"]["uses"] == "./.github/workflows/build.yml"
    commands = " ".join(step.get("run", "") for _, step in _steps(ci))
    assert "ruff check" in commands and "mypy --strict codex_cli" in commands and "pytest" in commands


def test_build_covers_every_platform_and_smoke_tests_each_binary() -> None:
    build = _load("build.yml")
    assert "workflow_call" in build["on"]
    targets = {(entry["os"], entry["arch"]) for entry in build["jobs"]["binary"]["strategy"]["matrix"]["include"]}
    assert targets == {("linux", "x86_64"), ("linux", "arm64"), ("macos", "x86_64"), ("macos", "arm64"),
                       ("windows", "x86_64")}
    binary_steps = " ".join(step.get("run", "") for step in build["jobs"]["binary"]["steps"])
    assert "build/pyinstaller.py" in binary_steps and "--version" in binary_steps
    assert "tests/test_build.py" in binary_steps and "--require-hashes" in binary_steps
    uploads = [step for step in build["jobs"]["binary"]["steps"] if "upload-artifact" in step.get("uses", "")]
    assert uploads and uploads[0]["with"]["compression-level"] == 0
    assert uploads[0]["with"]["name"] == "bin-${{ matrix.os }}-${{ matrix.arch }}"
    zipapp_steps = " ".join(step.get("run", "") for step in build["jobs"]["zipapp"]["steps"])
    assert "build/zipapp.py" in zipapp_steps
    assert build["jobs"]["zipapp-smoke"]["strategy"]["matrix"]["python"][0] == "3.10"
    assert "check-tag" in " ".join(step.get("run", "") for step in build["jobs"]["version"]["steps"])


def test_release_on_a_version_tag_publishes_with_checksums_and_the_cask() -> None:
    release = _load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["jobs"]["build"]["uses"] == "./.github/workflows/build.yml"
    checksums = " ".join(step.get("run", "") for step in release["jobs"]["checksums"]["steps"])
    assert "sha256sum" in checksums and "SHA256SUMS" in checksums
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"contents": "write"}
    commands = " ".join(step.get("run", "") for step in publish["steps"])
    assert "gh release create" in commands and "scripts/render_cask.py" in commands


# -- the Homebrew cask ---------------------------------------------------------------------------


def _sums(version: str) -> str:
    targets = [(os_name, arch) for os_name in ("linux", "macos") for arch in ("arm64", "x86_64")]
    names = [assets.asset_name(version, os_name, arch) for os_name, arch in targets]
    names += [assets.asset_name(version, "windows", "x86_64"), assets.zipapp_name(version)]
    return "".join(f"{index:064x}  {name}\n" for index, name in enumerate(names, start=1))


def test_render_cask_fills_every_checksum_from_sha256sums(tmp_path: Path) -> None:
    sums_file = tmp_path / "SHA256SUMS"
    sums_file.write_text(_sums("1.2.3"), encoding="utf-8")
    output = tmp_path / "codex-py.rb"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_cask.py"), "--sums", str(sums_file),
         "--version", "v1.2.3", "--repository", "acme/codex", "-o", str(output)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    cask = output.read_text(encoding="utf-8")
    sums = read_sums(sums_file.read_text(encoding="utf-8"))
    assert 'version "1.2.3"' in cask and 'cask "codex-py" do' in cask
    assert f'arm:          "{sums["codex-1.2.3-macos-arm64"]}"' in cask
    assert f'intel:        "{sums["codex-1.2.3-macos-x86_64"]}"' in cask
    assert f'arm64_linux:  "{sums["codex-1.2.3-linux-arm64"]}"' in cask
    assert f'x86_64_linux: "{sums["codex-1.2.3-linux-x86_64"]}"' in cask
    assert "https://github.com/acme/codex/releases/download/v#{version}/codex-#{version}-#{os}-#{arch}" in cask
    assert "@" not in cask.replace("@ref", "")
    assert len(re.findall(r" do$", cask, flags=re.M)) == len(re.findall(r"^\s*end$", cask, flags=re.M)) == 1


def test_render_cask_missing_platform_is_an_error() -> None:
    sums = read_sums(_sums("1.2.3").replace("codex-1.2.3-macos-arm64", "something-else"))
    template = (ROOT / "build" / "homebrew" / "codex-py.rb.template").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="codex-1.2.3-macos-arm64"):
        render_cask(sums, "1.2.3", "acme/codex", template)


def test_render_cask_reads_binary_mode_sums_and_rejects_garbage() -> None:
    assert read_sums(f"{'A' * 64} *codex.pyz\n") == {"codex.pyz": "a" * 64}
    with pytest.raises(ValueError, match="line 1"):
        read_sums("not a checksum line\n")
