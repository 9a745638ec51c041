"""The test-only sandbox switches (`CODEX_SANDBOX_TEST_DISABLE`, `CODEX_SANDBOX_TEST_PLATFORM`): a source checkout
honours them and says so by name; a release build (a copy stamped as the build scripts stamp it) ignores them and
says that, so a stray variable never weakens a shipped sandbox silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli.sandbox import SandboxPolicy, prepare, probe_capabilities

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build"))

import assets  # noqa: E402

SWITCHES = {"CODEX_SANDBOX_TEST_DISABLE": "landlock,userns,seccomp", "CODEX_SANDBOX_TEST_PLATFORM": "win32"}

# Run in the stamped copy: what the switches change there, one fact per line.
_PROBE = """
import os, sys
from pathlib import Path
from codex_cli import sandbox
work = Path(sys.argv[1])
print("platform", sandbox.host_platform())
print("disabled", ",".join(sandbox.probe_capabilities().disabled))
prepared = sandbox.prepare(sandbox.SandboxPolicy.from_config("workspace-write", work), os.environ)
print("confined", prepared.confined)
for warning in prepared.warnings:
    print("warning", warning)
prepared.close()
"""


def _linux_confinement_or_skip() -> None:
    if sys.platform != "linux":
        pytest.skip("the release-build check drives the Linux sandbox")
    caps = probe_capabilities()
    if caps.landlock_abi == 0 and caps.namespaces == "none":
        pytest.skip(f"no filesystem sandbox layer on this machine: {caps}")


@pytest.mark.skipif(sys.platform == "win32", reason="fakes Windows on another OS")
def test_source_checkout_honours_the_platform_switch_and_names_it(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_SANDBOX_TEST_PLATFORM", "win32")
    prepared = prepare(SandboxPolicy.from_config("workspace-write", tmp_path), os.environ)
    assert not prepared.confined
    [warning] = prepared.warnings
    assert warning.startswith("CODEX_SANDBOX_TEST_PLATFORM=win32 is set: a switch for tests")
    assert "NOT sandboxed" in warning


def test_source_checkout_honours_the_disable_switch_and_names_it(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    _linux_confinement_or_skip()
    monkeypatch.setenv("CODEX_SANDBOX_TEST_DISABLE", "seccomp")
    with prepare(SandboxPolicy.from_config("workspace-write", tmp_path), os.environ) as prepared:
        assert probe_capabilities().disabled == ("seccomp",)
        assert "CODEX_SANDBOX_TEST_DISABLE=seccomp is set: a switch for tests" in prepared.warnings[0]


@pytest.mark.parametrize("variant", ["zipapp", "pyinstaller", "pip"])
def test_release_build_ignores_the_switches_and_says_so(tmp_path: Path, variant: str) -> None:
    _linux_confinement_or_skip()
    stage = tmp_path / "stage"
    assets.stage_package(stage, variant)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, **SWITCHES, "PYTHONPATH": str(stage), "CODEX_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(stage)!r})\n" + _PROBE,
                           str(work)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == [f"platform {sys.platform}", "disabled ", "confined True"]
    for name in SWITCHES:
        assert (f"warning {name} is set but ignored: test switches cannot change the sandbox of a release build "
                f"({variant})") in lines
    assert not any("NOT sandboxed" in line or "Landlock is unavailable" in line for line in lines)
